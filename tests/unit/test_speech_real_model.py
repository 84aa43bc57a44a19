"""The real whisper model on real (synthesised, telephone-band, μ-law) audio: tests/data/corpus.

Accuracy is measured by the bench; this checks the assembled pipeline end to end and the
promises that must hold on every clip: nothing routed for silence or non-names, no name
routed to the wrong municipality.
"""

import asyncio
import csv
from pathlib import Path

import pytest

from ..waiting import until

pytestmark = pytest.mark.model

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


@pytest.fixture(scope="module")
def service():
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech.service import SpeechService

    from fourteenplus.config import DEFAULTS, Thresholds

    thresholds = Thresholds(**DEFAULTS["thresholds"] | {"accept": 0.80, "confirm": 0.55})
    speech = SpeechService(load_grammars(load_directory()), thresholds)
    asyncio.run(speech.start())
    yield speech
    speech.close()


def spoken(path):
    """A clip file: no endpointer cut it, so its speech is found over the whole clip."""
    from fourteenplus.speech import audio
    from fourteenplus.speech.vad import whole_clip

    return whole_clip(audio.read_telephone(path))


def clips():
    return list(csv.DictReader((CORPUS / "manifest.csv").open()))


def recognise(service, row):
    return service.recognize_now(spoken(CORPUS / row["file"]), row["area_code"])


def test_negatives_are_never_routed_and_silence_is_no_speech(service):
    for row in clips():
        if row["expected"] == "none":
            result = recognise(service, row)
            assert result.decision == "reject", (row["file"], result)
            if row["file"] == "silence.wav":
                assert result.reason == "no_speech"


def test_names_are_routed_right_or_not_at_all(service):
    routed_right = 0
    for row in clips():
        if row["expected"] != "none":
            result = recognise(service, row)
            assert result.decision == "reject" or result.municipality == row["expected"], (row["file"], result)
            routed_right += result.decision != "reject"
            assert result.timings["total_ms"] > 0
    # Of 6 (4 names, 2 villages): one may fall below 0.55 without a bug; the villages, as
    # espeak-ng says them, are rejected today (Zwaag is ranked first, Hoogkarspel is not).
    assert routed_right >= 3


def test_only_doubt_pays_for_the_primed_transcription(service):
    from fourteenplus.speech.service import SETTLED

    settled = escalated = 0
    for row in clips():
        heard = spoken(CORPUS / row["file"])
        unprimed = service.recognize_now(heard, row["area_code"], primed=False)
        full = service.recognize_now(heard, row["area_code"])
        if unprimed.ranked and unprimed.candidates[0].score < SETTLED:
            escalated += 1
            assert full.timings["prompted_ms"] > 0, row["file"]
        else:
            settled += 1
            assert "prompted_ms" not in full.timings, row["file"]
            assert (full.decision, full.municipality, full.reason) == (unprimed.decision, unprimed.municipality,
                                                                      unprimed.reason), row["file"]
    assert settled and escalated, "the test corpus has clips of both kinds"


def test_only_speech_long_enough_for_a_carrier_sentence_has_its_names_scored_in_one(service):
    from fourteenplus.speech.recognizer import CARRIER

    matcher = service.matcher("0229", primed=False)
    scored = {}
    for name in ("koggenland", "drechterland-carrier"):
        clip = service.recognizer.clip(spoken(CORPUS / f"{name}.wav"))
        service.recognizer.score(clip, matcher.shortlist)
        scored[name] = (clip.seconds, CARRIER.format("Hoorn") in clip.scores, " Hoorn." in clip.scores)
    limit = service.recognizer.tuning.carrier_min_s
    assert scored["koggenland"][0] < limit and scored["koggenland"][1:] == (False, True)
    assert scored["drechterland-carrier"][0] >= limit and scored["drechterland-carrier"][1:] == (True, True)


def test_unprimed_as_under_load_routes_right_or_not_at_all(service):
    for row in clips():
        result = service.recognize_now(spoken(CORPUS / row["file"]), row["area_code"], primed=False)
        assert "prompted_ms" not in result.timings  # the primed transcription was shed
        if row["expected"] == "none":
            assert result.decision == "reject", (row["file"], result)
        else:
            assert result.decision == "reject" or result.municipality == row["expected"], (row["file"], result)


def test_bench_fit_writes_the_names_models_and_the_gate_from_several_corpora_into_a_file_of_its_own(tmp_path):
    from fourteenplus_dev.commands.bench import fit_policy
    from fourteenplus.speech.policy import Policy

    out = tmp_path / "policy.yaml"
    fitted = fit_policy([CORPUS, CORPUS], out)
    names = sum(row["expected"] != "none" for row in clips())
    assert set(fitted) == {"names", "unprimed", "gate"}
    for kind in fitted:
        assert fitted[kind]["clips"] == 2 * len(clips()) and fitted[kind]["right"] <= 2 * names
        assert str(CORPUS) in fitted[kind]["corpus"]
        assert Policy.load(kind, out).features == Policy.neutral(kind).features
    assert Policy.load("reply", out) == Policy.load("reply")  # the policy in force's, not refitted


def test_async_recognize_runs_off_the_loop(service):
    samples = spoken(CORPUS / "opmeer.wav")

    async def both():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)  # the loop's other work: a tick every 5 ms while it runs
                ticks += 1

        task = asyncio.create_task(ticker())
        assert service.idle
        recognition = asyncio.create_task(service.recognize(samples, "0229"))
        # Busy while whisper works: the session starts no early recognition now.
        await until(lambda: not service.idle, "the service to count the recognition as under way")
        result = await recognition
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(both())
    assert result.municipality == "Opmeer"
    assert ticks >= 2  # the loop kept running while whisper worked
    assert service.idle


def test_two_workers_side_by_side_hear_what_one_hears_alone():
    # Two recognitions at once share the model's two replicas and the recogniser's caches:
    # each clip, heard beside another, gets what it gets alone, to the last digit.
    from fourteenplus.config import DEFAULTS, Thresholds
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech.service import SpeechService

    speech = SpeechService(load_grammars(load_directory()), Thresholds(**DEFAULTS["thresholds"]), workers=2)
    rows = clips()
    samples = [spoken(CORPUS / row["file"]) for row in rows]

    def heard(result):
        return result.decision, result.municipality, result.reason, result.transcript, result.candidates

    async def side_by_side():
        # In pairs: each has a worker, so neither is shed (both primed, as alone).
        results = []
        for start in range(0, len(rows), 2):
            results += await asyncio.gather(*(speech.recognize(s, row["area_code"])
                                              for s, row in zip(samples[start:start + 2], rows[start:start + 2])))
        return results

    try:
        asyncio.run(speech.start())
        for s, row in zip(samples, rows):  # the caches filled, as on a node that has taken calls
            speech.recognize_now(s, row["area_code"])
        alone = [heard(speech.recognize_now(s, row["area_code"])) for s, row in zip(samples, rows)]
        together = [heard(result) for result in asyncio.run(side_by_side())]
    finally:
        speech.close()
    assert together == alone


def test_reply_hears_ja_and_nee_and_nothing_in_silence(service):
    def reply(name):
        return asyncio.run(service.reply(spoken(CORPUS / name))).yes

    # A clear answer must never flip: "nee" is never a yes. Unsure is allowed (None asks again).
    assert reply("ja.wav") in (True, None)
    assert reply("nee.wav") in (False, None)
    assert reply("silence.wav") is None
    # Each answer is heard as itself, if not always surely (the reply model of its own,
    # policy.yaml `reply`, against the strict reply_yes and the lenient reply_no).
    ja, nee = (service.reply_now(spoken(CORPUS / name)) for name in ("ja.wav", "nee.wav"))
    assert (ja.likelier, nee.likelier) == (True, False)
    # A reply is not primed with a prompt (nothing to pick, see service.py): no second transcription.
    assert "prompted_ms" not in ja.timings


def test_a_ja_word_negated_is_a_nee(service):
    # "Natuurlijk niet." is written anything at all ("Dat is de keet."; a person's, with voices
    # around them, "Natuurlijk hier."): only its own phrase on the nee side keeps the audio from
    # ranking the ja-word alone first.
    answer = service.reply_now(spoken(CORPUS / "natuurlijk-niet.wav"))
    assert (answer.yes, answer.likelier) == (False, False)


def test_whisper_hears_a_ja_open_the_answer_and_a_nee_not(service):
    from fourteenplus.speech.service import OPENS_JA

    def opens(name):
        return service.recognizer.clip(spoken(CORPUS / name), opening="ja").opens

    assert opens("ja-hoor.wav") >= OPENS_JA  # written "Ja Holen Ja Holer …"
    # espeak-ng's lone "ja" is written "Ila": whisper's opening says nothing of it, the
    # audio's scores carry it (the reply test above); and nothing else opens with ja.
    assert all(opens(name) < OPENS_JA for name in ("ja.wav", "nee.wav", "nee-koggenland.wav", "amsterdam.wav"))
    assert service.recognizer.clip(spoken(CORPUS / "ja.wav")).opens == 0.0  # not asked: not computed


def test_a_name_said_with_the_answer_is_heard_as_the_callers_correction(service):
    def reply(name, asked="Hoorn"):
        return service.reply_now(spoken(CORPUS / name), area_code="0229", asked=asked)

    corrected = reply("nee-koggenland.wav")
    assert corrected.yes is not True and corrected.correction is not None
    assert corrected.correction.ranked[0] == "Koggenland"
    # "Ja, Opmeer" to "Bedoelt u Hoorn?" is no ja: never a transfer to Hoorn.
    assert reply("ja-opmeer.wav").yes is not True
    plain = reply("ja-hoor.wav", asked="Koggenland")
    assert plain.yes in (True, None) and plain.correction is None
    # Without the area (the CLI, the reply bench) nothing but ja or nee is heard.
    assert service.reply_now(spoken(CORPUS / "nee-koggenland.wav")).correction is None


def test_recognize_command_judges_a_reply_as_the_call_flow_does(capsys):
    from argparse import Namespace

    from fourteenplus.commands import recognize

    args = Namespace(file=CORPUS / "nee.wav", area="reply", json=False, accept=0.99, confirm=0.70, model=None,
                     unprimed=False)
    assert recognize.main(args) == 0
    assert "answer: nee" in capsys.readouterr().out
    assert recognize.main(Namespace(**vars(args) | {"area": "9999"})) == 2
    assert 'unknown area code 9999 (or "reply" for a ja/nee answer)' in capsys.readouterr().out


def test_recognize_command_shows_a_name_as_heard_under_load(capsys):
    from argparse import Namespace

    from fourteenplus.commands import recognize

    # A village said in a sentence: in doubt without the primed transcription.
    args = Namespace(file=CORPUS / "hoogkarspel-carrier.wav", area="0229", json=False, accept=0.99, confirm=0.70,
                     model=None, unprimed=False)
    assert recognize.main(args) == 0
    assert "prompted_ms" in capsys.readouterr().out
    assert recognize.main(Namespace(**vars(args) | {"unprimed": True})) == 0
    out = capsys.readouterr().out
    assert "prompted_ms" not in out and "decision: " in out


def test_a_national_number_finds_names_by_the_trie_search(service):
    """The first stage of a national number: the country's phrases searched against the audio
    find the municipality among the first the shortlist takes. (Not every clip: whisper loops
    on opmeer.wav, "om meer om meer op meer", and the search after it ranks Almere, Oss and
    Ommen first.)"""
    from fourteenplus.numberplan import NATIONAL

    matcher = service.matcher(NATIONAL, primed=False)
    for name, municipality in (("koggenland", "Koggenland"), ("medemblik", "Medemblik")):
        clip = service.recognizer.clip(spoken(CORPUS / f"{name}.wav"))
        service.recognizer.search(clip, matcher.searchable, matcher.lead(clip.transcript))
        first = list(dict.fromkeys(m for text in clip.searched[:3] for m in matcher._owners[text]))
        assert municipality in first, (name, clip.transcript, clip.searched[:5])
        assert municipality in [t for t, _ in matcher.shortlist(clip.transcript, "", clip.searched)]
