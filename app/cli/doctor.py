"""`shipdeck doctor`: the arguments (the handler is `app.cli.commands.doctor`, imported when it runs)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    text = ("Check the project and its servers read-only and explain what needs attention, each with the command "
            "that repairs it; with --repair, run that repair")
    doctor = subparsers.add_parser("doctor", help=text, description=text + ". Exit 0 healthy, 1 something needs "
                                   "attention (or the repair failed), 2 bad input.", parents=[common], add_help=False)
    doctor.add_argument("--repair", metavar="REPAIR",
                        help="ACCESSORY-password: reset a Postgres password in place (no data touched); "
                             "ACCESSORY-wipe: back up, wipe and boot afresh, then restore (needs --confirm)")
    doctor.add_argument("--confirm", action="append", default=[], metavar="ACTION:TARGET",
                        help="approve one destructive action, e.g. --confirm=accessory.wipe:db")
    doctor.add_argument("--no-restore", action="store_true",
                        help="with ACCESSORY-wipe: keep the dump without restoring it into the fresh database")
    doctor.add_argument("--lines", type=int, default=200, metavar="N", help="log lines read per container")
    doctor.set_defaults(handler="app.cli.commands.doctor:doctor", lock_wait=False)
