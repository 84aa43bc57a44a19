"""`fourteenplus bench recognition DIR`: recognition measured on a corpus, beside the plain pipeline.
`fourteenplus bench calls`: latencies of real SIP calls through the running system.
`fourteenplus bench endpoint DIR`: where turns end on noisy lines (`_bench_endpoint`).
`fourteenplus bench workers DIR`: recognitions side by side, K at once (`_bench_workers`).

DIR holds audio files and manifest.csv (file,area_code,expected; expected "none" for a clip
that must not be routed). Several DIRs are one run: the synthetic corpora beside the human
ones, each figure also per voice family (`families`). Ours and the plain pipeline (whisper's 30 s window, free
transcription, rapidfuzz, no biasing) run on every clip in the same run, so the gain is a
ratio measured on one machine on one day. Latency is compute per clip with the model
loaded; the model's start-up is reported on its own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .. import lines
from ..benchfile import machine, write_block
from fourteenplus.config import DEFAULTS, Thresholds
from fourteenplus.speech import Candidate, Recognition, fitting
from fourteenplus.speech.recognizer import Tuning
from fourteenplus.speech.service import SETTLED, Answer
from ..hearing import decide_text, hear
from ..manifest import HUMAN, drawn, read_manifest
from ..stats import spread, stages
from fourteenplus.commands.recognize import REPLY_AREA
from fourteenplus.vocabulary import Decision, Reason, said




# What `--against` may change: the flow's own settings, the share of callers who talk over
# the prompts, and the endpointer's barge-in rule. (The reply thresholds are the speech
# service's: its answers are heard once per run.)
FLOW_SETTINGS = ("accept", "confirm", "runner_up", "department", "department_confirm", "no_name_doubt", "questions",
                 "barge_in",
                 # the endpointer's, as the simulation hears the callers (`vad.Settings`)
                 "talker_db", "talker_over_line_db")


def settings(text: str) -> dict[str, float]:
    """`--against`: NAME=VALUE pairs, each one of FLOW_SETTINGS."""
    known = FLOW_SETTINGS
    pairs = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name.strip() not in known:
            raise argparse.ArgumentTypeError(f"{name.strip()!r} is not one of {', '.join(known)}")
        try:
            pairs[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: the value must be a number") from None
    return pairs


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", required=True)
    recognition = sub.add_parser("recognition", help="spoken names → municipalities")
    recognition.add_argument("dir", type=Path, nargs="+",
                             help="corpus directories with manifest.csv: one run, its figures also per voice family")
    recognition.add_argument("--json", action="store_true", help="print the figures as JSON")
    recognition.add_argument("--no-plain", action="store_true", help="skip the plain pipeline (it is slow)")
    recognition.add_argument("--unprimed", action="store_true",
                             help="hear names without the primed transcription, as the service does under load")
    recognition.add_argument("--report", type=Path, help="write the figures into this markdown file, between the bench markers")
    recognition.add_argument("--marker", help="the results block to write (default: by the corpora's kind; `lines` "
                                              "with --line)")
    recognition.add_argument("--count", type=int, default=0,
                             help="at most this many first takes per corpus, a fixed draw, with their repeats (0: all)")
    lines.options(recognition)
    # The shipped thresholds, so `make bench` measures what an installation does by default.
    for name, value in DEFAULTS["thresholds"].items():
        recognition.add_argument(f"--{name}", type=float, default=value)
    fit = sub.add_parser("fit", help="fit the decision policy on tune corpora into a policy file: the names and "
                                     "unprimed models on names, the reply model on answers (--replies, --callers)")
    fit.add_argument("dir", type=Path, nargs="+",
                     help="tune-split corpus directories with manifest.csv (never the eval split): one model over all")
    fit.add_argument("--out", type=Path, required=True,
                     help="the policy file to write: ship it (fourteenplus/speech/policy.yaml in the repository) or "
                          "point $FOURTEENPLUS_POLICY at it; a new file starts from the policy in force, so the "
                          "models not refitted come along")
    fit.add_argument("--model", action="append", choices=("names", "unprimed", "reply", "gate"),
                     help="fit only this model (repeatable; default: every model the corpora hold clips for)")
    dialogue = sub.add_parser("dialogue", help="whole callers (callers.csv, `corpus --callers`) through the real "
                                               "call flow and recogniser, on simulated time")
    dialogue.add_argument("dir", type=Path, help="corpus directory with callers.csv")
    dialogue.add_argument("--json", action="store_true", help="print the figures as JSON")
    dialogue.add_argument("--report", type=Path, help="write the figures into this markdown file, between the bench markers")
    dialogue.add_argument("--marker", help="the results block to write (default: bench; `lines` with --line)")
    lines.options(dialogue)
    dialogue.add_argument("--outcomes", type=Path, help="also write each caller's outcome on every line run (its `line` column) to this CSV file")
    for name, value in DEFAULTS["thresholds"].items():
        dialogue.add_argument(f"--{name}", type=float, default=value)
    dialogue.add_argument("--questions", type=int, default=DEFAULTS["listen"]["questions"],
                          help='"Bedoelt u …?" questions per name said, at most')
    dialogue.add_argument("--settled", type=float, default=SETTLED,
                          help="the unprimed P(right) from which a name skips the primed transcription "
                               "(above 1: every name primed, as before the sixth pass)")
    dialogue.add_argument("--search-beam", type=int, default=Tuning.search_beam,
                          help="a national number's trie search: the prefixes extended per depth (0: no search, "
                               "only the transcripts' shortlist, as before)")
    dialogue.add_argument("--search-depth", type=int, default=Tuning.search_depth,
                          help="a national number's trie search: the tokens it extends the prefixes to, at most")
    dialogue.add_argument("--barge-in", type=float, default=0.0, metavar="SHARE",
                          help="the share of callers (0–1) who talk over the question and over "
                               '"Bedoelt u …?" (default 0: every caller waits for each prompt to end)')
    dialogue.add_argument("--seed", type=int, default=0, help="which callers barge in, and when (default 0)")
    dialogue.add_argument("--history", type=float, default=0.0, metavar="SHARE",
                          help="the share of callers (0–1) who called before: half of them last chose the "
                               "municipality they want now, half another; each is played without and with "
                               "their history suggested (default 0: none)")
    dialogue.add_argument("--history-odds", type=lambda text: [float(v) for v in text.split(",")],
                          default=[DEFAULTS["history"]["odds"]], metavar="ODDS,…",
                          help="the suggestion's odds to try (default: the shipped one)")
    dialogue.add_argument("--against", type=settings, action="append", metavar="NAME=VALUE,…",
                          help="also play the same callers at other settings (thresholds, questions, barge_in), "
                               "in the same run on the same recognitions: an A/B, e.g. confirm=0.7,questions=1; "
                               "repeat it for more (the JSON's `against` lists them in order)")
    calls = sub.add_parser("calls", help="answer → first audio and end of speech → INVITE over real calls "
                                         "(needs `make run` in another terminal)")
    calls.add_argument("--count", type=int, default=10, help="spoken calls to place (default 10)")
    calls.add_argument("--law", choices=("ulaw", "alaw"), default="ulaw",
                       help="the one G.711 law the callers offer (alaw: PCMA, as Dutch carriers deliver)")
    calls.add_argument("--report", type=Path, help="write the figures into this markdown file, between the bench markers")
    from . import _bench_endpoint, _bench_workers
    _bench_endpoint.configure(sub)
    _bench_workers.configure(sub)


class Tally:
    """The issue's figures for one pipeline."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, Recognition, float]] = []  # expected, its recognition, compute ms

    def add(self, expected: str, result: Recognition, ms: float) -> None:
        self.rows.append((expected, result, ms))

    def figures(self) -> dict:
        positives = [(e, r) for e, r, _ in self.rows if e != "none"]
        negatives = [(e, r) for e, r, _ in self.rows if e == "none"]
        routed = (Decision.ACCEPT, Decision.CONFIRM)
        correct = sum(r.decision in routed and r.municipality == e for e, r in positives)
        latencies = np.array([ms for _, _, ms in self.rows]) if self.rows else np.zeros(1)
        def rank(result, expected) -> int:
            """Where the expected municipality stands among the candidates (0: not among them)."""
            return result.ranked.index(expected) + 1 if expected in result.ranked else 0

        return {
            "total": len(self.rows),
            "correct": correct,
            "top1": sum(rank(r, e) == 1 for e, r in positives),
            "top3": sum(1 <= rank(r, e) <= 3 for e, r in positives),
            "accuracy": round(correct / len(positives), 4) if positives else None,
            "accepted": sum(r.decision == Decision.ACCEPT and r.municipality == e for e, r in positives),
            "misrouted": sum(r.decision == Decision.ACCEPT and r.municipality != e for e, r in positives),
            "confirmed": sum(r.decision == Decision.CONFIRM for _, r, _ in self.rows),
            "rejected": sum(r.decision == Decision.REJECT for _, r, _ in self.rows),
            "negatives": len(negatives),
            "negatives_routed": sum(r.decision in routed for _, r in negatives),
            "negatives_accepted": sum(r.decision == Decision.ACCEPT for _, r in negatives),
            "negatives_confirmed": sum(r.decision == Decision.CONFIRM for _, r in negatives),
            "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "stages_ms": stages([r for _, r, _ in self.rows]),
        }

    def confusion(self) -> dict:
        """What each expected answer was taken for ("none": not understood): for replies,
        where "nee" taken for "ja" (a wrong transfer) must stand apart from the other errors."""
        table: dict = {}
        for expected, result, _ in self.rows:
            got = result.municipality if result.decision in (Decision.ACCEPT, Decision.CONFIRM) else "none"
            table.setdefault(expected, {}).setdefault(got, 0)
            table[expected][got] += 1
        return table


def run(corpora: list[Path], thresholds: Thresholds, plain: bool, primed: bool = True,
        on: tuple[str, ...] = (), line_tool: Path = lines.TOOL, count: int = 0) -> dict:
    """Every first take through ours (and the plain pipeline); with repeats in the corpus, also
    what a second take does for the callers the first one did not route. `primed=False`:
    ours as under load, without the primed transcription. Ours is also tallied per voice
    family (`families`: espeak, mbrola, human), so people are never averaged into robots.

    `on`: line conditions (`fourteenplus_dev.lines`, clean first): every first take is also
    heard through each by ours (not the plain pipeline), tallied under `lines` per line and per
    `line_family` (the accented voices apart)."""
    import dataclasses
    import time
    import zlib

    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech import audio
    from fourteenplus.speech.service import SpeechService
    from fourteenplus.speech.vad import whole_clip

    rows = [row for corpus in corpora for row in drawn(read_manifest(corpus), count)]
    line = lines.Lines(lines.load_tool(line_tool)) if on else None
    service = SpeechService(load_grammars(load_directory()), thresholds)
    service.load()
    ours, baseline = Tally(), Tally()
    by_family: dict[str, Tally] = {}
    on_lines: dict[str, dict[str, Tally]] = {condition: {} for condition in on}
    results = {}

    def hear(samples: np.ndarray, row: dict) -> tuple[Recognition, float]:
        # A clip file: no endpointer cut it, so its speech is found here, outside the recogniser's
        # compute (in a call the endpointer found it as the caller spoke).
        spoken = whole_clip(samples)
        started = time.perf_counter()
        result = as_recognition(service.reply_now(spoken)) if row["area_code"] == REPLY_AREA else \
            service.recognize_now(spoken, row["area_code"], primed)
        return result, (time.perf_counter() - started) * 1000

    for row in rows:
        samples = audio.read_telephone(Path(row["file"]))
        reply = row["area_code"] == REPLY_AREA
        result, ms = hear(samples, row)
        results[row["file"]] = result
        if row.get("repeat_of"):
            continue
        ours.add(row["expected"], result, ms)
        by_family.setdefault(family(row) or "unknown", Tally()).add(row["expected"], result, ms)
        for condition in on:
            if condition == lines.CLEAN:
                heard = result, ms
            else:
                assert line is not None  # loaded whenever there are lines
                heard = hear(line.apply(condition, samples, zlib.crc32(f"{condition}/{row['file']}".encode())), row)
            on_lines[condition].setdefault(line_family(row), Tally()).add(row["expected"], *heard)
        if plain:
            text, timings = service.recognizer.transcribe_plain(samples)
            matcher = service.reply_matcher() if reply else service.matcher(row["area_code"])
            baseline.add(row["expected"], decide_text(
                matcher, text, thresholds.accept, thresholds.confirm), timings["total_ms"])
    replies = _is_replies(rows)
    figures: dict[str, Any] = {"ours": _figures(ours, replies),
               "families": {name: _figures(tally, replies) for name, tally in sorted(by_family.items())},
               "model_startup_s": round(service.startup_seconds or 0.0, 2),
               "corpus": ", ".join(map(str, corpora)), "voices": voice_family(rows), "machine": machine(),
               "date": dt.date.today().isoformat(), "thresholds": dataclasses.asdict(thresholds)}
    if not primed:
        figures["unprimed"] = True
    if on:
        figures["lines"] = {condition: line_figures(tallies, replies) for condition, tallies in on_lines.items()}
    repeats = [(results[str(Path(row["file"]).parent / row["repeat_of"])], row["expected"], results[row["file"]])
               for row in rows if row.get("repeat_of")]
    if repeats:
        figures["second_take"] = second_take(repeats)
    if plain:
        figures["plain"] = baseline.figures()
        a, b = figures["ours"]["accuracy"], figures["plain"]["accuracy"]
        figures["accuracy_ratio"] = round(a / b, 2) if a and b else None
    return figures


def line_figures(tallies: dict[str, Tally], replies: bool) -> dict:
    """One line's figures: over every clip, and per family under `families`."""
    every = Tally()
    for tally in tallies.values():
        every.rows += tally.rows
    return _figures(every, replies) | {"families": {name: _figures(t, replies) for name, t in sorted(tallies.items())}}


def _figures(tally: Tally, replies: bool) -> dict:
    return tally.figures() | ({"confusion": tally.confusion()} if replies else {})


def family(row: dict) -> str | None:
    """Who said a clip: people (`human`), MBROLA's diphone voices or espeak-ng's own (the
    manifest's voice column, `corpus --voices`); None when the manifest does not say."""
    if row.get("family"):
        return row["family"]
    return None if not row.get("voice") else "mbrola" if row["voice"].startswith("mb-") else "espeak"


def line_family(row: dict) -> str:
    """A clip's family in the lines' figures: `family`, with the accented voices apart (another
    language's voice reading the Dutch: espeak-ng's en-us, MBROLA's de4, …)."""
    voice = row.get("voice", "")
    accented = bool(voice) and not voice.removeprefix("mb-").startswith("nl")
    return (family(row) or "unknown") + (" accent" if accented else "")


def voice_family(rows: list[dict]) -> str | None:
    """Who spoke the corpus: "espeak", "mbrola", "human", "mixed", or None for a manifest that
    does not say (the voice column is optional)."""
    families = {family(row) for row in rows} - {None}
    return None if not families else families.pop() if len(families) == 1 else "mixed"


def marker(figures: dict) -> str:
    """The results file holds a block per kind of corpus: names or replies, by voice family
    (espeak-ng's has the plain name)."""
    voices = figures.get("voices")
    return "bench" + ("-replies" if "confusion" in figures["ours"] else "") + \
        (f"-{voices}" if voices in ("mbrola", HUMAN, "mixed") else "") + ("-unprimed" if figures.get("unprimed") else "")


def second_take(pairs) -> dict:
    """The call flow's two spoken attempts: a first take that was not routed right (rejected,
    or confirmed for the wrong municipality, which the caller answers with nee) gets its
    repeat, decided on its own. A wrong accept ends the call at the wrong municipality, so
    it has no second take. Confirms are counted as answered ja or nee correctly (the reply
    bench measures that step on its own)."""
    names = [(first, expected, again) for first, expected, again in pairs if expected != "none"]
    routed = (Decision.ACCEPT, Decision.CONFIRM)

    def right(result, expected):
        return result.decision in routed and result.municipality == expected

    first = sum(right(f, e) for f, e, _ in names)
    asked_again = [(e, a) for f, e, a in names if not right(f, e) and f.decision != Decision.ACCEPT]
    second = sum(right(a, e) for e, a in asked_again)
    negatives = [(f, a) for f, e, a in pairs if e == "none"]
    return {
        "names": len(names),
        "first_take": first,
        "asked_again": len(asked_again),
        "second_take": second,
        "within_two": round((first + second) / len(names), 4) if names else None,
        "misrouted_on_second": sum(a.decision == Decision.ACCEPT and a.municipality != e for e, a in asked_again),
        "negatives": len(negatives),
        # A negative confirmed on the first take is answered nee, so it is asked again too.
        "negatives_routed_on_second": sum(f.decision != Decision.ACCEPT and a.decision in routed for f, a in negatives),
    }


def report(path: Path, figures: dict, marker: str = "bench") -> None:
    """Replace the generated block of the results file; the prose around it is kept."""
    write_block(path, marker, f"```json\n{json.dumps(figures, indent=2, ensure_ascii=False)}\n```", "Recognition bench")


def as_recognition(answer: Answer) -> Recognition:
    """An answer in the bench's terms (the manifest's expected values for a reply are yes, no
    and none): accepted as the side understood, else rejected, its likelier side ranked."""
    side = None if answer.likelier is None else said(answer.likelier)
    ranked = () if side is None else (Candidate(side, answer.probability, side),)
    if answer.yes is None:
        return Recognition.rejected(Reason.LOW_CONFIDENCE, answer.transcript, ranked, answer.timings)
    return Recognition(answer.transcript, ranked, Decision.ACCEPT, said(answer.yes), Reason.MATCH, answer.timings)


def _is_replies(rows: list[dict]) -> bool:
    """A corpus of answers to "Bedoelt u …?" (`corpus --replies`), not of names."""
    return all(row["area_code"] == REPLY_AREA for row in rows)


def fit_rows(corpus: Path) -> list[dict]:
    """A tune corpus's clips for fitting, as manifest rows (file, area_code, expected): a
    manifest's first takes, or a callers corpus's (callers.csv) first takes and its ja's and
    nee's (area code "reply"), as the call flow hears each."""
    if (corpus / "callers.csv").exists():
        rows = []
        for row in csv.DictReader((corpus / "callers.csv").open()):
            rows.append({"file": str(corpus / row["first"]), "area_code": row["area_code"], "expected": row["expected"]})
            rows += [{"file": str(corpus / row[side]), "area_code": REPLY_AREA, "expected": side}
                     for side in (Decision.YES, Decision.NO)]
        return rows
    return [row for row in read_manifest(corpus) if not row.get("repeat_of")]


def fit_policy(corpora: list[Path], out: Path, models: tuple[str, ...] = ("names", "unprimed", "reply", "gate")) -> dict:
    """Hear every clip of the tune corpora (espeak-ng's and MBROLA's voices, say), label the
    top candidate's evidence right or wrong (a negative clip is always wrong), fit each of
    `models` that the corpora hold clips for (`reply` on answers to "Bedoelt u …?", `names`
    and `unprimed`, the same clips heard without the primed transcription, on names) and
    write them with their provenance into `out` (a new file starts as a copy of the policy in
    force, so the models not refitted are kept). The no-name `gate` is fitted on the same names
    clips heard unprimed, people's among them (`fitting.fit_gate`): every name of the corpora
    but the share that looks least like one (`fitting.GATE_NAMES_ASKED`) stays below its bar.

    The thresholds it suggests come from 5-fold held-out predictions on the same corpora, so
    they are not read off the fit's own training rows.
    """
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech import policy
    from fourteenplus.speech.service import SpeechService

    every = [row for corpus in corpora for row in fit_rows(corpus)]
    service = SpeechService(load_grammars(load_directory()), Thresholds(**DEFAULTS["thresholds"]))
    service.load()
    if not out.exists():
        shutil.copyfile(policy.policy_path(), out)
    fitted = {}
    for kind in models:
        rows = [row for row in every if (row["area_code"] == REPLY_AREA) == (kind == "reply")]
        if not rows:
            continue
        clips = _evidence(service, rows, primed=kind not in ("unprimed", "gate"), gate=kind == "gate")
        model, suggested = fitting.fit_gate(clips) if kind == "gate" else fitting.fit_model(kind, clips)
        provenance = {"corpus": ", ".join(map(str, corpora)), "clips": len(rows), "decided": len(clips),
                      "right": sum(c.right for c in clips), "negatives": sum(c.negative for c in clips),
                      "date": dt.date.today().isoformat(), "held_out": suggested}
        policy.save(kind, model, provenance, out)
        fitted[kind] = provenance
    return fitted


# The corpus's kinds of clip the no-name gate is not fitted on (`corpus` writes them).
OUTSIDE_THE_GATE = ("out_of_area", "silence", "cough")


def _evidence(service, rows: list[dict], primed: bool, gate: bool = False) -> list[fitting.Labelled]:
    """Each clip's top candidate's evidence, labelled; clips with nothing to decide are left
    out (rejected before any policy). `gate`: the no-name gate's evidence instead, of the
    clips that name a municipality of the area or none at all (another area's name is left to
    the out-of-area rule, a cough or silence to the endpointer)."""
    from ..simulation import endpoint
    from fourteenplus.speech import audio

    clips = []
    matchers: dict = {}
    for row in rows:
        if row["area_code"] not in matchers:
            matchers[row["area_code"]] = (service.reply_matcher(neutral=True) if row["area_code"] == REPLY_AREA
                                          else service.matcher(row["area_code"], neutral=True, primed=primed))
        matcher = matchers[row["area_code"]]
        # As the call flow hears it: the endpointer's utterance of the clip.
        heard = hear(service.recognizer, endpoint(audio.read_telephone(Path(row["file"]))).utterance,
                     matcher.shortlist, matcher.prompt)
        if gate:
            if heard.speech and row.get("kind") not in OUTSIDE_THE_GATE:
                clips.append(fitting.Labelled(matcher.no_name_evidence(heard), False, row["expected"] == fitting.NEGATIVE))
            continue
        clip = fitting.labelled(matcher.evidence(heard) if heard.speech else {}, row["expected"])
        if clip is not None:
            clips.append(clip)
    return clips


def main(args: argparse.Namespace) -> int:
    if args.what == "calls":
        return bench_calls(args.count, args.report, args.law)
    if args.what == "dialogue":
        from ._bench_dialogue import main as dialogue_main
        return dialogue_main(args)
    if args.what == "endpoint":
        from ._bench_endpoint import main as endpoint_main
        return endpoint_main(args)
    if args.what == "workers":
        from ._bench_workers import main as workers_main
        return workers_main(args)
    for corpus in args.dir:
        if not (corpus / "manifest.csv").exists() and not (args.what == "fit" and (corpus / "callers.csv").exists()):
            print(f"{corpus}/manifest.csv not found: make a corpus with `fourteenplus corpus {corpus}`")
            return 2
    if args.what == "fit":
        print(json.dumps(fit_policy(args.dir, args.out, tuple(args.model or ("names", "unprimed", "reply", "gate"))),
                         indent=2))
        return 0
    thresholds = Thresholds(**{name: getattr(args, name) for name in DEFAULTS["thresholds"]})
    figures = run(args.dir, thresholds, plain=not args.no_plain, primed=not args.unprimed,
                  on=lines.conditions(args.line), line_tool=args.lines, count=args.count)
    replies = "confusion" in figures["ours"]
    table = lines.table(figures["lines"], "families", REPLY_COLUMNS if replies else NAME_COLUMNS, figures) \
        if "lines" in figures else None
    if args.report and table:
        # Its own block: a small run on lines must not replace the main figures.
        write_block(args.report, args.marker or "lines" + ("-replies" if replies else ""), table, "Recognition bench")
    elif args.report:
        report(args.report, figures, args.marker or marker(figures))
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        for name in ("ours", "plain"):
            if name in figures:
                f = figures[name]
                print(f"{name:6} accuracy {f['accuracy']:.1%}  misrouted {f['misrouted']}  confirmed {f['confirmed']}  "
                      f"rejected {f['rejected']}  negatives routed {f['negatives_routed']}/{f['negatives']}  "
                      f"p50 {f['latency_p50_ms']} ms  p95 {f['latency_p95_ms']} ms")
        for name, f in figures["families"].items():
            print(f"{name:8} right {f['correct']}/{f['total'] - f['negatives']}  misrouted {f['misrouted']}  "
                  f"negatives asked about a town {f['negatives_confirmed']}/{f['negatives']}, "
                  f"put through {f['negatives_accepted']}")
        print(f"model start-up {figures['model_startup_s']} s; {figures['machine']}")
        if table:
            print(table)
    return 0


def _share(count: int, of: int) -> str:
    return f"{count} of {of} ({count / of:.0%})" if of else "–"


def _confused(figures: dict, expected: str, got: str) -> int:
    return figures["confusion"].get(expected, {}).get(got, 0)


# The lines tables (`--line`): per line and voice family, what the targets name.
NAME_COLUMNS = (
    ("names", lambda f: str(f["total"] - f["negatives"])),
    ("top-1", lambda f: _share(f["top1"], f["total"] - f["negatives"])),
    ("right (put through or asked about)", lambda f: str(f["correct"])),
    ("right, put through at once", lambda f: str(f["accepted"])),
    ("**accepted wrong**", lambda f: str(f["misrouted"])),
    ("naming none", lambda f: str(f["negatives"])),
    ("naming none, asked about a town", lambda f: str(f["negatives_confirmed"])),
    ("**naming none, put through**", lambda f: str(f["negatives_accepted"])),
    ("p50 ms", lambda f: str(f["latency_p50_ms"])),
)
REPLY_COLUMNS = (
    ("ja understood", lambda f: _share(_confused(f, "yes", "yes"), sum(f["confusion"].get("yes", {}).values()))),
    ("nee understood", lambda f: _share(_confused(f, "no", "no"), sum(f["confusion"].get("no", {}).values()))),
    ("**nee taken for ja**", lambda f: str(_confused(f, "no", "yes"))),
    ("**other taken for ja**", lambda f: str(_confused(f, "none", "yes"))),
    ("ja taken for nee", lambda f: str(_confused(f, "yes", "no"))),
    ("other taken for nee", lambda f: str(_confused(f, "none", "no"))),
    ("p50 ms", lambda f: str(f["latency_p50_ms"])),
)


# Spoken calls for the latency bench: names of 0229 said plainly and in a carrier sentence.
# None is Hoorn, the area's default, which a caller also reaches without being understood.
CALL_SENTENCES = (("Koggenland", "Koggenland"), ("ik wil graag de gemeente Koggenland bellen", "Koggenland"),
                  ("Medemblik", "Medemblik"), ("Opmeer graag", "Opmeer"), ("Drechterland", "Drechterland"))


def bench_calls(count: int, path: Path | None, law: str = "ulaw") -> int:
    """Real SIP calls (SIPp) against the running Asterisk and app: the issue's two latencies,
    the callers offering `law` alone."""
    from fourteenplus import sipp

    answer_ms: list[float] = []
    speech_ms: list[float] = []
    direct: list[float] = []
    confirmed: list[float] = []
    ended: list[str] = []
    with sipp.Trunk() as trunk:
        single = sipp.place_call("14020", [], trunk, law=law)
        ended.append(single.describe())
        for i in range(count):
            sentence, expected = CALL_SENTENCES[i % len(CALL_SENTENCES)]
            # A "Bedoelt u …?" gets a ja; a name put through at once never hears the question
            # (the trunk ends the call first). The caller cannot tell a wrong question from a
            # right one: such a call ends at the wrong municipality and is not counted.
            result = sipp.place_call("140229", [sipp.WaitPrompt(), sipp.Say(sentence), sipp.WaitPrompt(8.0),
                                                sipp.Say("ja")], trunk, law=law)
            ended.append(f"{sentence!r}: {result.describe()}")
            if result.answer_to_audio_ms is not None:
                answer_ms.append(result.answer_to_audio_ms)
            # Only calls routed by what was said: a default after the menu is no recognition latency.
            if result.reached and result.reached.municipality == expected and result.speech_end_to_invite_ms:
                speech_ms.append(result.speech_end_to_invite_ms)
                (confirmed if len(result.spoken_before_invite) > 1 else direct).append(result.speech_end_to_invite_ms)
    figures = {
        "calls": count + 1,
        "law": law,
        "answer_to_first_audio_ms": spread(answer_ms),
        "speech_end_to_invite_ms": spread(speech_ms),
        # Apart: put through on the name itself, and on the ja to "Bedoelt u …?".
        "speech_end_to_invite_ms_by": {"name": spread(direct), "ja": spread(confirmed)},
        "routed_by_voice": len(speech_ms),
        "ended": ended,
        "machine": machine(),
        "date": dt.date.today().isoformat(),
    }
    if path:
        report(path, figures)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0
