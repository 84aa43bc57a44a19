"""End to end, the languages: a caller who wants English, by key 9 or by saying it, hears the
rest in English and reaches the English destination Hoorn configured
(tests/integration/service.yaml); an area with a Frisian prompt set plays its recordings, in
the app and in the dialplan's keypad fallback, and nowhere else."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from fourteenplus import asterisk
from fourteenplus.config import load_service
from fourteenplus.sipp import PressKeys, Say, WaitPrompt
from fourteenplus.speech import audio

from .test_calls import users

HOORN = "ik wil graag de gemeente Hoorn bellen"
# Recognised, not the default: that comes only after a silent attempt, the menu twice and its
# timeouts (over 15 s here). Looser than test_calls' bound: the first call warms the recogniser.
RECOGNISED_WITHIN_MS = 8000


def test_english_by_key_9_reaches_the_english_destination(call):
    result = call("140229", [WaitPrompt(), PressKeys("9"), WaitPrompt(), Say(HOORN)])
    assert users(result) == ["hoorn-english"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS, "Hoorn was recognised, not the default"


def test_english_by_saying_it_reaches_the_english_destination(call):
    # The Dutch voice's "English" comes back from the recogniser as "Englief" on this path.
    result = call("140229", [WaitPrompt(), Say("English"), WaitPrompt(), Say(HOORN)])
    assert users(result) == ["hoorn-english"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS, "Hoorn was recognised, not the default"


# ---- Frisian: area 058 with its own prompt set, from recordings ----

TONE_HZ = 1100  # the stand-in recordings are this tone (test fixtures, not Frisian speech)
# Leeuwarden's trunk refuses (503, no overflow): the caller hears the dialplan's message.
MUNICIPALITIES_058 = ("  Leeuwarden: {trunk: PJSIP/unavailable-leeuwarden@fourteenplus-trunks}\n"
                      "  Waadhoeke: {trunk: PJSIP/waadhoeke@fourteenplus-trunks}\n")
AREA_058 = '  "058":\n    municipalities: [Leeuwarden, Waadhoeke]\n    default: Leeuwarden\n'


def _tone(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(8000) / 8000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes((0.3 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype("<i2").tobytes())


def tone_of(heard: bytes, last: bool = False) -> float:
    """The strongest frequency in the first (or last) half second of sound the caller heard."""
    x = audio.decode(heard, "ulaw").astype(float) / 32768
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    loud = frames[(frames ** 2).mean(axis=1) > 1e-4]  # frames above -40 dB
    clip = (loud[-25:] if last else loud[:25]).ravel()
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
    return float(np.fft.rfftfreq(len(clip), 1 / 8000)[spectrum.argmax()])


@pytest.fixture(scope="module")
def frisian_yaml(app, service_yaml, tmp_path_factory):
    """Asterisk installed with area 058 in Frisian (recordings in a temp dir) for this module."""
    work = tmp_path_factory.mktemp("frisian")
    text = service_yaml.read_text(encoding="utf-8").replace("municipalities:\n", "municipalities:\n" + MUNICIPALITIES_058, 1)
    plain = work / "plain.yaml"
    plain.write_text(text.replace("areas:\n", "areas:\n" + AREA_058, 1), encoding="utf-8")
    recordings = work / "recordings"
    for pid in load_service(plain).prompt_ids("058"):
        _tone(recordings / "fy" / f"{pid}.wav")
    frisian = work / "frisian.yaml"
    frisian.write_text(plain.read_text(encoding="utf-8").replace(AREA_058, AREA_058 + "    language: fy\n"),
                       encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FOURTEENPLUS_RECORDINGS", str(recordings))  # the app process inherits it
        asterisk.install(load_service(frisian))
        asterisk.reload()
        try:
            yield frisian
        finally:
            asterisk.install(load_service(service_yaml))
            asterisk.reload()


def test_frisian_area_hears_its_recordings_and_is_routed(call, app, frisian_yaml):
    with app.running(frisian_yaml):  # the question, then a key: the menu (Leeuwarden 1, Waadhoeke 2)
        result = call("14058", [WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("2")])
    assert users(result) == ["waadhoeke"]
    assert tone_of(result.heard) == pytest.approx(TONE_HZ, abs=20), "the question was not the Frisian recording"


def test_frisian_area_keypad_fallback_plays_the_frisian_menu(call, app, frisian_yaml):
    # The app keeps the Asterisk's generated fallback in step with its own configuration: the
    # app that last ran is the one on frisian.yaml.
    with app.running(frisian_yaml), app.stopped():
        result = call("14058", [WaitPrompt(), PressKeys("2")])
    assert users(result) == ["waadhoeke"]
    assert tone_of(result.heard) == pytest.approx(TONE_HZ, abs=20), "the menu was not the Frisian recording"


def test_dutch_area_beside_a_frisian_one_stays_dutch(call, app, frisian_yaml):
    with app.running(frisian_yaml):
        result = call("140229", [WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("5")])
    assert users(result) == ["koggenland"]
    assert tone_of(result.heard) != pytest.approx(TONE_HZ, abs=20)


def test_frisian_caller_hears_a_failed_trunk_in_frisian(call, app, frisian_yaml):
    # The app passes the caller's prompt set to the dialplan, which announces the failure.
    with app.running(frisian_yaml):
        result = call("14058", [WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("1")])
    assert users(result) == ["unavailable-leeuwarden"] and result.ended == "Asterisk hung up"
    assert tone_of(result.heard, last=True) == pytest.approx(TONE_HZ, abs=20), "the message was not Frisian"
