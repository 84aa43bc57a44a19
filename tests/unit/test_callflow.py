"""The call flow without Asterisk: every path a caller can take, event by event."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fourteenplus.callflow import (
    AnswerCall, CallFlow, CancelTimer, DialResult, Dtmf, Hangup, HungUp, Listen, Play, PromptDone, Refuse,
    RecognitionFailed, Reply, SpeechStarted, StartTimer, StopListening, StopPlayback, Timeout,
    Transfer, Utterance,
)
from fourteenplus.config import load_service
from fourteenplus.speech import Candidate, Recognition


SERVICE = load_service()
MENU = SERVICE.plan("0229").menu_prompt  # "menu/0229-<the order of its keys>"


# A probability in each band of the shipped thresholds (accept 0.99, confirm 0.10).
BAND = {"accept": 0.995, "confirm": 0.8, "reject": 0.05}


def heard(decision, municipality=None, score=None):
    """What the recogniser reports when it heard `municipality` (or nothing) and decided."""
    score = BAND[decision] if score is None else score
    candidates = (Candidate(municipality, score, municipality),) if municipality else ()
    return Utterance(Recognition(municipality or "", candidates, decision, municipality,
                                 "match" if decision != "reject" else "low_confidence"))


def of(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def play(actions):
    [p] = of(actions, Play)
    return p


def timer(actions):
    [t] = of(actions, StartTimer)
    return t


def asked(number="140229"):
    flow = CallFlow(SERVICE, number, caller="0612345678")
    actions = flow.start()
    assert Listen("name", "0229") in actions and play(actions).prompts == ("question",)
    assert play(actions).barge_in
    return flow, actions


def finish_prompt(flow, actions):
    return flow.handle(PromptDone(play(actions).play_id))


def to_menu(flow, actions):
    """Stay silent until the keypad menu plays."""
    for _ in range(SERVICE.listen.attempts):
        actions = flow.handle(Timeout(timer(finish_prompt(flow, actions)).timer_id))
    assert play(actions).prompts == (MENU,) and StopListening() in actions
    return actions


# ---- numbers ----

def test_single_municipality_area_transfers_without_a_question():
    flow = CallFlow(SERVICE, "14020")
    assert flow.start() == [Transfer("Amsterdam", "PJSIP/amsterdam@fourteenplus-trunks", None)]
    assert flow.done and flow.record.path == "direct" and flow.record.area_code == "020"


@pytest.mark.parametrize("number, prompt, outcome", [
    ("140000", "number/unknown_area", "rejected_number"),
    ("140", "number/too_short", "rejected_number"),
    ("1400", "number/national_line", "rejected_number"),
    ("140800", "number/not_geographic", "rejected_number"),
    ("140229&PJSIP/x", "number/non_digit", "rejected_number"),
    ("140111", "number/not_served", "not_served"),
])
def test_numbers_we_cannot_route_are_refused_unanswered_saying_why(number, prompt, outcome):
    flow = CallFlow(SERVICE, number)
    # never answered: the reason as early media, then a SIP status (the adapter's and dialplan's)
    assert flow.start() == [Refuse((prompt,), "nl")]
    assert flow.done and flow.record.outcome == outcome
    assert flow.handle(Dtmf("1")) == []


def test_a_conversation_is_answered_before_its_first_word_and_only_once():
    flow = CallFlow(SERVICE, "140229")
    actions = flow.start()
    assert actions[0] == AnswerCall() and of(actions, AnswerCall) == [AnswerCall()] and play(actions).prompts == ("question",)
    assert not of(flow.handle(heard("reject", None)), AnswerCall)


# ---- speech ----

def test_spoken_name_accepted_transfers():
    flow, _ = asked()
    actions = flow.handle(heard("accept", "Koggenland"))
    assert actions[-1] == Transfer("Koggenland", "PJSIP/koggenland@fourteenplus-trunks",
                                   "PJSIP/regio-westfriesland@fourteenplus-trunks")
    assert StopListening() in actions
    assert flow.record.path == "spoken" and flow.record.attempts[0].municipality == "Koggenland"


def test_barge_in_stops_the_question_and_sets_a_recognition_deadline():
    flow, actions = asked()
    barge = flow.handle(SpeechStarted())
    assert StopPlayback() in barge
    listen = SERVICE.listen
    assert timer(barge).ms == (listen.max_speech_ms + listen.busy_wait_ms + listen.recognition_deadline_ms
                               + listen.deadline.slack_ms)
    # The stopped question reports done late: that must not start a no-input timer.
    assert finish_prompt(flow, actions) == []
    result = flow.handle(heard("accept", "Hoorn"))
    assert CancelTimer(timer(barge).timer_id) in result and result[-1].municipality == "Hoorn"


def test_recogniser_too_slow_gives_the_keypad_menu():
    flow, actions = asked()
    deadline = timer(flow.handle(SpeechStarted()))
    result = flow.handle(Timeout(deadline.timer_id))
    assert play(result).prompts == (MENU,)
    assert flow.record.attempts[-1].reason == "deadline"


def test_recogniser_error_gives_the_keypad_menu():
    flow, _ = asked()
    result = flow.handle(RecognitionFailed("error"))
    assert play(result).prompts == (MENU,) and StopListening() in result


def cut_off(utterance):
    """The same take, from a turn the endpointer cut off: its last seconds were heard."""
    return Utterance(utterance.recognition, cut_off=True)


@pytest.mark.parametrize("decision, prompts", [("accept", None), ("confirm", ("confirm/koggenland",))])
def test_a_turn_cut_off_whose_last_seconds_hold_a_name_is_decided_as_any(decision, prompts):
    # Voices held the turn open to the cut-off: a sure name goes through, a likely one is asked about.
    flow, _ = asked()
    flow.handle(SpeechStarted())
    actions = flow.handle(cut_off(heard(decision, "Koggenland")))
    if prompts is None:
        assert actions[-1].municipality == "Koggenland" and flow.record.path == "spoken"
    else:
        assert play(actions).prompts == prompts
    assert [a.kind for a in flow.record.attempts] == ["name"]


def test_a_turn_cut_off_whose_last_seconds_name_nothing_goes_to_the_keypad_menu():
    # Asking again on a line that holds a turn open costs the caller another 8 s: the keys work.
    flow, _ = asked()
    flow.handle(SpeechStarted())
    actions = flow.handle(cut_off(heard("reject")))
    assert play(actions).prompts == (MENU,) and StopListening() in actions
    assert [(a.kind, a.reason) for a in flow.record.attempts] == [("name", "low_confidence"), ("failure", "cut_off")]


def test_a_reply_cut_off_and_not_understood_goes_to_the_keypad_menu_and_one_understood_counts():
    flow, _ = confirming()
    assert play(flow.handle(Reply(None, cut_off=True))).prompts == (MENU,)
    assert flow.record.attempts[-1].reason == "cut_off"
    flow, _ = confirming()
    assert flow.handle(Reply(True, cut_off=True))[-1].municipality == "Medemblik"


def test_rejected_then_accepted_counts_as_a_repeat():
    flow, _ = asked()
    again = flow.handle(heard("reject", None))
    assert play(again).prompts == ("again",) and Listen("name", "0229") in again
    assert flow.handle(heard("accept", "Opmeer"))[-1].municipality == "Opmeer"
    assert flow.record.path == "spoken_repeat"


def test_a_caller_who_named_no_municipality_is_asked_for_one_not_about_a_town():
    """Speech about something else ("ik heb een vraag over mijn paspoort") is no name: the
    caller hears the question with a hint, never "Bedoelt u …?" about a town picked from it,
    and a name said then is still a repeat that can be put through."""
    flow, _ = asked()
    noise = Recognition("ik heb een vraag over mijn paspoort", (Candidate("Hoorn", 0.3, "Hoorn"),), "reject", None,
                        "no_name")
    actions = flow.handle(Utterance(noise))
    assert play(actions).prompts == ("no-name",) and Listen("name", "0229") in actions
    assert flow.record.attempts[-1].reason == "no_name"
    # The town picked from that sentence is no evidence for the next take.
    actions = flow.handle(heard("reject", "Hoorn", 0.08))
    assert play(actions).prompts == (MENU,) and not of(actions, Transfer)


def doubted(municipality, score, no_name, decision="confirm"):
    """A take in which the recogniser heard `municipality` and the no-name gate, below its
    bar, thought it `no_name` likely to name nothing."""
    return Utterance(Recognition("Je bent aan de beman", (Candidate(municipality, score, municipality),), decision,
                                 municipality, "match", no_name=no_name))


def test_takes_that_look_like_no_name_together_ask_for_a_name_not_about_a_town():
    """A person talking about something else: each sentence only somewhat unlike a name, a
    town heard in each. Neither is asked about; the second ends at the keypad menu."""
    doubt = SERVICE.thresholds.no_name_doubt
    flow, _ = asked()
    actions = flow.handle(doubted("Hoorn", 0.6, doubt + 0.05))
    assert play(actions).prompts == ("no-name",) and Listen("name", "0229") in actions
    actions = flow.handle(doubted("Hoorn", 0.6, doubt - 0.02))  # the two on average still doubtful
    assert play(actions).prompts == (MENU,) and not of(actions, Transfer)


def test_a_clear_name_after_a_doubtful_take_is_asked_about_and_a_sure_one_put_through():
    doubt = SERVICE.thresholds.no_name_doubt
    flow, _ = asked()
    flow.handle(doubted("Hoorn", 0.3, doubt + 0.1))
    actions = flow.handle(doubted("Opmeer", 0.8, 0.0))
    assert play(actions).prompts == ("confirm/opmeer",)
    # After a reason the gate was sure of ("ik bel over mijn paspoort"), the name said next.
    flow, _ = asked()
    flow.handle(Utterance(Recognition("ik bel over mijn paspoort", (Candidate("Hoorn", 0.3, "Hoorn"),), "reject",
                                      None, "no_name", no_name=0.9)))
    assert play(flow.handle(doubted("Opmeer", 0.8, doubt / 2 - 0.01))).prompts == ("confirm/opmeer",)
    # A sure own name is put through however doubtful the take; so is one the gate never weighed.
    flow, _ = asked()
    assert flow.handle(doubted("Opmeer", 0.995, 0.45, "accept"))[-1].municipality == "Opmeer"
    flow, _ = asked()
    assert play(flow.handle(doubted("Opmeer", 0.3, None))).prompts == ("confirm/opmeer",)


def test_a_name_not_understood_is_still_told_so():
    flow, _ = asked()
    actions = flow.handle(heard("reject", "Hoorn", 0.05))
    assert play(actions).prompts == ("again",)


def test_a_name_from_another_area_is_never_routed():
    flow, _ = asked()
    actions = flow.handle(heard("accept", "Amsterdam"))
    assert not of(actions, Transfer) and play(actions).prompts == ("again",)


def test_a_municipality_behind_the_code_but_not_connected_hears_so(tmp_path):
    text = open(SERVICE.source, encoding="utf-8").read().replace(
        "[Deventer, Olst-Wijhe, Voorst, Dalfsen]", "[Deventer, Olst-Wijhe]")
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    flow = CallFlow(load_service(tmp_path / "c.yaml"), "140570")
    flow.start()
    actions = flow.handle(heard("accept", "Dalfsen"))
    assert play(actions).prompts == ("not-connected", "goodbye") and not of(actions, Transfer)
    assert finish_prompt(flow, actions) == [Hangup("not_connected")]


# ---- confirmation ----

def confirming():
    flow, _ = asked()
    actions = flow.handle(heard("confirm", "Medemblik"))
    assert Listen("reply", "0229", "Medemblik") in actions and play(actions).prompts == ("confirm/medemblik",)
    return flow, actions


def test_confirmed_by_voice():
    flow, _ = confirming()
    assert flow.handle(Reply(True))[-1].municipality == "Medemblik"
    assert flow.record.path == "confirmed"


def test_confirmed_by_key():
    flow, _ = confirming()
    assert flow.handle(Dtmf("1"))[-1].municipality == "Medemblik"


def test_denied_confirmation_asks_again_then_menu():
    flow, _ = confirming()
    again = flow.handle(Reply(False))
    assert play(again).prompts == ("again",) and Listen("name", "0229") in again
    menu = flow.handle(heard("reject"))
    assert play(menu).prompts == (MENU,)
    assert [a.decision for a in flow.record.attempts] == ["confirm", "no", "reject"]


def test_denied_by_key():
    flow, _ = confirming()
    assert play(flow.handle(Dtmf("2"))).prompts == ("again",)


def test_unclear_reply_repeats_the_question_once_then_menu():
    flow, actions = confirming()
    repeat = flow.handle(Reply(None))
    assert play(repeat).prompts == ("confirm/medemblik", "reply-keys")
    assert play(flow.handle(Timeout(timer(finish_prompt(flow, repeat)).timer_id))).prompts == (MENU,)


def ranked(*scores, decision="confirm"):
    """A take in which the recogniser ranked several municipalities: (name, probability)…"""
    candidates = tuple(Candidate(m, p, m) for m, p in scores)
    return Utterance(Recognition(scores[0][0], candidates, decision, scores[0][0], "match"))


def test_nee_offers_the_runner_up_and_its_ja_transfers():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.75), ("Opmeer", 0.74)))
    runner_up = flow.handle(Reply(False))
    assert play(runner_up).prompts == ("confirm-or/koggenland",) and Listen("reply", "0229", "Koggenland") in runner_up
    assert flow.handle(Reply(True))[-1].municipality == "Koggenland"
    assert flow.record.path == "confirmed"
    assert [a.decision for a in flow.record.attempts] == ["confirm", "no", "yes"]


def correction(*scores, decision="confirm"):
    """The name heard with an answer ("nee, Koggenland"): (name, probability)…"""
    return ranked(*scores, decision=decision).recognition


def test_nee_with_a_name_asks_about_that_name_next():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Opmeer", 0.5)))  # "Bedoelt u Hoorn?" "Nee, Koggenland."
    actions = flow.handle(Reply(False, correction(("Koggenland", 0.9), ("Hoorn", 0.3))))
    assert play(actions).prompts == ("confirm/koggenland",) and Listen("reply", "0229", "Koggenland") in actions
    assert flow.handle(Reply(True))[-1].municipality == "Koggenland"
    assert [(a.kind, a.decision) for a in flow.record.attempts] == [
        ("name", "confirm"), ("reply", "no"), ("name", "confirm"), ("reply", "yes")]


def test_nee_with_a_name_heard_surely_transfers_there_by_the_names_rules():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8)))
    actions = flow.handle(Reply(False, correction(("Koggenland", 0.999), decision="accept")))
    assert of(actions, Transfer)[-1].municipality == "Koggenland"


def test_a_weak_correction_is_asked_about_never_transferred():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8)))
    # Sure of its name, but a village heard (not the municipality's own name): asked about.
    weak = Recognition("zwaag", (Candidate("Opmeer", 0.999, "Zwaag"),), "accept", "Opmeer", "match")
    actions = flow.handle(Reply(False, weak))
    assert not of(actions, Transfer) and play(actions).prompts == ("confirm/opmeer",)


def test_a_correction_never_brings_back_the_municipality_denied():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.3)))
    actions = flow.handle(Reply(False, correction(("Hoorn", 0.999), ("Koggenland", 0.2), decision="accept")))
    assert not of(actions, Transfer) and play(actions).prompts == ("confirm/koggenland",)


def test_nee_with_no_name_ranked_is_a_plain_nee():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.75)))
    actions = flow.handle(Reply(False, Recognition.rejected("no_speech")))
    assert play(actions).prompts == ("confirm-or/koggenland",)


def test_a_ja_with_another_name_is_no_ja_but_that_name_is_weighed():
    """"Ja, Opmeer" to "Bedoelt u Hoorn?": the service sends no ja, only the name."""
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.5), ("Opmeer", 0.3)))
    actions = flow.handle(Reply(None, correction(("Opmeer", 0.9), ("Hoorn", 0.05))))
    assert not of(actions, Transfer) and play(actions).prompts == ("confirm/opmeer",)
    assert [a.decision for a in flow.record.attempts] == ["confirm", "unclear", "confirm"]


def test_an_unclear_answer_whose_name_is_the_one_asked_about_is_just_unclear():
    """Whisper heard a nee as "3 3 3" and the area's names, scored on it, ranked the one asked
    about: no correction, the question once more with its keys, then the menu (it was asked
    again without end)."""
    flow, _ = asked()
    flow.handle(ranked(("Koggenland", 0.5)))
    garbled = correction(("Koggenland", 0.4), ("Hoorn", 0.1))
    assert play(flow.handle(Reply(None, garbled))).prompts == ("confirm/koggenland", "reply-keys")
    assert play(flow.handle(Reply(None, garbled))).prompts == (MENU,)


def test_corrections_that_never_settle_end_at_the_menu():
    """Answers never understood, each with a name the other way ("ja, Hoorn" to Koggenland,
    "ja, Koggenland" to Hoorn): the questions are bounded, and the keypad takes over."""
    flow, _ = asked()
    actions = flow.handle(ranked(("Koggenland", 0.5), ("Hoorn", 0.4)))
    asked_about = 1
    names = {"confirm/koggenland": "Hoorn", "confirm/hoorn": "Koggenland"}
    while play(actions).prompts != (MENU,):
        other = names[play(actions).prompts[0]]
        actions = flow.handle(Reply(None, correction((other, 0.6))))
        asked_about += play(actions).prompts[0].startswith("confirm")
        assert asked_about <= SERVICE.listen.questions * SERVICE.listen.attempts
    assert not flow.done and flow.state == "menu"


def test_keys_answer_the_runner_up_question_too():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.75)))
    assert play(flow.handle(Dtmf("2"))).prompts == ("confirm-or/koggenland",)
    assert flow.handle(Dtmf("1"))[-1].municipality == "Koggenland"


def test_barge_in_over_bedoelt_u_stops_it_and_the_reply_is_heard():
    flow, actions = confirming()
    barge = flow.handle(SpeechStarted())
    assert StopPlayback() in barge and not of(barge, Play)
    assert finish_prompt(flow, actions) == []  # the stopped question ends late: no no-input timer
    result = flow.handle(Reply(True))
    assert CancelTimer(timer(barge).timer_id) in result and result[-1].municipality == "Medemblik"
    assert flow.record.path == "confirmed"


def test_barge_in_over_the_runner_up_question_stops_it_too():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.75)))
    runner_up = flow.handle(Reply(False))
    assert play(runner_up).prompts == ("confirm-or/koggenland",)
    assert StopPlayback() in flow.handle(SpeechStarted())
    assert flow.handle(Reply(True))[-1].municipality == "Koggenland"


def test_speech_after_the_prompt_has_ended_stops_nothing():
    flow, actions = asked()
    finish_prompt(flow, actions)
    assert not of(flow.handle(SpeechStarted()), StopPlayback)


@pytest.mark.parametrize("prompt", ["question", "again", "confirm", "confirm-keys", "confirm-or", "menu"])
def test_a_key_is_taken_while_any_question_plays(prompt):
    """Keys work at every prompt that asks something, without waiting for its end, and the
    prompt stops for what the key chose."""
    flow, actions = asked()
    if prompt == "again":
        actions = flow.handle(heard("reject"))
    elif prompt in ("confirm", "confirm-keys"):
        actions = flow.handle(heard("confirm", "Medemblik"))
        if prompt == "confirm-keys":
            actions = flow.handle(Reply(None))
    elif prompt == "confirm-or":
        flow.handle(ranked(("Hoorn", 0.8), ("Medemblik", 0.75)))
        actions = flow.handle(Reply(False))
    elif prompt == "menu":
        actions = flow.handle(Dtmf("0"))
    assert play(actions).barge_in
    key = "2" if prompt == "menu" else "1" if prompt.startswith("confirm") else "0"
    result = flow.handle(Dtmf(key))
    if key == "0":  # at the question: the menu at once
        assert StopPlayback() in result and play(result).prompts == (MENU,)
    else:
        assert StopPlayback() in result and result[-1] == Transfer(
            "Medemblik", "PJSIP/medemblik@fourteenplus-trunks", "PJSIP/regio-westfriesland@fourteenplus-trunks")


def test_after_as_many_nees_as_questions_the_name_is_asked_again():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.75), ("Opmeer", 0.74), ("Medemblik", 0.7)))
    for _ in range(SERVICE.listen.questions - 1):
        assert play(flow.handle(Reply(False))).prompts[0].startswith("confirm-or/")
    again = flow.handle(Reply(False))
    assert play(again).prompts == ("again",)


def test_an_unlikely_runner_up_is_not_asked_about():
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", SERVICE.thresholds.runner_up - 0.01)))
    assert play(flow.handle(Reply(False))).prompts == ("again",)


def test_a_nee_is_never_asked_again_nor_transferred():
    """After nee to Hoorn, a second take that ranks Hoorn first again asks about the next one."""
    flow, _ = asked()
    flow.handle(ranked(("Hoorn", 0.8), ("Koggenland", 0.02)))
    flow.handle(Reply(False))
    actions = flow.handle(ranked(("Hoorn", 0.999), ("Koggenland", 0.95), decision="accept"))
    assert not of(actions, Transfer) and play(actions).prompts == ("confirm/koggenland",)


def test_the_second_take_is_weighed_with_the_first():
    """The question goes to what both takes favour; a silent take takes nothing away."""
    flow, _ = asked()
    flow.handle(ranked(("Opmeer", 0.09), ("Hoorn", 0.02), decision="reject"))
    actions = flow.handle(ranked(("Hoorn", 0.12), ("Opmeer", 0.11)))
    assert play(actions).prompts == ("confirm/opmeer",)
    flow, _ = asked()
    flow.handle(heard("reject"))
    assert flow.handle(heard("accept", "Opmeer"))[-1].municipality == "Opmeer"


def test_a_second_take_that_disagrees_lowers_the_first_ones_confidence():
    flow, _ = asked()
    flow.handle(ranked(("Opmeer", 0.09), ("Hoorn", 0.0), decision="reject"))
    actions = flow.handle(ranked(("Hoorn", 0.15), ("Opmeer", 0.0)))
    assert play(actions).prompts == (MENU,)


def test_a_village_heard_however_surely_is_asked_about_not_transferred():
    flow, _ = asked()
    village = Utterance(Recognition("Zwaag", (Candidate("Hoorn", 0.999, "Zwaag"),), "accept", "Hoorn", "match"))
    actions = flow.handle(village)
    assert not of(actions, Transfer) and play(actions).prompts == ("confirm/hoorn",)


def test_a_name_heard_as_another_areas_is_no_evidence():
    flow, _ = asked()
    actions = flow.handle(Utterance(Recognition("Amsterdam", (Candidate("Hoorn", 0.9, "Hoorn"),), "reject", None,
                                                "out_of_area")))
    assert play(actions).prompts == ("again",)


# ---- keypad ----

def test_silence_twice_then_keypad_choice():
    flow, actions = asked()
    menu = to_menu(flow, actions)
    result = flow.handle(Dtmf("3"))
    assert result[-1] == Transfer("Drechterland", "PJSIP/drechterland@fourteenplus-trunks",
                                  "PJSIP/regio-westfriesland@fourteenplus-trunks")
    assert StopPlayback() in result  # the menu may still be playing
    assert flow.record.path == "keypad"
    assert [a.kind for a in flow.record.attempts] == ["silence", "silence", "keypad"]
    assert menu


def test_a_key_during_the_question_goes_straight_to_the_menu():
    flow, _ = asked()
    result = flow.handle(Dtmf("4"))
    assert play(result).prompts == (MENU,) and StopPlayback() in result


@pytest.mark.parametrize("key", ["0", "6", "9", "*", "#"])
def test_wrong_key_replays_the_menu_with_a_hint(key):
    flow, actions = asked()
    to_menu(flow, actions)
    result = flow.handle(Dtmf(key))
    assert play(result).prompts == ("menu-again", MENU) and not of(result, Transfer)


def test_no_choice_goes_to_the_area_default():
    flow, actions = asked()
    menu = to_menu(flow, actions)
    for _ in range(SERVICE.listen.menu_attempts):
        menu = flow.handle(Timeout(timer(finish_prompt(flow, menu)).timer_id))
    # Never without a word: the caller hears where they are put through, then the trunk rings.
    assert play(menu).prompts == ("default/hoorn",) and not play(menu).barge_in and not of(menu, Transfer)
    assert flow.handle(Dtmf("2")) == [] and flow.record.path == "default"
    hoorn = SERVICE.municipality("Hoorn")
    assert finish_prompt(flow, menu) == [Transfer("Hoorn", hoorn.trunk, hoorn.overflow)]
    assert flow.done and flow.record.outcome == "transferred" and flow.record.municipality == "Hoorn"


def test_a_caller_who_hangs_up_during_the_default_s_announcement_abandoned_the_call():
    flow, actions = asked()
    menu = to_menu(flow, actions)
    for _ in range(SERVICE.listen.menu_attempts):
        menu = flow.handle(Timeout(timer(finish_prompt(flow, menu)).timer_id))
    assert flow.handle(HungUp()) == [] and finish_prompt(flow, menu) == []
    assert (flow.record.outcome, flow.record.abandoned_at) == ("abandoned", "ending")


def test_busy_recognisers_send_a_new_caller_to_the_keypad_with_an_apology():
    flow = CallFlow(SERVICE, "140229", caller="0612345678")
    actions = flow.start(busy=True)
    assert play(actions).prompts == ("busy", MENU) and not of(actions, Listen)
    [attempt] = flow.record.attempts
    assert (attempt.kind, attempt.decision, attempt.reason) == ("failure", "error", "busy")
    # The menu works as ever: a key puts them through.
    result = flow.handle(Dtmf("2"))
    assert result[-1].municipality == "Medemblik" and flow.record.path == "keypad"


def test_busy_recognisers_change_nothing_for_an_area_of_one_municipality():
    flow = CallFlow(SERVICE, "14020")
    assert flow.start(busy=True) == [Transfer("Amsterdam", "PJSIP/amsterdam@fourteenplus-trunks", None)]
    assert not flow.record.attempts


def test_no_choice_and_no_default_ends_with_goodbye(tmp_path):
    text = open(SERVICE.source, encoding="utf-8").read().replace("    default: Hoorn\n", "")
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    flow = CallFlow(load_service(tmp_path / "c.yaml"), "140229")
    actions = to_menu(flow, flow.start())
    for _ in range(SERVICE.listen.menu_attempts):
        actions = flow.handle(Timeout(timer(finish_prompt(flow, actions)).timer_id))
    assert play(actions).prompts == ("goodbye",)
    assert finish_prompt(flow, actions) == [Hangup("no_choice")]


# ---- the caller leaves ----

@pytest.mark.parametrize("steps, where", [
    (0, "asking"), (1, "confirming"), (2, "menu")])
def test_hangup_anywhere_is_recorded_and_ends_quietly(steps, where):
    flow, actions = asked()
    if steps == 1:
        flow.handle(heard("confirm", "Opmeer"))
    if steps == 2:
        to_menu(flow, actions)
    assert flow.handle(HungUp()) == []
    assert flow.done and flow.record.outcome == "abandoned" and flow.record.abandoned_at == where
    assert flow.handle(Dtmf("1")) == [] and flow.handle(heard("accept", "Hoorn")) == []


def test_stale_timers_and_prompts_are_ignored():
    flow, actions = asked()
    first = timer(finish_prompt(flow, actions))
    flow.handle(SpeechStarted())  # replaces the no-input timer
    assert flow.handle(Timeout(first.timer_id)) == []
    assert flow.handle(PromptDone("question-0")) == []


def test_dial_result_is_recorded_after_transfer():
    flow = CallFlow(SERVICE, "14020")
    flow.start()
    flow.handle(DialResult("BUSY"))
    assert flow.record.dial_status == "BUSY" and flow.record.outcome == "transferred"


# ---- any sequence of caller behaviour ----

caller_events = st.lists(st.one_of(
    st.sampled_from(["prompt", "timer", "speech", "hangup"]),
    st.tuples(st.just("dtmf"), st.sampled_from(list("0123456789*#"))),
    st.tuples(st.just("heard"), st.sampled_from(["accept", "confirm", "reject"]),
              st.sampled_from([None, "Hoorn", "Opmeer", "Amsterdam", "Koggenland", "Deventer", "Goes",
                               "Burgerzaken", "Afval"])),
    st.tuples(st.just("reply"), st.sampled_from([True, False, None])),
    st.just("fail"),
), max_size=40)


@settings(max_examples=400, deadline=None)
@given(number=st.sampled_from(["140229", "14020", "140111", "140000", "140113"]), events=caller_events)
def test_property_every_call_ends_at_a_connected_trunk_or_a_spoken_message(number, events):
    flow = CallFlow(SERVICE, number)
    actions = flow.start()
    playing, timers, ended = None, [], []

    def apply(new):
        nonlocal playing
        for a in new:
            if isinstance(a, Play):
                playing = a.play_id
            elif isinstance(a, StopPlayback):
                playing = None
            elif isinstance(a, StartTimer):
                timers.append(a.timer_id)
            elif isinstance(a, (Transfer, Hangup, Refuse)):
                assert not ended, "a call ends once, and never after the caller left"
                ended.append(a)
        plan = SERVICE.plan(flow.record.area_code) if flow.record.area_code else None
        for t in of(new, Transfer):
            assert plan and t.municipality in plan.connected
            connection = SERVICE.municipality(t.municipality)
            lines = {d.name: d.trunk for d in connection.departments}
            # a department's line only when the caller chose one; else the municipality's own
            assert t.trunk == (lines[t.department] if t.department else connection.trunk)

    apply(actions)
    for event in events:
        if flow.done:
            break
        if event == "prompt" and playing:
            done, playing = playing, None
            apply(flow.handle(PromptDone(done)))
        elif event == "timer" and timers:
            apply(flow.handle(Timeout(timers[-1])))
        elif event == "speech":
            apply(flow.handle(SpeechStarted()))
        elif event == "hangup":
            ended.append(HungUp())
            apply(flow.handle(HungUp()))
        elif event == "fail":
            apply(flow.handle(RecognitionFailed("error")))
        elif event[0] == "dtmf":
            apply(flow.handle(Dtmf(event[1])))
        elif event[0] == "heard":
            apply(flow.handle(heard(event[1], event[2])))
        elif event[0] == "reply":
            apply(flow.handle(Reply(event[1])))
    # A silent caller: prompts finish and timers fire until the flow ends by itself.
    for _ in range(30):
        if flow.done:
            break
        if playing:
            done, playing = playing, None
            apply(flow.handle(PromptDone(done)))
        elif timers:
            apply(flow.handle(Timeout(timers[-1])))
    assert flow.done and ended  # by a transfer, our hang-up after a message, or the caller's
    assert flow.record.outcome is not None
