"""Recogniser 5: a kamal-proxy older than the minimum Kamal deploys through, found before the deploy starts.

Kamal stops a deploy on such a host with "kamal-proxy version X is too old, run `kamal proxy reboot`";
a reboot replaces the proxy container, which is an outage on that host, so it is never done silently.
"""

from __future__ import annotations

from collections.abc import Mapping

from app import contract
from app.config.build import gem_version
from app.config.model import Config
from app.diagnose.findings import LOCAL, Finding, Repair, Step, shipdeck_argv


def is_older(version: str, minimum: str = contract.MINIMUM_PROXY_VERSION) -> bool | None:
    """Gem::Version order after a leading `v`; None when `version` is not a version (e.g. `latest`)."""
    try:
        return gem_version(version.removeprefix("v")) < gem_version(minimum.removeprefix("v"))
    except ValueError:
        return None


def recognise_old_proxy(versions: Mapping[str, str | None], config: Config,
                        minimum: str = contract.MINIMUM_PROXY_VERSION) -> Finding | None:
    """`versions`: host -> the tag of the image its kamal-proxy container runs (None: no proxy there yet)."""
    old = {host: version for host, version in versions.items() if version and is_older(version, minimum)}
    if not old:
        return None
    listed = ", ".join(f"{host} ({version})" for host, version in old.items())
    several = len(versions) > 1
    rolling = shipdeck_argv(config, "proxy", "reboot", "--rolling")
    return Finding(
        code="proxy.too_old", title=f"kamal-proxy is older than {minimum}",
        what=f"kamal-proxy runs an old version on {listed}. A deploy stops there before booting the app: "
             f"kamal-proxy version {next(iter(old.values()))} is too old.",
        why=f"Kamal 2 deploys only through kamal-proxy {minimum} or newer (the deploy options it passes changed).",
        fix="Reboot the proxy to the new version. It replaces the kamal-proxy container: that host serves "
            "nothing for a few seconds. " + (
                "With --rolling one host is rebooted at a time, so hosts behind a load balancer keep serving "
                "while each one restarts (pre-/post-proxy-reboot hooks can drain them). " if several else "")
            + f"In CI add --confirm=proxy.reboot:{contract.PROXY_CONTAINER}.",
        host=next(iter(old)) if len(old) == 1 else None, target=contract.PROXY_CONTAINER,
        repairs=(Repair(id="proxy-reboot", label="Reboot kamal-proxy" + (", one host at a time" if several else ""),
                        steps=(Step(LOCAL, rolling if several else shipdeck_argv(config, "proxy", "reboot"),
                                    purpose="replace kamal-proxy with the configured version"),),
                        confirm=f"proxy.reboot:{contract.PROXY_CONTAINER}",
                        consequence="A brief outage on each rebooted host."),),
        evidence=tuple(f"{host}: kamal-proxy {version}" for host, version in old.items()))
