"""The on-call runbook (fourteenplus/data/prometheus/runbook.md) read as the engineer reads it:
its headings, its links, and the commands it tells them to type.

A command is every line of a ```sh block (its `# …` comment dropped) and every inline code
span in the prose that starts with a program the runbook checks (`fourteenplus`, `asterisk`,
`systemctl`, `journalctl`): a pipeline is split into its commands, and `sudo -u USER` and
`env NAME=VALUE` in front are put aside, so `…/bin/pip` is `pip`. The unit test checks each
against what it names (tests/unit/test_runbook.py); the `asterisk -rx` commands are run on a
real Asterisk (tests/integration/test_runbook.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePath

from fourteenplus import resources

CHECKED = ("fourteenplus", "asterisk", "systemctl", "journalctl")  # prose spans starting so are commands
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.M)


def text() -> str:
    return resources.RUNBOOK.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """A heading's anchor as GitHub (and most markdown renderers) make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings() -> list[str]:
    return _HEADING.findall(_BLOCK.sub("", text()))


def anchors() -> set[str]:
    return {slug(heading) for heading in headings()}


def links() -> list[str]:
    """Every link target in the prose, `[…](target)`."""
    return re.findall(r"\]\(([^)\s]+)\)", _BLOCK.sub("", text()))


def _lines() -> list[str]:
    """Command lines: the sh blocks' lines, and the prose's spans that start with a checked program."""
    page = text()
    found = [line for block in _BLOCK.findall(page) for line in block.splitlines() if line.strip()]
    prose = _BLOCK.sub("", page)
    for span in _SPAN.findall(prose):
        span = " ".join(span.split())  # a span may run over a line break
        words = span.split()
        if words[0] not in CHECKED or len(words) == 1 or span == "asterisk -rx":
            continue  # a name (the unit `fourteenplus`, the tool `asterisk -rx`), not a command
        if words[0] == "fourteenplus" and len(words) > 1 and words[1].endswith(":"):
            continue  # what `fourteenplus status` prints ("fourteenplus run: ready (…)"), not a command
        found.append(span)
    return found


def commands() -> list[list[str]]:
    """Every command as its words, the program by its base name (`/opt/…/bin/pip` → `pip`)."""
    found = []
    for line in _lines():
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("|") if "|" in words else len(words)
            found.append(_plain(words[:end]))
            words = words[end + 1:]
    return [words for words in found if words]


def _plain(words: list[str]) -> list[str]:
    """The command without who runs it (`sudo -u USER`) and its environment (`env NAME=VALUE`)."""
    if words[:2] == ["sudo", "-u"]:
        words = words[3:]
    if words[:1] == ["env"]:
        words = words[1:]
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return [PurePath(words[0]).name, *words[1:]] if words else []


def asterisk_commands() -> list[str]:
    """What the runbook runs through `asterisk -rx "…"`, each once, in order."""
    return list(dict.fromkeys(words[2] for words in commands() if words[0] == "asterisk" and words[1:2] == ["-rx"]))
