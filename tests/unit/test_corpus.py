"""The corpus generator: repeats are second takes that leave the first takes alone, and a
replies corpus is what `bench fit` and `bench recognition` read as replies."""

import csv
import shutil
from argparse import Namespace

import numpy as np
import pytest

from fourteenplus_dev.commands import corpus
from fourteenplus.speech import audio

pytestmark = [pytest.mark.voices,
              pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="needs espeak-ng and sox (make system-packages)")]


def manifest(path):
    return list(csv.DictReader((path / "manifest.csv").open()))


def options(out, **given):
    return Namespace(**({"out": out, "split": "tune", "count": 6, "areas": "0229,0113", "repeats": False,
                         "replies": False, "callers": False, "national": False, "voices": "espeak", "people": None} | given))


def test_repeats_are_the_same_voice_again_and_do_not_move_the_first_takes(tmp_path):
    corpus.main(options(tmp_path / "plain"))
    corpus.main(options(tmp_path / "rep", repeats=True))
    plain, rep = manifest(tmp_path / "plain"), manifest(tmp_path / "rep")
    firsts = [row for row in rep if not row["repeat_of"]]
    assert [(r["file"], r["expected"], r["text"], r["voice"]) for r in firsts] == \
        [(r["file"], r["expected"], r["text"], r["voice"]) for r in plain]
    for row in plain:  # byte for byte the same audio (sox dithers with a fixed seed)
        same = [audio.read_telephone(tmp_path / d / row["file"]) for d in ("plain", "rep")]
        assert np.array_equal(*same)
    repeats = {row["repeat_of"]: row for row in rep if row["repeat_of"]}
    assert set(repeats) == {row["file"] for row in plain}
    for first in firsts:
        again = repeats[first["file"]]
        assert (again["expected"], again["voice"], again["area_code"]) == (first["expected"], first["voice"], first["area_code"])
        assert again["file"] == first["file"].replace(".wav", "-r.wav") and (tmp_path / "rep" / again["file"]).exists()


def test_a_replies_corpus_holds_ja_nee_and_neither(tmp_path):
    corpus.main(options(tmp_path, split="eval", count=25, areas="0229", replies=True))
    rows = manifest(tmp_path)
    assert len(rows) == 25 and {row["area_code"] for row in rows} == {"reply"}
    assert {row["expected"] for row in rows} == {"yes", "no", "none"}
    for row in rows:
        assert row["text"] in corpus.SPLITS["eval"].replies[row["expected"]] or row["text"].startswith("nee, ik bedoel ")
        assert len(audio.read_telephone(tmp_path / row["file"])) > 8000 * 0.5


def test_the_splits_share_no_voice_in_either_family():
    for family in ("espeak", "mbrola"):
        tune, held_out = (corpus.SPLITS[name].voices[family] for name in ("tune", "eval"))
        assert not set(tune.dutch + tune.accent) & set(held_out.dutch + held_out.accent)


def test_missing_mbrola_voices_are_named_with_their_debian_packages(tmp_path, monkeypatch, capsys):
    (tmp_path / "nl2").mkdir()
    (tmp_path / "nl2" / "nl2").write_bytes(b"diphones")
    monkeypatch.setattr(corpus, "MBROLA_ROOT", tmp_path)
    assert corpus.missing_mbrola(corpus.SPLITS["eval"].voices["mbrola"], tmp_path) == ["fr1", "pl1", "en1"]
    assert corpus.missing_mbrola(corpus.SPLITS["eval"].voices["espeak"], tmp_path) == []
    assert corpus.main(options(tmp_path / "out", split="eval", voices="mbrola")) == 2
    err = capsys.readouterr().err
    assert "mbrola mbrola-fr1 mbrola-pl1 mbrola-en1" in err and "make bench-voices" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(bool(corpus.missing_mbrola(corpus.SPLITS["tune"].voices["mbrola"])),
                    reason="needs the MBROLA voices (make bench-voices)")
def test_an_mbrola_corpus_is_spoken_by_mbrola_voices(tmp_path):
    corpus.main(options(tmp_path, voices="mbrola"))
    spoken = [row for row in manifest(tmp_path) if row["voice"]]
    assert spoken and {row["voice"] for row in spoken} <= {"mb-nl3", "mb-de4", "mb-us1"}
    for row in spoken:
        assert len(audio.read_telephone(tmp_path / row["file"])) > 8000 * 0.5


@pytest.mark.skipif(bool(corpus.missing_mbrola(corpus.SPLITS["eval"].voices["mbrola"])),
                    reason="needs the MBROLA voices (make bench-voices)")
def test_the_held_out_mbrola_voices_say_every_seed_phrase_without_a_gap():
    # MBROLA says silence for a diphone its voice lacks and only warns: nl1 lost most of
    # every Dutch name that way. The held-out voices must say all of them.
    import subprocess

    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars

    grammars = load_grammars(load_directory())
    texts = sorted({p.text for code in corpus.SEED_AREAS for p in grammars.area(code).phrases})
    texts += sorted({carrier.format("") for carrier in corpus.SPLITS["eval"].carriers})
    voices = corpus.SPLITS["eval"].voices["mbrola"]
    for voice in voices.dutch + voices.accent:
        gaps = [text for text in texts if "unknown, replaced" in subprocess.run(
            ["espeak-ng", "-v", voice, "-w", "/dev/null", text], capture_output=True, text=True).stderr]
        assert len(gaps) <= 1, (voice, gaps)  # fr1 has one: "Heilig Landstichting"


def test_a_callers_corpus_gives_each_caller_four_clips_in_one_voice(tmp_path):
    corpus.main(options(tmp_path, count=8, voices="espeak", callers=True))
    rows = list(csv.DictReader((tmp_path / "callers.csv").open()))
    assert len(rows) == 8 and list(rows[0]) == list(corpus.CALLER_COLUMNS)
    assert {row["voice_family"] for row in rows} <= {"espeak-ng", "espeak-ng accent"}
    assert {row["area_code"] for row in rows} <= {"0229", "0113"}
    for row in rows:
        assert row["expected"] == "none" or row["expected"] in (
            "Hoorn", "Medemblik", "Drechterland", "Opmeer", "Koggenland",
            "Goes", "Borsele", "Kapelle", "Noord-Beveland", "Reimerswaal")
        clips = [audio.read_telephone(tmp_path / row[part]) for part in ("first", "second", "yes", "no")]
        assert all(len(clip) > 8000 * 0.3 for clip in clips)
        assert not np.array_equal(clips[0], clips[1])  # the second take is said again, not copied


def test_callers_of_a_municipality_with_departments_also_say_what_their_call_is_about(tmp_path):
    corpus.main(options(tmp_path, count=14, areas="0113", voices="espeak", callers=True))
    rows = list(csv.DictReader((tmp_path / "callers.csv").open()))
    goes = [row for row in rows if row["expected"] == "Goes"]
    assert goes, "the seed gives Goes callers"
    for row in rows:
        if row["expected"] != "Goes":
            assert (row["department"], row["topic"]) == ("", "")
            continue
        assert row["department"] in ("Burgerzaken", "Afval", "Parkeren", "Belastingen", "Zorg", "none")
        assert len(audio.read_telephone(tmp_path / row["topic"])) > 8000 * 0.3
