"""End to end: a caller of a municipality with departments (Sluis, alone behind 14 0117 in
tests/integration/service.yaml) hears "Waarover belt u? …" and reaches the department they
name or key, and the municipality's general line for anything else."""

from __future__ import annotations

import time

from fourteenplus.sipp import PressKeys, Say, WaitPrompt

from .conftest import stored

# What the caller says: the department with its article, as people answer "Waarover belt u?".
# espeak-ng's bare "belastingen" is heard at P 0.84, just under the department bar (0.85);
# "de belastingen" at 0.98. A word at the bar passes or fails with the machine's arithmetic.
BELASTINGEN = "de belastingen"

def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_a_department_by_voice(call, service_yaml):
    since = time.time()
    result = call("140117", [WaitPrompt(), Say(BELASTINGEN)])
    assert users(result) == ["sluis-belastingen"]
    record = stored(service_yaml, "140117", since)
    assert (record.municipality, record.department, record.path) == ("Sluis", "Belastingen", "direct")


def test_a_department_by_key_over_the_question(call, service_yaml):
    since = time.time()
    result = call("140117", [WaitPrompt(into_ms=1500), PressKeys("2")])
    assert users(result) == ["sluis-afval"]
    assert stored(service_yaml, "140117", since).department == "Afval"


def test_something_else_said_reaches_the_general_line(call):
    result = call("140117", [WaitPrompt(), Say("ik weet het niet")])
    assert users(result) == ["sluis"]


def test_silence_reaches_the_general_line(call, service_yaml):
    since = time.time()
    result = call("140117", [WaitPrompt()])  # then nothing: no_input_ms later, the general line
    assert users(result) == ["sluis"]
    assert stored(service_yaml, "140117", since).department is None
