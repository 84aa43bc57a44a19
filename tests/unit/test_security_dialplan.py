"""The static dialplan never builds a jump target or an application's argument list from
what the caller sent: ${EXTEN} and CALLERID appear only inside FILTER() (digits out) or
LEN() (a number out), except in [fourteenplus-out]'s extensions whose pattern admits
nothing but digits (tests/unit/test_outbound.py holds those)."""

from __future__ import annotations

import re

from fourteenplus.resources import DIALPLAN

CALLER_CONTROLLED = re.compile(r"\$\{(EXTEN|CALLERID\([^)]*\))(:\d+)?\}")
SAFE = re.compile(r"\$\{(FILTER\(0-9\+?,|LEN\()\$\{(EXTEN|CALLERID\([^)]*\))(:\d+)?\}\)\}")


def contexts() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    name = ""
    for line in (DIALPLAN / "fourteenplus.conf").read_text().splitlines():
        if line.startswith("["):
            name = line.strip("[]")
        elif not line.startswith(";") and line.strip():
            out.setdefault(name, []).append(line)
    return out


def test_security_entry_contexts_use_the_dialled_string_only_inside_filter_or_len():
    for name, lines in contexts().items():
        if name == "fourteenplus-out":
            continue
        for line in lines:
            assert not CALLER_CONTROLLED.search(SAFE.sub("", line)), f"[{name}] {line}"


def test_security_every_jump_of_the_entry_contexts_has_a_fixed_or_filtered_target():
    for name in ("fourteenplus-in", "fourteenplus-in-agi"):
        for line in contexts()[name]:
            for target in re.findall(r"(?:Goto|GotoIf|Gosub)\((.*)\)$", line):
                assert "${EXTEN" not in SAFE.sub("<digits>", target.split("?", 1)[-1]), line
