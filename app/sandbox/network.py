"""The sandbox's private network: bridge `sdbr0` on 10.77.0.1/24, one netns + veth per host."""

from __future__ import annotations

from pathlib import Path

from app.sandbox import layout
from app.sandbox.system import SandboxError, run

NETNS_DIR = Path("/run/netns")
# Bridged traffic passes the FORWARD chain once br_netfilter is loaded (docker loads it) and docker
# sets that chain's policy to DROP: this rule lets the hosts reach each other (app -> db accessory).
FORWARD_RULE = ["FORWARD", "-i", layout.BRIDGE, "-o", layout.BRIDGE, "-j", "ACCEPT",
                "-m", "comment", "--comment", "shipdeck-sandbox"]


def veth_name(index: int) -> str:
    """Machine-side end of host `index`'s veth pair (inside the host it is called eth0)."""
    return f"sdveth{index}"


def netns_path(index: int) -> Path:
    return NETNS_DIR / layout.netns_name(index)


def _link_exists(name: str, netns: str | None = None) -> bool:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return run([*prefix, "link", "show", name], check=False).returncode == 0


def ensure_bridge() -> bool:
    """Create the bridge with the machine's address on it; True when something was created."""
    created = False
    if not _link_exists(layout.BRIDGE):
        run(["ip", "link", "add", layout.BRIDGE, "type", "bridge"])
        created = True
    addresses = run(["ip", "-4", "-o", "addr", "show", "dev", layout.BRIDGE]).stdout
    if f" {layout.GATEWAY}/{layout.PREFIX_LENGTH} " not in addresses:
        run(["ip", "addr", "add", f"{layout.GATEWAY}/{layout.PREFIX_LENGTH}", "dev", layout.BRIDGE])
        created = True
    run(["ip", "link", "set", layout.BRIDGE, "up"])
    if run(["iptables", "-C", *FORWARD_RULE], check=False).returncode != 0:
        run(["iptables", "-I", *FORWARD_RULE])
    return created


def remove_bridge() -> bool:
    while run(["iptables", "-D", *FORWARD_RULE], check=False).returncode == 0:
        pass
    if _link_exists(layout.BRIDGE):
        run(["ip", "link", "del", layout.BRIDGE])
        return True
    return False


def host_network_ready(index: int) -> bool:
    """The host's netns exists, and its eth0 is up with the right address and a default route."""
    name = layout.netns_name(index)
    if not netns_path(index).exists():
        return False
    result = run(["ip", "-n", name, "-4", "-o", "addr", "show", "dev", "eth0"], check=False)
    if f" {layout.host_address(index)}/{layout.PREFIX_LENGTH} " not in result.stdout:
        return False
    route = run(["ip", "-n", name, "route", "show", "default"], check=False).stdout
    master = run(["ip", "-o", "link", "show", veth_name(index)], check=False).stdout
    return f"via {layout.GATEWAY}" in route and f"master {layout.BRIDGE}" in master and "state UP" in master


def ensure_host_network(index: int) -> bool:
    """Create (or repair) host `index`'s netns and veth; True when it had to be (re)built."""
    if host_network_ready(index):
        return False
    remove_host_network(index)
    name = layout.netns_name(index)
    veth = veth_name(index)
    run(["ip", "netns", "add", name])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name])
    run(["ip", "link", "set", veth, "master", layout.BRIDGE])
    run(["ip", "link", "set", veth, "up"])
    address = f"{layout.host_address(index)}/{layout.PREFIX_LENGTH}"
    run(["ip", "-n", name, "addr", "add", address, "dev", "eth0"])
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    run(["ip", "-n", name, "link", "set", "eth0", "up"])
    run(["ip", "-n", name, "route", "add", "default", "via", layout.GATEWAY])
    if not host_network_ready(index):
        raise SandboxError(f"the network of {layout.host_name(index)} did not come up")
    return True


def remove_host_network(index: int) -> bool:
    removed = False
    if netns_path(index).exists() or layout.netns_name(index) in run(["ip", "netns", "list"]).stdout:
        run(["ip", "netns", "del", layout.netns_name(index)], check=False)
        removed = True
    if _link_exists(veth_name(index)):
        run(["ip", "link", "del", veth_name(index)], check=False)
        removed = True
    return removed


def leftover_host_indexes() -> list[int]:
    """Indexes of sandbox netns that exist now (also those of a bigger earlier fleet)."""
    prefix = layout.netns_name(0)[:-1]
    indexes = []
    for line in run(["ip", "netns", "list"]).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            indexes.append(int(name[len(prefix):]))
    return sorted(indexes)
