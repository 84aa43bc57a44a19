"""Real lines in the benches (`fourteenplus_dev.lines`, `bench recognition|dialogue --line`): the
option, the clips as a line delivers them, and the figures per line and voice family.

The shared tool (`../shared/tools/line_conditions.py`) is not in this repository: the tests
stand in a tool of their own where they need one, and use the real one only where it is there.
"""

from __future__ import annotations

import argparse
import types
from pathlib import Path

import numpy as np
import pytest

from fourteenplus_dev import lines, manifest
from fourteenplus_dev.commands import bench
from fourteenplus_dev.commands._bench_dialogue import LINE_COLUMNS, by_line, on_line, write_outcomes
from fourteenplus_dev.simulation import Caller, Outcome, endpoint
from fourteenplus.speech import Candidate, Recognition, audio, vad

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.configure(parser)
    return parser.parse_args(list(argv))


def test_line_is_repeatable_and_a_list_and_the_clean_line_comes_first_once():
    args = parsed("recognition", "corpus", "--line", "car20,babble10", "--line", "amr4", "--line", "clean,car20")
    assert lines.conditions(args.line) == ("clean", "car20", "babble10", "amr4")
    assert lines.conditions(parsed("dialogue", "callers", "--line", "street10").line) == ("clean", "street10")
    assert lines.conditions(parsed("recognition", "corpus").line) == ()  # no line asked: no line run


def test_a_count_draws_the_same_first_takes_each_run_with_their_repeats():
    rows = [{"file": f"/c/{i}.wav", "repeat_of": ""} for i in range(10)]
    rows += [{"file": f"/c/{i}b.wav", "repeat_of": f"{i}.wav"} for i in range(10)]
    three = manifest.drawn(rows, 3)
    assert three == manifest.drawn(rows, 3) and len(three) == 6
    assert {r["file"].removesuffix("b.wav") for r in three if r["repeat_of"]} == \
        {r["file"].removesuffix(".wav") for r in three if not r["repeat_of"]}
    assert manifest.drawn(rows, 0) == rows == manifest.drawn(rows, 10)


@pytest.mark.parametrize("text", ["car", "fog10", "babble-5", "amr8", "car100", ",", "clean;car10"])
def test_a_line_condition_that_is_not_one_is_named_with_the_ones_there_are(text):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        lines.parse(text)
    assert "car<SNR>" in str(error.value) or "at least one" in str(error.value)


def test_a_missing_tool_is_an_error_that_says_where_it_was_looked_for(tmp_path):
    absent = tmp_path / "shared" / "tools" / "line_conditions.py"
    with pytest.raises(lines.ToolMissing, match=str(absent)):
        lines.load_tool(absent)
    # The default: the shared checkout beside the repository's root.
    assert lines.TOOL == Path(bench.__file__).resolve().parents[3].parent / "shared/tools/line_conditions.py"


class FakeTool(types.SimpleNamespace):
    """The tool's interface, with noises simple enough to check: a constant "car" noise, and a
    "soft talker" that is the only codec-like line."""

    def __init__(self):
        super().__init__(car=lambda n, rng: np.full(n, 1.0), pink=lambda n, rng: rng.standard_normal(n),
                         at_snr=lambda x, noise, snr: x + noise * 10.0 ** (-snr / 20) * 1000,
                         condition=lambda name, x, rng, babble, tmp: x * 0.1,
                         band=lambda x: x, active_level=lambda x: float(np.mean(x**2)))


def test_a_noisy_line_runs_on_before_and_after_the_words_and_a_codec_has_no_sound_of_its_own():
    line = lines.Lines(FakeTool())
    clip = np.zeros(8000, np.int16)
    before, heard, after = line.around("car20", clip, seed=1, before_s=0.5, after_s=1.0)
    assert before is not None and after is not None
    assert (len(before), len(heard), len(after)) == (4000, 8000, 8000)
    # The same noise throughout (100 at 20 dB here), through G.711.
    assert all(np.all(np.abs(part.astype(int) - 100) <= 4) for part in (before, heard, after))
    assert np.array_equal(line.apply("car20", clip, 1), heard)
    loud = np.full(8000, 5000, np.int16)
    before, soft, after = line.around("quiet", loud, seed=1)
    assert before is None and after is None and np.all(np.abs(soft.astype(int) - 500) <= 16)
    assert np.array_equal(line.apply("clean", loud, 1), loud)


def test_an_alaw_line_is_heard_companded_once_as_slin_and_twice_through_ulaw():
    """`alaw`: the line's A-law alone (the app hears slin); `alaw-ulaw`: then μ-law too (the
    default externalMedia). μ-law after A-law moves samples A-law had put on its own steps."""
    line = lines.Lines(FakeTool())
    clip = (np.sin(np.arange(8000) / 7.0) * 9000).astype(np.int16)
    once, twice = line.apply("alaw", clip, 1), line.apply("alaw-ulaw", clip, 1)
    assert np.isin(once, audio.ALAW).all() and np.array_equal(line.apply("alaw", once, 1), once)
    assert np.isin(twice, audio.ULAW).all() and np.count_nonzero(twice != once) > len(clip) // 2
    assert lines.parse("alaw,alaw-ulaw") == ("alaw", "alaw-ulaw")


def test_a_clips_babble_is_drawn_from_its_seed_whatever_came_before():
    class Babble:  # the tool's: voices chosen with its `rng` (random.Random)
        def __init__(self, rng):
            self.rng = rng

        def __call__(self, n, talkers=6):
            return np.full(n, self.rng.randrange(1, 100) / 10)

    tool = FakeTool()
    tool.Babble = Babble
    clip = np.zeros(800, np.int16)
    first = lines.Lines(tool)
    alone = first.apply("babble10", clip, 7)
    other = lines.Lines(tool)
    other.apply("babble10", clip, 8)
    other.apply("street10", clip, 9)
    assert np.array_equal(other.apply("babble10", clip, 7), alone)
    assert not np.array_equal(first.apply("babble10", clip, 8), alone)


@pytest.mark.skipif(not lines.TOOL.exists(), reason="the shared tool is not beside this checkout")
def test_the_shared_tools_car_noise_lies_its_snr_below_the_words():
    line = lines.Lines(lines.load_tool())
    t = np.arange(8000) / 8000
    words = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    before, heard, after = line.around("car10", words, seed=3, before_s=1.0, after_s=1.0)
    noise = np.concatenate([before, after]).astype(np.float64)
    snr = 10 * np.log10(np.mean(words.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert snr == pytest.approx(10.0, abs=1.0)


def buzz(seconds: float, level: int = 6000) -> np.ndarray:
    n = int(seconds * 8000)
    return np.where(np.arange(n) % 64 < 8, level, -level // 7).astype(np.int16)


def test_a_turn_the_line_holds_open_is_cut_off_and_counted_so():
    clip = np.concatenate([np.zeros(2400, np.int16), buzz(0.8), np.zeros(2400, np.int16)])
    quiet = (np.zeros(16000, np.int16), np.zeros(72000, np.int16))
    assert not endpoint(clip, line=quiet).cut_off
    # A voice on the line after the caller's (the loudest babble): the turn never goes quiet.
    held = endpoint(clip, line=(np.zeros(16000, np.int16), buzz(9.0)))
    assert held.cut_off and held.ended - held.started == pytest.approx(vad.Settings().max_frames * 0.02, abs=0.05)


def test_callers_on_a_line_keep_who_they_are_and_bring_its_sound_around_each_clip():
    clips = {part: np.full(4000, 1000, np.int16) for part in ("first", "second", "yes", "no")}
    callers = [Caller("c1", "0229", "Opmeer", **clips, voice_family="espeak-ng accent")]
    line = lines.Lines(FakeTool())
    noisy, = on_line(callers, "car10", line)
    assert (noisy.caller, noisy.expected, noisy.voice_family) == ("c1", "Opmeer", "espeak-ng accent")
    assert set(noisy.line) == {"first", "second", "yes", "no"}
    before, after = noisy.line["yes"]
    assert len(before) == lines.BEFORE_S * 8000 and len(after) == lines.AFTER_S * 8000
    soft, = on_line(callers, "quiet", line)
    assert soft.line == {} and np.all(soft.first == line.apply("quiet", clips["first"], 0))


def outcome(family, expected, municipality, path, first=True, cut=0):
    o = Outcome("c", expected, family, municipality, path, 10.0, name_takes=1, turns_cut_off=cut)
    o.keypad_menu_s = 12.0
    return o


def test_the_dialogue_report_has_each_line_beside_the_clean_one_per_voice_family():
    results = {"clean": [outcome("espeak-ng", "Opmeer", "Opmeer", "spoken"), outcome("mbrola", None, None, "default")],
               "babble10": [outcome("espeak-ng", "Opmeer", "Hoorn", "spoken", cut=1),
                            outcome("mbrola", None, "Hoorn", "spoken")]}
    report = by_line(results)
    assert list(report) == ["clean", "babble10"]
    assert set(report["babble10"]["by_voice_family"]) == {"espeak-ng", "mbrola"}
    noisy = report["babble10"]
    assert (noisy["wrong"], noisy["negatives_transferred_by_speech"], noisy["turns_cut_off"]) == (1, 1, 1)
    assert report["clean"]["by_voice_family"]["espeak-ng"]["right_first_answer"] == 1
    run = {"date": "2026-12-06", "corpus": "/tmp/callers", "machine": "test"}
    rows = lines.table(report, "by_voice_family", LINE_COLUMNS, run).splitlines()[4:]
    # Each family's lines together, the clean line first; then every family's.
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| espeak-ng", "clean"], ["| espeak-ng", "babble10"], ["| mbrola", "clean"], ["| mbrola", "babble10"],
        ["| all", "clean"], ["| all", "babble10"]]
    assert all(row.count("|") == len(LINE_COLUMNS) + 3 for row in rows)


def test_the_outcomes_file_has_every_callers_outcome_on_every_line(tmp_path):
    """So a caller put through on one line and not on another can be traced to its path."""
    results = {"clean": [outcome("human", None, None, "default")],
               "babble10": [outcome("human", None, "Hoorn", "confirmed")]}
    path = tmp_path / "outcomes.csv"
    write_outcomes(path, results)
    rows = [line.split(",") for line in path.read_text().splitlines()]
    assert rows[0][:3] == ["line", "caller", "expected"]
    assert [(r[0], r[4], r[5]) for r in rows[1:]] == [("clean", "", "default"), ("babble10", "Hoorn", "confirmed")]


def test_the_recognition_report_has_each_line_per_family_with_the_accents_apart():
    assert bench.line_family({"voice": "nl+m3"}) == "espeak"
    assert bench.line_family({"voice": "en-us"}) == "espeak accent"
    assert bench.line_family({"voice": "mb-nl3"}) == "mbrola"
    assert bench.line_family({"voice": "mb-de4"}) == "mbrola accent"
    assert bench.line_family({"voice": "", "family": "human"}) == "human"
    assert bench.line_family({"voice": ""}) == "unknown"  # a cough or silence: nobody's voice

    def heard(decision, name):
        return Recognition("", (Candidate(name, 0.9, name),), decision, name, "match")

    tallies = {"espeak": bench.Tally(), "human": bench.Tally()}
    tallies["espeak"].add("Hoorn", heard("accept", "Opmeer"), 10.0)
    tallies["human"].add("none", heard("confirm", "Opmeer"), 30.0)
    figures = bench.line_figures(tallies, replies=False)
    assert (figures["total"], figures["misrouted"], figures["negatives_confirmed"]) == (2, 1, 1)
    assert set(figures["families"]) == {"espeak", "human"} and figures["families"]["human"]["negatives"] == 1
    run = {"date": "2026-12-06", "corpus": "c", "machine": "m"}
    table = lines.table({"clean": figures, "car10": figures}, "families", bench.NAME_COLUMNS, run)
    assert "| espeak | car10 | 1 | 0 of 1 (0%) | 0 | 0 | 1 |" in table  # right, at once, accepted wrong


@pytest.mark.model
def test_bench_recognition_hears_every_clip_on_each_line_beside_the_clean_one(tmp_path):
    from fourteenplus.config import DEFAULTS, Thresholds

    tool = tmp_path / "line_conditions.py"
    tool.write_text("def condition(name, x, rng, babble, tmp):\n    return x * 0.1\n")  # a soft talker
    figures = bench.run([CORPUS], Thresholds(**DEFAULTS["thresholds"]), plain=False, on=("clean", "quiet"),
                        line_tool=tool)
    clean, soft = figures["lines"]["clean"], figures["lines"]["quiet"]
    assert {k: v for k, v in clean.items() if k not in ("families", "stages_ms")} == \
        {k: v for k, v in figures["ours"].items() if k != "stages_ms"}
    assert soft["total"] == clean["total"] == figures["ours"]["total"]
    assert soft["misrouted"] == 0 and soft["negatives_accepted"] == 0
    assert set(soft["families"]) == set(clean["families"])


def test_a_callers_noise_runs_on_through_the_call_at_one_level():
    # The people around a caller go on talking between the answers, as loud at the ja as at
    # the name: the noise is one stream (here a count), cut clip by clip, at one gain.
    tool = FakeTool()
    tool.car = lambda n, rng: np.arange(n, dtype=np.float64) % 7
    clips = [np.full(800, 20000, np.int16), np.full(400, 2000, np.int16)]
    (b1, h1, a1), (b2, h2, a2) = lines.Lines(tool).call("car20", clips, [1, 2])
    at = np.cumsum([0, len(b1), len(h1), len(a1), len(b2), len(h2)])
    stream = np.arange(at[-1] + len(a2)) % 7
    gain = b1[stream[: len(b1)] == 6].mean() / 6
    # Around the words, where the line alone is heard (through G.711: within its steps).
    for part, start in ((b1, at[0]), (a1, at[2]), (b2, at[3]), (a2, at[5])):
        expected = stream[start:start + len(part)] * gain
        assert np.all(np.abs(part - expected) <= expected / 16 + 2), "one noise, one gain, through both clips"
