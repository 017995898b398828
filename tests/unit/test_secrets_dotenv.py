"""Each dotenv 3.2 + Kamal parsing rule of `.kamal/secrets`, checked on the parser alone."""

from __future__ import annotations

import pytest

from app.secrets import dotenv, rubytext
from app.secrets.dotenv import CommandFailed, Context, DotenvError


class FakeCommands:
    """Records commands; answers shell commands from a table, kamal ones with the real in-process code."""

    def __init__(self, outputs: dict[str, str] | None = None) -> None:
        self.outputs = outputs or {}
        self.shell: list[str] = []
        self.kamal: list[list[str]] = []

    def run_shell(self, command: str) -> str:
        self.shell.append(command)
        if command not in self.outputs:
            raise CommandFailed(f"unexpected command {command!r}")
        return self.outputs[command]

    def run_kamal(self, argv: list[str]) -> str:
        from app.secrets import inline

        self.kamal.append(argv)
        return inline.run(argv, {})


def parse(text: str, environ: dict[str, str] | None = None, commands: FakeCommands | None = None) -> dict[str, str]:
    commands = commands or FakeCommands()
    context = Context(environ=environ or {}, run_shell=commands.run_shell, run_kamal=commands.run_kamal)
    return dotenv.parse(text, context, file=".kamal/secrets")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\n", {"A": "1"}),
        ("export A=1\n", {"A": "1"}),
        ("A: 1\n", {"A": "1"}),
        ("A = spaced \n", {"A": "spaced"}),
        ("a.b_C=x\n", {"a.b_C": "x"}),
        ("A=\nB=2\n", {"A": "", "B": "2"}),
        ("# comment\nA=1 # trailing\n", {"A": "1"}),
        ("A=a#b\n", {"A": "a"}),
        ("A='#not a comment'\n", {"A": "#not a comment"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("\ufeffA=1\n", {"A": "1"}),
        ("É=1\nB=2\n", {"B": "2"}),  # keys are ASCII \w only
        ("not a line\nA=1\n", {"A": "1"}),
        ("A=1\nA=2\n", {"A": "2"}),
    ],
)
def test_line_format(text: str, expected: dict[str, str]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A='$HOME \\n \\\\ $(x)'\n", "$HOME \\n \\\\ $(x)"),  # single quotes: literal
        ("A='multi\nline'\n", "multi\nline"),
        ("A='a\\'b'\n", "a\\'b"),
        ("A='a\\'\nB=y\n", "a\\"),  # backtracking rescues a trailing backslash
        ('A="multi\nline"\n', "multi\nline"),
        ('A="a\\nb"\n', "a\\nb"),  # \n stays a backslash-n ...
        ('A="a\\\\nb"\n', "a\\nb"),
        ('A="a\\\\\\nb"\n', "a\\\\nb"),
        ('A="q\\"uote"\n', 'q"uote'),
        ('A="a\\$"\n', "a$"),
        ("A=a\\\\\n", "a\\"),
        ("A=  \\ lead\n", " lead"),
        ("A=\\#x\n", "\\"),
        ('A="x"y\n', '"x"y'),  # quotes must surround the whole value
        ("A='\n", "'"),
    ],
)
def test_quoting_and_escapes(text: str, expected: str) -> None:
    assert parse(text)["A"] == expected


def test_legacy_linebreak_mode_from_the_file_or_the_environment() -> None:
    assert parse('DOTENV_LINEBREAK_MODE=legacy\nA="a\\nb\\rc"\n')["A"] == "a\nb\rc"
    assert parse('A="a\\nb"\n', {"DOTENV_LINEBREAK_MODE": "legacy"})["A"] == "a\nb"
    # a key defined in the file, even empty, hides the environment (Ruby's `||` on a String)
    assert parse('DOTENV_LINEBREAK_MODE=\nA="a\\nb"\n', {"DOTENV_LINEBREAK_MODE": "legacy"})["A"] == "a\\nb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=$X\n", "file"),  # from the environment: the file has no X
        ("A=${X}y\n", "filey"),
        ("A=$X}y\n", "filey"),  # a closing brace is eaten even without an opening one
        ("A=${X\n", "file"),
        ("A=${}\n", "${}"),
        ("A=$\n", "$"),
        ("A=\\$X\n", "$X"),
        ("A=a\\\\$X\n", "a$X"),  # `\\` unescapes to `\`, which then escapes the `$`
        ("A=$UNSET.\n", "."),
        ("A=$ſ|$\u212a|$ı\n", "s|k|$ı"),  # Ruby's /[A-Z]/i folds ſ and K (Kelvin), not ı
    ],
)
def test_variables(text: str, expected: str) -> None:
    env = {"X": "file", "ſ": "s", "\u212a": "k", "ı": "dotless"}
    assert parse(text, env)["A"] == expected


def test_variables_see_earlier_keys_of_the_file_before_the_environment() -> None:
    values = parse("B=$X\nX=file\nC=$X\n", {"X": "env"})
    assert values == {"B": "env", "X": "file", "C": "file"}


def test_single_quotes_and_double_quotes_differ_for_substitution() -> None:
    assert parse("A='$X'\nB=\"$X\"\n", {"X": "v"}) == {"A": "$X", "B": "v"}


def test_commands_run_with_variables_substituted_in_the_command_text() -> None:
    commands = FakeCommands({"echo file": "file\n", "echo $X": "env\n", "printf x": "x\r\n"})
    values = parse("X=file\nA=$(echo $X)\nB=$(echo \\$X)\nC=$(printf x)\n", {"X": "env"}, commands)
    assert values == {"X": "file", "A": "file", "B": "env", "C": "x"}
    assert commands.shell == ["echo file", "echo $X", "printf x"]


def test_variables_are_substituted_in_command_output_too() -> None:
    commands = FakeCommands({"cat pw": "p$X\\$Y"})
    assert parse("A=$(cat pw)\n", {"X": "1", "Y": "2"}, commands)["A"] == "p1$Y"


@pytest.mark.parametrize(
    ("text", "expected", "ran"),
    [
        ("A=\\$(echo hi)\n", "$(echo hi)", []),
        ("A=$(a()b)\n", "$(a()b)", []),  # an empty group never matches
        ("A=$()\n", "$()", []),
        ("A=$(echo \"(x)\")\n", "(x)", ['echo "(x)"']),
        ('A="x$(echo (y))"\n', "xY", ["echo (y)"]),
        ("A=$(echo $(echo z))\n", "z", ["echo $(echo z)"]),
        ("A=$(echo  a)-$(echo  b)\n", "a-b", ["echo  a", "echo  b"]),
    ],
)
def test_command_matching(text: str, expected: str, ran: list[str]) -> None:
    commands = FakeCommands({"echo \"(x)\"": "(x)\n", "echo (y)": "Y", "echo $(echo z)": "z\n",
                             "echo  a": "a", "echo  b": "b"})
    assert parse(text, commands=commands)["A"] == expected
    assert commands.shell == ran


def test_kamal_secrets_commands_run_in_process_with_inline() -> None:
    commands = FakeCommands()
    text = (
        'SECRETS=$(kamal secrets fetch -a test --account x --from vault foo "a b" "it\'s")\n'
        "FOO=$(kamal secrets extract foo $SECRETS)\n"
        'AB=$(kamal secrets extract "a b" ${SECRETS})\n'
    )
    values = parse(text, commands=commands)
    assert values["SECRETS"] == (
        r'\{\"vault/foo\":\"oof/tluav\",\"vault/a\ b\":\"b\ a/tluav\",\"vault/it\'s\":\"s\'ti/tluav\"\}'
    )
    assert values["FOO"] == "oof/tluav"
    assert values["AB"] == "b a/tluav"
    assert commands.shell == []
    assert commands.kamal[0] == ["secrets", "fetch", "-a", "test", "--account", "x", "--from", "vault", "foo",
                                 "a b", "it's", "--inline"]


def test_fetch_output_loses_backslashes_before_dollars_as_in_kamal() -> None:
    values = parse('A=$(kamal secrets fetch -a test --account x "a\\$b")\n')
    assert values["A"] == '\\{\\"a$b\\":\\"b$a\\"\\}'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A=$(kamal secrets fetch -a test foo)", "No value provided for required options '--account'"),
        ("A=$(kamal secrets fetch foo)", "No value provided for required options '--adapter'"),
        ("A=$(kamal secrets fetch -a nope --account x foo)", "Unknown secrets adapter: nope"),
        ("A=$(kamal secrets extract missing '{\"a/b\":\"c\"}')", "Could not find secret missing"),
        ("A=$(kamal secrets extract)", '"kamal secrets extract" was called with arguments []'),
        ("A=$(kamal secrets print)", '"kamal secrets print" was called with arguments ["--inline"]'),
        ("A=$(kamal secrets fetch -a lastpass --account x foo)", "LastPass CLI is not installed"),
    ],
)
def test_inline_kamal_errors_name_the_file_and_line(line: str, message: str) -> None:
    with pytest.raises(DotenvError) as raised:
        parse(f"# first\n{line}\n", {"PATH": "/nonexistent"})
    assert raised.value.message.startswith(".kamal/secrets:2: ")
    assert message in raised.value.message


def test_extract_finds_the_first_key_ending_in_the_name() -> None:
    values = parse("""A=$(kamal secrets extract pw '{"x/other":"1","v/i/pw":"2","z/pw":"3"}')\n""")
    assert values["A"] == "2"


def test_export_without_a_value_needs_an_earlier_definition() -> None:
    assert parse("A=1\nexport A\nexport A=\n") == {"A": "1"}  # checks only, assigns nothing
    assert parse("A=1\nexport A B\n") == {"A": "1"}  # not a LINE at all: ignored
    assert parse("FOO\nBAR # c\n") == {"FOO": "", "BAR": ""}  # a bare name defines it empty
    with pytest.raises(DotenvError) as raised:
        parse("export B\nB=1\n")  # checked in file order
    assert raised.value.message == '.kamal/secrets:1: Line "export B" has an unset variable'
    with pytest.raises(DotenvError) as raised:
        parse("A=1\n\nexport B\n")
    # the message quotes the whole match, blank lines swallowed by its leading whitespace included
    assert raised.value.message == '.kamal/secrets:3: Line "\\nexport B\\n" has an unset variable'


def test_ruby_helpers() -> None:
    assert rubytext.chomp("a\r\n") == "a" and rubytext.chomp("a\n\n") == "a\n" and rubytext.chomp("a\r") == "a"
    assert rubytext.strip("\0 a \t\n") == "a"  # noqa: B005 - Ruby String#strip, not str.strip
    assert rubytext.strip("\u00a0a") == "\u00a0a"
    assert rubytext.shellescape("") == "''"
    assert rubytext.shellescape("a b$'\"é\n") == "a\\ b\\$\\'\\\"\\é'\n'"
    assert rubytext.shellsplit("a 'b c' \"d\\\"e\\x\" f\\ g") == ["a", "b c", 'd"e\\x', "f g"]
    assert rubytext.shellsplit(rubytext.shellescape("x $y 'z' \\ \n")) == ["x $y 'z' \\ \n"]
    with pytest.raises(rubytext.ShellSplitError):
        rubytext.shellsplit("a 'b")
