"""Callers made of people (`corpus --callers --people`): each is one speaker's two sentences and
that speaker's ja and nee, names no municipality, and reads back as the dialogue bench reads
every callers corpus."""

import csv
from argparse import Namespace

import numpy as np
import pytest

from fourteenplus.speech import audio
from fourteenplus_dev import people
from fourteenplus_dev.commands import corpus
from fourteenplus_dev.commands._bench_dialogue import read_callers


def clip(path, seed):
    audio.write_wav(path, (np.random.default_rng(seed).standard_normal(4000) * 1000).astype(np.int16))


def human_corpus(root, negatives, replies):
    """A directory laid out as shared/tools/human_corpus.py writes it."""
    for folder, rows in (("negatives", negatives), ("replies", replies)):
        (root / folder).mkdir(parents=True)
        with (root / folder / "manifest.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("file", "area_code", "expected"))
            for index, (name, code, expected) in enumerate(rows):
                clip(root / folder / name, index + 100 * (folder == "replies"))
                writer.writerow((name, code, expected))
    return root


def test_the_speaker_is_read_wherever_the_file_name_puts_them():
    assert [people.speaker(name) for name in ("linux-m-ukolem.wav", "fdto-hybeme-v.wav", "hardware-pz-m-co.wav",
                                              "keys-rand-4-1.wav", "m-level-x.wav")] == ["m", "v", "m", "other", "other"]


@pytest.fixture
def source(tmp_path):
    negatives = [(f"level{i}-ryba-{who}-line{i}.wav", code, "none")
                 for i, (who, code) in enumerate([("m", "0229")] * 4 + [("v", "0229")] * 2 + [("m", "024")] * 2
                                                 + [("x", "0229")] * 2)]
    replies = [("a-ryba-m-ja.wav", "reply", "yes"), ("b-ryba-v-ja.wav", "reply", "yes"),
               ("c-ryba-m-nee.wav", "reply", "no"), ("d-robot-hurt-nee.wav", "reply", "no"),
               ("e-ryba-v-iets.wav", "reply", "none")]
    return human_corpus(tmp_path / "human", negatives, replies)


def test_each_caller_is_one_speakers_two_sentences_and_their_own_answers(tmp_path, source):
    written = people.build(tmp_path / "out", source, 10, corpus.CALLER_COLUMNS)
    rows = list(csv.DictReader((tmp_path / "out" / "callers.csv").open()))
    # Two sentences a caller: m in 0229 makes 2 callers, m in 024 one, v one, the others one.
    assert written == len(rows) == 5 and list(rows[0]) == list(corpus.CALLER_COLUMNS)
    for row in rows:
        assert (row["expected"], row["voice_family"]) == ("none", "human")
        first = row["first"]
        assert (tmp_path / "out" / first).exists() and row["first"] != row["second"]
    sources = {}  # the clip each caller's part was copied from, found by its audio
    for folder in ("negatives", "replies"):
        for name in (source / folder).glob("*.wav"):
            sources[audio.read_telephone(name).tobytes()] = name.name
    for row in rows:
        said = {part: sources[audio.read_telephone(tmp_path / "out" / row[part]).tobytes()]
                for part in ("first", "second", "yes", "no")}
        who = people.speaker(said["first"])
        assert people.speaker(said["second"]) == who
        assert said["yes"].endswith("-ja.wav") and said["no"].endswith("-nee.wav")
        if who == "m":  # the speaker's own ja and nee where the replies hold them
            assert (said["yes"], said["no"]) == ("a-ryba-m-ja.wav", "c-ryba-m-nee.wav")
    callers = read_callers(tmp_path / "out")
    assert [c.expected for c in callers] == [None] * 5 and {c.voice_family for c in callers} == {"human"}


def test_count_bounds_the_callers_and_the_command_needs_callers(tmp_path, source, capsys):
    assert people.build(tmp_path / "two", source, 2, corpus.CALLER_COLUMNS) == 2
    args = Namespace(out=tmp_path / "cmd", split="tune", count=3, areas="0229", repeats=False, replies=False,
                     callers=False, national=False, voices=None, people=source)
    assert corpus.main(args) == 2 and "give --callers too" in capsys.readouterr().err
    assert corpus.main(Namespace(**(vars(args) | {"callers": True}))) == 0
    assert len(list(csv.DictReader((tmp_path / "cmd" / "callers.csv").open()))) == 3


def test_a_directory_that_is_no_human_corpus_is_a_clear_error(tmp_path, capsys):
    args = Namespace(out=tmp_path / "cmd", split="tune", count=3, areas="0229", repeats=False, replies=False,
                     callers=True, national=False, voices=None, people=tmp_path / "nothing")
    assert corpus.main(args) == 2
    assert "human_corpus.py" in capsys.readouterr().err
