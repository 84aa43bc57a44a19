"""The matcher's text side (normalisation, aliases, homonyms, out-of-area) and its decision
bands over hand-made scores; no model is loaded here."""

from dataclasses import dataclass

import pytest

from fourteenplus.speech.matcher import GARBAGE, Calibration, Matcher, content
from fourteenplus.speech.recognizer import Heard


@dataclass(frozen=True)
class P:
    text: str
    municipality: str
    kind: str = "name"


@dataclass(frozen=True)
class G:
    code: str
    municipalities: tuple
    phrases: tuple


AREA_0229 = G("0229", ("Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland"), (
    P("Hoorn", "Hoorn"), P("Medemblik", "Medemblik"), P("Drechterland", "Drechterland"),
    P("Opmeer", "Opmeer"), P("Koggenland", "Koggenland"),
    P("Zwaag", "Hoorn", "village"), P("Wognum", "Medemblik", "village"), P("Hoogkarspel", "Drechterland", "village"),
))
ELSEWHERE = (P("Amsterdam", "Amsterdam"), P("'s-Hertogenbosch", "'s-Hertogenbosch"),
             P("Den Bosch", "'s-Hertogenbosch", "alias"), P("Velp", "Rheden", "village"))
AREA_0486 = G("0486", ("Land van Cuijk",), (P("Land van Cuijk", "Land van Cuijk"), P("Velp", "Land van Cuijk", "village")))


def heard(transcript="", scores=None, garbage=None, speech=True):
    return Heard(transcript, speech, dict(scores or {}), garbage)


@pytest.fixture
def matcher():
    return Matcher(AREA_0229, ELSEWHERE)


def test_content_drops_carrier_words_and_folds():
    assert content("Eh, ik wil graag de gemeente Koggenland bellen.") == "koggenland"
    assert content("Met 's-Hertogenbosch, alstublieft") == "s hertogenbosch"


def test_text_match_finds_a_village_for_its_municipality(matcher):
    candidates, outside = matcher.text_match("Ik wil graag Zwaag.")
    assert candidates[0].municipality == "Hoorn" and candidates[0].phrase == "Zwaag"
    assert outside is None


def test_a_name_from_another_area_is_out_of_area(matcher):
    assert matcher.text_match("Amsterdam graag")[1] == "Amsterdam"
    assert matcher.text_match("gemeente Den Bosch")[1] == "'s-Hertogenbosch"
    result = matcher.decide_text("Amsterdam", 0.8, 0.55)
    assert result.decision == "reject" and result.reason == "out_of_area"


def test_homonyms_resolve_by_area():
    # Velp in 0486 is Land van Cuijk; elsewhere (026) it is Rheden, which is not this area's concern.
    candidates, outside = Matcher(AREA_0486, ()).text_match("Velp")
    assert candidates[0].municipality == "Land van Cuijk" and outside is None


def test_shortlist_has_every_name_and_only_near_villages(matcher):
    shortlist = matcher.shortlist("Ik wil Wognum")
    assert shortlist[:5] == ["Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland"]
    assert "Wognum" in shortlist and "Zwaag" not in shortlist


def test_decision_bands(matcher):
    accept = matcher.decide(heard("Hoorn", {"Hoorn": 10.0, "Opmeer": -10.0}), 0.8, 0.55)
    assert (accept.decision, accept.municipality, accept.reason) == ("accept", "Hoorn", "match")
    close = matcher.decide(heard("Hoorn", {"Hoorn": 0.0, "Opmeer": -1.2}), 0.8, 0.55)
    assert (close.decision, close.municipality) == ("confirm", "Hoorn")
    tie = matcher.decide(heard("Hoorn", {"Hoorn": 0.0, "Opmeer": 0.0}), 0.8, 0.55)
    assert (tie.decision, tie.reason) == ("reject", "ambiguous")


def test_phrases_of_one_municipality_vote_together(matcher):
    # Hoorn and Zwaag each lose to Opmeer alone, but together they are Hoorn's.
    result = matcher.decide(heard("", {"Hoorn": 0.0, "Zwaag": 0.0, "Opmeer": 0.5}), 0.5, 0.3)
    assert result.municipality == "Hoorn"
    assert result.candidates[0].phrase in ("Hoorn", "Zwaag")


def test_whisper_hearing_something_else_rejects(matcher):
    result = matcher.decide(heard("ik weet het niet", {"Hoorn": 0.0, "Opmeer": -1.0}, garbage=8.0), 0.8, 0.55)
    assert result.decision == "reject" and result.municipality is None


def test_a_transcript_that_is_a_phrase_does_not_compete_with_it(matcher):
    result = matcher.decide(heard("Koggenland.", {"Koggenland": 5.0, "Hoorn": -10.0}, garbage=5.0), 0.8, 0.55)
    assert result.decision == "accept" and result.municipality == "Koggenland"


def test_out_of_area_name_heard_clearly_is_rejected_with_that_reason(matcher):
    result = matcher.decide(heard("Amsterdam", {"Hoorn": -5.0, "Opmeer": -6.0}, garbage=10.0), 0.8, 0.55)
    assert (result.decision, result.reason) == ("reject", "out_of_area")


def test_no_speech_is_nothing(matcher):
    result = matcher.decide(heard(speech=False), 0.8, 0.55)
    assert (result.decision, result.reason, result.candidates) == ("reject", "no_speech", ())


def test_temperature_softens_confidence(matcher):
    scores = {"Hoorn": 0.0, "Opmeer": -3.0}
    sharp = Matcher(AREA_0229, (), Calibration(temperature=1.0)).decide(heard("", scores), 0.8, 0.55)
    soft = Matcher(AREA_0229, (), Calibration(temperature=6.0)).decide(heard("", scores), 0.8, 0.55)
    assert sharp.candidates[0].score > soft.candidates[0].score
    assert GARBAGE not in {c.municipality for c in sharp.candidates}
