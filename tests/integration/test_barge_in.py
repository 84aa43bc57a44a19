"""End to end: callers who talk over the prompts (barge-in). The app hears the caller on the
snoop channel while the prompt plays, stops the prompt once the speech takes the turn, and
routes on what was said, all of it: the call reaches the right municipality and the caller
heard less than the whole prompt."""

from __future__ import annotations

import numpy as np

from fourteenplus import asterisk_layout, paths, prompts
from fourteenplus.sipp import LOUD_DB, Say, WaitPrompt
from fourteenplus.speech import audio
from fourteenplus.speech.vad import FRAME, RATE, frame_level_db

# How far into a prompt the caller starts talking: "Wel—", "Bedoelt u Kog—". The question
# holds only ~0.75 s of sound, so the caller starts early: the barge-in (0.16 s of voice, then
# the stop through ARI) must fit in what is left of it even on a loaded machine.
INTO_QUESTION_MS = 100
INTO_CONFIRM_MS = 500


def loud(ulaw: bytes) -> np.ndarray:
    """Per 20 ms frame of μ-law audio: louder than line silence (prompt sound)."""
    samples = audio.decode(ulaw, "ulaw")
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME)
    return np.array([frame_level_db(f) > LOUD_DB for f in frames], dtype=bool)


def sound_s(ulaw: bytes) -> float:
    """Seconds of sound in μ-law audio."""
    return float(loud(ulaw).sum()) * FRAME / RATE


def prompt_sound_s(prompt_id: str) -> float:
    """Seconds of sound in a prompt as Asterisk plays it (the installed file)."""
    path = asterisk_layout.read(paths.asterisk_root()).sounds / prompts.SOUNDS_SUBDIR / "nl" / f"{prompt_id}.ulaw"
    return sound_s(path.read_bytes())


def test_talking_over_the_question_stops_it_and_the_name_routes(call):
    result = call("140229", [WaitPrompt(into_ms=INTO_QUESTION_MS), Say("Koggenland")])
    assert [invite.user for invite in result.invites] == ["koggenland"]
    heard, question = sound_s(result.heard), prompt_sound_s("question")
    # The caller heard the question up to the barge-in (a little after they started), not to its
    # end; 0.1 s (five frames) is more than the level measure's own noise.
    assert heard < question - 0.1, f"heard {heard:.2f} s of a {question:.2f} s question"
    sounding = np.flatnonzero(loud(result.heard))
    played_s = (sounding[-1] + 1 - sounding[0]) * FRAME / RATE
    print(f"question {question:.2f} s of sound; played {played_s:.2f} s, the caller spoke from "
          f"{INTO_QUESTION_MS / 1000:.2f} s: stopped {played_s - INTO_QUESTION_MS / 1000:.2f} s after")


def test_talking_over_bedoelt_u_stops_it_and_the_ja_transfers(call, app, unsure_yaml):
    with app.running(unsure_yaml):  # every match is unsure: "Bedoelt u Koggenland?"
        result = call("140229", [WaitPrompt(), Say("Koggenland"), WaitPrompt(into_ms=INTO_CONFIRM_MS), Say("ja")])
    assert [invite.user for invite in result.invites] == ["koggenland"]
    heard = sound_s(result.heard)
    whole = prompt_sound_s("question") + prompt_sound_s("confirm/koggenland")
    assert heard < whole - 0.15, f"heard {heard:.2f} s of {whole:.2f} s of question and confirmation"
