"""`fourteenplus tune`: labels from what callers did next, clear refusals, and end to end on
calls made from the synthetic tune callers: a better policy out, a worse one refused.

The labelling tests drive the real call flow (`scripted_calls.Caller`) and store its records
through the real SQLite store, with stand-in audio files; they need no model.
"""

from __future__ import annotations

import csv
import time
import uuid
from collections import Counter
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import yaml

from fourteenplus import callflow as cf
from fourteenplus.cli import main as cli
from fourteenplus.config import RecordSettings, load_service
from fourteenplus.records import AudioArchive, CallerHasher, RecordWriter, Row, open_store
from fourteenplus.speech import fitting, policy
from fourteenplus.speech import Candidate, Recognition
from fourteenplus.tune import MODELS, Corpus, Judged, Outcome, Take, first_answer, label_calls, report_html, \
    report_markdown
from fourteenplus.vocabulary import CONFIRM_FAMILIES, AttemptKind, CallPath, Decision, Prompt, PromptFamily, prompt_id

from .scripted_calls import SERVICE, Caller

MENU = {name: str(i + 1) for i, name in enumerate(SERVICE.plan("0229").connected)}


def stored(tmp_path, records) -> tuple[list, AudioArchive]:
    """The records through the real store, each spoken attempt with a kept file."""
    tmp_path.mkdir(exist_ok=True)
    settings = RecordSettings(str(tmp_path / "records.db"), None, 90, True, 7)
    archive = AudioArchive(settings)
    store = open_store(settings)
    for record in records:
        for seq, attempt in enumerate(record.attempts):
            if attempt.kind in (AttemptKind.NAME, AttemptKind.REPLY):
                attempt.audio = archive.save(record.call_id, seq, np.zeros(800, np.int16)).name
        store.insert(Row.of(record, None))
    return store.calls(), archive


def labels(tmp_path, *callers: Caller) -> list[tuple[str, bool]]:
    own = tmp_path / f"store-{len(list(tmp_path.iterdir()))}"  # each question its own store
    calls, archive = stored(own, [c.record for c in callers])
    return [(t.label, t.reply) for t in label_calls(calls, archive).takes]


def test_tune_labels_a_name_by_the_ja_or_key_that_followed_it(tmp_path):
    assert labels(tmp_path, Caller().say("Medemblik", decision="confirm").reply(True)) == [
        ("Medemblik", False), (Decision.YES, True)]
    # nee strikes Opmeer; key 1 to the question about Medemblik chooses it
    assert labels(tmp_path, Caller().say("Opmeer", decision="confirm").reply(False)
                  .say("Medemblik", decision="confirm").key("1")) == [
        ("Medemblik", False), (Decision.NO, True), ("Medemblik", False)]


def test_tune_labels_a_name_by_the_menu_key_the_caller_pressed_after_it(tmp_path):
    assert labels(tmp_path, Caller().mumble("westfriese poort").mumble("poort").key(MENU["Koggenland"])) == [
        ("Koggenland", False), ("Koggenland", False)]


def test_tune_labels_a_caller_who_named_none_a_negative(tmp_path):
    # asked about Opmeer, nee; nothing else likely; the menu passes unanswered: the default
    caller = Caller().say("Opmeer", decision="confirm").reply(False).mumble("hallo").silence().silence()
    assert caller.record.path == CallPath.DEFAULT
    assert labels(tmp_path, caller) == [(fitting.NEGATIVE, False), (Decision.NO, True), (fitting.NEGATIVE, False)]


def test_tune_leaves_out_what_nothing_confirms(tmp_path):
    calls, archive = stored(tmp_path, [Caller().say("Hoorn").record, Caller().say("Opmeer", decision="confirm")
                                       .hang_up().record])
    corpus = label_calls(calls, archive)
    assert corpus.takes == [] and corpus.labelled_calls == 0
    assert corpus.left_out == {"a name accepted without a question": 1, "no choice made (hung up, …)": 1}


def judged(label: str, *recognitions: Recognition) -> Judged:
    result = Judged()
    for recognition in recognitions:
        first_answer(SERVICE, Take("call", 0, "0229", Path("x.wav"), label, False), recognition, result)
    return result


def heard(*scores, decision="confirm") -> Recognition:
    candidates = tuple(Candidate(m, p, m) for m, p in scores)
    return Recognition("", candidates, decision, scores[0][0] if decision != "reject" else None,
                       "match" if decision != "reject" else "low_confidence")


def test_tune_judges_a_take_as_the_call_flow_decides_it_answered_as_its_label_says():
    # asked about Opmeer (nee), then about Medemblik (ja): right at the first answer, two questions
    two = judged("Medemblik", heard(("Opmeer", 0.5), ("Medemblik", 0.3)))
    assert (two.names, two.right_first, two.wrong, two.questions) == (1, 1, 0, 2)
    # put through at once, to the wrong one; and a take that only asks for the name again
    assert (judged("Opmeer", heard(("Hoorn", 0.999), decision="accept")).wrong,
            judged("Opmeer", heard(("Hoorn", 0.01), decision="reject")).right_first) == (1, 0)
    negative = judged(fitting.NEGATIVE, heard(("Hoorn", 0.5)))
    assert (negative.negatives, negative.negatives_asked, negative.wrong, negative.names) == (1, 1, 0, 0)


def test_tune_report_says_what_was_decided_and_why_in_markdown_and_html(tmp_path):
    now, new = Judged(names=10, right_first=5, wrong=1), Judged(names=10, right_first=7, wrong=1)
    corpus = Corpus([Take("a", 0, "0229", Path("a-0.wav"), "Hoorn", False),
                     Take("a", 1, "0229", Path("a-1.wav"), Decision.YES, True)], 3, 1,
                    left_out=Counter({"a name accepted without a question": 2}))
    outcome = Outcome(corpus, 1, 0, policy.PATH, {"names": {}}, {"reply": "its 1 tune takes were all right"},
                      now, new, True, "better", written=tmp_path / "new.yaml")
    page = report_markdown(outcome)
    assert "| right at the first answer | 5 | 7 |" in page and "| name: Hoorn |" in page
    assert "Environment=FOURTEENPLUS_POLICY=" in page and "a name accepted without a question: 2" in page
    assert "kept as in force: reply (its 1 tune takes were all right)" in page
    html_page = report_html(outcome)
    assert "<td>right at the first answer</td><td>5</td><td>7</td>" in html_page
    assert "<strong>Written:" in html_page and "<script" not in html_page


def config(tmp_path, areas: tuple[str, ...] = ("0229",), keep_audio: bool = True) -> Path:
    """Every municipality of these areas connected; records and kept audio under tmp_path."""
    from fourteenplus.directory import load_directory

    directory = load_directory()
    names = sorted({m for code in areas for m in directory.areas[code].municipalities})
    data = {"municipalities": {n: {"trunk": f"PJSIP/{directory.municipalities[n].slug}@test"} for n in names},
            "areas": {code: {"municipalities": list(directory.areas[code].municipalities),
                             "default": directory.areas[code].municipalities[0]} for code in areas},
            "records": {"path": str(tmp_path / "records.db"), "keep_audio": keep_audio}}
    path = tmp_path / "fourteenplus.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_tune_refuses_without_kept_audio_and_with_too_few_calls(tmp_path, capsys):
    off = config(tmp_path, keep_audio=False)
    assert cli(["tune", "--config", str(off), "--out", str(tmp_path / "new.yaml")]) == 2
    assert "records.keep_audio is off" in capsys.readouterr().err
    on = config(tmp_path)
    service = load_service(on)
    calls, _ = stored(tmp_path, [Caller(service=service).say("Medemblik", decision="confirm").reply(True).record])
    assert cli(["tune", "--config", str(on), "--out", str(tmp_path / "new.yaml")]) == 2
    assert "1 labelled calls with kept audio (of 1 read); tune needs at least 100 (--min-calls)" in \
        capsys.readouterr().err
    assert not (tmp_path / "new.yaml").exists()


# ---- end to end, with the real recogniser ----

CALLERS = 20


@pytest.fixture(scope="module")
def callers(tmp_path_factory) -> Path:
    """A small callers corpus of the tune split (`fourteenplus corpus --callers`), espeak-ng's voices."""
    from fourteenplus_dev.commands import corpus

    out = tmp_path_factory.mktemp("callers")
    corpus.main(Namespace(out=out, split="tune", count=CALLERS, areas="0229,0113", repeats=False, voices="espeak",
                          replies=False, callers=True, national=False, people=None))
    return out


def respond(flow: cf.CallFlow, actions: list, caller: dict, speech, kept) -> cf.Event:
    """What the corpus caller does next, as `simulation.Simulation` scripts it (without its
    clock): their takes when asked for the name, their own ja or nee, their key at the menu."""
    from fourteenplus.speech import audio
    from fourteenplus_dev.simulation import endpoint

    play = next((a for a in reversed(actions) if isinstance(a, cf.Play)), None)
    if play is None:
        return cf.Timeout(next(a.timer_id for a in actions if isinstance(a, cf.StartTimer)))
    asked = next((name for name, m in flow.service.directory.municipalities.items()
                  if any(prompt_id(family, m.slug) in play.prompts for family in CONFIRM_FAMILIES)), None)
    expected = None if caller["expected"] == "none" else caller["expected"]
    if asked is not None:
        if Prompt.REPLY_KEYS in play.prompts:
            return cf.Dtmf("1" if asked == expected else "2")
        heard = endpoint(audio.read_telephone(caller["dir"] / caller["yes" if asked == expected else "no"])).utterance
        event: cf.Event = cf.Reply(speech.reply_now(heard).yes)
    elif play.prompts[-1] in (Prompt.QUESTION, Prompt.AGAIN, Prompt.NO_NAME):
        take = caller["first" if play.prompts[-1] == Prompt.QUESTION else "second"]
        heard = endpoint(audio.read_telephone(caller["dir"] / take)).utterance
        if heard.span is None:
            return cf.PromptDone(play.play_id)
        event = cf.Utterance(speech.recognize_now(heard, flow.record.area_code))
    elif prompt_id(PromptFamily.MENU, flow.record.area_code) in play.prompts and expected in flow.plan.connected:
        return cf.Dtmf(str(flow.plan.connected.index(expected) + 1))
    else:
        return cf.PromptDone(play.play_id)
    kept.heard(event, heard.samples)
    return event


def place_calls(corpus: Path, config_path: Path, tmp_path: Path) -> int:
    """Each corpus caller through the real call flow and recogniser, their utterances kept and
    their records written as the adapters do (`Session`: CallAudio, then RecordWriter)."""
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech.service import SpeechService

    service = load_service(config_path)
    speech = SpeechService(load_grammars(service.directory), service.thresholds)
    archive = AudioArchive(service.records)
    writer = RecordWriter(service.records, hasher=CallerHasher.from_state(tmp_path), spool=tmp_path / "spool.jsonl",
                          purge_every_s=None)
    rows = list(csv.DictReader((corpus / "callers.csv").open()))
    for row in rows:
        flow = cf.CallFlow(service, "14" + row["area_code"], "0612345678")
        # An id of the caller's, not a random one: the held-out share (by call id) is the same on every run.
        flow.record.call_id = uuid.uuid5(uuid.NAMESPACE_URL, row["caller"]).hex
        kept = archive.call(flow.record)
        flow.record.started_at = time.time()
        actions = flow.start()
        for _ in range(20):
            if flow.done:
                break
            event = respond(flow, actions, row | {"dir": corpus}, speech, kept)
            before = len(flow.record.attempts)
            actions = flow.handle(event)
            kept.handled(event, before)
        assert flow.done, row
        kept.save()
        writer.write(flow.record)
    assert writer.flush(30)
    writer.close()
    speech.close()
    return len(rows)


def flipped(path: Path, out: Path) -> Path:
    """The policy in force turned upside down: sure where it should doubt and doubtful where
    sure (1 - P), a policy that puts the wrong callers through. Only the models `tune` refits:
    a no-name gate turned upside down would stop every name, in force and refitted alike."""
    data = yaml.safe_load(path.read_text())
    for kind in MODELS:
        data[kind]["weights"] = [-w for w in data[kind]["weights"]]
        data[kind]["bias"] = -data[kind]["bias"]
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.model
@pytest.mark.voices
def test_tune_end_to_end_writes_a_better_policy_and_refuses_a_worse_one(callers, tmp_path, monkeypatch, capsys):
    config_path = config(tmp_path, ("0229", "0113"))
    assert place_calls(callers, config_path, tmp_path) == CALLERS
    kept = list((tmp_path / "audio").iterdir())
    assert kept and all(p.stat().st_mode & 0o777 == 0o600 for p in kept)

    # In force: a policy that is worse than anything fitted on these calls.
    monkeypatch.setenv("FOURTEENPLUS_POLICY", str(flipped(policy.PATH, tmp_path / "flipped.yaml")))
    new, page = tmp_path / "new.yaml", tmp_path / "tune.md"
    args = ["tune", "--config", str(config_path), "--min-calls", "10"]
    assert cli(args + ["--out", str(new), "--report", str(page)]) == 0, page.read_text()
    report = page.read_text()
    assert f"**Written: {new}.**" in report and "Environment=FOURTEENPLUS_POLICY=" in report
    assert "| right at the first answer |" in report and "| name: " in report
    for kind in ("names", "unprimed"):
        assert policy.Policy.load(kind, new).features == policy.FEATURES[kind]
        assert "operator's kept calls" in yaml.safe_load(new.read_text())[kind]["provenance"]["corpus"]
    assert yaml.safe_load((tmp_path / "flipped.yaml").read_text()) != yaml.safe_load(new.read_text())

    # In force: that new policy, fitted on these very calls. Refitting cannot beat it: refused.
    monkeypatch.setenv("FOURTEENPLUS_POLICY", str(new))
    again, html_page = tmp_path / "again.yaml", tmp_path / "tune.html"
    assert cli(args + ["--out", str(again), "--report", str(html_page)]) == 1
    assert not again.exists()
    page_html = html_page.read_text()
    assert page_html.startswith("<!doctype html>") and "<strong>Not written:" in page_html
    assert "no more than the policy in force" in page_html
