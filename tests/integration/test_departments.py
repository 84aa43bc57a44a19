"""End to end: a caller of a municipality with departments (Sluis, alone behind 14 0117 in
tests/integration/service.yaml) hears "Waarover belt u? …" and reaches the department they
name or key (a department heard likely but not surely after "Over …?" answered ja), and the
municipality's general line for anything else."""

from __future__ import annotations

import time

from fourteenplus.sipp import PressKeys, Say, WaitPrompt

from .conftest import log_size, stored, wait_for_log

# What the caller says: the department with its article, as people answer "Waarover belt u?".
# espeak-ng's "de belastingen" is heard at P 0.98, above the department bar; its bare
# "belastingen" at 0.81 to 0.84, between the bars of service.yaml: asked about.
BELASTINGEN = "de belastingen"
LIKELY_BELASTINGEN = "belastingen"

def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_a_department_by_voice(call, service_yaml):
    since = time.time()
    result = call("140117", [WaitPrompt(), Say(BELASTINGEN)])
    assert users(result) == ["sluis-belastingen"]
    record = stored(service_yaml, "140117", since)
    assert (record.municipality, record.department, record.path) == ("Sluis", "Belastingen", "direct")


def test_a_department_heard_likely_is_asked_about_and_a_ja_puts_through_to_it(call, service_yaml, app):
    since, logged = time.time(), log_size(app)
    result = call("140117", [WaitPrompt(), Say(LIKELY_BELASTINGEN), WaitPrompt(), Say("ja")])
    assert "prompts=('department-confirm/sluis/belastingen',)" in wait_for_log(app, "department-confirm/", logged)
    assert users(result) == ["sluis-belastingen"]
    record = stored(service_yaml, "140117", since)
    assert record.department == "Belastingen"
    assert [(a.decision, a.reason) for a in record.attempts] == [("confirm", "Belastingen"), ("yes", "Belastingen")]


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
