"""The dialogue bench's engine: a scripted recogniser, a known path, the known outcome and time.

Every caller here goes through the real `CallFlow`; only the recogniser is scripted (its
answers in the order the flow asks for them), and the prompts have round durations, so the
time of each outcome can be worked out by hand from the clip and the endpointer.
"""

from __future__ import annotations

import numpy as np
import pytest

from fourteenplus.callflow import CallFlow
from fourteenplus_dev.commands._bench_dialogue import barge_ins, figures
from fourteenplus_dev.stats import spread
from fourteenplus.config import load_service
from fourteenplus_dev.simulation import (
    BARGE_IN_S, KEY_REACTION_S, Caller, PromptAudio, Simulation, endpoint, keypad_menu_seconds,
)
from fourteenplus.speech import Candidate, Recognition, vad
from fourteenplus.speech.service import Answer

SERVICE = load_service()
PLAN = SERVICE.plan("0229")  # Hoorn, Medemblik, Drechterland, Opmeer, Koggenland
MENU = PLAN.menu_prompt
QUESTION_S, CONFIRM_S, KEYS_S, AGAIN_S, MENU_S = 2.0, 1.0, 1.5, 3.0, 10.0
CONFIRM_SPOKEN_S = 0.7  # where the name in "Bedoelt u X?" ends: the rest is the prompt's trailing quiet
COMPUTE_MS = 100.0


def audio() -> PromptAudio:
    seconds = {("nl", "question"): QUESTION_S, ("nl", "again"): AGAIN_S, ("nl", "reply-keys"): KEYS_S,
               ("nl", MENU): MENU_S, ("nl", "goodbye"): 1.0, ("nl", "default/hoorn"): 1.5}
    for name in PLAN.connected:
        slug = SERVICE.municipality(name).slug
        seconds[("nl", f"confirm/{slug}")] = seconds[("nl", f"confirm-or/{slug}")] = CONFIRM_S
    spoken = {key: CONFIRM_SPOKEN_S for key in seconds if key[1].startswith("confirm")}
    # Five items of two seconds each.
    return PromptAudio(seconds, {("nl", MENU): (2.0, 4.0, 6.0, 8.0, 10.0)}, spoken)


def voice(seconds: float, lead: float = 0.3, tail: float = 0.3) -> np.ndarray:
    """A voiced buzz (a 125 Hz pulse train) between quiet stretches: what the endpointer hears as speech."""
    rng = np.random.default_rng(int(seconds * 1000))
    quiet = lambda s: (rng.standard_normal(int(s * 8000)) * 30).astype(np.int16)  # noqa: E731
    n = int(seconds * 8000)
    buzz = np.where(np.arange(n) % 64 < 8, 6000, -900).astype(np.int16)
    return np.concatenate([quiet(lead), buzz, quiet(tail)])


FIRST, SECOND, YES, NO = voice(0.8), voice(1.0), voice(0.3), voice(0.4)


def caller(expected="Opmeer", name="test-caller") -> Caller:
    return Caller(name, "0229", expected, FIRST, SECOND, YES, NO, "test")


class Scripted:
    """The recogniser's answers, in the order the flow asks for them."""

    def __init__(self, names=(), replies=()):
        self.names, self.replies = list(names), list(replies)
        self.last_ms = COMPUTE_MS

    def recognize_now(self, spoken, area_code):
        assert area_code == "0229" and spoken.span is not None
        return self.names.pop(0)

    def reply_now(self, spoken, area_code=None, asked=None):
        yes = self.replies.pop(0)
        return Answer(yes, yes, 1.0)


def ranked(*scores, decision="confirm"):
    candidates = tuple(Candidate(m, p, m) for m, p in scores)
    return Recognition(scores[0][0], candidates, decision, scores[0][0], "match")


def nothing():
    return Recognition.rejected("low_confidence")


def run(speech, who=None, barge_in_s=None):
    outcome = Simulation(CallFlow(SERVICE, "140229"), who or caller(), speech, audio(), barge_in_s).run()
    assert not speech.names and not speech.replies, "the flow asked for fewer answers than scripted"
    return outcome


def answered(clip) -> float:
    """Seconds from the start of a clip to its recognition's answer (started at the pause when
    the utterance there was the whole one, as the session does)."""
    heard = endpoint(clip)
    return max(heard.ended, heard.early + COMPUTE_MS / 1000) if heard.early is not None else heard.ended + COMPUTE_MS / 1000


def test_the_endpointer_hears_the_test_voice_end_about_half_a_second_after_it():
    heard = endpoint(FIRST)
    assert heard.started == pytest.approx(0.3, abs=0.12) and heard.ended == pytest.approx(1.6, abs=0.06)
    # the pause (0.2 s of quiet) comes 0.3 s before the end (0.5 s)
    assert heard.early is not None and heard.ended - heard.early == pytest.approx(0.3, abs=0.021)


def test_a_clip_cut_close_to_its_words_is_heard_to_its_soft_end():
    # People's recordings begin with the word: no lead-in to take the line's level from. The
    # line is then the quieter end of the clip, not the loud first word as hiss.
    loud, soft = voice(0.4, lead=0.0, tail=0.0), voice(0.4, lead=0.0, tail=0.3) // 10
    heard = endpoint(np.concatenate([loud, soft]))
    assert heard.words_ended == pytest.approx(0.8, abs=0.1)


def test_a_name_accepted_at_once_is_transferred_after_the_question_and_the_answer():
    outcome = run(Scripted([ranked(("Opmeer", 0.995), decision="accept")]))
    assert (outcome.municipality, outcome.path, outcome.name_takes, outcome.questions) == ("Opmeer", "spoken", 1, 0)
    assert outcome.first_answer and outcome.by_speech and not outcome.wrong
    assert outcome.seconds == pytest.approx(QUESTION_S + answered(FIRST), abs=0.001)
    assert outcome.compute_ms == [COMPUTE_MS]
    # Started at the pause, the 0.1 s of compute is hidden in the wait for the end: the caller
    # waits the endpointer's 0.5 s of quiet, not a millisecond more.
    assert outcome.answer_waits_ms == {"name": [pytest.approx(500.0, abs=20.1)]}


def test_ja_to_the_question_is_a_first_answer():
    outcome = run(Scripted([ranked(("Opmeer", 0.8))], [True]))
    assert (outcome.municipality, outcome.path, outcome.questions) == ("Opmeer", "confirmed", 1)
    assert outcome.first_answer and outcome.by_speech
    assert outcome.seconds == pytest.approx(QUESTION_S + answered(FIRST) + CONFIRM_S + answered(YES), abs=0.001)


def test_nee_then_ja_to_the_runner_up_is_still_a_first_answer():
    speech = Scripted([ranked(("Hoorn", 0.8), ("Opmeer", 0.75))], [False, True])
    outcome = run(speech)
    assert (outcome.municipality, outcome.path, outcome.questions, outcome.name_takes) == ("Opmeer", "confirmed", 2, 1)
    assert outcome.first_answer
    assert outcome.first_take_rank == 2  # the recogniser ranked Opmeer second
    expected = QUESTION_S + answered(FIRST) + CONFIRM_S + answered(NO) + CONFIRM_S + answered(YES)
    assert outcome.seconds == pytest.approx(expected, abs=0.001)


def test_asked_again_the_caller_plays_the_second_take():
    outcome = run(Scripted([nothing(), ranked(("Opmeer", 0.995), decision="accept")]))
    assert (outcome.municipality, outcome.path, outcome.name_takes) == ("Opmeer", "spoken_repeat", 2)
    assert outcome.right and not outcome.first_answer
    assert outcome.seconds == pytest.approx(QUESTION_S + answered(FIRST) + AGAIN_S + answered(SECOND), abs=0.001)


def test_an_answer_not_understood_brings_the_keys_and_the_caller_presses_one():
    outcome = run(Scripted([ranked(("Opmeer", 0.8))], [None]))
    assert (outcome.municipality, outcome.path, outcome.keys) == ("Opmeer", "confirmed", 1)
    assert outcome.first_answer and not outcome.by_speech
    expected = QUESTION_S + answered(FIRST) + CONFIRM_S + answered(YES) + CONFIRM_S + KEYS_S + KEY_REACTION_S
    assert outcome.seconds == pytest.approx(expected, abs=0.001)


def test_at_the_menu_the_caller_presses_their_key_as_soon_as_they_hear_it():
    outcome = run(Scripted([nothing(), nothing()]))
    position = PLAN.connected.index("Opmeer")
    assert (outcome.municipality, outcome.path, outcome.keys) == ("Opmeer", "keypad", 1)
    expected = (QUESTION_S + answered(FIRST) + AGAIN_S + answered(SECOND) + 2.0 * (position + 1) + KEY_REACTION_S)
    assert outcome.seconds == pytest.approx(expected, abs=0.001)
    assert keypad_menu_seconds(caller(), PLAN, audio()) == 2.0 * (position + 1) + KEY_REACTION_S


def test_a_caller_who_names_none_says_nee_presses_nothing_and_reaches_the_default():
    speech = Scripted([ranked(("Hoorn", 0.8)), nothing()], [False])
    outcome = run(speech, caller(expected=None))
    assert (outcome.municipality, outcome.path, outcome.keys) == (PLAN.default, "default", 0)
    assert not outcome.by_speech and not outcome.wrong


def test_a_caller_who_named_none_put_through_on_a_ja_after_pressing_2_counts_as_put_through_by_speech():
    # "Bedoelt u Hoorn?" unclear, the keys asked for: 2; "Of bedoelt u Opmeer?" a ja heard in their nee.
    outcome = run(Scripted([ranked(("Hoorn", 0.8), ("Opmeer", 0.75))], [None, True]), caller(expected=None))
    assert (outcome.municipality, outcome.path, outcome.keys) == ("Opmeer", "confirmed", 1)
    assert figures([outcome])["negatives_transferred_by_speech"] == 1


def test_the_figures_count_callers_by_where_they_ended():
    outcomes = [
        run(Scripted([ranked(("Opmeer", 0.995), decision="accept")])),
        run(Scripted([ranked(("Hoorn", 0.8), ("Opmeer", 0.75))], [False, True])),
        run(Scripted([nothing(), ranked(("Opmeer", 0.995), decision="accept")])),
        run(Scripted([ranked(("Hoorn", 0.995), decision="accept")])),  # put through wrong
        run(Scripted([ranked(("Hoorn", 0.8))], [True]), caller(expected=None)),  # a nee heard as ja
    ]
    result = figures(outcomes)
    assert (result["callers"], result["names"], result["negatives"]) == (5, 4, 1)
    assert (result["right_first_answer"], result["right_by_speech"], result["right"], result["wrong"]) == (2, 3, 3, 1)
    assert result["negatives_transferred_by_speech"] == 1 and result["asked_name_again"] == 1
    assert (result["first_take_top1"], result["first_take_top3"]) == (1, 2)  # a silent first take ranks nothing
    assert all(isinstance(result[k], int) for k in ("callers", "names", "right", "wrong", "right_first_answer"))
    assert result["questions_per_caller"] == pytest.approx(3 / 5)


# ---- callers who talk over the prompts ----

def test_a_caller_who_talks_over_the_question_stops_it_and_is_heard():
    outcome = run(Scripted([ranked(("Opmeer", 0.995), decision="accept")]), barge_in_s=0.8)
    assert (outcome.municipality, outcome.path, outcome.prompts_stopped) == ("Opmeer", "spoken", 1)
    # The name counts from where the caller started it, not from the end of the question.
    assert outcome.seconds == pytest.approx(0.8 + answered(FIRST), abs=0.001)
    assert outcome.seconds < run(Scripted([ranked(("Opmeer", 0.995), decision="accept")])).seconds - 1.0


def test_a_caller_who_barges_in_says_ja_as_the_name_in_bedoelt_u_ends():
    outcome = run(Scripted([ranked(("Opmeer", 0.8))], [True]), barge_in_s=0.8)
    assert (outcome.municipality, outcome.path, outcome.questions) == ("Opmeer", "confirmed", 1)
    assert outcome.seconds == pytest.approx(0.8 + answered(FIRST) + CONFIRM_SPOKEN_S + answered(YES), abs=0.001)


def test_a_cough_over_the_question_stops_nothing_and_is_no_answer():
    cough = caller()
    cough = Caller(cough.caller, cough.area_code, cough.expected, voice(0.12), SECOND, YES, NO, "test")
    # The cough is not recognised (the scripted recogniser hears only the second take): the
    # question plays on, nothing is heard, and the no-input timer asks again.
    outcome = run(Scripted([ranked(("Opmeer", 0.995), decision="accept")]), cough, barge_in_s=0.5)
    assert (outcome.municipality, outcome.path, outcome.prompts_stopped) == ("Opmeer", "spoken_repeat", 0)
    no_input_s = SERVICE.listen.no_input_ms / 1000
    assert outcome.seconds == pytest.approx(QUESTION_S + no_input_s + AGAIN_S + answered(SECOND), abs=0.001)


def test_a_turn_the_line_holds_open_is_heard_as_its_last_seconds_and_naming_nothing_leads_to_the_keys():
    # Someone close by talks on after the name, 12 dB below the caller, for longer than the
    # cut-off (8 s): the turn never ends, its last 6 s are recognised, they name nothing, and
    # the caller is given the keypad menu rather than asked again on the same line.
    rng = np.random.default_rng(5)
    talk = np.where(np.arange(9 * 8000) % 64 < 8, 1500, -225).astype(np.int16)
    line = {"first": ((rng.standard_normal(16000) * 30).astype(np.int16), talk)}
    who = caller()
    who = Caller(who.caller, who.area_code, who.expected, FIRST, SECOND, YES, NO, "test", line=line)

    class Heard(Scripted):
        def __init__(self, names):
            super().__init__(names)
            self.lengths: list[int] = []

        def recognize_now(self, spoken, area_code):
            self.lengths.append(len(spoken.samples))
            return super().recognize_now(spoken, area_code)

    speech = Heard([nothing()])
    outcome = run(speech, who)
    assert outcome.turns_cut_off == 1 and speech.lengths == [6 * 8000]
    assert (outcome.municipality, outcome.path, outcome.name_takes) == ("Opmeer", "keypad", 1)


def test_the_line_a_call_learnt_carries_over_to_its_next_question():
    # Others talking 25 dB below the caller from the moment the line opens (its first frame
    # quiet), through the question, the name and "Bedoelt u Opmeer?". At the question they
    # are what a caller who speaks at once sounds like; under the old barge-in rule (every
    # voiced frame counts) they stop it. The name's turn ends at the caller's words and
    # teaches the line those voices, so the call's endpointer (one per call, as the ARI
    # adapter's) lets "Bedoelt u" play: one prompt stopped by the line, not two.
    t = np.arange(9 * 8000) / 8000
    talk = sum(np.sin(2 * np.pi * 190 * k * t) / k for k in range(1, 6))
    talk = (talk / np.abs(talk).max() * 6000 * 10 ** (-25 / 20)).astype(np.int16)
    before = np.concatenate([np.zeros(160, np.int16), talk[: 2 * 8000 - 160]])
    line = {"first": (before, talk), "yes": (talk[: 2 * 8000], talk)}
    who = caller()
    who = Caller(who.caller, who.area_code, who.expected, FIRST, SECOND, YES, NO, "test", line=line)
    old_rule = vad.Settings(talker_db=-200.0)
    outcome = Simulation(CallFlow(SERVICE, "140229"), who, Scripted([ranked(("Opmeer", 0.8))], [True]), audio(),
                         endpointer=old_rule).run()
    assert (outcome.municipality, outcome.path, outcome.turns_cut_off) == ("Opmeer", "confirmed", 0)
    assert outcome.prompts_stopped_by_line == 1
    # The barge-in rule: those voices stop no prompt at all.
    outcome = Simulation(CallFlow(SERVICE, "140229"), who, Scripted([ranked(("Opmeer", 0.8))], [True]), audio()).run()
    assert (outcome.path, outcome.prompts_stopped_by_line) == ("confirmed", 0)


def test_the_callers_who_barge_in_are_drawn_from_the_seed_alone():
    half, third = barge_ins(400, 0.5, seed=3), barge_ins(400, 0.3, seed=3)
    assert half == barge_ins(400, 0.5, seed=3) and half != barge_ins(400, 0.5, seed=4)
    assert 160 < sum(at is not None for at in half) < 240
    # The callers who barge in at a share are among those who do at a larger one, at the same moment.
    assert all(half[i] == at for i, at in enumerate(third) if at is not None)
    assert all(BARGE_IN_S[0] <= at <= BARGE_IN_S[1] for at in half if at is not None)
    assert barge_ins(50, 0.0, seed=3) == [None] * 50


# ---- repeat callers (the caller's own history) ----

def test_a_suggested_municipality_the_caller_wants_saves_them_a_question():
    import dataclasses

    from fourteenplus.config import HistorySettings

    remembering = dataclasses.replace(SERVICE, history=HistorySettings(30, 4.0))
    heard = ranked(("Hoorn", 0.5), ("Opmeer", 0.3))
    plain = Simulation(CallFlow(remembering, "140229"), caller("Opmeer"), Scripted([heard], [False, True]), audio()).run()
    suggested = Simulation(CallFlow(remembering, "140229"), caller("Opmeer"), Scripted([heard], [True]), audio(),
                           suggested="Opmeer").run()
    assert plain.municipality == suggested.municipality == "Opmeer"
    assert (plain.questions, suggested.questions) == (2, 1)
    assert suggested.seconds < plain.seconds


def test_repeat_callers_are_drawn_from_the_seed_alone():
    from fourteenplus_dev.commands._bench_dialogue import repeat_callers

    callers = [caller("Opmeer", f"c{i}") for i in range(40)] + [caller(None, f"n{i}") for i in range(10)]
    assert repeat_callers(callers, SERVICE, 0.0, 1) == {}
    everyone = repeat_callers(callers, SERVICE, 1.0, 1)
    assert set(everyone) == {c.caller for c in callers}
    assert everyone == repeat_callers(callers, SERVICE, 1.0, 1)
    same = [name for name, (suggested, is_same) in everyone.items() if is_same]
    assert all(everyone[name][0] == "Opmeer" for name in same) and 10 <= len(same) <= 30
    # A caller who names no municipality, or wants another now, had chosen another of the area.
    others = {everyone[f"c{i}"][0] for i in range(40) if not everyone[f"c{i}"][1]}
    assert others and others <= set(PLAN.connected) - {"Opmeer"}
    assert not any(everyone[f"n{i}"][1] for i in range(10))


# ---- callers asked what their call is about ----

GOES = load_service().plan("0113")
DEPARTMENT_S = 8.0  # "Waarover belt u? Bijvoorbeeld …, Voor Burgerzaken, toets 1. …"


class Departments(Scripted):
    """Goes's callers: the name, then the department the recogniser heard (None: nothing sure)."""

    def __init__(self, names, departments):
        super().__init__(names)
        self.departments = list(departments)

    def recognize_now(self, spoken, area_code):
        return self.names.pop(0)

    def department_now(self, spoken, phrases):
        assert ("paspoort", "Burgerzaken") in phrases
        heard = self.departments.pop(0)
        return ranked((heard, 0.99)) if heard else nothing()


def goes_caller(department, topic):
    return Caller("goes-caller", "0113", "Goes", FIRST, SECOND, YES, NO, "test", department, topic)


def goes_run(speech, who):
    goes = SERVICE.municipality("Goes")
    seconds = {("nl", "question"): QUESTION_S, ("nl", "department/goes"): DEPARTMENT_S,
               **{("nl", goes.department_confirm(d)): CONFIRM_S for d in goes.departments}}
    outcome = Simulation(CallFlow(SERVICE, "140113"), who, speech, PromptAudio(seconds, {})).run()
    assert not speech.departments, "the flow asked for fewer answers than scripted"
    return outcome


def test_a_caller_who_names_a_department_is_put_through_to_it_after_the_examples():
    outcome = goes_run(Departments([ranked(("Goes", 0.995), decision="accept")], ["Burgerzaken"]),
                       goes_caller("Burgerzaken", YES))
    assert (outcome.municipality, outcome.department, outcome.asked_department) == ("Goes", "Burgerzaken", True)
    assert outcome.department_right and not outcome.department_wrong
    # The caller speaks TOPIC_AFTER_S into the question (their speech stops it) and is put through.
    assert outcome.seconds == pytest.approx(QUESTION_S + answered(FIRST) + 3.5 + answered(YES), abs=0.001)
    assert outcome.prompts_stopped == 1


def test_a_caller_not_understood_or_silent_at_the_department_question_reaches_the_general_line():
    unsure = goes_run(Departments([ranked(("Goes", 0.995), decision="accept")], [None]), goes_caller("Afval", YES))
    silent = goes_run(Departments([ranked(("Goes", 0.995), decision="accept")], []), goes_caller(None, None))
    for outcome in (unsure, silent):
        assert (outcome.municipality, outcome.department) == ("Goes", None) and not outcome.department_wrong
    assert silent.seconds == pytest.approx(QUESTION_S + answered(FIRST) + DEPARTMENT_S
                                           + SERVICE.listen.no_input_ms / 1000, abs=0.001)
    afval = goes_run(Departments([ranked(("Goes", 0.995), decision="accept")], ["Afval"]),
                     goes_caller("Burgerzaken", YES))
    result = figures([unsure, silent, afval])
    assert result["departments"] == {
        "asked": 3, "named_one": 2, "right_department": 0, "general_line": 1, "wrong_department": 1, "named_none": 1,
        "named_none_to_general_line": 1, "asked_about_one": 0, "asked_about_one_of_theirs": 0,
        "time_to_transfer_s": spread([o.seconds for o in (unsure, silent, afval)])}


# ---- callers asked "Over …?" about a department heard likely, not surely ----

LONG_NO = voice(1.2)  # a nee told from the ja by its length: the scripted recogniser hears which clip was said


class DepartmentHeardLikely(Departments):
    """The department between `department_confirm` and `department`, and each reply heard as
    the clip the caller said: their ja or their (longer) nee."""

    def __init__(self, department):
        super().__init__([ranked(("Goes", 0.995), decision="accept")], [department])
        self.asked = []

    def department_now(self, spoken, phrases):
        likely = (SERVICE.thresholds.department_confirm + SERVICE.thresholds.department) / 2
        return ranked((self.departments.pop(0), likely))

    def reply_now(self, spoken, area_code=None, asked=None):
        self.asked.append(asked)
        yes = len(spoken.speech) / vad.RATE < 0.8
        return Answer(yes, yes, 1.0)


def test_a_caller_asked_about_their_department_says_ja_and_is_put_through_to_it():
    speech = DepartmentHeardLikely("Burgerzaken")
    outcome = goes_run(speech, Caller("goes-caller", "0113", "Goes", FIRST, SECOND, YES, LONG_NO, "test",
                                      "Burgerzaken", YES))
    assert (outcome.department, outcome.department_questions, outcome.questions) == ("Burgerzaken", 1, 0)
    assert outcome.department_right and speech.asked == ["Goes"]


def test_a_caller_asked_about_another_department_says_nee_and_reaches_the_general_line():
    speech = DepartmentHeardLikely("Afval")
    outcome = goes_run(speech, Caller("goes-caller", "0113", "Goes", FIRST, SECOND, YES, LONG_NO, "test",
                                      "Burgerzaken", YES))
    assert (outcome.municipality, outcome.department, outcome.department_questions) == ("Goes", None, 1)
    assert not outcome.department_wrong
    assert figures([outcome])["departments"]["asked_about_one_of_theirs"] == 1
