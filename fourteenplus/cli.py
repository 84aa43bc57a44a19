"""`fourteenplus <command>`: one module per command under fourteenplus/commands/.

Each command module has `configure(parser)` and `main(args) -> int`; importing it lazily
keeps `fourteenplus check` fast (no whisper, no ARI client loaded). Other distributions add
commands of the same shape through the entry-point group `fourteenplus.commands`: the
development package (dev/) adds `bench`, `cluster`, `corpus` and `soak`, which an
operator's wheel does not carry.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from . import __version__

# name → help; the module is fourteenplus.commands.<name with - as _>
COMMANDS = {
    "check": "validate the directory, the operator configuration and the grammars",
    "area": "list the municipalities behind an area code",
    "recognize": "recognise a municipality name in an audio file",
    "asterisk": "build, configure, start or stop the bundled Asterisk 22",
    "prompts": "generate the prompt audio from the prompt texts",
    "run": "run the ARI application",
    "call": "place a real SIP test call against the running system",
    "report": "figures per area and municipality, comparable with the 2020 national evaluation",
    "purge": "remove records, transcripts and audio older than their retention",
    "learn": "propose aliases from calls the recogniser missed; accept or reject them",
    "tune": "refit the recogniser's policy on the operator's kept calls; written only when better",
    "agi": "run the FastAGI server (the same call flow for operators who use AGI)",
    "status": "health of Asterisk, the call handling and the trunks, through AMI",
    "install": "write the systemd units or the example configuration for this installation",
}
PLUGINS = "fourteenplus.commands"  # the entry-point group other distributions add commands to


def plugins() -> dict[str, EntryPoint]:
    """The installed distributions' commands (name → entry point naming a command module)."""
    return {point.name: point for point in entry_points(group=PLUGINS) if point.name not in COMMANDS}


def _summary(module) -> str:
    """A command module's help line: the first line of its docstring."""
    return next(iter((module.__doc__ or "").strip().splitlines()), "")


def build_parser(extra: dict[str, EntryPoint]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fourteenplus", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fourteenplus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    for name, point in extra.items():
        sub.add_parser(name, help=_summary(point.load()), add_help=False)
    return parser


def command_parser(name: str, extra: dict[str, EntryPoint] | None = None) -> tuple[ModuleType, argparse.ArgumentParser]:
    """(the command's module, its argument parser): what `main` parses a command line with,
    and what the runbook's test checks each command the runbook names against."""
    extra = plugins() if extra is None else extra
    if name in COMMANDS:
        module = importlib.import_module(f"fourteenplus.commands.{name.replace('-', '_')}")
        description = COMMANDS[name]
    else:
        module = extra[name].load()
        description = _summary(module)
    parser = argparse.ArgumentParser(prog=f"fourteenplus {name}", description=description)
    module.configure(parser)
    return module, parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = plugins()
    if not argv or argv[0] not in COMMANDS and argv[0] not in extra:
        build_parser(extra).parse_args(argv or ["--help"])
        return 2
    module, parser = command_parser(argv[0], extra)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
