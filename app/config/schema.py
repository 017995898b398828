"""The shape Kamal 2.11 validates a config against.

Kamal validates each section by comparing it with the example in its own documentation
(`kamal docs <section>`): the keys of the example are the allowed keys, and the Ruby class of each
example value is the expected type (`"..."` means "a hash, checked by its own section"). These are
those examples reduced to what the validator looks at: a value's type, a nested example, or a
one-element list giving the item type. Keep them in step with `kamal docs`.

Kamal 2.12 keys that change nothing on servers for a 2.11 user are accepted as well
(`KAMAL_2_12_KEYS`).
"""

from __future__ import annotations

SECTION = "..."  # a hash that its own section validates

CONFIGURATION: dict[str, object] = {
    "service": "myapp",
    "image": "my-image",
    "labels": {"my-label": "my-value"},
    "volumes": ["/path/on/host:/path/in/container:ro"],
    "registry": SECTION,
    "servers": SECTION,
    "env": SECTION,
    "asset_path": "/path/to/assets",
    "hooks_path": "/user_home/kamal/hooks",
    "hooks_output": {"pre-deploy": "verbose"},
    "secrets_path": "/user_home/kamal/secrets",
    "error_pages_path": "public",
    "require_destination": True,
    "primary_role": "workers",
    "allow_empty_roles": False,
    "retain_containers": 3,
    "minimum_version": "1.3.0",
    "readiness_delay": 4,
    "deploy_timeout": 10,
    "drain_timeout": 10,
    "run_directory": "/etc/kamal",
    "ssh": SECTION,
    "builder": SECTION,
    "accessories": SECTION,
    "proxy": SECTION,
    "sshkit": SECTION,
    "boot": SECTION,
    "logging": SECTION,
    "aliases": SECTION,
}

ROLE: dict[str, object] = {
    "hosts": ["172.1.0.3"],
    "cmd": "bin/jobs",
    "options": {"memory": "2g", "cpus": 4},
    "logging": SECTION,
    "proxy": SECTION,
    "labels": {"my-label": "workers"},
    "env": SECTION,
    "asset_path": "/public",
}

PROXY: dict[str, object] = {
    "host": "foo.example.com",
    "hosts": ["foo.example.com"],
    "app_port": 3000,
    "ssl": {"certificate_pem": "CERTIFICATE_PEM", "private_key_pem": "PRIVATE_KEY_PEM"},
    "ssl_redirect": False,
    "forward_headers": True,
    "response_timeout": 10,
    "path_prefix": "/api,/oauth_callback",
    "path_prefixes": ["/api"],
    "strip_path_prefix": False,
    "healthcheck": {"interval": 3, "path": "/health", "timeout": 3},
    "buffering": {
        "requests": True,
        "responses": True,
        "max_request_body": 40_000_000,
        "max_response_body": 0,
        "memory": 2_000_000,
    },
    "logging": {"request_headers": ["Cache-Control"], "response_headers": ["X-Request-ID"]},
    "run": {
        "http_port": 8080,
        "https_port": 8443,
        "metrics_port": 9090,
        "debug": True,
        "log_max_size": "30m",
        "publish": False,
        "bind_ips": ["0.0.0.0"],
        "registry": "registry:4443",
        "repository": "myrepo/kamal-proxy",
        "version": "v0.8.0",
        "options": {"memory": "512m"},
    },
}

ACCESSORY: dict[str, object] = {
    "service": "mysql",
    "image": "mysql:8.0",
    "registry": SECTION,
    "host": "mysql-db1",
    "hosts": ["mysql-db1"],
    "role": "mysql",
    "roles": ["mysql"],
    "tag": "writer",
    "tags": ["writer"],
    "cmd": "bin/mysqld",
    "port": "127.0.0.1:3306:3306",
    "labels": {"app": "myapp"},
    "options": {"cpus": 2},
    "env": SECTION,
    "files": [{"local": "config/secret.key", "remote": "/etc/mysql/secret.key"}],
    "directories": [{"local": "mysql-data", "remote": "/var/lib/mysql"}],
    "volumes": ["/path/to/mysql-logs:/var/log/mysql"],
    "network": "custom",
    "proxy": SECTION,
}

BUILDER: dict[str, object] = {
    "arch": ["amd64"],
    "remote": "ssh://docker@docker-builder",
    "local": True,
    "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]},
    "cache": {"type": "registry", "options": "mode=max", "image": "kamal-app-build-cache"},
    "context": ".",
    "dockerfile": "Dockerfile.production",
    "target": "production",
    "args": {"ENVIRONMENT": "production"},
    "secrets": ["SECRET1"],
    "ssh": "default=$SSH_AUTH_SOCK",
    "driver": "cloud org-name/builder-name",
    "provenance": "mode=max",
    "sbom": True,
}

REGISTRY: dict[str, object] = {"server": "registry.example.com"}  # username/password: own rules

SSH: dict[str, object] = {
    "user": "app",
    "port": "2222",
    "proxy": "root@proxy-host",
    "proxy_command": "ssh -W %h:%p user@proxy",
    "log_level": "debug",
    "keys_only": False,
    "keys": ["~/.ssh/id.pem"],
    "key_data": ["SSH_PRIVATE_KEY"],
    "config": ["~/.ssh/myconfig"],
}

SSHKIT: dict[str, object] = {"max_concurrent_starts": 10, "pool_idle_timeout": 300, "dns_retries": 3}

BOOT: dict[str, object] = {"limit": "25%", "wait": 10, "parallel_roles": True}

LOGGING: dict[str, object] = {"driver": "json-file", "options": {"max-size": "100m"}}

ALIAS = "app exec -p -q -r web \"uname -a\""

# Kamal 2.12 additions, accepted because they change nothing on servers that Kamal 2.11 set up.
KAMAL_2_12_KEYS: dict[str, dict[str, object]] = {
    "configuration": {"stop_timeout": 30, "output": SECTION},
    "role": {"stop_timeout": 30},
    "ssh": {"forward_agent": True},
}
CONFIGURATION.update(KAMAL_2_12_KEYS["configuration"])
ROLE.update(KAMAL_2_12_KEYS["role"])
SSH.update(KAMAL_2_12_KEYS["ssh"])

OUTPUT: dict[str, object] = {"file": {"path": "log/deploy.log"}, "otel": {"endpoint": "http://otel:4318"}}

# Built-in `kamal` commands an alias may not shadow (`Kamal::Cli::Main.commands`).
BUILTIN_COMMANDS = frozenset({
    "accessory", "app", "audit", "build", "config", "deploy", "details", "docs", "init", "lock", "proxy",
    "prune", "redeploy", "registry", "remove", "rollback", "secrets", "server", "setup", "upgrade",
    "version",
})

KAMAL_VERSION = "2.11.0"
