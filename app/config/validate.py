"""Kamal 2.11's config validator: the same checks, in the same order, with the same messages.

Each check raises `Invalid(message, path)`; `path` is where the offending key sits in the merged
config, so the loader can turn it into `file:line`. Messages carry Kamal's own context prefix
(`servers/web/options: ...`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.config import schema
from app.rubyish import blank, is_string_like, present, to_s, truthy

Path = tuple[object, ...]


class Invalid(Exception):
    def __init__(self, message: str, path: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = tuple(path)


_DESCRIPTIONS = {int: "an integer", list: "an array", bool: "a boolean", str: "a string", dict: "a hash",
                 float: "a float", type(None): "a nilclass", "symbol": "a symbol"}


def _valid_type(value: object, expected: object) -> bool:
    if expected is str:
        return is_string_like(value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "symbol":
        from app.config.yamlsource import Symbol

        return isinstance(value, Symbol)
    if expected is type(None):
        return value is None
    return isinstance(value, expected)  # type: ignore[arg-type]


def _example_type(example: object) -> object:
    if isinstance(example, bool):
        return bool
    if isinstance(example, dict):
        return dict
    if isinstance(example, list):
        return list
    return type(example)


def _present_segment(segment: object) -> bool:
    return segment is not None and not (isinstance(segment, str) and segment.strip() == "")


class _Nested:
    """`with validator.nested(key):` — Kamal's `with_context(key)`."""

    __slots__ = ("segment", "validator")

    def __init__(self, validator: Validator, segment: object) -> None:
        self.validator = validator
        self.segment = segment

    def __enter__(self) -> None:
        self.validator._extra = (*self.validator._extra, self.segment)

    def __exit__(self, *exc: object) -> None:
        self.validator._extra = self.validator._extra[:-1]


class Validator:
    """Checks a section against its documented example (Kamal::Configuration::Validator)."""

    allow_extensions = False

    def __init__(self, config: object, example: object, context: Path, where: Path | None = None) -> None:
        self.config = config
        self.example = example
        self.context = tuple(context)
        self.where = tuple(where if where is not None else context)
        self._extra: Path = ()

    # -- plumbing

    def error(self, message: str, at: Path = ()) -> None:
        """Fail with Kamal's context prefix; `at` narrows the location below the context."""
        parts = [to_s(segment) for segment in (*self.context, *self._extra) if _present_segment(segment)]
        prefix = f"{'/'.join(parts)}: " if parts else ""
        raise Invalid(prefix + message, (*self.where, *self._extra, *at))

    def nested(self, segment: object) -> _Nested:
        return _Nested(self, segment)

    def type_error(self, *expected: object) -> None:
        descriptions: list[str] = []
        for kind in expected:
            description = _DESCRIPTIONS[kind]  # type: ignore[index]
            if description not in descriptions:
                descriptions.append(description)
        self.error(f"should be {' or '.join(descriptions)}")

    def check_type(self, value: object, *expected: object) -> None:
        if not any(_valid_type(value, kind) for kind in expected):
            self.type_error(*expected)

    # -- the generic example walk

    def validate(self) -> None:
        self.against_example(self.config, self.example)

    def against_example(self, config: object, example: object) -> None:
        self.check_type(config, _example_type(example))
        if not isinstance(example, dict):
            return
        assert isinstance(config, dict)
        self.check_unknown_keys(config, example)
        for key, value in config.items():
            if self.extension(key):
                continue
            with self.nested(key):
                self.check_value(key, value, example[key])

    def check_value(self, key: object, value: object, expected: object) -> None:
        name = to_s(key)
        if expected == schema.SECTION:
            if not (name == "proxy" and isinstance(value, bool)):
                if key == "servers" and self.allow_extensions:
                    self.check_type(value, list, dict)
                else:
                    self.check_type(value, dict)
        elif name == "ssl":
            self.check_type(value, bool, dict)
        elif name == "hooks_output":
            self.hooks_output(value)
        elif key == "hosts":
            self.servers(value)
        elif isinstance(expected, list):
            if key == "arch":
                self.array_of_or_type(value, _example_type(expected[0]))
            elif name == "config":
                self.ssh_config(value)
            elif name in ("files", "directories"):
                self.paths(value)
            else:
                self.array_of(value, _example_type(expected[0]))
        elif isinstance(expected, dict):
            if name in ("options", "args"):
                self.check_type(value, dict)
            elif name == "labels":
                self.hash_of(value, _example_type(next(iter(expected.values()))))
            else:
                self.against_example(value, expected)
        else:
            self.check_type(value, _example_type(expected))

    def extension(self, key: object) -> bool:
        return to_s(key).startswith("x-")

    def check_unknown_keys(self, config: dict, example: dict) -> None:
        unknown = [key for key in config if key not in example]
        if self.allow_extensions:
            unknown = [key for key in unknown if not self.extension(key)]
        if unknown:
            self.unknown_keys_error(unknown)

    def unknown_keys_error(self, unknown: Sequence[object]) -> None:
        noun = "key" if len(unknown) == 1 else "keys"
        self.error(f"unknown {noun}: {', '.join(to_s(key) for key in unknown)}", at=(unknown[0],))

    # -- shapes

    def array_of_or_type(self, value: object, kind: object) -> None:
        try:
            if isinstance(value, list):
                self.array_of(value, kind)
            else:
                self.check_type(value, kind)
        except Invalid:
            self.type_error(list, kind)

    def array_of(self, array: object, kind: object) -> None:
        self.check_type(array, list)
        assert isinstance(array, list)
        for index, value in enumerate(array):
            if not _valid_type(value, kind):
                with self.nested(index):
                    self.type_error(kind)

    def hash_of(self, mapping: object, kind: object) -> None:
        self.check_type(mapping, dict)
        assert isinstance(mapping, dict)
        for key, value in mapping.items():
            if not _valid_type(value, kind):
                with self.nested(key):
                    self.type_error(kind)

    def servers(self, servers: object) -> None:
        self.check_type(servers, list)
        assert isinstance(servers, list)
        for index, server in enumerate(servers):
            with self.nested(index):
                self.check_type(server, str, dict)
                if isinstance(server, dict):
                    if len(server) != 1:
                        self.error("multiple hosts found")
                    host, tags = next(iter(server.items()))
                    with self.nested(host):
                        self.check_type(tags, str, list)
                        if isinstance(tags, list):
                            self.array_of(tags, str)

    def ssh_config(self, value: object) -> None:
        if isinstance(value, list):
            self.array_of(value, str)
        elif not isinstance(value, bool | str):
            self.type_error(bool, str, list)

    def paths(self, paths: object) -> None:
        self.check_type(paths, list)
        assert isinstance(paths, list)
        for index, path in enumerate(paths):
            with self.nested(index):
                self.check_type(path, str, dict)
                if isinstance(path, dict):
                    for key in ("local", "remote", "mode", "owner", "options"):
                        with self.nested(key):
                            if key in path:
                                self.check_type(path[key], str)

    def hooks_output(self, value: object) -> None:
        if isinstance(value, dict):
            for hook, level in value.items():
                with self.nested(hook):
                    self.check_type(level, str, "symbol")
        else:
            self.check_type(value, str, "symbol")

    def labels(self, labels: object) -> None:
        if blank(labels):
            return
        assert isinstance(labels, dict)
        with self.nested("labels"):
            for key in labels:
                with self.nested(key):
                    if key in ("destination", "role", "service"):
                        self.error("invalid label. destination, role, and service are reserved labels")

    def docker_options(self, options: object) -> None:
        if truthy(options) and isinstance(options, dict) and truthy(options.get("restart")):
            self.error("Cannot set restart policy in docker options, unless-stopped is required")


class ConfigurationValidator(Validator):
    allow_extensions = True


class ServersValidator(Validator):
    def validate(self) -> None:
        self.check_type(self.config, list, dict, type(None))
        if isinstance(self.config, list):
            self.servers(self.config)


class RoleValidator(Validator):
    def validate(self) -> None:
        self.check_type(self.config, list, dict)
        if isinstance(self.config, list):
            self.servers(self.config)
        else:
            super().validate()
            assert isinstance(self.config, dict)
            self.labels(self.config.get("labels"))
            self.docker_options(self.config.get("options"))


HOST_KEYS = ("host", "hosts", "role", "roles", "tag", "tags")


class AccessoryValidator(Validator):
    def validate(self) -> None:
        super().validate()
        assert isinstance(self.config, dict)
        if len([key for key in self.config if key in HOST_KEYS]) != 1:
            self.error("specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
        self.labels(self.config.get("labels"))
        self.docker_options(self.config.get("options"))


class AliasValidator(Validator):
    def validate(self) -> None:
        super().validate()
        name = to_s(self.context[-1])
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            self.error(f"Invalid alias name: '{name}'. Must only contain lowercase letters, alphanumeric, "
                       "hyphens and underscores.")
        if name in schema.BUILTIN_COMMANDS:
            self.error(f"Alias '{name}' conflicts with a built-in command.")


class BuilderValidator(Validator):
    def validate(self) -> None:
        super().validate()
        config = self.config
        assert isinstance(config, dict)
        cache = config.get("cache")
        if truthy(cache) and truthy(cache.get("type")) and cache["type"] not in ("gha", "registry"):
            self.error(f"Invalid cache type: {to_s(cache['type'])}")
        if blank(config.get("arch")):
            self.error("Builder arch not set")
        if truthy(config.get("pack")) and isinstance(config.get("arch"), list) and len(config["arch"]) > 1:
            self.error("buildpacks only support building for one arch")
        if config.get("local") is False and blank(config.get("remote")):
            self.error("Cannot disable local builds, no remote is set")


class EnvValidator(Validator):
    SPECIAL_KEYS = ("clear", "secret", "tags")

    def validate(self) -> None:
        config = self.config
        if isinstance(config, dict) and any(key in self.SPECIAL_KEYS for key in config):
            self.complex_env(config)
        else:
            self.hash_of(config, str)

    def complex_env(self, config: dict) -> None:
        unknown = [key for key in config if key not in self.SPECIAL_KEYS]
        if unknown:
            self.unknown_keys_error(unknown)
        if "clear" in config:
            with self.nested("clear"):
                self.hash_of(config["clear"], str)
        if "secret" in config:
            with self.nested("secret"):
                self.array_of(config["secret"], str)
        if "tags" in config:
            self.tags(config["tags"])

    def tags(self, tags: object) -> None:
        if self.context != ("env",) or self._extra:
            self.error("tags are only allowed in the root env", at=("tags",))
        with self.nested("tags"):
            self.check_type(tags, dict)
            assert isinstance(tags, dict)
            for tag, value in tags.items():
                with self.nested(tag):
                    self.check_type(value, dict)
                    path = (*self.context, *self._extra)
                    EnvValidator(value, None, path, (*self.where, *self._extra)).validate()


class ProxyValidator(Validator):
    def validate(self) -> None:
        config = self.config
        if config is None:
            return
        super().validate()
        assert isinstance(config, dict)
        if blank(config.get("host")) and blank(config.get("hosts")) and truthy(config.get("ssl")):
            self.error("Must set a host to enable automatic SSL")
        if len([key for key in config if key in ("host", "hosts")]) > 1:
            self.error("Specify one of 'host' or 'hosts', not both")
        ssl = config.get("ssl")
        if isinstance(ssl, dict):
            if present(ssl.get("certificate_pem")) and blank(ssl.get("private_key_pem")):
                self.error("Missing private_key_pem setting (required when certificate_pem is present)")
            if present(ssl.get("private_key_pem")) and blank(ssl.get("certificate_pem")):
                self.error("Missing certificate_pem setting (required when private_key_pem is present)")
        run = config.get("run")
        # Kamal 2.11 checks bind_ips of the proxy block (always absent), so bad IPs pass here.
        if truthy(run) and isinstance(run, dict) and run.get("publish") is False and (
            present(run.get("bind_ips")) or present(run.get("http_port")) or present(run.get("https_port"))
        ):
            self.error("Cannot set http_port, https_port or bind_ips when publish is false")


class RegistryValidator(Validator):
    CREDENTIALS = ("username", "password")

    def validate(self) -> None:
        config = self.config
        self.check_type(config, dict)
        assert isinstance(config, dict)
        others = {key: value for key, value in config.items() if key not in self.CREDENTIALS}
        self.against_example(others, self.example)
        for key in self.CREDENTIALS:
            with self.nested(key):
                self.credential(config.get(key), config.get("server"))

    def credential(self, value: object, server: object) -> None:
        if isinstance(server, str) and re.search(r"^localhost[:$]", server, re.MULTILINE):
            return
        if not present(value):
            self.error("is required")
        if not (isinstance(value, str) or (isinstance(value, list) and len(value) == 1
                                           and isinstance(value[0], str))):
            self.error("should be a string or an array with one string (for secret lookup)")
