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
    return endpoint_ready(layout.netns_name(index), veth_name(index), layout.host_address(index))


def ensure_host_network(index: int) -> bool:
    """Create (or repair) host `index`'s netns and veth; True when it had to be (re)built."""
    return ensure_endpoint(layout.netns_name(index), veth_name(index), layout.host_address(index))


def remove_host_network(index: int) -> bool:
    return remove_endpoint(layout.netns_name(index), veth_name(index))


def endpoint_ready(netns: str, veth: str, address: str) -> bool:
    """Netns `netns` exists, its eth0 is up with `address` and a default route, `veth` is on the bridge."""
    if not (NETNS_DIR / netns).exists():
        return False
    result = run(["ip", "-n", netns, "-4", "-o", "addr", "show", "dev", "eth0"], check=False)
    if f" {address}/{layout.PREFIX_LENGTH} " not in result.stdout:
        return False
    route = run(["ip", "-n", netns, "route", "show", "default"], check=False).stdout
    master = run(["ip", "-o", "link", "show", veth], check=False).stdout
    return f"via {layout.GATEWAY}" in route and f"master {layout.BRIDGE}" in master and "state UP" in master


def ensure_endpoint(netns: str, veth: str, address: str) -> bool:
    """Create (or repair) a netns on the bridge with `address` on its eth0; True when it had to be (re)built."""
    if endpoint_ready(netns, veth, address):
        return False
    remove_endpoint(netns, veth)
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "master", layout.BRIDGE])
    run(["ip", "link", "set", veth, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{address}/{layout.PREFIX_LENGTH}", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "route", "add", "default", "via", layout.GATEWAY])
    # The machine may still have the address's previous eth0 (an earlier namespace) in its neighbour
    # table: until that entry expires, connections to the new one go nowhere.
    run(["ip", "neigh", "flush", "to", address], check=False)
    if not endpoint_ready(netns, veth, address):
        raise SandboxError(f"the network namespace {netns} ({address}) did not come up")
    return True


def remove_endpoint(netns: str, veth: str) -> bool:
    removed = False
    if (NETNS_DIR / netns).exists() or netns in run(["ip", "netns", "list"]).stdout.split():
        run(["ip", "netns", "del", netns], check=False)
        removed = True
    if _link_exists(veth):
        run(["ip", "link", "del", veth], check=False)
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
