"""Split a command string into words exactly as the POSIX shell on the server would.

Kamal builds its docker commands as shell strings (`escape_shell_value` double-quotes values,
volumes and `--publish` specs are passed raw). To run such a command through the Engine API we need
the argv the remote shell would have handed to `docker`. Only the constructs whose result we can know
without the server are accepted: quotes, backslash escapes, `$PWD`/`$HOME` (both are the SSH user's
home directory, where Kamal's commands run) and a leading `~`. Anything whose result depends on the
server's state or shell (other variables, command substitution, globs, brace expansion, pipes, lists,
redirections, comments) raises `NotTranslatable`, and the caller runs the string over SSH instead.
"""

from __future__ import annotations

from app.remote.docker_errors import NotTranslatable

_BLANKS = " \t"
_OPERATORS = "|&;<>()"
_GLOB = "*?["
_DQUOTE_ESCAPABLE = '$`"\\\n'
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_HOME_VARIABLES = ("PWD", "HOME")


def split_words(command: str, home: str) -> list[str]:
    """The argv the shell would build from `command`, run in `home`; raises NotTranslatable."""
    return _Splitter(command, home).words()


class _Splitter:
    def __init__(self, text: str, home: str) -> None:
        self.text = text
        self.home = home.rstrip("/") or "/"
        self.pos = 0

    def words(self) -> list[str]:
        words: list[str] = []
        while True:
            self._skip_blanks()
            if self.pos >= len(self.text):
                return words
            words.append(self._word())

    def _skip_blanks(self) -> None:
        while self.pos < len(self.text):
            if self.text[self.pos] in _BLANKS or (self.text[self.pos] == "\n" and not self.text[self.pos:].strip()):
                self.pos += 1  # a final newline just ends the command
            elif self.text.startswith("\\\n", self.pos):  # line continuation
                self.pos += 2
            else:
                return

    def _word(self) -> str:
        parts: list[str] = []
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in _BLANKS:
                break
            if char == "\n":
                if self.text[self.pos:].strip():
                    raise NotTranslatable("a newline between commands (a command list needs the remote shell)")
                break
            if char == "'":
                parts.append(self._single_quoted())
            elif char == '"':
                parts.append(self._double_quoted())
            elif char == "\\":
                parts.append(self._escaped())
            elif char == "$":
                parts.append(self._expansion())
            elif char == "~":
                parts.append(self._tilde(at_word_start=self.pos == start))
            elif char == "#" and self.pos == start:
                raise NotTranslatable("a shell comment (`#` at the start of a word)")
            else:
                self._refuse_special(char)
                parts.append(char)
                self.pos += 1
        return "".join(parts)

    @staticmethod
    def _refuse_special(char: str) -> None:
        if char in _OPERATORS:
            raise NotTranslatable(f"shell operator {char!r} (pipes, lists and redirections need the remote shell)")
        if char == "`":
            raise NotTranslatable("command substitution with backticks")
        if char in _GLOB:
            raise NotTranslatable(f"unquoted {char!r}: the remote shell would try pathname expansion")
        if char in "{}":
            raise NotTranslatable(f"unquoted {char!r}: some shells expand braces")

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise NotTranslatable("unterminated single quote")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> str:
        self.pos += 1
        parts: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(parts)
            if char == "\\":
                following = self.text[self.pos + 1:self.pos + 2]
                if following == "\n":
                    self.pos += 2
                elif following in _DQUOTE_ESCAPABLE and following:
                    parts.append(following)
                    self.pos += 2
                else:  # inside double quotes a backslash before any other character stays
                    parts.append("\\")
                    self.pos += 1
            elif char == "$":
                parts.append(self._expansion())
            elif char == "`":
                raise NotTranslatable("command substitution with backticks")
            else:
                parts.append(char)
                self.pos += 1
        raise NotTranslatable("unterminated double quote")

    def _escaped(self) -> str:
        following = self.text[self.pos + 1:self.pos + 2]
        if not following:
            raise NotTranslatable("a backslash at the end of the command")
        self.pos += 2
        return "" if following == "\n" else following

    def _expansion(self) -> str:
        rest = self.text[self.pos + 1:]
        if rest.startswith("{"):
            end = rest.find("}")
            name = rest[1:end] if end > 0 else ""
            consumed = end + 2
        else:
            length = 0
            while length < len(rest) and rest[length] in _NAME_CHARS:
                length += 1
            name = rest[:length]
            consumed = length + 1
        if name in _HOME_VARIABLES:
            self.pos += consumed
            return self.home
        if rest.startswith("("):
            raise NotTranslatable("command substitution `$(...)`")
        shown = self.text[self.pos:self.pos + consumed] if name else "$" + rest[:1]
        raise NotTranslatable(f"the expansion {shown!r} depends on the remote shell (only $PWD and $HOME are known)")

    def _tilde(self, at_word_start: bool) -> str:
        following = self.text[self.pos + 1:self.pos + 2]
        if at_word_start and following in ("", "/", *_BLANKS):
            self.pos += 1
            return self.home
        if at_word_start:
            raise NotTranslatable("`~user` home-directory expansion")
        previous = self.text[self.pos - 1]
        if previous in "=:":
            raise NotTranslatable(f"`{previous}~`: shells differ on tilde expansion after {previous!r}")
        self.pos += 1
        return "~"
