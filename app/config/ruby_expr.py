"""The Ruby that real deploy.yml files put inside ERB tags, evaluated as Ruby would, and nothing more.

Evaluated faithfully:
- literals: strings (`'...'`, `"..."` with Ruby's escapes and `#{...}` interpolation, `%q()`, `%Q()`,
  `%w()`), integers, floats, symbols, arrays, `nil`/`true`/`false`;
- `ENV["X"]`, `ENV.fetch("X")`, `ENV.fetch("X", default)`, `ENV.fetch("X") { default }`, `ENV.key?("X")`;
- `%x(...)` and backticks, with Ruby's string escapes and interpolation applied before `/bin/sh -c`
  runs the command locally (as Ruby does);
- `||`, `&&`, `!`, `and`/`or`/`not`, `==`, `!=`, `cond ? a : b`, `+`, parentheses, `&.`;
- local variables (`hosts = ENV["HOSTS"].split(",")`) and a few methods of String, Array, nil and
  Integer (`strip`, `split`, `join`, `to_i`, `present?`, `presence`, ... see `app.config.ruby_values`);
- `RUBY_ENGINE` ("ruby"). `RUBY_VERSION` and the other facts about the Ruby that runs Kamal are not
  knowable here: they become placeholders that may only end up where YAML drops them (a comment).
Refused with `file:line`: everything else. `Rails` is named as Kamal names it (Kamal does not load
the Rails app, so `Rails.application.credentials` fails there too).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from app.config.ruby_lexer import Lexer, Token
from app.config.ruby_values import (
    ENV,
    KNOWN_CONSTANTS,
    UNDEFINED_IN_KAMAL,
    UNKNOWABLE_CONSTANTS,
    Expr,
    RubyError,
    Scope,
    Unsupported,
    call_method,
    class_name,
    ruby_equal,
    ruby_plus,
    ruby_to_s,
)
from app.config.scalars import Symbol
from app.rubyish import truthy

__all__ = ["Expr", "RubyError", "Scope", "Unsupported", "compile_expression", "compile_statement", "ruby_to_s",
           "split_statements"]


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
