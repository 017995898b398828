"""Commands about the command line itself, as Kamal (Thor) offers them: `help [COMMAND]`,
`<group> help [COMMAND]`, `tree`, `<group> tree`, `docs [SECTION]`; and Thor's boolean forms
(`--no-X`, `--skip-X`) for every `--X` switch.

Everything here runs on the parser alone: nothing is imported that a fast start-up cannot afford.
"""

from __future__ import annotations

import argparse
import sys


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The commands directly under `parser` (empty for a leaf command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _subparsers_action(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((action for action in parser._actions if isinstance(action, argparse._SubParsersAction)), None)


def _help_texts(parser: argparse.ArgumentParser) -> dict[str, str]:
    action = _subparsers_action(parser)
    if action is None:
        return {}
    return {choice.dest: choice.help or "" for choice in action._choices_actions}


# -- Thor's --no-X / --skip-X ---------------------------------------------------------------------

def add_negations(parser: argparse.ArgumentParser) -> None:
    """For every `--X` switch of every command, accept `--no-X` and `--skip-X` (both turn it off), as
    Thor does for boolean options. Switches that already read as a negation (`--skip-push`,
    `--no-cache`) get none, as in Kamal's help."""
    taken = set(parser._option_string_actions)
    for action in list(parser._actions):
        if not isinstance(action, argparse._StoreTrueAction):
            continue
        for option in action.option_strings:
            name = option[2:] if option.startswith("--") else None
            if not name or name.startswith(("no-", "skip-")):
                continue
            forms = [form for form in (f"--no-{name}", f"--skip-{name}") if form not in taken]
            if forms:
                parser.add_argument(*forms, dest=action.dest, action="store_false", default=argparse.SUPPRESS,
                                    help=argparse.SUPPRESS)
                taken.update(forms)
    for child in subcommands(parser).values():
        add_negations(child)


# -- help and tree -------------------------------------------------------------------------------

def add_group_helpers(root: argparse.ArgumentParser) -> None:
    """`<group> help [COMMAND]` and `<group> tree` under every command group, `help` and `tree` on top."""
    for name, group in subcommands(root).items():
        action = _subparsers_action(group)
        if action is None or "help" in action.choices:
            continue
        helper = action.add_parser("help", help="Describe subcommands or one specific subcommand", add_help=False)
        helper.add_argument("topic", nargs="*", metavar="COMMAND")
        helper.set_defaults(handler="app.cli.meta:show_help", help_path=(name,))
        tree = action.add_parser("tree", help="Print a tree of all available commands", add_help=False)
        tree.set_defaults(handler="app.cli.meta:show_tree", help_path=(name,))


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    helper = subparsers.add_parser("help", help="Describe available commands or one specific command",
                                   add_help=False)
    helper.add_argument("topic", nargs="*", metavar="COMMAND")
    helper.set_defaults(handler="app.cli.meta:show_help", help_path=())
    tree = subparsers.add_parser("tree", help="Print a tree of all available commands", add_help=False)
    tree.set_defaults(handler="app.cli.meta:show_tree", help_path=())
    docs = subparsers.add_parser("docs", help="Show the configuration keys shipdeck accepts (per section)",
                                 description="The keys of config/deploy.yml that shipdeck (and Kamal 2.11) "
                                 "accept, per section, each with an example value.", parents=[common],
                                 add_help=False)
    docs.add_argument("section", nargs="?", metavar="SECTION")
    docs.set_defaults(handler="app.config.docs:show")


def _root() -> argparse.ArgumentParser:
    from app.cli import build_parser

    return build_parser()


def _find(path: tuple[str, ...]) -> argparse.ArgumentParser:
    from app.errors import UsageError

    parser = _root()
    walked: list[str] = []
    for name in path:
        children = subcommands(parser)
        if name not in children:
            where = " ".join(["shipdeck", *walked])
            raise UsageError(f"Could not find command {name!r} in {where!r}; `{where} help` lists them")
        parser = children[name]
        walked.append(name)
    return parser


def show_help(args: argparse.Namespace) -> int:
    """`help [COMMAND...]`: the help of that command (or of the group / of shipdeck)."""
    _find((*args.help_path, *args.topic)).print_help(sys.stdout)
    return 0


def _tree_lines(parser: argparse.ArgumentParser, indent: str) -> list[str]:
    lines = []
    texts = _help_texts(parser)
    for name, child in subcommands(parser).items():
        if name in ("help", "tree"):
            continue
        text = texts.get(name, "")
        lines.append(f"{indent}├─ {name}" + (f" ({text})" if text else ""))
        lines.extend(_tree_lines(child, indent + "│  "))
    return lines


def show_tree(args: argparse.Namespace) -> int:
    """`tree`: every command under this one, with its one-line help."""
    path = tuple(args.help_path)
    print(":".join(["shipdeck", *path]) if path else "shipdeck")
    print("\n".join(_tree_lines(_find(path), "  ")))
    return 0
