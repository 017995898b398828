"""`shipdeck docs [SECTION]`: the keys each section of config/deploy.yml accepts, with an example value.

Drawn from the shape the validator checks (`app.config.schema`), so it can never list a key that
`shipdeck config` would refuse, nor miss one it accepts.
"""

from __future__ import annotations

import argparse
import sys

import yaml

from app.config import schema
from app.errors import UsageError

ENV_EXAMPLE = {"clear": {"DB_HOST": "db.example.com"}, "secret": ["DB_PASSWORD", "RAILS_MASTER_KEY"],
               "tags": {"monitoring": {"DD_TAGS": "production"}}}
SERVERS_EXAMPLE = {"web": ["172.1.0.1", "172.1.0.2"],
                   "workers": {"hosts": ["172.1.0.3"], "cmd": "bin/jobs"}}

SECTIONS: dict[str, tuple[str, object]] = {
    "configuration": ("The top level of config/deploy.yml (config/deploy.DEST.yml is merged over it with -d).",
                      schema.CONFIGURATION),
    "accessory": ("One entry under `accessories:` (a database, a cache, ...).", schema.ACCESSORY),
    "alias": ("One entry under `aliases:`: a name for a shipdeck/kamal command line.", schema.ALIAS),
    "boot": ("`boot:`: how many hosts boot at once and the wait between groups.", schema.BOOT),
    "builder": ("`builder:`: how the app image is built.", schema.BUILDER),
    "env": ("`env:` (top level, per role or per accessory): clear values, secret names, tags.", ENV_EXAMPLE),
    "logging": ("`logging:`: the Docker log driver and its options.", schema.LOGGING),
    "output": ("`output:`: where deploy output is also written.", schema.OUTPUT),
    "proxy": ("`proxy:` (top level or per role): kamal-proxy's routing of the app.", schema.PROXY),
    "registry": ("`registry:`: where images are pushed and pulled (username and password: secrets or values).",
                 {**schema.REGISTRY, "username": "registry-user", "password": ["KAMAL_REGISTRY_PASSWORD"]}),
    "role": ("One role under `servers:` written as a hash.", schema.ROLE),
    "servers": ("`servers:`: a list of hosts (the web role) or roles by name.", SERVERS_EXAMPLE),
    "ssh": ("`ssh:`: how shipdeck connects to the hosts.", schema.SSH),
    "sshkit": ("`sshkit:`: connection pool settings (accepted as Kamal does).", schema.SSHKIT),
}


def _example(value: object) -> object:
    """The schema's example with `...` (a section checked on its own) shown as a pointer."""
    if value == schema.SECTION:
        return "(a section: shipdeck docs <name>)"
    if isinstance(value, dict):
        return {key: _example(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_example(item) for item in value]
    return value


def render(section: str) -> str:
    if section not in SECTIONS:
        raise UsageError(f"No documentation for {section!r}; sections: {', '.join(SECTIONS)}")
    summary, example = SECTIONS[section]
    body = yaml.safe_dump(_example(example), sort_keys=False, default_flow_style=False, allow_unicode=True)
    return f"# {section}\n#\n# {summary}\n\n{body}"


def show(args: argparse.Namespace) -> int:
    if args.section is None:
        sys.stdout.write(render("configuration"))
        sys.stdout.write("\n# Sections: " + ", ".join(SECTIONS) + " (shipdeck docs SECTION)\n")
        return 0
    sys.stdout.write(render(args.section))
    return 0
