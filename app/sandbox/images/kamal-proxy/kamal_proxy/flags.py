"""Command-line flags parsed the way cobra/pflag parse them.

`--name=value` and `--name value` for values; booleans are `--name` or `--name=true|false` (never a
separate word); repeatable flags collect a list; `--` ends the flags; positional arguments may be
mixed with flags. Unknown flags are an error, like `Error: unknown flag: --x`.
"""

from __future__ import annotations

import os

from . import durations


class UsageError(Exception):
    pass


class Flag:
    """One flag. `kind`: "bool", "string", "strings", "duration" or "int"; `env`: environment variables
    to fall back on, first wins. (Plain classes, not dataclasses: the command line imports this module and
    should start about as fast as the real Go binary's.)"""

    __slots__ = ("default", "env", "help", "kind", "name")

    def __init__(self, name: str, kind: str, default: object = None, help: str = "",
                 env: tuple[str, ...] = ()) -> None:
        self.name, self.kind, self.default, self.help, self.env = name, kind, default, help, env


class Command:
    """A subcommand; `args` is its exact number of positional arguments (-1: any)."""

    __slots__ = ("aliases", "args", "by_name", "flags", "name", "summary")

    def __init__(self, name: str, summary: str, flags: tuple[Flag, ...] = (), args: int = 0,
                 aliases: tuple[str, ...] = ()) -> None:
        self.name, self.summary, self.flags, self.args, self.aliases = name, summary, flags, args, aliases
        self.by_name = {flag.name: flag for flag in flags}


def _env(name: str) -> tuple[str, ...]:
    return (f"KAMAL_PROXY_{name}", name)


RUN = Command("run", "Run the server", (
    Flag("debug", "bool", False, "Include debugging logs", _env("DEBUG")),
    Flag("http-port", "int", 80, "Port to serve HTTP traffic on", _env("HTTP_PORT")),
    Flag("https-port", "int", 443, "Port to serve HTTPS traffic on", _env("HTTPS_PORT")),
    Flag("metrics-port", "int", 0, "Publish metrics on the specified port (default zero to disable)",
         _env("METRICS_PORT")),
    Flag("http3", "bool", False, "Enable HTTP/3 (accepted, not supported by the stand-in)"),
))

DEPLOY = Command("deploy", "Deploy a target host", (
    Flag("target", "strings", [], "Target host(s) to deploy"),
    Flag("read-target", "strings", [], "Read-only target host(s) (accepted; reads go to the targets)"),
    Flag("host", "strings", [], "Host(s) to serve this target on (empty for wildcard)"),
    Flag("path-prefix", "strings", [], "Deploy the service below the specified path(s)"),
    Flag("strip-path-prefix", "bool", True, "Strip specified path prefix from requests"),
    Flag("tls", "bool", False, "Configure TLS for this target (requires a non-empty host)"),
    Flag("tls-on-demand-url", "string", "", "Will make an HTTP request to the given URL (accepted)"),
    Flag("tls-staging", "bool", False, "Use Let's Encrypt staging environment (accepted)"),
    Flag("tls-certificate-path", "string", "", "Configure custom TLS certificate path (PEM format)"),
    Flag("tls-private-key-path", "string", "", "Configure custom TLS private key path (PEM format)"),
    Flag("tls-acme-cache-path", "string", "", "Location to store ACME assets (accepted)"),
    Flag("tls-redirect", "bool", True, "Redirect HTTP traffic to HTTPS when TLS is on"),
    Flag("canonical-host", "string", "", "Redirect requests for other hosts to this one"),
    Flag("deploy-timeout", "duration", 30.0, "Maximum time to wait for the new target to become healthy"),
    Flag("drain-timeout", "duration", 30.0, "Maximum time to allow existing connections to drain"),
    Flag("force", "bool", False, "Skip the health checks"),
    Flag("health-check-interval", "duration", 1.0, "Interval between health checks"),
    Flag("health-check-timeout", "duration", 5.0, "Time each health check must complete in"),
    Flag("health-check-path", "string", "/up", "Path to check for health"),
    Flag("health-check-port", "int", 0, "Port to check for health (default: the target's port)"),
    Flag("health-check-host", "string", "", "Host header for health checks"),
    Flag("writer-affinity-timeout", "duration", 1.0, "Read-target affinity (accepted)"),
    Flag("read-target-websockets", "bool", False, "Route websockets to read targets (accepted)"),
    Flag("target-timeout", "duration", 30.0, "Maximum time to wait for the target to respond"),
    Flag("buffer-requests", "bool", False, "Enable request buffering"),
    Flag("buffer-responses", "bool", False, "Enable response buffering"),
    Flag("buffer-memory", "int", 1 << 20, "Max size of memory buffer"),
    Flag("max-request-body", "int", 0, "Max size of request body when buffering (default of 0 means unlimited)"),
    Flag("max-response-body", "int", 0, "Max size of response body when buffering (0 means unlimited)"),
    Flag("error-pages", "string", "", "Path to custom error pages"),
    Flag("log-request-header", "strings", [], "Additional request header to log"),
    Flag("log-response-header", "strings", [], "Additional response header to log"),
    Flag("exclude-metrics-path", "strings", [], "Paths excluded from metrics (accepted)"),
    Flag("forward-headers", "bool", None, "Forward X-Forwarded headers to target (default !tls)"),
    Flag("client-ip-header", "string", "", "Header holding the client IP (accepted)"),
    Flag("scope-cookie-paths", "bool", False, "Scope cookie paths to the path prefix (accepted)"),
), args=1)

REMOVE = Command("remove", "Remove deployed target", args=1, aliases=("rm",))
PAUSE = Command("pause", "Pause a service", (
    Flag("drain-timeout", "duration", 30.0, "Time to allow in-flight requests to complete"),
    Flag("max-pause", "duration", 30.0, "Maximum time to pause for"),
), args=1)
STOP = Command("stop", "Stop a service (serve 503 maintenance responses)", (
    Flag("drain-timeout", "duration", 30.0, "Time to allow in-flight requests to complete"),
    Flag("message", "string", "", "Message to show on the maintenance page"),
), args=1)
RESUME = Command("resume", "Resume a service", args=1)
LIST = Command("list", "List the services currently deployed", aliases=("ls",))
ROLLOUT = Command("rollout", "Rollouts (not supported by the stand-in)", (
    Flag("target", "strings", []), Flag("read-target", "strings", []),
    Flag("deploy-timeout", "duration", 30.0), Flag("drain-timeout", "duration", 30.0),
    Flag("percent", "int", 0), Flag("list", "strings", []),
), args=-1)

COMMANDS = (RUN, DEPLOY, REMOVE, PAUSE, STOP, RESUME, LIST, ROLLOUT)


def find_command(name: str) -> Command:
    for command in COMMANDS:
        if name == command.name or name in command.aliases:
            return command
    raise UsageError(f'unknown command "{name}" for "kamal-proxy"')


def _bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise UsageError(f'invalid argument "{raw}" for "--{name}" flag: strconv.ParseBool: parsing "{raw}": '
                     "invalid syntax")


def _convert(flag: Flag, raw: str) -> object:
    if flag.kind == "bool":
        return _bool(flag.name, raw)
    if flag.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f'invalid argument "{raw}" for "--{flag.name}" flag: parse error') from None
    if flag.kind == "duration":
        try:
            return durations.parse(raw)
        except ValueError as exc:
            raise UsageError(f'invalid argument "{raw}" for "--{flag.name}" flag: {exc}') from None
    return raw


def parse(command: Command, argv: list[str], environ: dict[str, str] | None = None
          ) -> tuple[dict[str, object], list[str]]:
    """Values of every flag of `command` (defaults filled in) and the positional arguments."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, object] = {}
    positional: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            positional.extend(argv[index:])
            break
        if not word.startswith("--") or word == "--":
            if word.startswith("-") and len(word) > 1:
                raise UsageError(f"unknown shorthand flag: '{word[1]}' in {word}")
            positional.append(word)
            continue
        name, has_value, raw = word[2:].partition("=")
        flag = command.by_name.get(name)
        if flag is None:
            raise UsageError(f"unknown flag: --{name}")
        if not has_value and flag.kind != "bool":
            if index >= len(argv):
                raise UsageError(f"flag needs an argument: --{name}")
            raw = argv[index]
            index += 1
        value = True if flag.kind == "bool" and not has_value else _convert(flag, raw)
        if flag.kind == "strings":
            values.setdefault(name, []).extend(part for part in raw.split(",") if part)
        else:
            values[name] = value
    for flag in command.flags:
        if flag.name in values:
            continue
        from_env = next((environ[key] for key in flag.env if environ.get(key)), None)
        if from_env is not None:
            values[flag.name] = _convert(flag, from_env)
        else:
            values[flag.name] = list(flag.default) if isinstance(flag.default, list) else flag.default
    if command.args >= 0 and len(positional) != command.args:
        raise UsageError(f"accepts {command.args} arg(s), received {len(positional)}")
    return values, positional


def usage(command: Command) -> str:
    lines = [command.summary, "", "Usage:", f"  kamal-proxy {command.name}"
             + (" <service>" if command.args == 1 else "") + (" [flags]" if command.flags else "")]
    if command.flags:
        lines += ["", "Flags:"]
        width = max(len(flag.name) for flag in command.flags) + 4
        lines += [f"      --{flag.name:<{width}}{flag.help}" for flag in command.flags]
    return "\n".join(lines)


def root_usage() -> str:
    lines = ["kamal-proxy (sandbox stand-in)", "", "Usage:", "  kamal-proxy [command]", "",
             "Available Commands:"]
    lines += [f"  {command.name:<10}{command.summary}" for command in COMMANDS]
    return "\n".join(lines)
