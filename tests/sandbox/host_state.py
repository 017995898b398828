"""Dump what a deploy left on the sandbox hosts for one service, normalised for comparison.

Two tools that are interchangeable must leave equal dumps: containers (name, image, labels, env,
mounts, networks, restart policy, log config, command, ports, state), env files (content digest and
mode), directories under `.kamal` and the accessory directories (with modes), audit lines without
their timestamps, the service's kamal-proxy routes, images and networks. Only ids, timestamps,
random hex and IP addresses are normalised.

By hand:  python -m tests.sandbox.host_state SERVICE [HOST...]   (prints the normalised JSON)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

_SCRIPT = r"""
set -u
S="$1"
echo "### containers"
ids=$(docker ps -aq --filter "label=service=$S"
  for a in $(docker ps -a --format '{{.Names}}' | grep "^$S-"); do docker ps -aq --filter "name=^$a\$"; done)
ids=$(echo "$ids" | sort -u | tr '\n' ' ')
if [ -n "$(echo $ids | tr -d ' ')" ]; then docker inspect $ids; else echo '[]'; fi
echo "### files"
for d in .kamal/apps/$S .kamal/proxy/apps-config/$S $(ls -d $S-* 2>/dev/null); do
  [ -e "$d" ] && find "$d" -maxdepth 4 \( -path "*/data/*" -prune \) -o -printf '%y %m %p\n'
done | sort
echo "### envfiles"
for f in $(find .kamal/apps/$S -name '*.env' 2>/dev/null | sort); do
  echo "$f $(stat -c %a "$f") $(sha256sum < "$f" | cut -c1-16) $(wc -l < "$f")"
done
echo "### audit"
cat .kamal/$S-audit.log 2>/dev/null || true
echo "### lock"
ls -d .kamal/lock-$S 2>/dev/null || true
echo "### routes"
docker exec kamal-proxy kamal-proxy list 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | grep -E "(^|[[:space:]])$S-" || true
echo "### images"
docker image ls --filter "label=service=$S" --format '{{.Repository}}:{{.Tag}}' | sort
echo "### networks"
docker network ls --format '{{.Name}}' | sort
"""

_HEX_RUNS = re.compile(r"\b[0-9a-f]{12,64}\b")
_IP = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def normalise(text: str, keep: tuple[str, ...] = ()) -> str:
    """Replace timestamps, long hex (ids, random suffixes) and IPs; `keep` protects exact words (versions)."""
    protected = {word: f"@KEEP{index}@" for index, word in enumerate(keep)}
    for word, token in protected.items():
        text = text.replace(word, token)
    text = _TIMESTAMP.sub("<time>", text)
    text = _HEX_RUNS.sub("<hex>", text)
    text = _IP.sub("<ip>", text)
    for word, token in protected.items():
        text = text.replace(token, word)
    return text


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


def _hide_secret(item: str) -> str:
    """Secret env values are compared by digest, so a printed diff never shows them."""
    name, _, value = item.partition("=")
    if _SECRET_NAME.search(name):
        return f"{name}=<sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}>"
    return item


def _container(entry: dict) -> dict:
    config, host_config = entry.get("Config") or {}, entry.get("HostConfig") or {}
    return {
        "name": entry.get("Name", "").lstrip("/"),
        "image": config.get("Image"),
        "labels": dict(sorted((config.get("Labels") or {}).items())),
        "env": sorted(_hide_secret(item) for item in config.get("Env") or []),
        "cmd": config.get("Cmd"),
        "entrypoint": config.get("Entrypoint"),
        "hostname": config.get("Hostname"),
        "binds": sorted(host_config.get("Binds") or []),
        "mounts": sorted(f"{m.get('Type')} {m.get('Source')} -> {m.get('Destination')} rw={m.get('RW')}"
                         for m in entry.get("Mounts") or []),
        "networks": sorted((entry.get("NetworkSettings") or {}).get("Networks") or {}),
        "restart": host_config.get("RestartPolicy"),
        "log": host_config.get("LogConfig"),
        "ports": host_config.get("PortBindings"),
        "options": {key: host_config.get(key) for key in ("Memory", "NanoCpus", "Init", "Privileged",
                                                           "CapAdd", "ExtraHosts", "ShmSize")},
        "state": (entry.get("State") or {}).get("Status"),
    }


def _sections(output: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def parse(output: str) -> dict:
    sections = _sections(output)
    containers = sorted((_container(entry) for entry in json.loads(sections.get("containers") or "[]")),
                        key=lambda container: container["name"])
    audit = [re.sub(r"^\[[^\]]*\] ", "", line) for line in sections.get("audit", "").splitlines() if line]
    routes = [" ".join(line.split()) for line in sections.get("routes", "").splitlines() if line.strip()]
    return {
        "containers": containers,
        "files": sections.get("files", "").splitlines(),
        "env_files": sections.get("envfiles", "").splitlines(),
        "audit": audit,
        "lock": sections.get("lock", "").strip(),
        "routes": routes,
        "images": sections.get("images", "").splitlines(),
        "networks": [name for name in sections.get("networks", "").splitlines() if name == "kamal"],
    }


def dump(run_on_host: Callable[[str, str], str], hosts: list[str], service: str,
         keep: tuple[str, ...] = ()) -> dict:
    """{host: state} for `service`; `run_on_host(host, script)` runs a shell script in the SSH user's home."""
    state = {}
    for host in hosts:
        script = f"sh -s {service} <<'__SHIPDECK_DUMP__'\n{_SCRIPT}\n__SHIPDECK_DUMP__"
        state[host] = json.loads(normalise(json.dumps(parse(run_on_host(host, script))), keep))
    return state


def differences(left: dict, right: dict, names: tuple[str, str] = ("kamal", "shipdeck")) -> str:
    """A unified diff of two dumps ("" when they are equal)."""
    a = json.dumps(left, indent=1, sort_keys=True).splitlines()
    b = json.dumps(right, indent=1, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, names[0], names[1], lineterm="", n=2))


def _main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    from tests.fleet import load

    sandbox = load(Path("/var/lib/shipdeck-sandbox"))
    service = argv[0]
    hosts = argv[1:] or [host.address for host in sandbox.hosts]
    state = dump(lambda host, script: sandbox.run(host, script).stdout, hosts, service)
    print(json.dumps(state, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
