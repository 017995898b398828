"""The Kamal contract against the exact strings of kamal-interop.md (§2.4, §3.2-§3.4)."""

from __future__ import annotations

import pytest

from app import contract


def test_names() -> None:
    assert contract.container_prefix("app", "web", None) == "app-web"
    assert contract.container_prefix("app", "web", "staging") == "app-web-staging"
    assert contract.app_container_name("app", "web", "staging", "abc123") == "app-web-staging-abc123"
    replaced = contract.replaced_container_name("app-web-abc", "0123456789abcdef")
    assert replaced == "app-web-abc_replaced_0123456789abcdef"
    assert len(contract.replaced_container_name("app-web-abc").split("_replaced_")[1]) == 16
    assert contract.exec_container_name("app", "web", None, "abc", "a1b2c3") == "app-web-exec-abc-a1b2c3"
    assert contract.assets_container_name("app", "web", "qa") == "app-web-qa-assets"
    assert contract.accessory_service_name("app", "mysql") == "app-mysql"
    assert contract.accessory_service_name("app", "mysql", "custom") == "custom"
    assert contract.proxy_service_name("app", "web", "prod") == "app-web-prod"
    assert contract.PROXY_CONTAINER == "kamal-proxy"
    assert contract.NETWORK == "kamal"
    assert contract.MINIMUM_PROXY_VERSION == "v0.9.2"
    assert contract.latest_tag(None) == "latest"
    assert contract.latest_tag("staging") == "latest-staging"
    assert contract.app_hostname("web1.example.com.", "0123456789ab") == "web1.example.com-0123456789ab"
    assert contract.app_hostname("h" * 60, "0" * 12) == "h" * 51 + "-" + "0" * 12


def test_labels_and_filters() -> None:
    assert contract.argumentize("--label", contract.app_labels("app", "web", None)) == [
        "--label", 'service="app"', "--label", 'role="web"', "--label", "destination"]
    assert contract.argumentize("--label", contract.app_labels("app", "web", "prod"))[-1] == 'destination="prod"'
    assert contract.app_container_filter_args("app", None, "web") == [
        "--filter", "label=service=app", "--filter", "label=destination=", "--filter", "label=role=web"]
    assert contract.image_filter_args("app") == ["--filter", "label=service=app"]


def test_host_paths() -> None:
    assert contract.audit_log_path("app", None) == ".kamal/app-audit.log"
    assert contract.audit_log_path("app", "prod") == ".kamal/app-prod-audit.log"
    assert contract.lock_dir("app", "prod") == ".kamal/lock-app-prod"
    assert contract.lock_details_path("app", None) == ".kamal/lock-app/details"
    assert contract.role_env_path("app", "prod", "web") == ".kamal/apps/app-prod/env/roles/web.env"
    assert contract.accessory_env_path("app", None, "db") == ".kamal/apps/app/env/accessories/db.env"
    assert contract.assets_extracted_dir("app", None, "web", "v1") == ".kamal/apps/app/assets/extracted/web-v1"
    assert contract.assets_volume_dir("app", None, "web", "v1") == ".kamal/apps/app/assets/volumes/web-v1"
    assert contract.proxy_apps_config_dir() == ".kamal/proxy/apps-config"
    assert contract.proxy_boot_file("run_command") == ".kamal/proxy/run_command"
    assert contract.error_pages_dir("app", "prod", "v1", container=True) == \
        "/home/kamal-proxy/.apps-config/app-prod/error_pages/v1"
    assert contract.error_pages_dir("app", None, "v1") == ".kamal/proxy/apps-config/app/error_pages/v1"
    assert contract.tls_path("app", "prod", "cert.pem", "web", container=True) == \
        "/home/kamal-proxy/.apps-config/app-prod/tls/web/cert.pem"
    assert contract.tls_path("app", None, "key.pem") == ".kamal/proxy/apps-config/app/tls/key.pem"


@pytest.mark.parametrize(("value", "escaped"), [
    ("value", '"value"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
    ("$HOME and ${HOME}", '"\\$HOME and ${HOME}"'),
    ("cmd `id`", '"cmd \\`id\\`"'),
    ("#{x} #@y #$z #plain", '"\\#{x} \\#@y \\#\\$z #plain"'),
    ("bell\x07\x01", '"bell\\a\\x01"'),
    ("héllo wörld", '"h"é"llo w"ö"rld"'),
    (3306, '"3306"'),
    (True, '"true"'),
])
def test_escape_shell_value(value: object, escaped: str) -> None:
    assert contract.escape_shell_value(value) == escaped


def test_argumentize_and_optionize() -> None:
    assert contract.argumentize("--env", {"A": "1", "B": False, "C": None, "D": "", "E": 5}) == [
        "--env", 'A="1"', "--env", "B=false", "--env", "C", "--env", "D", "--env", 'E="5"']
    assert contract.argumentize("--volume", ["/a:/b", "c:/d"]) == ["--volume", "/a:/b", "--volume", "c:/d"]
    assert contract.argumentize("--publish", "3306:3306") == ["--publish", "3306:3306"]
    assert contract.optionize({"memory": "2g", "init": True, "add-host": ["a:1", "b:2"]}) == [
        "--memory", '"2g"', "--init", "--add-host", '"a:1"', "--add-host", '"b:2"']
    assert contract.optionize({"target": "abc:80", "tls": True, "host": ["a", "b"]}, with_="=") == [
        '--target="abc:80"', "--tls", '--host="a"', '--host="b"']
    assert contract.logging_args(None, {}) == ["--log-opt", 'max-size="10m"']
    assert contract.logging_args("json-file", {"max-size": "5m"}) == [
        "--log-driver", '"json-file"', "--log-opt", 'max-size="5m"']
    assert contract.seconds(30) == "30s"


def test_env_file_content() -> None:
    assert contract.env_file_content({}) == "\n"
    content = contract.env_file_content({
        "PLAIN": "value", "QUOTE": 'a "b"', "HASH": "#{x} #y", "MULTI": "one\ntwo", "BACK": "a\\b",
        "UTF": "héllo", "TAB": "a\tb"})
    assert content == ('PLAIN=value\nQUOTE=a "b"\nHASH=#{x} #y\nMULTI=one\\ntwo\nBACK=a\\\\b\n'
                       "UTF=héllo\nTAB=a\\tb\n")


def test_local_registry_rule() -> None:
    assert contract.is_local_registry("localhost:5000")
    assert not contract.is_local_registry("localhost")
    assert not contract.is_local_registry("registry.example.com")
    assert not contract.is_local_registry(None)


def test_ruby_dump_and_inspect_differ_only_outside_printable_ascii() -> None:
    from app import rubyish

    # Both as Ruby 3.3 (Kamal 2.11's) prints them
    assert rubyish.dump("\x01\x7f\u00e9#{x}\x1b") == '"\\x01\\x7F\\u00E9\\#{x}\\e"'
    assert rubyish.inspect("\u00e91#{x}\x1b") == '"\u00e91\\#{x}\\e"'
