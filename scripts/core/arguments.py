"""The command line of a command that runs tools: ``--step FOLDER COMMAND`` (repeated), or one
``--in FOLDER -- COMMAND ARG...``. FOLDER: an app's folder, as systems.env names it."""

from __future__ import annotations

import argparse
import shlex

from scripts.core.errors import UsageError


def add_steps(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--step",
        nargs=2,
        action="append",
        default=[],
        metavar=("FOLDER", "COMMAND"),
        help="run COMMAND in FOLDER (relative to the repository root); repeat for more steps",
    )


def steps_of(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    if not args.step:
        raise UsageError("give one or more --step FOLDER COMMAND")
    return [(folder, shlex.split(command)) for folder, command in args.step]


def add_one_step(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="folder", default=".", metavar="FOLDER", help="the folder to run the command in")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARG...: the command")


def step_of(args: argparse.Namespace) -> tuple[str, list[str]]:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("give the command to run: --in FOLDER -- COMMAND ARG...")
    return args.folder, command
