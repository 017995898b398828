"""The Ruby that real deploy.yml files put inside ERB tags, evaluated as Ruby would, and nothing more.

Evaluated faithfully:
- literals: strings (`'...'`, `"..."` with Ruby's escapes and `#{...}` interpolation, `%q()`, `%Q()`,
  `%w()`), integers, floats, symbols, arrays, `nil`/`true`/`false`;
- `ENV["X"]`, `ENV.fetch("X")`, `ENV.fetch("X", default)`, `ENV.fetch("X") { default }`, `ENV.key?("X")`;
- `%x(...)` and backticks, with Ruby's string escapes and interpolation applied before `/bin/sh -c`
  runs the command locally (as Ruby does);
- `||`, `&&`, `!`, `and`/`or`/`not`, `==`, `!=`, `cond ? a : b`, `+`, parentheses, `&.`;
- local variables (`hosts = ENV["HOSTS"].split(",")`) and a few methods of String, Array, nil and
  Integer (`strip`, `split`, `join`, `to_i`, `present?`, `presence`, ... see `_METHODS`);
- `RUBY_ENGINE` ("ruby"). `RUBY_VERSION` and the other facts about the Ruby that runs Kamal are not
  knowable here: they become placeholders that may only end up where YAML drops them (a comment).
Refused with `file:line`: everything else. `Rails` is named as Kamal names it (Kamal does not load
the Rails app, so `Rails.application.credentials` fails there too).
"""

from __future__ import annotations

import re
import secrets as _random
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from app.config.scalars import Symbol, ruby_to_f, ruby_to_i
from app.rubyish import blank, inspect, to_s, truthy


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


# ---------------------------------------------------------------- values

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


# ---------------------------------------------------------------- lexer

@dataclass
class Token:
    kind: str  # str, shell, words, int, float, sym, ident, const, op
    value: object


_OPERATORS = ("&&", "||", "==", "!=", "&.", "&:", "!", "(", ")", "[", "]", ".", ",", "?", ":", "+", "{", "}",
              "|")
_CLOSERS = {"(": ")", "{": "}", "[": "]", "<": ">"}
_NUMBER = re.compile(r"\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_]\w*[?!]?")
_ESCAPES = {"n": "\n", "t": "\t", "s": " ", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}


class Lexer:
    def __init__(self, code: str) -> None:
        self.code = code
        self.index = 0

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        code = self.code
        while self.index < len(code):
            char = code[self.index]
            if char in " \t\r\n" or (char == "\\" and code.startswith("\\\n", self.index)):
                self.index += 1 if char != "\\" else 2
            elif char == "#":
                end = code.find("\n", self.index)
                self.index = len(code) if end < 0 else end
            elif char == '"':
                self.index += 1
                found.append(Token("str", self.double_quoted('"', None)))
            elif char == "'":
                self.index += 1
                found.append(Token("str", [self.single_quoted("'", None)]))
            elif char == "`":
                self.index += 1
                found.append(Token("shell", self.double_quoted("`", None)))
            elif char == "%" and self.index + 1 < len(code) and (code[self.index + 1] in "xqQw"
                                                                 or code[self.index + 1] in "({[<|!/"):
                found.append(self.percent_literal())
            elif char.isdigit():
                match = _NUMBER.match(code, self.index)
                assert match
                text = match.group().replace("_", "")
                self.index = match.end()
                found.append(Token("float", float(text)) if "." in text or "e" in text.lower()
                             else Token("int", int(text)))
            elif char == ":" and self.index + 1 < len(code) and (code[self.index + 1].isalpha()
                                                                 or code[self.index + 1] == "_"):
                match = _IDENT.match(code, self.index + 1)
                assert match
                self.index = match.end()
                found.append(Token("sym", match.group()))
            elif char.isalpha() or char == "_":
                match = _IDENT.match(code, self.index)
                assert match
                word = match.group()
                self.index += len(word)
                found.append(Token("const" if word[0].isupper() else "ident", word))
            else:
                for operator in _OPERATORS:
                    if code.startswith(operator, self.index):
                        found.append(Token("op", operator))
                        self.index += len(operator)
                        break
                else:
                    raise Unsupported(f"the character {char!r}")
        return found

    def percent_literal(self) -> Token:
        code = self.code
        kind = code[self.index + 1]
        self.index += 2 if kind in "xqQw" else 1
        if kind not in "xqQw":
            kind = "Q"
        if self.index >= len(code):
            raise Unsupported("an unterminated % literal")
        opener = code[self.index]
        if opener.isalnum() or opener.isspace():
            raise Unsupported(f"%{kind} with the delimiter {opener!r}")
        self.index += 1
        closer = _CLOSERS.get(opener, opener)
        nest = opener if closer != opener else None
        if kind == "x":
            return Token("shell", self.double_quoted(closer, nest))
        if kind == "Q":
            return Token("str", self.double_quoted(closer, nest))
        text = self.single_quoted(closer, nest)
        if kind == "q":
            return Token("str", [text])
        return Token("words", text.split())

    def single_quoted(self, closer: str, nest: str | None) -> str:
        code = self.code
        out: list[str] = []
        depth = 0
        while self.index < len(code):
            char = code[self.index]
            if char == "\\" and self.index + 1 < len(code) and code[self.index + 1] in ("\\", closer, nest or closer):
                out.append(code[self.index + 1])
                self.index += 2
                continue
            self.index += 1
            if nest and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    return "".join(out)
                depth -= 1
            out.append(char)
        raise Unsupported("an unterminated string")

    def double_quoted(self, closer: str, nest: str | None) -> list[object]:
        """Ruby's double-quoted string body: escapes applied, `#{...}` compiled; parts are str or Expr."""
        code = self.code
        parts: list[object] = []
        out: list[str] = []
        depth = 0
        while self.index < len(code):
            char = code[self.index]
            if char == "\\":
                self.index += 1
                out.append(self.escape(closer, nest))
                continue
            if char == "#" and code.startswith("#{", self.index):
                end = _matching_brace(code, self.index + 1)
                if end < 0:
                    raise Unsupported("an unterminated #{")
                if out:
                    parts.append("".join(out))
                    out = []
                parts.append(compile_expression(code[self.index + 2:end]))
                self.index = end + 1
                continue
            if char == "#" and self.index + 1 < len(code) and code[self.index + 1] in "@$":
                raise Unsupported("#@ or #$ interpolation")
            self.index += 1
            if nest and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    if out:
                        parts.append("".join(out))
                    return parts
                depth -= 1
            out.append(char)
        raise Unsupported("an unterminated string")

    def escape(self, closer: str, nest: str | None) -> str:
        code = self.code
        if self.index >= len(code):
            raise Unsupported("a trailing backslash")
        char = code[self.index]
        self.index += 1
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char == "\n":
            return ""
        if char in "01234567":
            match = re.match(r"[0-7]{1,3}", code[self.index - 1:])
            assert match
            self.index += len(match.group()) - 1
            return chr(int(match.group(), 8))
        if char == "x":
            match = re.match(r"[0-9a-fA-F]{1,2}", code[self.index:])
            if not match:
                raise Unsupported("an invalid \\x escape")
            self.index += len(match.group())
            return chr(int(match.group(), 16))
        if char == "u":
            if code.startswith("{", self.index):
                end = code.find("}", self.index)
                if end < 0:
                    raise Unsupported("an invalid \\u escape")
                points = code[self.index + 1:end].split()
                self.index = end + 1
                return "".join(chr(int(point, 16)) for point in points)
            match = re.match(r"[0-9a-fA-F]{4}", code[self.index:])
            if not match:
                raise Unsupported("an invalid \\u escape")
            self.index += 4
            return chr(int(match.group(), 16))
        if char in "cCM":
            raise Unsupported("control and meta escapes")
        return char  # `\"` is `"`, `\\` is `\`, `\$` is `$`, and any other `\c` is `c`


def _matching_brace(code: str, open_index: int) -> int:
    depth = 0
    index = open_index
    quote: str | None = None
    while index < len(code):
        char = code[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


# ---------------------------------------------------------------- parser

class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self, kind: str | None = None, value: object = None, offset: int = 0) -> bool:
        position = self.index + offset
        if position >= len(self.tokens):
            return False
        token = self.tokens[position]
        return (kind is None or token.kind == kind) and (value is None or token.value == value)

    def take(self, kind: str, value: object = None) -> Token:
        if not self.peek(kind, value):
            raise Unsupported()
        self.index += 1
        return self.tokens[self.index - 1]

    def accept(self, kind: str, value: object = None) -> bool:
        if self.peek(kind, value):
            self.index += 1
            return True
        return False

    def at_end(self) -> bool:
        return self.index >= len(self.tokens)

    # -- expressions, lowest precedence first

    def expression(self) -> Expr:
        left = self.not_keyword()
        while self.peek("ident", "and") or self.peek("ident", "or"):
            keyword = self.take("ident").value
            right = self.not_keyword()
            left = _and(left, right) if keyword == "and" else _or(left, right)
        return left

    def not_keyword(self) -> Expr:
        if self.accept("ident", "not"):
            inner = self.not_keyword()
            return lambda scope: not truthy(inner(scope))
        return self.ternary()

    def ternary(self) -> Expr:
        condition = self.or_expr()
        if not self.accept("op", "?"):
            return condition
        when_true = self.ternary()
        self.take("op", ":")
        when_false = self.ternary()
        return lambda scope: when_true(scope) if truthy(condition(scope)) else when_false(scope)

    def or_expr(self) -> Expr:
        left = self.and_expr()
        while self.accept("op", "||"):
            left = _or(left, self.and_expr())
        return left

    def and_expr(self) -> Expr:
        left = self.not_expr()
        while self.accept("op", "&&"):
            left = _and(left, self.not_expr())
        return left

    def not_expr(self) -> Expr:
        if self.accept("op", "!"):
            inner = self.not_expr()
            return lambda scope: not truthy(inner(scope))
        return self.equality()

    def equality(self) -> Expr:
        left = self.additive()
        if self.accept("op", "=="):
            right = self.additive()
            return lambda scope: ruby_equal(left(scope), right(scope))
        if self.accept("op", "!="):
            right = self.additive()
            return lambda scope: not ruby_equal(left(scope), right(scope))
        return left

    def additive(self) -> Expr:
        left = self.postfix()
        while self.accept("op", "+"):
            right = self.postfix()
            left = (lambda a, b: lambda scope: ruby_plus(a(scope), b(scope)))(left, right)
        return left

    def postfix(self) -> Expr:
        expression = self.primary()
        while True:
            if self.peek("op", ".") or self.peek("op", "&."):
                safe = self.take("op").value == "&."
                name = self.method_name()
                args, block = self.call_arguments()
                expression = _method_call(expression, name, args, block, safe)
            elif self.peek("op", "[") and not self.at_end():
                self.take("op", "[")
                index = self.expression()
                self.take("op", "]")
                expression = _index(expression, index)
            else:
                return expression

    def method_name(self) -> str:
        if self.peek("ident") or self.peek("const"):
            return str(self.take(self.tokens[self.index].kind).value)
        raise Unsupported()

    def call_arguments(self) -> tuple[list[Expr], Expr | None]:
        args: list[Expr] = []
        block: Expr | None = None
        if self.accept("op", "(") and not self.accept("op", ")"):
            while True:
                if self.accept("op", "&:"):
                    block = _symbol_block(str(self.take("ident").value))
                else:
                    args.append(self.expression())
                if self.accept("op", ")"):
                    break
                self.take("op", ",")
        if self.peek("op", "{"):
            self.take("op", "{")
            parameter = None
            if self.accept("op", "|"):
                parameter = str(self.take("ident").value)
                self.take("op", "|")
            body = self.expression()
            self.take("op", "}")
            block = _block(parameter, body)
        return args, block

    def primary(self) -> Expr:
        if self.accept("op", "("):
            inner = self.expression()
            self.take("op", ")")
            return inner
        if self.accept("op", "["):
            items: list[Expr] = []
            if not self.accept("op", "]"):
                while True:
                    items.append(self.expression())
                    if self.accept("op", "]"):
                        break
                    self.take("op", ",")
            return lambda scope: [item(scope) for item in items]
        if self.at_end():
            raise Unsupported()
        token = self.tokens[self.index]
        self.index += 1
        if token.kind == "str":
            return _string(token.value)  # type: ignore[arg-type]
        if token.kind == "shell":
            command = _string(token.value)  # type: ignore[arg-type]
            return lambda scope: scope.shell(ruby_to_s(command(scope)))
        if token.kind == "words":
            words = list(token.value)  # type: ignore[call-overload]
            return lambda scope: list(words)
        if token.kind in ("int", "float"):
            number = token.value
            return lambda scope: number
        if token.kind == "sym":
            symbol = Symbol(str(token.value))
            return lambda scope: symbol
        if token.kind == "const":
            return self.constant(str(token.value))
        if token.kind == "ident":
            return self.identifier(str(token.value))
        raise Unsupported()

    def constant(self, name: str) -> Expr:
        if name == "ENV":
            return lambda scope: ENV
        if name in KNOWN_CONSTANTS:
            value = KNOWN_CONSTANTS[name]
            return lambda scope: value
        if name in UNKNOWABLE_CONSTANTS:
            return lambda scope: scope.unknown(name)
        if name in UNDEFINED_IN_KAMAL:
            reason = UNDEFINED_IN_KAMAL[name]

            def undefined(scope: Scope) -> object:
                raise RubyError(f"uninitialized constant {name} ({reason}, so Kamal fails here too)")

            return undefined
        raise Unsupported(f"the constant {name}")

    def identifier(self, name: str) -> Expr:
        constants = {"nil": None, "true": True, "false": False}
        if name in constants:
            value = constants[name]
            return lambda scope: value

        def local(scope: Scope) -> object:
            if name not in scope.locals:
                raise Unsupported(f"{name} (not a local variable set in this file)")
            return scope.locals[name]

        return local


def _or(left: Expr, right: Expr) -> Expr:
    def evaluate(scope: Scope) -> object:
        value = left(scope)
        return value if truthy(value) else right(scope)

    return evaluate


def _and(left: Expr, right: Expr) -> Expr:
    def evaluate(scope: Scope) -> object:
        value = left(scope)
        return right(scope) if truthy(value) else value

    return evaluate


def _string(parts: list[object]) -> Expr:
    if all(isinstance(part, str) for part in parts):
        text = "".join(parts)  # type: ignore[arg-type]
        return lambda scope: text

    def evaluate(scope: Scope) -> object:
        return "".join(part if isinstance(part, str) else ruby_to_s(part(scope)) for part in parts)  # type: ignore[operator]

    return evaluate


def _symbol_block(method: str) -> Expr:
    return lambda scope: lambda item: call_method(item, method, [])


def _block(parameter: str | None, body: Expr) -> Expr:
    def make(scope: Scope) -> Callable[[object], object]:
        def run(item: object) -> object:
            saved = dict(scope.locals)
            if parameter:
                scope.locals[parameter] = item
            try:
                return body(scope)
            finally:
                scope.locals.clear()
                scope.locals.update(saved)

        return run

    return make


def _index(receiver: Expr, index: Expr) -> Expr:
    def evaluate(scope: Scope) -> object:
        target = receiver(scope)
        key = index(scope)
        if target is ENV:
            return scope.environ.get(_env_key(key))
        if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
            return target[key] if -len(target) <= key < len(target) else None
        raise Unsupported("this index")

    return evaluate


def _env_key(key: object) -> str:
    if not isinstance(key, str) or isinstance(key, Symbol):
        raise RubyError(f"no implicit conversion of {class_name(key)} into String")
    return key


def _method_call(receiver: Expr, name: str, args: list[Expr], block: Expr | None, safe: bool) -> Expr:
    def evaluate(scope: Scope) -> object:
        target = receiver(scope)
        if safe and target is None:
            return None
        if target is ENV:
            return _env_method(scope, name, args, block)
        values = [arg(scope) for arg in args]
        return call_method(target, name, values, block(scope) if block else None)  # type: ignore[arg-type]

    return evaluate


def _env_method(scope: Scope, name: str, args: list[Expr], block: Expr | None) -> object:
    values = [arg(scope) for arg in args]
    if name == "fetch" and len(values) in (1, 2):
        key = _env_key(values[0])
        if key in scope.environ:
            return scope.environ[key]
        if len(values) == 2:
            return values[1]
        if block is not None:
            return block(scope)(key)  # type: ignore[operator]
        raise RubyError(f'key not found: "{key}"')
    if name in ("key?", "has_key?", "include?", "member?") and len(values) == 1:
        return _env_key(values[0]) in scope.environ
    raise Unsupported(f"ENV.{name}")


# ---------------------------------------------------------------- statements

_ASSIGNMENT = re.compile(r"^\s*([a-z_]\w*)\s*=(?!=)(.*)$", re.DOTALL)
_ENV_ASSIGNMENT = re.compile(r"""^\s*ENV\s*\[\s*(["'])([^"'\\]*)\1\s*\]\s*(\|\|)?=(?!=)(.*)$""", re.DOTALL)
_REQUIRE = re.compile(r"""^\s*require\s*\(?\s*(["'])([\w/]+)\1\s*\)?\s*$""")
_DOTENV = re.compile(r"^\s*Dotenv\s*\.\s*(load!?|overload!?)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def compile_expression(code: str) -> Expr:
    parser = Parser(Lexer(code).tokens())
    expression = parser.expression()
    if not parser.at_end():
        raise Unsupported()
    return expression


def split_statements(code: str) -> list[str]:
    """Top-level `;` and line breaks separate statements (not inside strings, brackets or blocks)."""
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    index = 0
    while index < len(code):
        char = code[index]
        if quote:
            current.append(char)
            if char == "\\" and index + 1 < len(code):
                current.append(code[index + 1])
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
            current.append(char)
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth -= 1
            current.append(char)
        elif char == "#" and not code.startswith("#{", index):
            end = code.find("\n", index)
            index = len(code) if end < 0 else end
            continue
        elif char in ";\n" and depth <= 0:
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [statement for statement in statements if statement.strip()]


DotenvLoader = Callable[[Scope, bool, bool, list[str]], None]


def compile_statement(code: str, required: set[str], load_dotenv: DotenvLoader) -> Expr:
    """One statement of a `<% %>` tag that is not control flow: an assignment, `require "dotenv"`,
    `Dotenv.load(...)`, or an expression evaluated for its effect."""
    required_match = _REQUIRE.match(code)
    if required_match:
        library = required_match.group(2)
        if library != "dotenv":
            raise Unsupported(f'require "{library}"')
        required.add(library)
        return lambda scope: True
    dotenv = _DOTENV.match(code)
    if dotenv:
        if "dotenv" not in required:
            raise RubyError("uninitialized constant Dotenv (add `require \"dotenv\"` first, as Kamal needs too)")
        method = dotenv.group(1)
        files = [compile_expression(part) for part in _arguments(dotenv.group(2) or "")]
        overwrite = method.startswith("overload")
        strict = method.endswith("!")

        def run(scope: Scope) -> object:
            names = [ruby_to_s(file(scope)) for file in files] or [".env"]
            load_dotenv(scope, overwrite, strict, names)
            return None

        return run
    env_assignment = _ENV_ASSIGNMENT.match(code)
    if env_assignment:
        key, conditional, value_code = env_assignment.group(2), env_assignment.group(3), env_assignment.group(4)
        value = compile_expression(value_code)

        def assign_env(scope: Scope) -> object:
            if conditional and truthy(scope.environ.get(key)):
                return scope.environ[key]
            result = value(scope)
            if not isinstance(result, str) and result is not None:
                raise RubyError(f"no implicit conversion of {class_name(result)} into String")
            if result is None:
                scope.environ.pop(key, None)
                scope.env_changes.pop(key, None)
            else:
                scope.set_env(key, result)
            return result

        return assign_env
    assignment = _ASSIGNMENT.match(code)
    if assignment:
        name, value_code = assignment.group(1), assignment.group(2)
        value = compile_expression(value_code)

        def assign(scope: Scope) -> object:
            scope.locals[name] = value(scope)
            return scope.locals[name]

        return assign
    return compile_expression(code)


def _arguments(code: str) -> list[str]:
    """Top-level comma-separated arguments (commas inside strings and brackets do not count)."""
    found: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    for char in code:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            found.append("".join(current))
            current = []
            continue
        current.append(char)
    found.append("".join(current))
    return [part for part in found if part.strip()]
