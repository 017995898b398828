"""Ruby values in shipdeck's ERB: what they print as, how they compare, and the methods they answer.

nil, true/false, Integer, Float, String, Symbol and Array map to None, bool, int, float, str, `Symbol`
and list; `ENV` is `ENV`; a fact about the Ruby that runs Kamal (RUBY_VERSION) is an `Unknown`. Method
calls follow Ruby (with ActiveSupport's `blank?`/`present?`/`presence`): a String method on nil is
Ruby's NoMethodError (`RubyError`), a method shipdeck does not know is `Unsupported`.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from app.config.scalars import Symbol, ruby_to_f, ruby_to_i
from app.rubyish import blank, inspect, to_s


class Unsupported(Exception):
    """Ruby that shipdeck does not evaluate."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class RubyError(Exception):
    """An error Ruby itself raises for this code (so Kamal fails on it too)."""


class Unknown:
    """A value of the Ruby running Kamal that shipdeck cannot know (RUBY_VERSION)."""

    def __init__(self, name: str, placeholder: str) -> None:
        self.name = name
        self.placeholder = placeholder


UNKNOWABLE_CONSTANTS = {
    "RUBY_VERSION": "the version of the Ruby that runs Kamal",
    "RUBY_ENGINE_VERSION": "the version of the Ruby that runs Kamal",
    "RUBY_PATCHLEVEL": "the patch level of the Ruby that runs Kamal",
    "RUBY_PLATFORM": "the platform of the Ruby that runs Kamal",
    "RUBY_RELEASE_DATE": "the release date of the Ruby that runs Kamal",
    "RUBY_DESCRIPTION": "the description of the Ruby that runs Kamal",
    "RUBY_REVISION": "the revision of the Ruby that runs Kamal",
}
KNOWN_CONSTANTS: dict[str, object] = {"RUBY_ENGINE": "ruby"}
# Constants Kamal's process does not define: Ruby raises NameError, as shipdeck reports.
UNDEFINED_IN_KAMAL = {"Rails": "Kamal does not load the Rails application"}


class _EnvObject:
    """Ruby's ENV."""


ENV = _EnvObject()


@dataclass
class Scope:
    """What evaluation may read and change: ENV, local variables, and how to run a shell-out."""

    environ: MutableMapping[str, str]
    shell: Callable[[str], str]
    locals: dict[str, object] = field(default_factory=dict)
    unknowns: dict[str, str] = field(default_factory=dict)  # placeholder -> constant name
    env_changes: dict[str, str] = field(default_factory=dict)

    def unknown(self, name: str) -> Unknown:
        placeholder = f"shipdeck-unknown-{name.lower()}-{_random.token_hex(6)}"
        self.unknowns[placeholder] = name
        return Unknown(name, placeholder)

    def set_env(self, key: str, value: str) -> None:
        self.environ[key] = value
        self.env_changes[key] = value


Expr = Callable[[Scope], object]


def ruby_to_s(value: object) -> str:
    if isinstance(value, Unknown):
        return value.placeholder
    if isinstance(value, list):
        return ruby_inspect(value)
    return to_s(value)


def ruby_inspect(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, Symbol):
        return f":{value}"
    if isinstance(value, str):
        return inspect(value)
    if isinstance(value, list):
        return "[" + ", ".join(ruby_inspect(item) for item in value) + "]"
    if isinstance(value, Unknown):
        return value.placeholder
    return to_s(value)


def ruby_equal(left: object, right: object) -> bool:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        raise Unsupported(f"comparing {_unknown_name(left, right)}, which shipdeck cannot know")
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if (type(left) is Symbol) != (type(right) is Symbol):
        return False
    return left == right


def _unknown_name(*values: object) -> str:
    return next(value.name for value in values if isinstance(value, Unknown))


def class_name(value: object) -> str:
    if value is None:
        return "nil"
    return {bool: "TrueClass" if value else "FalseClass", int: "Integer", float: "Float", list: "Array",
            Symbol: "Symbol", str: "String"}.get(type(value), type(value).__name__)


def _no_method(name: str, value: object) -> RubyError:
    receiver = "nil" if value is None else f"an instance of {class_name(value)}"
    return RubyError(f"undefined method '{name}' for {receiver}")


def _split(text: str, separator: object = None) -> list[str]:
    if separator is None or separator == " ":
        return text.split()
    if not isinstance(separator, str):
        raise Unsupported("split with a pattern")
    parts = list(text) if separator == "" else text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _chomp(text: str, suffix: object = None) -> str:
    if suffix is not None:
        return text[: -len(suffix)] if isinstance(suffix, str) and suffix and text.endswith(suffix) else text
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


_RUBY_SPACE = " \t\n\v\f\r\0"


def _string_method(text: str, name: str, args: list[object]) -> object:
    methods: dict[str, Callable[[], object]] = {
        "strip": lambda: text.strip(_RUBY_SPACE),
        "lstrip": lambda: text.lstrip(_RUBY_SPACE),
        "rstrip": lambda: text.rstrip(_RUBY_SPACE),
        "chomp": lambda: _chomp(text, *args),
        "downcase": lambda: text.lower(),
        "upcase": lambda: text.upper(),
        "capitalize": lambda: text[:1].upper() + text[1:].lower(),
        "length": lambda: len(text),
        "size": lambda: len(text),
        "empty?": lambda: text == "",
        "to_i": lambda: ruby_to_i(text),
        "to_f": lambda: ruby_to_f(text),
        "to_sym": lambda: Symbol(text),
        "to_str": lambda: text,
        "split": lambda: _split(text, *args),
        "include?": lambda: _string_arg(args) in text,
        "start_with?": lambda: any(text.startswith(_string_arg([arg])) for arg in args),
        "end_with?": lambda: any(text.endswith(_string_arg([arg])) for arg in args),
        "lines": lambda: text.splitlines(keepends=True),
    }
    if name not in methods:
        raise Unsupported(f"String#{name}")
    return methods[name]()


def _string_arg(args: list[object]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise Unsupported("this argument")
    return args[0]


def _array_method(items: list[object], name: str, args: list[object], block: Callable | None) -> object:
    if name == "join":
        separator = args[0] if args else ""
        return ruby_to_s(separator).join(ruby_to_s(item) for item in items)
    if name == "map" and block is not None:
        return [block(item) for item in items]
    simple: dict[str, Callable[[], object]] = {
        "first": lambda: items[0] if items else None,
        "last": lambda: items[-1] if items else None,
        "length": lambda: len(items),
        "size": lambda: len(items),
        "empty?": lambda: not items,
        "compact": lambda: [item for item in items if item is not None],
        "uniq": lambda: list({_key(item): item for item in items}.values()),
        "to_a": lambda: list(items),
        "include?": lambda: any(ruby_equal(item, args[0]) for item in items),
    }
    if name not in simple:
        raise Unsupported(f"Array#{name}")
    return simple[name]()


def _key(item: object) -> object:
    return (type(item), item) if not isinstance(item, list) else (list, repr(item))


# Methods of String or Array that nil does not have, so calling them on nil is Ruby's NoMethodError.
_STRING_AND_ARRAY_ONLY = frozenset({
    "strip", "lstrip", "rstrip", "chomp", "chop", "downcase", "upcase", "capitalize", "length", "size", "empty?",
    "to_sym", "to_str", "split", "include?", "start_with?", "end_with?", "lines", "gsub", "sub", "tr", "join",
    "first", "last", "compact", "uniq", "map", "each", "squish", "delete", "encode", "[]",
})


def call_method(receiver: object, name: str, args: list[object], block: Callable | None = None) -> object:
    """A method call on a value, as Ruby (with ActiveSupport's blank?/present?/presence) answers it."""
    if isinstance(receiver, Unknown):
        if name in ("to_s", "to_str", "strip", "chomp"):
            return receiver
        raise Unsupported(f"{receiver.name}.{name}: {UNKNOWABLE_CONSTANTS.get(receiver.name, receiver.name)} "
                          "cannot be known to shipdeck")
    common: dict[str, Callable[[], object]] = {
        "nil?": lambda: receiver is None,
        "blank?": lambda: blank(receiver),
        "present?": lambda: not blank(receiver),
        "presence": lambda: None if blank(receiver) else receiver,
        "to_s": lambda: ruby_to_s(receiver),
        "inspect": lambda: ruby_inspect(receiver),
    }
    if name in common and not args:
        return common[name]()
    if receiver is None:
        nil_methods = {"to_a": [], "to_i": 0, "to_f": 0.0}
        if name in nil_methods:
            return nil_methods[name]
        if name in _STRING_AND_ARRAY_ONLY:
            raise _no_method(name, receiver)  # `ENV["UNSET"].strip` fails in Ruby as well
        raise Unsupported(f"NilClass#{name}")
    if isinstance(receiver, str):
        return _string_method(receiver, name, args)
    if isinstance(receiver, list):
        return _array_method(receiver, name, args, block)
    if isinstance(receiver, int | float) and not isinstance(receiver, bool) and name in ("to_i", "to_f"):
        return int(receiver) if name == "to_i" else float(receiver)
    raise _no_method(name, receiver)


def ruby_plus(left: object, right: object) -> object:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        if isinstance(left, str | Unknown) and isinstance(right, str | Unknown):
            return _concat(left, right)
        raise Unsupported("arithmetic on a value shipdeck cannot know")
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, int | float) and isinstance(right, int | float) \
            and not isinstance(left, bool) and not isinstance(right, bool):
        return left + right
    if left is None:
        raise _no_method("+", left)
    raise RubyError(f"no implicit conversion of {class_name(right)} into {class_name(left)}")


def _concat(left: object, right: object) -> str:
    return ruby_to_s(left) + ruby_to_s(right)


