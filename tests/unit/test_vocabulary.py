"""The call's vocabulary: its members are the strings stores, logs and metrics have always held."""

import json

from fourteenplus import vocabulary as v
from fourteenplus.callflow import Listen, Play

# What rows written before the vocabulary had a module hold: these never change meaning.
STORED = {
    v.CallPath: {"direct", "spoken", "spoken_repeat", "confirmed", "keypad", "default"},
    v.Outcome: {"transferred", "after_hours", "closed", "rejected_number", "not_served", "not_connected",
                "no_choice", "abandoned"},
    v.AttemptKind: {"name", "reply", "keypad", "silence", "failure", "language"},
    v.Decision: {"accept", "confirm", "reject", "yes", "no", "unclear", "digit", "timeout", "error", "en"},
    v.State: {"starting", "asking", "confirming", "menu", "ending", "transferred", "done"},
    v.Timing: {"answer_to_first_prompt", "speech_end_to_transfer", "answer_to_invite"},
    v.Reason: {"match", "no_speech", "out_of_area", "low_confidence", "ambiguous", "no_name", "timeout", "error",
               "deadline"},
}


def test_every_stored_word_is_the_string_it_always_was():
    for words, strings in STORED.items():
        assert strings <= {str(word) for word in words}, words  # words are added, never renamed


def test_a_word_reads_as_its_string_in_reprs_json_and_lookups():
    play = Play("question-1", (v.Prompt.QUESTION,), True)
    assert repr(play) == "Play(play_id='question-1', prompts=('question',), barge_in=True, language='nl')"
    assert repr(Listen(v.ListenMode.REPLY, "0229", "Hoorn")) == "Listen(mode='reply', area_code='0229', asked='Hoorn', phrases=())"
    assert json.dumps({v.Timing.ANSWER_TO_INVITE: v.Outcome.TRANSFERRED}) == '{"answer_to_invite": "transferred"}'
    assert {"yes": 1}[v.Decision.YES] == 1 and v.said(False) == "no"


def test_prompt_ids_are_built_in_one_place():
    assert v.prompt_id(v.PromptFamily.CONFIRM_OR, "hoorn") == "confirm-or/hoorn"
    assert v.prompt_id(v.PromptFamily.MENU, "0229") == "menu/0229"
