"""`proxy reboot --rolling` replaces kamal-proxy host by host: a client that tries the other web host when
one does not answer (what a load balancer in front of the hosts does) sees no failed request, and every
route is back after each host's reboot (from the proxy's state volume; the app is not redeployed)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, get, make_project, pushed_and_deployed, shipdeck

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("rolling") / "demo"), job=False)
    with pushed_and_deployed(made) as deployed:
        yield deployed


class Client:
    """Requests `/version` every 50 ms, each to the next host first and to the other when it fails."""

    def __init__(self, project: Project, hosts: list[str]) -> None:
        self.project, self.hosts = project, hosts
        self.requests = 0
        self.failed = 0  # no host answered
        self.host_failures = dict.fromkeys(hosts, 0)  # a host did not answer (another did)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _answer(self, host: str) -> bool:
        try:
            status, _ = get(host, self.project.proxy_host, "/version", timeout=2)
        except OSError:
            return False
        return status == 200

    def _loop(self) -> None:
        turn = 0
        while not self._stop.is_set():
            order = self.hosts[turn % len(self.hosts):] + self.hosts[:turn % len(self.hosts)]
            turn += 1
            self.requests += 1
            for host in order:
                if self._answer(host):
                    break
                self.host_failures[host] += 1
            else:
                self.failed += 1
            time.sleep(0.05)

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _proxy_id(project: Project, host: str) -> str:
    return project.sandbox.run(host, "docker inspect -f '{{.Id}}' kamal-proxy").stdout.strip()


def test_a_rolling_proxy_reboot_fails_no_request(project: Project) -> None:
    hosts = project.web_hosts()
    assert len(hosts) >= 2
    before = {host: _proxy_id(project, host) for host in hosts}
    with Client(project, hosts) as client:
        time.sleep(1)
        shipdeck(project, "proxy", "reboot", "--rolling", "-y")  # Kamal's -y answers the question
        time.sleep(1)
    assert all(_proxy_id(project, host) != before[host] for host in hosts)  # every proxy was replaced
    assert client.requests > 20
    assert client.failed == 0, (client.failed, client.host_failures)
    for host in hosts:  # each host serves the app again without a redeploy
        assert get(host, project.proxy_host, "/version")[0] == 200
    print(f"rolling proxy reboot: {client.requests} requests, {client.failed} failed; "
          f"per host without an answer: {client.host_failures}")
