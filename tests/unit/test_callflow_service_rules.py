"""Opening hours, holidays, English (key 9 or saying it), callers from abroad, in the call flow."""

import datetime as dt

import pytest

from fourteenplus.callflow import CallFlow, Dtmf, Hangup, HungUp, Listen, PromptDone, Transfer, Utterance
from fourteenplus.config import EXAMPLE, load_service
from fourteenplus.errors import ConfigErrors
from fourteenplus.hours import TZ
from fourteenplus.speech import Candidate, Recognition

from .test_callflow import heard, play

RULES = """
  Hoorn:
    trunk: PJSIP/hoorn@fourteenplus-trunks
    hours: {mon-fri: "08:30-17:00", sat-sun: closed}
    after_hours: PJSIP/nacht-westfriesland@fourteenplus-trunks
    english: PJSIP/hoorn-english@fourteenplus-trunks
  Medemblik:
    trunk: PJSIP/medemblik@fourteenplus-trunks
    hours: {mon-fri: "09:00-16:00"}
    closed: [2026-12-24]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True)
             if not line.startswith(("  Hoorn:", "  Medemblik:"))]
    text = "".join(lines).replace("municipalities:\n  Amsterdam:", "municipalities:" + RULES + "  Amsterdam:", 1)
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_service(path)


MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
MONDAY_20 = dt.datetime(2026, 11, 23, 20, 0, tzinfo=TZ)
KINGS_DAY = dt.datetime(2026, 4, 27, 10, 0, tzinfo=TZ)


def said(service, name, now):
    flow = CallFlow(service, "140229", now=now)
    flow.start()
    return flow, flow.handle(heard("accept", name))


def test_hours_open_transfers(service):
    flow, actions = said(service, "Hoorn", MONDAY_10)
    assert actions[-1] == Transfer("Hoorn", "PJSIP/hoorn@fourteenplus-trunks", None)


def test_hours_closed_with_after_hours_hears_the_hours_then_transfers(service):
    flow, actions = said(service, "Hoorn", MONDAY_20)
    assert play(actions).prompts == ("closed/hoorn",) and not [a for a in actions if isinstance(a, Transfer)]
    assert flow.handle(PromptDone(play(actions).play_id)) == [
        Transfer("Hoorn", "PJSIP/nacht-westfriesland@fourteenplus-trunks", None)]
    assert flow.record.outcome == "after_hours" and flow.done


def test_holiday_closed_without_after_hours_hears_the_hours_and_goodbye(service):
    flow, actions = said(service, "Medemblik", KINGS_DAY)
    assert play(actions).prompts == ("closed/medemblik",)
    assert flow.handle(PromptDone(play(actions).play_id)) == [Hangup("closed")]


def test_special_closing_day(service):
    _, actions = said(service, "Medemblik", dt.datetime(2026, 12, 24, 10, 0, tzinfo=TZ))
    assert play(actions).prompts == ("closed/medemblik",)


def test_hours_a_caller_leaving_before_the_after_hours_transfer_is_abandoned(service):
    flow, _ = said(service, "Hoorn", MONDAY_20)
    flow.handle(HungUp())
    assert flow.record.outcome == "abandoned"


def test_english_key_switches_the_prompts_and_the_destination(service):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    english = flow.handle(Dtmf("9"))
    assert play(english).prompts == ("question",) and play(english).language == "en"
    assert Listen("name", "0229") in english
    assert play(flow.handle(heard("reject"))).language == "en"  # the rest of the flow follows
    result = flow.handle(heard("accept", "Hoorn"))
    assert result[-1].trunk == "PJSIP/hoorn-english@fourteenplus-trunks"
    assert flow.record.language == "en"


def test_english_without_an_english_destination_uses_the_trunk(service):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    flow.handle(Dtmf("9"))
    assert flow.handle(heard("accept", "Medemblik"))[-1].trunk == "PJSIP/medemblik@fourteenplus-trunks"


def test_language_default_is_the_configured_one(service):
    flow = CallFlow(service, "140229")
    assert play(flow.start()).language == "nl"


def test_abroad_number_reaches_a_municipality_directly(service):
    flow = CallFlow(service, "+31229000001", now=MONDAY_10)
    assert flow.start()[-1].municipality == "Hoorn"
    assert flow.record.path == "direct"


def test_abroad_number_of_an_area_asks_the_question(service):
    flow = CallFlow(service, "0031 229 000 000")
    actions = flow.start()
    assert play(actions).prompts == ("question",) and flow.record.area_code == "0229"


@pytest.mark.parametrize("numbers, message", [
    ('"140229": {area: "0229"}', "is a 14+ number"),
    ('"+31 229 1": {area: "0111"}', "area '0111' is not answered"),
    ('"+31 229 1": {municipality: Opsterland}', "'Opsterland' is not a connected municipality"),
    ('"+31 229 1": {area: "0229", municipality: Hoorn}', "exactly one of"),
])
def test_bad_abroad_numbers_are_explained(write_yaml, numbers, message):
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("numbers:\n")
    end = text.index("\n\n", start)
    path = write_yaml(text[:start] + "numbers:\n  " + numbers + text[end:])
    with pytest.raises(ConfigErrors) as exc:
        load_service(path)
    assert any(message in str(e) for e in exc.value.errors), exc.value.errors


def test_bad_hours_in_the_configuration_name_the_line(write_yaml, service):
    text = open(service.source, encoding="utf-8").read().replace('"09:00-16:00"', '"9-16"')
    path = write_yaml(text)
    with pytest.raises(ConfigErrors) as exc:
        load_service(path)
    [error] = exc.value.errors
    assert error.file == str(path) and error.line is not None and "not a time range" in error.message


def said_words(transcript, decision="reject", municipality=None):
    """What the recogniser reports for words that may be no municipality at all."""
    score = 0.995 if decision == "accept" else 0.05
    candidates = (Candidate(municipality, score, municipality),) if municipality else ()
    return Utterance(Recognition(transcript, candidates, decision, municipality,
                                 "match" if municipality else "low_confidence"))


@pytest.mark.parametrize("transcript", ["English", "In English Lien", "Englisch", "Engel.",
                                        "Hallo, ik wil ik te speak English"])
def test_saying_english_at_the_question_switches_like_key_9(service, transcript):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    english = flow.handle(said_words(transcript))
    assert play(english).prompts == ("question",) and play(english).language == "en"
    assert flow.record.attempts[-1].kind == "language" and flow.record.attempts[-1].transcript == transcript
    assert flow.handle(heard("accept", "Hoorn"))[-1].trunk == "PJSIP/hoorn-english@fourteenplus-trunks"
    assert flow.record.path == "spoken", "asking for English is not a failed attempt at a name"


def test_saying_english_is_no_name_to_learn_or_count(service):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    flow.handle(said_words("English"))
    assert not [a for a in flow.record.attempts if a.kind == "name"]


def test_english_word_does_not_override_an_accepted_name(service):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    actions = flow.handle(said_words("Engel Hoorn", "accept", "Hoorn"))
    assert actions[-1] == Transfer("Hoorn", "PJSIP/hoorn@fourteenplus-trunks", None)
    assert flow.record.language == "nl"


def test_english_asked_twice_asks_once(service):
    flow = CallFlow(service, "140229", now=MONDAY_10)
    flow.start()
    flow.handle(said_words("English"))
    again = flow.handle(said_words("English please"))
    assert play(again).prompts == ("again",) and play(again).language == "en"
