"""End to end: a national number (tests/integration/service.yaml, `national`), over real SIP
calls through Asterisk 22, in ARI and FastAGI mode. A caller names a municipality of the
country: one with a trunk here is put through, one without hears its 14+ number."""

from __future__ import annotations

import time

from fourteenplus.vocabulary import Outcome
from fourteenplus.numberplan import NATIONAL
from fourteenplus.sipp import Say, WaitPrompt

from .conftest import log_size, stored, wait_for_log

NUMBER = "08001414"


def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_a_national_caller_is_put_through_to_a_connected_municipality(call, service_yaml):
    since = time.time()
    # Every name on a national number is asked about: "Bedoelt u Koggenland?" "Ja."
    result = call(NUMBER, [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")])
    assert users(result) == ["koggenland"]
    record = stored(service_yaml, NUMBER, since)
    assert record.area_code == NATIONAL and record.municipality == "Koggenland"


def test_a_national_caller_hears_the_14_number_of_a_municipality_not_connected(call, app, service_yaml):
    since, logged = time.time(), log_size(app)
    # Haarlem has no trunk in this configuration: "Haarlem is bereikbaar op veertien 0 2 3."
    result = call(NUMBER, [WaitPrompt(), Say("Haarlem"), WaitPrompt(), Say("ja"), WaitPrompt()])
    assert users(result) == []
    assert result.ended == "Asterisk hung up"
    wait_for_log(app, "prompts=('reachable/haarlem', 'goodbye')", logged)
    record = stored(service_yaml, NUMBER, since)
    assert record.outcome == Outcome.REFERRED and record.municipality == "Haarlem"
    # The message was played to the end: the caller heard more than the question.
    assert len(result.loud) >= 3  # the question, "Bedoelt u Haarlem?" and the 14+ number


def test_agi_a_national_caller_is_put_through_to_a_connected_municipality(agi_call):
    result = agi_call(NUMBER, [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")])
    assert users(result) == ["koggenland"]
