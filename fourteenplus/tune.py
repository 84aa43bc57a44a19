"""`fourteenplus tune`: the ear refitted on the operator's own calls, and judged before use.

With `records.keep_audio` on, every name and every ja/nee a caller said is kept beside its
record (`records.privacy.AudioArchive`). What the caller did next says what they meant:

- a call that reached a municipality by the caller's own choice (path `confirmed`: a ja or
  key 1 to "Bedoelt u X?"; path `keypad`: X's key at the menu) labels each of its name takes
  X, and each of its answers to "Bedoelt u …?" ja when asked about X, nee when asked about
  another (a nee strikes the municipality asked about: it is never a take's label);
- a call that ended at the area's default or without a choice, with no spoken name accepted
  (every name it heard was struck, or none was likely enough to ask about), labels its name
  takes negatives (the caller named no municipality of ours) and its answers nee;
- the rest say nothing sure (a name accepted at once: nothing confirms it; a caller who hung
  up) and are left out, counted by why.

The labelled calls are split by call id into a tune share and a held-out share. The names,
unprimed and reply models are refitted on the tune share (`speech.fitting`, as `bench fit`
does on the synthetic corpora) into a candidate policy. Every held-out take is then heard
once and judged by both the policy in force and the candidate through the speech service's
own `recognize_now`/`reply_now` and a fresh `callflow.CallFlow`, answered as its label says
(ja to the labelled municipality, nee to any other). The candidate is written only when it
puts no more held-out takes through wrong (names, and a nee taken for ja) and gets more of
them right at the first answer. It never replaces the policy in force: a person reads the
report and points `$FOURTEENPLUS_POLICY` at it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import callflow as cf
from . import vocabulary
from .config import Service
from .grammar import Grammars
from .records import AudioArchive, StoredCall
from .speech import Recognition, fitting, policy
from .speech.matcher import Matcher
from .speech.recognizer import Clip, Recognizer
from .speech.service import SpeechService
from .speech.vad import Spoken, whole_clip
from .vocabulary import AttemptKind, CallPath, Decision, ListenMode, said

MIN_CALLS = 100  # labelled calls below which a refit says more about chance than about callers
HELD_OUT = 0.3  # the share of labelled calls kept out of the fit to judge it on
MODELS = ("names", "unprimed", "reply")


class TuneError(Exception):
    """Why nothing can be tuned (too few calls, no kept audio): for the operator, as is."""


@dataclass(frozen=True)
class Take:
    """One kept utterance and what the caller meant by it."""
    call_id: str
    seq: int
    area_code: str
    audio: Path
    label: str  # a municipality or fitting.NEGATIVE for a name; Decision.YES or NO for a reply
    reply: bool


@dataclass
class Corpus:
    takes: list[Take] = field(default_factory=list)
    calls: int = 0  # calls read
    labelled_calls: int = 0
    left_out: Counter = field(default_factory=Counter)  # utterances not labelled, by why


def label_calls(calls: list[StoredCall], archive: AudioArchive) -> Corpus:
    """The kept utterances of `calls`, labelled by what each caller did next (module docstring)."""
    corpus = Corpus(calls=len(calls))
    for call in calls:
        record = call.record
        spoken = [(seq, a) for seq, a in enumerate(record.attempts)
                  if a.audio and a.kind in (AttemptKind.NAME, AttemptKind.REPLY)]
        if not spoken or record.area_code is None:
            continue
        if record.path in (CallPath.CONFIRMED, CallPath.KEYPAD) and record.municipality:
            chosen: str | None = record.municipality
        elif record.path == CallPath.DEFAULT or record.outcome == vocabulary.Outcome.NO_CHOICE:
            chosen = None
        else:
            why = "a name accepted without a question" if record.path in (CallPath.SPOKEN, CallPath.SPOKEN_REPEAT) \
                else "no choice made (hung up, …)"
            corpus.left_out[why] += len(spoken)
            continue
        takes = []
        for seq, attempt in spoken:
            path = archive.folder / Path(attempt.audio or "").name
            if not path.exists():
                corpus.left_out["audio already purged"] += 1
                continue
            label: str
            if attempt.kind == AttemptKind.REPLY:
                label = said(chosen is not None and attempt.municipality == chosen)
            else:
                label = chosen or fitting.NEGATIVE
            takes.append(Take(call.call_id, seq, record.area_code, path, label, attempt.kind == AttemptKind.REPLY))
        if takes:
            corpus.labelled_calls += 1
            corpus.takes += takes
    return corpus


def held_out(call_id: str, share: float = HELD_OUT) -> bool:
    """A call's share, fixed by its id: the same call is held out on every run."""
    return int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) / 2**32 < share


class _HeardOnce(Recognizer):
    """The recogniser, each utterance encoded, transcribed and primed once however many
    policies judge it: a policy changes what is decided, never what was heard."""

    def __init__(self, recognizer: Recognizer):  # wraps a loaded recogniser: no model of its own
        self._inner = recognizer
        self._last: tuple[tuple[bytes, tuple[int, int] | None, str], Clip] | None = None  # takes are judged one after the other
        self._prompted: dict[str, str] = {}

    def clip(self, spoken: Spoken, opening: str = "") -> Clip:
        key = (hashlib.sha1(np.ascontiguousarray(spoken.samples).tobytes()).digest(), spoken.span, opening)
        if self._last is None or self._last[0] != key:
            self._last, self._prompted = (key, self._inner.clip(spoken, opening)), {}
        # Not yet primed, as a fresh clip is (the unprimed step's shortlist reads the primed
        # transcription); the encoded window and the phrase scores so far are shared.
        return dataclasses.replace(self._last[1], prompted="")

    def prime(self, clip: Clip, prompt: str) -> None:
        if prompt not in self._prompted:
            self._inner.prime(clip, prompt)
            self._prompted[prompt] = clip.prompted
        clip.prompted = self._prompted[prompt]

    def score(self, clip: Clip, shortlist):
        return self._inner.score(clip, shortlist)


@dataclass
class Judged:
    """The held-out takes as one policy decides them."""
    names: int = 0  # name takes with a municipality as label
    negatives: int = 0
    right_first: int = 0  # put through to the labelled municipality on this take (ja to its question)
    wrong: int = 0  # put through elsewhere on a name, or on a nee taken for ja
    questions: int = 0  # "Bedoelt u …?" asked
    negatives_asked: int = 0  # negatives asked about a municipality
    replies: int = 0
    replies_right: int = 0
    nee_as_ja: int = 0


def first_answer(service: Service, take: Take, recognition: Recognition, judged: Judged) -> None:
    """The take as a call's first name, through the call flow: ja to the question about its
    label, nee to any other."""
    flow = cf.CallFlow(service, "14" + take.area_code)
    flow.start()
    actions = flow.handle(cf.Utterance(recognition))
    asked_any = False
    while True:
        transfer = next((a for a in actions if isinstance(a, cf.Transfer)), None)
        if transfer is not None:
            if transfer.municipality == take.label:
                judged.right_first += 1
            else:
                judged.wrong += 1
            break
        asked = next((a.asked for a in actions if isinstance(a, cf.Listen) and a.mode == ListenMode.REPLY), None)
        if asked is None:
            break  # asked for the name again, or the menu: not right at the first answer
        judged.questions += 1
        asked_any = True
        actions = flow.handle(cf.Reply(asked == take.label))
    if take.label == fitting.NEGATIVE:
        judged.negatives += 1
        judged.negatives_asked += asked_any
    else:
        judged.names += 1


@dataclass
class Outcome:
    corpus: Corpus
    tune_calls: int
    held_out_calls: int
    in_force: Path
    fitted: dict[str, dict]  # model → provenance
    kept: dict[str, str]  # model → why the policy in force's is kept
    now: Judged
    candidate: Judged
    better: bool
    why: str
    share: float = HELD_OUT
    written: Path | None = None
    date: str = field(default_factory=lambda: dt.date.today().isoformat())


def tune(service: Service, grammars: Grammars, calls: list[StoredCall], archive: AudioArchive, out: Path,
         share: float = HELD_OUT, min_calls: int = MIN_CALLS, model_path: Path | None = None) -> Outcome:
    """Refit on the tune share, judge on the held-out one, write `out` only when better."""
    from .speech import audio

    if not archive.enabled:
        raise TuneError("records.keep_audio is off: there is no kept audio to tune on. Switch it on (with the "
                        "callers' consent and a retention, see the README), let calls come in, then tune")
    corpus = label_calls(calls, archive)
    if corpus.labelled_calls < min_calls:
        raise TuneError(f"{corpus.labelled_calls} labelled calls with kept audio (of {corpus.calls} read); tune needs "
                        f"at least {min_calls} (--min-calls) to say more about callers than about chance")
    tune_takes = [t for t in corpus.takes if not held_out(t.call_id, share)]
    test_takes = [t for t in corpus.takes if held_out(t.call_id, share)]
    in_force = policy.policy_path()
    base = SpeechService(grammars, service.thresholds, model_path=model_path)
    ear = _HeardOnce(base.load())

    fitted: dict[str, dict] = {}
    kept: dict[str, str] = {}  # model → why it was not refitted
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "policy.yaml"
        shutil.copyfile(in_force, candidate)
        rows = _evidence(base, ear, tune_takes, audio.read_telephone)
        for kind in MODELS:
            labelled = rows[kind]
            if len({row.right for row in labelled}) < 2:  # nothing to tell apart: the model in force stays
                kept[kind] = f"its {len(labelled)} tune takes were all " + (
                    "right" if labelled and labelled[0].right else "wrong") if labelled else "no tune takes"
                continue
            model, suggested = fitting.fit_model(kind, labelled)
            provenance = {"corpus": "the operator's kept calls (fourteenplus tune)",
                          "calls": len({t.call_id for t in tune_takes}), "clips": len(labelled),
                          "right": sum(row.right for row in labelled),
                          "negatives": sum(row.negative for row in labelled),
                          "date": dt.date.today().isoformat(), "held_out": suggested}
            policy.save(kind, model, provenance, candidate)
            fitted[kind] = provenance
        now, new = Judged(), Judged()
        judges = [(SpeechService(grammars, service.thresholds, policy=path, recognizer=ear), judged)
                  for path, judged in ((in_force, now), (candidate, new))]
        for take in test_takes:
            # The kept utterance, without the span its endpointer found: found again here.
            spoken = whole_clip(audio.read_telephone(take.audio))
            for speech, judged in judges:
                if take.reply:
                    answer = speech.reply_now(spoken).yes
                    judged.replies += 1
                    judged.replies_right += answer is not None and answer == (take.label == Decision.YES)
                    judged.nee_as_ja += answer is True and take.label == Decision.NO
                else:
                    first_answer(service, take, speech.recognize_now(spoken, take.area_code), judged)
        for judged in (now, new):
            judged.wrong += judged.nee_as_ja
        better, why = _verdict(now, new, fitted)
        outcome = Outcome(corpus, len({t.call_id for t in tune_takes}), len({t.call_id for t in test_takes}),
                          in_force, fitted, kept, now, new, better, why, share)
        if better:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(candidate, out)
            outcome.written = out
    return outcome


def _evidence(service: SpeechService, ear: _HeardOnce, takes: list[Take], read) -> dict[str, list[fitting.Labelled]]:
    """Each tune take's evidence under neutral matchers, per model: a name heard unprimed and
    primed (in the service's order), a reply as a reply."""
    rows: dict[str, list[fitting.Labelled]] = {kind: [] for kind in MODELS}
    neutral: dict[tuple[str, bool], Matcher] = {}
    reply = service.reply_matcher(neutral=True)
    for take in takes:
        clip = ear.clip(whole_clip(read(take.audio)))
        if take.reply:
            found = fitting.labelled(reply.evidence(ear.score(clip, reply.shortlist)) if clip.speech else {}, take.label)
            if found is not None:
                rows["reply"].append(found)
            continue
        for primed, kind in ((False, "unprimed"), (True, "names")):
            matcher = neutral.get((take.area_code, primed))
            if matcher is None:
                matcher = neutral[(take.area_code, primed)] = service.matcher(take.area_code, neutral=True, primed=primed)
            if primed and clip.speech:
                ear.prime(clip, matcher.prompt_for(clip.transcript))
            found = fitting.labelled(matcher.evidence(ear.score(clip, matcher.shortlist)) if clip.speech else {},
                                     take.label)
            if found is not None:
                rows[kind].append(found)
    return rows


def _verdict(now: Judged, new: Judged, fitted: dict) -> tuple[bool, str]:
    if not fitted:
        return False, "no model could be refitted (the tune share holds one kind of label only)"
    if new.wrong > now.wrong:
        return False, f"the candidate puts {new.wrong} held-out takes through wrong, the policy in force {now.wrong}"
    if new.right_first <= now.right_first:
        return False, (f"the candidate gets {new.right_first} held-out names right at the first answer, "
                       f"no more than the policy in force ({now.right_first})")
    return True, (f"the candidate gets {new.right_first - now.right_first} more held-out names right at the first "
                  f"answer ({new.right_first} against {now.right_first}) and puts no more through wrong "
                  f"({new.wrong} against {now.wrong})")


# ---- the report ----

def _rows(outcome: Outcome) -> tuple[list[list[str]], list[list[str]]]:
    """(labels table, comparison table), header row first."""
    corpus = outcome.corpus
    counts: Counter = Counter()
    for take in corpus.takes:
        share = "held out" if held_out(take.call_id, outcome.share) else "tune"
        label = ("ja" if take.label == Decision.YES else "nee") if take.reply else \
            "named none" if take.label == fitting.NEGATIVE else take.label
        counts[(("reply: " if take.reply else "name: ") + label, share)] += 1
    labels = [["label", "tune", "held out"]] + [
        [label, str(counts[(label, "tune")]), str(counts[(label, "held out")])]
        for label in sorted({label for label, _ in counts})]
    now, new = outcome.now, outcome.candidate
    compare = [["held-out takes", "policy in force", "candidate"]]
    for title, a, b in (
            ("names (takes of a municipality)", now.names, new.names),
            ("right at the first answer", now.right_first, new.right_first),
            ("put through wrong (names, and a nee taken for ja)", now.wrong, new.wrong),
            ('"Bedoelt u …?" asked', now.questions, new.questions),
            ("negatives (named none)", now.negatives, new.negatives),
            ("negatives asked about a municipality", now.negatives_asked, new.negatives_asked),
            ("replies", now.replies, new.replies),
            ("replies understood right", now.replies_right, new.replies_right),
            ("nee taken for ja", now.nee_as_ja, new.nee_as_ja)):
        compare.append([title, str(a), str(b)])
    return labels, compare


def _decision(outcome: Outcome) -> list[str]:
    if outcome.written:
        return [f"**Written: {outcome.written}.** {outcome.why}.",
                "The policy in force is unchanged. To use the candidate, point the units at it and restart them:",
                f"`systemctl edit fourteenplus` → `[Service]` `Environment=FOURTEENPLUS_POLICY={outcome.written}`, "
                "then `systemctl restart fourteenplus` (and `fourteenplus-agi` where it runs)."]
    return [f"**Not written: {outcome.why}.** The policy in force stays as it is."]


def report_markdown(outcome: Outcome) -> str:
    labels, compare = _rows(outcome)

    def table(rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])] + \
            ["| " + " | ".join(row) + " |" for row in rows[1:]]

    refitted = ", ".join(outcome.fitted) or "none"
    if outcome.kept:
        refitted += "; kept as in force: " + "; ".join(f"{kind} ({why})" for kind, why in outcome.kept.items())
    lines = [f"# fourteenplus tune, {outcome.date}", "",
             f"Calls read: {outcome.corpus.calls}; labelled, with kept audio: {outcome.corpus.labelled_calls} "
             f"({outcome.tune_calls} to tune on, {outcome.held_out_calls} held out to judge on).",
             f"Policy in force: `{outcome.in_force}`. Models refitted: {refitted}.", "",
             "## Decision", "", *_decision(outcome), "",
             "## The held-out calls, judged by both policies", "",
             "Each held-out take heard once and decided by each policy through the speech service and the "
             "call flow, as the call's first name, answered ja to its label and nee to anything else.", "",
             *table(compare), "",
             "## Labels", "",
             "A name take is the municipality its caller then chose (ja or key 1 to its question, or its key at "
             "the menu); a caller who ended at the default or chose nothing gives negatives; a reply is ja when it "
             "answered the question about the chosen municipality, else nee.", "",
             *table(labels), ""]
    if outcome.corpus.left_out:
        lines += ["Left out (utterances): " + "; ".join(
            f"{why}: {n}" for why, n in sorted(outcome.corpus.left_out.items())) + ".", ""]
    return "\n".join(lines)


def report_html(outcome: Outcome) -> str:
    """The same page, self-contained, for a browser."""
    import re

    def inline(text: str) -> str:
        text = html.escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    body: list[str] = []
    rows: list[list[str]] = []
    for line in report_markdown(outcome).splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("| -"):
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        if rows:
            body.append("<table>" + "".join(
                "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{inline(c)}</{'th' if i == 0 else 'td'}>" for c in row)
                + "</tr>" for i, row in enumerate(rows)) + "</table>")
            rows = []
        if line.startswith("## "):
            body.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{inline(line[2:])}</h1>")
        elif line:
            body.append(f"<p>{inline(line)}</p>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>fourteenplus tune</title>"
            f"<style>{style}</style><body>{''.join(body)}</body></html>\n")
