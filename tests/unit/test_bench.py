"""The recognition bench's arithmetic: second takes, the reply confusion table, and the
reply answer rule the bench and the call handling share."""

import argparse
import dataclasses

import pytest

from fourteenplus_dev.commands.bench import Tally, marker, second_take, settings, voice_family
from fourteenplus.config import DEFAULTS, Thresholds
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.speech.service import Answer

THRESHOLDS = Thresholds(**DEFAULTS["thresholds"])


def said(decision, municipality=None):
    if decision == "reject":
        return Recognition.rejected("low_confidence")
    return Recognition("", (Candidate(municipality, 0.9, municipality),), decision, municipality, "match")


def test_a_second_take_counts_only_for_callers_the_first_did_not_route():
    pairs = [
        (said("accept", "Hoorn"), "Hoorn", said("reject")),            # routed first time
        (said("reject"), "Hoorn", said("confirm", "Hoorn")),           # asked again, right
        (said("confirm", "Opmeer"), "Hoorn", said("accept", "Hoorn")),  # nee to Opmeer, then right
        (said("accept", "Opmeer"), "Hoorn", said("accept", "Hoorn")),  # transferred wrong: no second take
        (said("reject"), "Hoorn", said("accept", "Opmeer")),           # asked again, transferred wrong
        (said("reject"), "none", said("confirm", "Hoorn")),            # a negative routed on the repeat
        (said("accept", "Hoorn"), "none", said("reject")),             # routed on the first: counted elsewhere
    ]
    assert second_take(pairs) == {
        "names": 5, "first_take": 1, "asked_again": 3, "second_take": 2, "within_two": 0.6,
        "misrouted_on_second": 1, "negatives": 2, "negatives_routed_on_second": 1,
    }


def test_the_reply_confusion_table_keeps_nee_taken_for_ja_apart():
    tally = Tally()
    for expected, result in (("yes", said("accept", "yes")), ("no", said("accept", "yes")),
                             ("no", said("reject")), ("none", said("accept", "no"))):
        tally.add(expected, result, 100.0)
    assert tally.confusion() == {"yes": {"yes": 1}, "no": {"yes": 1, "none": 1}, "none": {"no": 1}}


def test_a_reply_needs_more_certainty_for_ja_than_for_nee():
    def reply(side, score):
        return Recognition("", (Candidate(side, score, side),), "reject", None, "low_confidence")

    def answer(heard):
        return Answer.of(heard, THRESHOLDS).yes

    assert answer(reply("yes", 0.85)) is True
    assert answer(reply("yes", 0.70)) is None  # a ja transfers: below reply_yes it is asked again
    assert answer(reply("no", 0.55)) is False  # a nee only asks for the name again
    assert answer(reply("no", 0.40)) is None
    assert answer(Recognition.rejected("no_speech")) is None


def test_a_ja_the_words_do_not_say_needs_more_of_the_audio():
    """"Natuurlijk niet." in car noise, written "Satuutekin", scored P(ja) 0.806: over the bar
    for a ja the words say (0.80), under the one for a ja they do not (0.85)."""
    def heard(score, transcript):
        return Recognition(transcript, (Candidate("yes", score, "yes"),), "reject", None, "low_confidence")

    assert Answer.of(heard(0.806, "Satuutekin"), THRESHOLDS).yes is None
    assert Answer.of(heard(0.806, "Ja."), THRESHOLDS).yes is True
    assert Answer.of(heard(0.90, "Satuutekin"), THRESHOLDS).yes is True
    stricter = dataclasses.replace(THRESHOLDS, reply_yes=0.95)  # never below the bar for a written ja
    assert Answer.of(heard(0.90, "Satuutekin"), stricter).yes is None


def test_a_ja_a_hallo_explains_better_is_no_ja_unless_whisper_wrote_one():
    """espeak-ng's "hallo" written "hano" scored a ja at 0.88 through "ja hoor"; scored as
    "hallo" it was 5.8 better (`service.ASKED_BACK`). A ja whisper wrote stays a ja."""
    def heard(transcript):
        return Recognition(transcript, (Candidate("yes", 0.95, "ja hoor"),), "reject", None, "low_confidence")

    assert Answer.of(heard("hano"), THRESHOLDS, asked_back=True).yes is None
    assert Answer.of(heard("hano"), THRESHOLDS).yes is True
    assert Answer.of(heard("Ja, hoor."), THRESHOLDS, asked_back=True).yes is True


def test_a_transcript_that_starts_with_nee_is_never_a_ja():
    def answer(transcript, score=0.99):
        return Answer.of(Recognition(transcript, (Candidate("yes", score, "yes"),), "reject", None, "low_confidence"),
                         THRESHOLDS).yes

    assert answer("Nee, ik bedoel Hoorn.") is None and answer("Natuurlijk niet.") is None
    assert answer("Ja hoor.") is True and answer("Jamel") is True  # whisper's spelling of espeak-ng's "jawel"


def test_a_nee_the_words_say_and_the_audio_ranks_first_is_a_nee_however_unsure():
    """A person's "O, nee! Dat is vast …", written "Oh nee, dat is vast dat we", scored P(nee)
    0.43: under `reply_no`, but the words and the audio agree."""
    def answer(transcript, side, score):
        return Answer.of(Recognition(transcript, (Candidate(side, score, side),), "reject", None, "low_confidence"),
                         THRESHOLDS).yes

    assert answer("Oh nee, dat is vast dat we", "no", 0.43) is False
    assert answer("Hij is niet hier.", "no", 0.43) is None  # the words say no nee: reply_no holds
    assert answer("Oh nee, dat is vast dat we", "yes", 0.99) is None  # never a ja, nor a nee the audio did not hear


def test_a_sentence_that_does_not_start_with_ja_is_never_a_ja():
    def answer(transcript, score):
        return Answer.of(Recognition(transcript, (Candidate("yes", score, "yes"),), "reject", None, "low_confidence"),
                         THRESHOLDS).yes

    assert answer("Ah, hier is de pinoe", 0.99) is None  # a person saying something else
    assert answer("Big start Big start", 0.9) is True  # two words whisper may have misspelt a ja as
    assert answer("Ja, maar we moeten eerst die vis verplaatsen.", 0.9) is True
    assert answer("Laptuurlijk. Hier zijn vier", 0.99) is True  # a misspelt "Natuurlijk!" starts it


def test_a_ja_whisper_heard_the_answer_open_with_has_no_sentence_veto_and_no_lower_bar():
    """People's ja's the words alone lost (issue 24): "Ja, we zijn al bijna klaar." written
    "We zijn een pijn de klaar" (P(ja) 0.976, a sentence that does not start with ja); whisper
    gave its opening " Ja" 0.23. The opening lowers no bar: at `reply_no` held-out callers'
    nee's written "Ja, dat is hier maar." (0.60) and "Ja." (0.73) were put through."""
    def answer(transcript, score, opens_ja, side="yes"):
        return Answer.of(Recognition(transcript, (Candidate(side, score, side),), "reject", None, "low_confidence"),
                         THRESHOLDS, opens_ja).yes

    assert answer("We zijn een pijn de klaar", 0.976, 0.23) is True
    assert answer("We zijn een pijn de klaar", 0.976, 0.02) is None  # nothing opened with ja: a sentence
    assert answer("We zijn een pijn de klaar", 0.80, 0.23) is None  # unwritten: reply_yes_unwritten
    assert answer("Ja, dat is hier maar.", 0.602, 0.9) is None  # written: reply_yes, however it opened
    assert answer("Ja.", 0.733, 0.9) is None
    assert answer("Ja.", 0.85, 0.9) is True
    # The words say otherwise: a nee, a ja the next words deny, a word that only starts like ja.
    assert answer("Nee, ik bedoel Hoorn.", 0.99, 0.9) is None
    assert answer("Ja, nee.", 0.70, 0.9) is None
    assert answer("Ja, dat is niet.", 0.637, 0.9) is None  # an accented "nee, niet die" (held-out caller 0128)
    assert answer("Ja, dat is niet.", 0.99, 0.9) is None  # the words deny it: never a ja
    assert answer("Ja, nee.", 0.99, 0.0) is None
    assert answer("Jaren", 0.70, 0.9) is None
    # The audio ranks nee first: whisper's opening alone makes no ja (a nee stays a nee).
    assert answer("Ja, nee.", 0.9, 0.9, side="no") is False


def test_a_ja_in_a_sentence_whisper_neither_wrote_nor_heard_open_with_one_is_no_ja():
    """A person's "Misschien moeten we een sleutel meenemen …", written "Schien wordt
    verstotelingen" (three words: no sentence by its words), "ja" scored best at P 0.90 over
    2.8 s of speech, whisper's opening ja 0.0003 (issue 24)."""
    def answer(score, opens_ja, seconds, phrase="ja", transcript="Schien wordt verstotelingen"):
        return Answer.of(Recognition(transcript, (Candidate("yes", score, phrase),), "reject", None, "low_confidence"),
                         THRESHOLDS, opens_ja, seconds).yes

    assert answer(0.90, 0.0003, 2.82) is None
    assert answer(0.90, 0.0003, 0.62) is True  # espeak-ng's short ja written "IRA": no sentence
    assert answer(0.90, 0.05, 2.82) is True  # whisper gave a ja at the opening some chance
    assert answer(0.90, 0.0003, 2.82, phrase="natuurlijk") is True  # opens with its own word, not ja
    assert answer(0.90, 0.0003, 2.82, transcript="Ja, we zijn er") is True  # written: the words decide


def test_names_and_replies_keep_their_own_blocks_in_one_results_file(tmp_path):
    from fourteenplus_dev.commands.bench import report

    path = tmp_path / "recognition.md"
    path.write_text("# Recognition bench\n\nProse a person wrote.\n")
    for figures in ({"ours": {"correct": 1}, "voices": "espeak"}, {"ours": {"correct": 2, "confusion": {}}},
                    {"ours": {"correct": 3}, "voices": "espeak"}, {"ours": {"correct": 4}, "voices": "mbrola"},
                    {"ours": {"correct": 5}, "voices": "espeak", "unprimed": True}):
        report(path, figures, marker(figures))
    text = path.read_text()
    assert "Prose a person wrote." in text

    def block(name):
        return text.split(f"<!-- {name}:begin -->")[1].split(f"<!-- {name}:end -->")[0]

    assert '"correct": 3' in block("bench") and '"correct": 2' in block("bench-replies")
    assert '"correct": 4' in block("bench-mbrola") and '"correct": 5' in block("bench-unprimed")
    assert '"correct": 1' not in text


def test_people_are_a_voice_family_of_their_own(tmp_path):
    """The layout of shared/tools/human_corpus.py: transcripts.csv beside the corpus names its clips."""
    from fourteenplus_dev.manifest import read_manifest

    (tmp_path / "negatives").mkdir()
    (tmp_path / "negatives" / "manifest.csv").write_text("file,area_code,expected\na.wav,0229,none\nb.wav,0229,none\n")
    (tmp_path / "transcripts.csv").write_text("file,text,seconds\nnegatives/a.wav,Waar is die vis?,1.20\n")
    rows = read_manifest(tmp_path / "negatives")
    assert [row["file"] for row in rows] == [str(tmp_path / "negatives" / "a.wav"), str(tmp_path / "negatives" / "b.wav")]
    assert voice_family(rows[:1]) == "human" and voice_family(rows) == "human"  # b: the manifest does not say
    assert voice_family([rows[0], {"voice": "nl+f3"}]) == "mixed"
    assert marker({"ours": {}, "voices": "human"}) == "bench-human"
    assert marker({"ours": {"confusion": {}}, "voices": "human"}) == "bench-replies-human"


def test_negatives_asked_about_a_town_and_put_through_are_counted_apart():
    tally = Tally()
    for result in (said("confirm", "Hoorn"), said("reject"), said("accept", "Hoorn")):
        tally.add("none", result, 100.0)
    figures = tally.figures()
    assert (figures["negatives"], figures["negatives_confirmed"], figures["negatives_accepted"]) == (3, 1, 1)


def test_the_voice_family_is_read_from_the_manifest():
    assert voice_family([{"voice": "nl+f3"}, {"voice": ""}, {"voice": "en-gb"}]) == "espeak"
    assert voice_family([{"voice": "mb-nl1"}, {"voice": "mb-fr1"}, {"voice": ""}]) == "mbrola"
    assert voice_family([{"voice": "mb-nl1"}, {"voice": "nl"}]) == "mixed"
    assert voice_family([{"file": "a.wav"}]) is None


def test_the_single_clip_figures_count_ranks_and_negatives_by_decision():
    def ranked(decision, *names):
        candidates = tuple(Candidate(m, 0.5, m) for m in names)
        return Recognition("", candidates, decision, names[0] if decision != "reject" else None,
                           "match" if decision != "reject" else "low_confidence")

    tally = Tally()
    for expected, result in (("Hoorn", ranked("accept", "Hoorn", "Opmeer")),
                             ("Hoorn", ranked("reject", "Opmeer", "Medemblik", "Hoorn")),
                             ("Hoorn", ranked("reject", "Opmeer", "Medemblik", "Koggenland", "Hoorn")),
                             ("none", ranked("accept", "Opmeer")), ("none", ranked("confirm", "Opmeer")),
                             ("none", ranked("reject", "Opmeer"))):
        tally.add(expected, result, 100.0)
    figures = tally.figures()
    assert (figures["top1"], figures["top3"]) == (1, 2)
    assert (figures["correct"], figures["accepted"]) == (1, 1)  # right, and put through at once
    assert (figures["negatives_accepted"], figures["negatives_confirmed"]) == (1, 1)


def test_the_dialogue_bench_plays_against_settings_named_pair_by_pair():
    assert settings("confirm=0.7,runner_up=1,questions=1") == {"confirm": 0.7, "runner_up": 1.0, "questions": 1.0}
    assert settings("department_confirm=0.85") == {"department_confirm": 0.85}  # at the department bar: no question
    with pytest.raises(argparse.ArgumentTypeError, match="reply_yes"):
        settings("reply_yes=0.5")  # the service's, heard once per run: not a flow setting
    with pytest.raises(argparse.ArgumentTypeError, match="a number"):
        settings("confirm=high")
