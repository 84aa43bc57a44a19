"""End to end: real SIP calls through Asterisk 22 and the ARI app, each test asserting which
trunk the SIPp trunk endpoint saw the INVITE on (or that it saw none)."""

from __future__ import annotations

import time

from fourteenplus import asterisk_layout, paths, prompts, rtp
from fourteenplus.ari.app import MEDIA_PREFIX
from fourteenplus.sipp import PressKeys, Say, WaitPrompt
from fourteenplus.vocabulary import Prompt

from ..waiting import wait_until
from .conftest import (AT_THE_QUESTION, ari_channels, ari_get, in_background, log_size, stored, the_callers_channel,
                       wait_for_log)

# A spoken name that lands this quickly after the caller stops was recognised, not a
# fallback to the area's default (that takes the attempts and the menu: many seconds).
RECOGNISED_WITHIN_MS = 3000


def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_direct_area_goes_straight_to_the_one_municipality(call):
    result = call("14020")
    assert users(result) == ["amsterdam"]
    assert result.reached.municipality == "Amsterdam"
    assert result.first_audio_at is None, "a single-municipality area asks no question"


def record_keys_are_the_callers_channel(place, service_yaml):
    """One call, one key (issue 27, part 2): the record carries the caller's channel's uniqueid,
    and its linkedid (the caller's channel is the first of its call: the same id)."""
    started = time.time()
    thread, placed = in_background(lambda: place("140229", [WaitPrompt(), Say("Koggenland")]))
    try:
        channel = the_callers_channel()
    finally:
        thread.join(120)
    assert users(placed["result"]) == ["koggenland"]
    record = stored(service_yaml, "140229", since=started)
    assert record is not None and (record.uniqueid, record.linkedid) == (channel["id"], channel["id"])


def test_the_record_carries_the_callers_uniqueid(call, service_yaml):
    record_keys_are_the_callers_channel(call, service_yaml)


def test_spoken_name(call):
    result = call("140229", [WaitPrompt(), Say("Koggenland")])
    assert users(result) == ["koggenland"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS


def test_an_alaw_caller_hears_the_alaw_prompts_and_a_spoken_name_is_put_through(call):
    """Dutch lines (issue 27, part 2): a caller whose carrier offers A-law alone (PCMA) hears
    the question as the A-law prompt file itself, in payload type 8 throughout (nothing
    transcoded on its way to them), says a name and is put through to its municipality. The
    app hears them through its μ-law externalMedia channel: Asterisk transcodes that leg."""
    result = call("140229", [WaitPrompt(), Say("Koggenland")], law="alaw")
    assert users(result) == ["koggenland"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS
    assert set(result.received) == {rtp.ALAW_PAYLOAD_TYPE}, result.received
    question = asterisk_layout.read(paths.asterisk_root()).sounds / prompts.SOUNDS_SUBDIR / f"nl/{Prompt.QUESTION}.alaw"
    assert question.read_bytes()[800:2400] in result.heard, "the caller heard the A-law question, byte for byte"


def test_an_alaw_caller_heard_as_slin_is_put_through(call, app, service_yaml, tmp_path):
    """Linear audio for the app (issue 27, part 2): with `asterisk.ari.media: slin` the app's
    ears are an externalMedia channel in 8 kHz signed linear, as Asterisk itself reports it,
    so an A-law caller's words reach the recogniser companded once (their line's A-law), not
    again in μ-law; the caller says a name and is put through."""
    config = tmp_path / "slin.yaml"
    config.write_text(service_yaml.read_text() + "\nasterisk:\n  ari: {media: slin}\n")
    with app.running(config):
        since = log_size(app)
        thread, placed = in_background(lambda: call("140229", [WaitPrompt(), Say("Koggenland")], law="alaw"))
        try:
            wait_for_log(app, AT_THE_QUESTION, since)
            ears = wait_until(lambda: [c["id"] for c in ari_channels() if c["id"].startswith(MEDIA_PREFIX + "media-")],
                              "the app's externalMedia channel")
            heard_in = ari_get(f"channels/{ears[0]}/variable?variable=CHANNEL(audionativeformat)")["value"]
        finally:
            thread.join(120)
    assert heard_in == "(slin)"  # the channel's native formats, as Asterisk lists them
    assert users(placed["result"]) == ["koggenland"]
    assert placed["result"].speech_end_to_invite_ms < RECOGNISED_WITHIN_MS


def test_carrier_phrase(call):
    result = call("140229", [WaitPrompt(), Say("ik wil graag de gemeente Hoorn bellen")])
    assert users(result) == ["hoorn"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS


def test_a_caller_who_names_no_municipality_is_asked_for_one(call, app):
    """A sentence about something else is asked for a name ("Welke gemeente wilt u bellen? U
    kunt ook uw woonplaats noemen"), not "Bedoelt u …?" about a town picked from it, and never
    put through; the name said then is."""
    since = log_size(app)
    result = call("140229", [WaitPrompt(), Say("ik heb een vraag over mijn paspoort"), WaitPrompt(),
                             Say("Koggenland")])
    log = wait_for_log(app, "prompts=('no-name',)", since)
    assert "prompts=('confirm/" not in log
    assert users(result) == ["koggenland"]
    assert len(result.spoken_before_invite) == 2, "put through on the name, the second thing said"


def test_silence_twice_then_keypad_menu(call):
    # question, silence, "again", silence, the menu (Hoorn 1, Medemblik 2, Drechterland 3 …)
    result = call("140229", [WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("3")])
    assert users(result) == ["drechterland"]


def test_unsure_match_confirmed_by_ja(call, app, unsure_yaml):
    with app.running(unsure_yaml):  # every match is unsure: "Bedoelt u Koggenland?"
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")])
    assert users(result) == ["koggenland"]
    assert result.speech_end_to_invite_ms > 0, "transferred before the caller confirmed"


# The other municipalities of 0229: the runner-up after a nee to Koggenland is one of them.
RUNNERS_UP = {"hoorn", "medemblik", "drechterland", "opmeer"}


def test_nee_then_ja_to_the_runner_up(call, app, unsure_yaml):
    with app.running(unsure_yaml):  # "Bedoelt u Koggenland?" nee, "Of bedoelt u …?" ja
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("nee"), WaitPrompt(), Say("ja")])
    assert len(users(result)) == 1 and users(result)[0] in RUNNERS_UP


def test_ja_hoor_to_the_question_is_put_through_to_the_municipality_asked_about(call, app, unsure_yaml):
    with app.running(unsure_yaml):  # "Bedoelt u Koggenland?" "Ja hoor."
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja hoor")])
    assert users(result) == ["koggenland"]
    assert result.speech_end_to_invite_ms > 0, "transferred before the caller confirmed"


def test_nee_with_a_name_is_taken_as_the_callers_correction(call, app, unsure_yaml, service_yaml):
    since = time.time()
    # "Bedoelt u Medemblik?" "Nee, Koggenland." "Bedoelt u Koggenland?" "Ja."
    with app.running(unsure_yaml):
        result = call("140229", [WaitPrompt(), Say("Medemblik"), WaitPrompt(), Say("nee, Koggenland"),
                                 WaitPrompt(), Say("ja")])
    assert users(result) == ["koggenland"]
    record = stored(service_yaml, "140229", since)
    # The correction was heard with the nee (a name take of its own), not a runner-up asked by chance.
    assert [(a.kind, a.decision if a.kind == "reply" else "", a.municipality if a.kind == "reply" else "")
            for a in record.attempts][1:] == [
        ("reply", "no", "Medemblik"), ("name", "", ""), ("reply", "yes", "Koggenland")], record.attempts


def test_a_hallo_to_the_question_is_not_a_ja(call, app, unsure_yaml, service_yaml):
    since = time.time()
    # "Bedoelt u Koggenland?" "Hallo?" (espeak-ng's, which the reply model alone took for a ja
    # through "ja hoor"): asked again, and put through on the ja that follows.
    with app.running(unsure_yaml):
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("hallo?"), WaitPrompt(), Say("ja")])
    assert users(result) == ["koggenland"]
    record = stored(service_yaml, "140229", since)
    assert [(a.kind, a.decision) for a in record.attempts][1:] == [("reply", "unclear"), ("reply", "yes")], \
        record.attempts


def test_keys_1_and_2_answer_the_questions(call, app, unsure_yaml):
    with app.running(unsure_yaml):  # "Bedoelt u Koggenland?" 2, "Of bedoelt u …?" 1
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), PressKeys("2"), WaitPrompt(), PressKeys("1")])
    assert len(users(result)) == 1 and users(result)[0] in RUNNERS_UP


def test_busy_trunk_goes_to_its_overflow(call):
    result = call("14010")
    assert users(result) == ["busy-rotterdam", "regio-rijnmond"]
    assert result.reached.municipality == "Rotterdam"


def refused_unanswered_hearing_why(result) -> None:
    """Answer only when there is a conversation (issue 27, part 2): a number nobody here
    answers is never answered; the caller hears why as early media (183), then 404."""
    assert users(result) == []
    assert result.answered_at is None, "the caller pays for nothing"
    assert result.first_audio_at is not None, "the caller hears why"
    assert result.ended == "not answered: SIP/2.0 404 Not Found", result.ended


def test_unknown_area_hears_why_and_is_refused_unanswered(call, service_yaml):
    started = time.time()
    refused_unanswered_hearing_why(call("140000"))
    record = stored(service_yaml, "140000", since=started)
    assert record is not None and record.outcome == "rejected_number"


def test_an_area_not_served_here_hears_why_and_is_refused_unanswered(call):
    refused_unanswered_hearing_why(call("140113"))  # Goes: behind 0113, not served by this installation


def test_direct_area_is_put_through_unanswered_the_answer_is_the_municipalitys(call, trunk):
    """A single municipality's caller is answered by its contact centre, not by us: the
    answer comes after the trunk's INVITE, and the caller hears nothing of ours."""
    result = call("14020")
    assert users(result) == ["amsterdam"]
    assert result.answered_at is not None and result.answered_at >= result.invites[0].at
    assert result.first_audio_at is None


def test_caller_hanging_up_during_the_question_leaves_the_app_working(call, app):
    result = call("140229", hangup_after_ms=800)
    assert users(result) == []
    assert result.ended == "caller hung up"
    assert app.alive
    # The next call through the app, by keypad so that only the app is tested here: a key at
    # the question opens the menu (Hoorn 1, Medemblik 2, Drechterland 3, Opmeer 4, …).
    assert users(call("140229", [WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("4")])) == ["opmeer"]


def test_app_down_the_dialplan_menu_still_routes(call, app):
    with app.stopped():
        result = call("140229", [WaitPrompt(), PressKeys("2")])
    assert users(result) == ["medemblik"]


def test_a_caller_who_calls_again_has_their_last_choice_suggested(call, app, unsure_yaml, service_yaml):
    calling_again_finds_the_last_choice(call, app, unsure_yaml, service_yaml, "0612340229")


def calling_again_finds_the_last_choice(call, app, unsure_yaml, service_yaml, caller: str) -> None:
    """With `history:` on, the second call of a caller finds, through the keyed hash, the
    municipality they chose last time; it is only a suggestion: the caller who now asks for
    another municipality is asked about and put through to that one."""
    remembering = unsure_yaml.with_name("history.yaml")
    remembering.write_text(unsure_yaml.read_text() + "\nhistory:\n  days: 30\n")
    with app.running(remembering):
        since = time.time()
        first = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")], caller=caller)
        assert users(first) == ["koggenland"]
        assert stored(service_yaml, "140229", since).suggested is None, "a first call has no history"
        since = time.time()
        # (espeak-ng's short "Hoorn" is heard as much like Koggenland as like Hoorn: a name it says clearly.)
        again = call("140229", [WaitPrompt(), Say("Medemblik"), WaitPrompt(), Say("ja")], caller=caller)
    # The trunk endpoint knows a caller by number: this caller's INVITEs, the first call's and this one's.
    assert users(again) == ["koggenland", "medemblik"]
    record = stored(service_yaml, "140229", since)
    assert record.suggested == "Koggenland" and record.municipality == "Medemblik" and record.path == "confirmed"
