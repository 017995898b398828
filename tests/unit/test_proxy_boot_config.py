"""What `proxy boot_config set` writes under .kamal/proxy, from its options (Kamal 2.11's rules)."""

from __future__ import annotations

import pytest

from app.engine.proxy_boot_config import BootConfig, files
from app.errors import UsageError


def test_defaults_remove_every_file() -> None:
    assert files(BootConfig()) == {"options": None, "image": None, "image_version": None, "run_command": None}


def test_every_option_lands_in_its_file() -> None:
    chosen = BootConfig(http_port=8080, https_port=8443, publish_host_ips=("10.0.0.1", "::1"), log_max_size="30m",
                        metrics_port=9090, debug=True, registry="registry.test:5000", image_version="v0.9.2",
                        docker_options=("label=team=ops", "memory=512m"))
    assert files(chosen) == {
        "options": "--publish 10.0.0.1:8080:80 --publish 10.0.0.1:8443:443 --publish [::1]:8080:80 "
                   "--publish [::1]:8443:443 --log-opt max-size=30m --expose=9090 --label=team=ops --memory=512m",
        "image": "registry.test:5000/basecamp/kamal-proxy",
        "image_version": "v0.9.2",
        "run_command": 'kamal-proxy run --debug --metrics-port "9090"',
    }


def test_without_publish_only_the_log_option_stays() -> None:
    chosen = files(BootConfig(publish=False, repository="mirror"))
    assert chosen["options"] == "--log-opt max-size=10m"
    assert chosen["image"] == "mirror/kamal-proxy"


def test_a_bad_bind_ip_is_refused() -> None:
    with pytest.raises(UsageError, match="Invalid publish IP address: nope"):
        files(BootConfig(publish_host_ips=("nope",)))
