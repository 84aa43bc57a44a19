"""A prompt set per area: Frisian (fy) for 058 from the operator's recordings only, checked
on load with the missing recordings named at the area's line; the flow and the dialplan's
fallback play it for that area and only there."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from fourteenplus import asterisk_config, prompts
from fourteenplus.speech import audio
from fourteenplus.callflow import CallFlow, Dtmf, Transfer
from fourteenplus.config import EXAMPLE, LANGUAGES, load_service
from fourteenplus.errors import ConfigErrors

from .test_callflow import heard, play

AREA_058 = '''    default: Leeuwarden
'''


def frisian_yaml(write_yaml, language="fy"):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert AREA_058 in text
    return write_yaml(text.replace(AREA_058, AREA_058 + f"    language: {language}\n", 1))


def record(recordings, prompt_ids):
    """Stand-in recordings: 0.1 s of a 440 Hz tone per prompt (test fixtures, not Frisian speech)."""
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)).astype("<i2").tobytes()
    for pid in prompt_ids:
        path = recordings / "fy" / f"{pid}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(tone)


MENU_058 = load_service(EXAMPLE).plan("058").menu_prompt  # the language does not change the menu's keys
FRISIAN_IDS = ("trunk-failed", "goodbye", "question", "again", "no-name", "menu-again", "not-connected", MENU_058,
               "reply-keys", "busy", "default/leeuwarden", *(f"{kind}/{slug}" for slug in ("leeuwarden", "tytsjerksteradiel", "dantumadiel",
                                                             "noardeast-fryslan", "waadhoeke")
                               for kind in ("confirm", "confirm-or")))


@pytest.fixture
def recordings(tmp_path, monkeypatch):
    path = tmp_path / "recordings"
    monkeypatch.setenv("FOURTEENPLUS_RECORDINGS", str(path))
    return path


@pytest.fixture
def frisian(write_yaml, recordings):
    record(recordings, FRISIAN_IDS)
    return load_service(frisian_yaml(write_yaml))


def test_frisian_area_without_recordings_names_them_at_its_line(write_yaml, recordings):
    path = frisian_yaml(write_yaml)
    with pytest.raises(ConfigErrors) as exc:
        load_service(path)
    [error] = exc.value.errors
    line = path.read_text(encoding="utf-8").splitlines().index("    language: fy") + 1
    assert (error.file, error.line) == (str(path), line)
    assert f"{len(FRISIAN_IDS)} recordings are missing in {recordings / 'fy'}" in error.message
    assert "question, again" in error.message and MENU_058 in error.message


def test_frisian_area_with_one_recording_missing_names_only_that_one(write_yaml, recordings):
    record(recordings, FRISIAN_IDS[:-1])
    with pytest.raises(ConfigErrors) as exc:
        load_service(frisian_yaml(write_yaml))
    [error] = exc.value.errors
    assert "1 recordings are missing" in error.message and error.message.split(": ", 1)[1].startswith("confirm-or/waadhoeke")


def test_language_of_an_area_must_be_a_known_prompt_set(write_yaml, recordings):
    with pytest.raises(ConfigErrors) as exc:
        load_service(frisian_yaml(write_yaml, "de"))
    assert "'language' of area 058 must be one of nl, en, fy, not 'de'" in str(exc.value.errors[0])


def test_frisian_area_plays_its_prompts_in_frisian(frisian):
    assert frisian.prompt_ids("058") == FRISIAN_IDS
    flow = CallFlow(frisian, "14058")
    question = play(flow.start())
    assert question.prompts == ("question",) and question.language == "fy"
    assert play(flow.handle(heard("confirm", "Waadhoeke"))).language == "fy"
    assert flow.record.language == "fy"


def test_frisian_is_the_areas_only(frisian):
    assert play(CallFlow(frisian, "140229").start()).language == "nl"
    assert CallFlow(frisian, "140800").start()[0].language == "nl"  # no area: the service's


def test_frisian_area_caller_can_still_choose_english(frisian):
    flow = CallFlow(frisian, "14058")
    flow.start()
    assert play(flow.handle(Dtmf("9"))).language == "en"
    assert isinstance(flow.handle(heard("accept", "Leeuwarden"))[-1], Transfer)
    assert flow.record.language == "en"


def test_frisian_fallback_menu_in_the_dialplan(frisian):
    text = asterisk_config.render_dialplan(frisian)
    assert "exten => 14058,1,Set(FOURTEENPLUS_PROMPTS=fourteenplus/fy)\n same => n,Goto(fourteenplus-menu-058,s,1)" in text
    assert "exten => 140229,1,Goto(fourteenplus-menu-0229,s,1)" in text


def test_frisian_prompts_are_made_from_the_recordings_only(frisian, tmp_path):
    sounds = tmp_path / "sounds"
    assert prompts._install_language(frisian, "fy", sounds, 0.0) == len(FRISIAN_IDS)
    made = sorted(p.relative_to(sounds / "fourteenplus/fy").as_posix()
                  for p in (sounds / "fourteenplus/fy").rglob("*.ulaw"))
    assert made == sorted(f"{pid}.ulaw" for pid in FRISIAN_IDS)
    # and in A-law, for a Dutch carrier's A-law call: each law companded from the recording
    heard = {law: audio.decode((sounds / f"fourteenplus/fy/question.{law}").read_bytes(), law).astype(float)
             for law in ("ulaw", "alaw")}
    assert len(heard["alaw"]) == 800  # 0.1 s at 8 kHz
    level = np.sqrt(np.mean(heard["ulaw"] ** 2))
    assert level > 100 and np.sqrt(np.mean((heard["alaw"] - heard["ulaw"]) ** 2)) < 0.05 * level, \
        "the same recording in both laws"


def test_language_prompt_ids_of_every_area_are_made_in_every_spoken_set():
    service = load_service(EXAMPLE)
    for language in LANGUAGES:
        texts = prompts.prompt_texts(service, language)
        for code in service.areas:
            assert set(service.prompt_ids(code)) <= set(texts), (language, code)
