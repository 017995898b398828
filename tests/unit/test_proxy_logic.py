"""The kamal-proxy stand-in's pure logic: durations, cobra-style flags, routing, conflicts."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

PROXY_SOURCE = Path(__file__).resolve().parents[2] / "app" / "sandbox" / "images" / "kamal-proxy"
if str(PROXY_SOURCE) not in sys.path:
    sys.path.insert(0, str(PROXY_SOURCE))
durations = importlib.import_module("kamal_proxy.durations")
flags = importlib.import_module("kamal_proxy.flags")
router_module = importlib.import_module("kamal_proxy.router")
proxy_module = importlib.import_module("kamal_proxy.proxy")
control = importlib.import_module("kamal_proxy.control")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1.5s", 1.5),
                                               ("0", 0), ("2h", 7200), ("250us", 0.00025), (".5s", 0.5),
                                               ("5.s", 5), ("-1m", -60), ("+2s", 2), ("3µs", 3e-6),
                                               ("3μs", 3e-6), ("1h2m3s4ms", 3723.004), ("7ns", 7e-9)])
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert durations.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "error"), [
    ("", 'invalid duration ""'), ("30", 'missing unit in duration "30"'),
    ("1.5", 'missing unit in duration "1.5"'), ("s", 'invalid duration "s"'),
    ("1x", 'unknown unit "x" in duration "1x"'), ("1s2", 'missing unit in duration "1s2"'),
    (".5", 'missing unit in duration ".5"'), (".s", 'invalid duration ".s"'), ("1s.", 'invalid duration "1s."'),
    ("-", 'invalid duration "-"'), (" 1s", 'invalid duration " 1s"')])
def test_bad_durations_are_rejected_as_go_rejects_them(text: str, error: str) -> None:
    """Go's time.ParseDuration's messages, case by case."""
    with pytest.raises(ValueError, match=f"^{re.escape('time: ' + error)}$"):
        durations.parse(text)


@pytest.mark.parametrize(("seconds", "text"), [(30, "30s"), (60, "1m0s"), (90, "1m30s"), (1.5, "1.5s"),
                                               (0.5, "500ms"), (3600, "1h0m0s"), (0, "0s")])
def test_durations_print_like_go(seconds: float, text: str) -> None:
    assert durations.format(seconds) == text


def test_deploy_flags_as_kamal_sends_them() -> None:
    # The argv docker exec hands over after the shell removed Kamal's quotes.
    argv = ["demo-web", "--target=4f1c2a9b8d7e:80", "--host=a.example", "--host", "b.example",
            "--deploy-timeout=30s", "--drain-timeout=30s", "--health-check-interval=1s",
            "--health-check-path=/up", "--buffer-requests", "--buffer-responses", "--forward-headers=false",
            "--log-request-header=Cache-Control", "--log-request-header=Last-Modified",
            "--tls-redirect=false", "--target-timeout=45s", "--path-prefix=/api"]
    values, positional = flags.parse(flags.DEPLOY, argv, environ={})
    assert positional == ["demo-web"]
    assert values["target"] == ["4f1c2a9b8d7e:80"]
    assert values["host"] == ["a.example", "b.example"]
    assert values["buffer-requests"] is True and values["forward-headers"] is False
    assert values["tls-redirect"] is False and values["target-timeout"] == 45
    assert values["log-request-header"] == ["Cache-Control", "Last-Modified"]
    assert values["strip-path-prefix"] is True and values["health-check-timeout"] == 5
    assert values["forward-headers"] is False


def test_forward_headers_defaults_to_not_tls() -> None:
    plain, _ = flags.parse(flags.DEPLOY, ["s", "--target=a:80"], environ={})
    tls, _ = flags.parse(flags.DEPLOY, ["s", "--target=a:80", "--tls", "--host=x.example"], environ={})
    assert control.options_from_flags(plain).forward_headers is True
    assert control.options_from_flags(tls).forward_headers is False


@pytest.mark.parametrize(("argv", "message"), [
    (["s", "--nope"], "unknown flag: --nope"),
    (["s", "--tls=maybe"], 'invalid argument "maybe" for "--tls" flag'),
    (["s", "--deploy-timeout=30"], "missing unit"),
    (["s", "--target"], "flag needs an argument: --target"),
    ([], "accepts 1 arg(s), received 0"),
])
def test_bad_flags_fail_like_cobra(argv: list[str], message: str) -> None:
    with pytest.raises(flags.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        flags.parse(flags.DEPLOY, argv, environ={})


def test_run_flags_fall_back_to_the_environment() -> None:
    values, _ = flags.parse(flags.RUN, [], environ={"KAMAL_PROXY_HTTP_PORT": "8080", "HTTPS_PORT": "8443"})
    assert (values["http-port"], values["https-port"], values["debug"]) == (8080, 8443, False)
    values, _ = flags.parse(flags.RUN, ["--http-port=81"], environ={"HTTP_PORT": "8080"})
    assert values["http-port"] == 81


def _service(router, name: str, hosts: list[str], prefixes: list[str] | None = None):
    options = router_module.ServiceOptions(hosts=hosts, path_prefixes=prefixes or [])
    service = router_module.Service(name, [router_module.Target("10.0.0.1:80")], options)
    router.services[name] = service
    return service


def test_routing_prefers_exact_host_then_wildcard_domain_then_default() -> None:
    router = router_module.Router()
    _service(router, "default", [])
    _service(router, "exact", ["app.example"])
    _service(router, "subdomains", ["*.example"])
    assert router.match("app.example", "/")[0].name == "exact"
    assert router.match("other.example", "/")[0].name == "subdomains"
    assert router.match("unrelated.test", "/x")[0].name == "default"


def test_routing_uses_the_longest_path_prefix_on_its_boundary() -> None:
    router = router_module.Router()
    _service(router, "root", ["a.example"])
    _service(router, "api", ["a.example"], ["/api"])
    assert router.match("a.example", "/api/users")[0].name == "api"
    assert router.match("a.example", "/api")[0].name == "api"
    assert router.match("a.example", "/apix")[0].name == "root"
    assert router.match("b.example", "/") is None


def test_conflicting_hosts_are_detected_but_a_redeploy_is_not_a_conflict() -> None:
    router = router_module.Router()
    _service(router, "one", ["a.example"])
    options = router_module.ServiceOptions(hosts=["a.example"])
    assert router.conflicts("two", options)
    assert not router.conflicts("one", options)
    assert not router.conflicts("two", router_module.ServiceOptions(hosts=["a.example"], path_prefixes=["/b"]))


def test_prefix_stripping_and_host_parsing() -> None:
    assert proxy_module.strip_prefix("/api/users?x=1", "/api") == "/users?x=1"
    assert proxy_module.strip_prefix("/api", "/api") == "/"
    assert proxy_module.strip_prefix("/users", "/") == "/users"
    assert proxy_module.split_host("App.Example:8080") == "app.example"
    assert proxy_module.split_host("[::1]:80") == "::1"


def test_invalid_targets_are_refused() -> None:
    with pytest.raises(router_module.ProxyError, match="invalid target"):
        router_module.Target("no-port")
