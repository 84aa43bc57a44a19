"""`fourteenplus bench endpoint DIR …`: where a turn ends on noisy lines, this endpointer against
another revision's, in one run on the same audio.

Each clip of a corpus (manifest.csv, as `fourteenplus corpus` writes it, or a human split's
transcripts.csv) is padded with line before and after the words (2 s and 6 s: a caller is on
the line before speaking and stays on it after), mixed with each line condition, passed
through G.711 µ-law and fed frame by frame to each endpointer as the ARI adapter feeds it:
from the start of the padded clip, an "end" resets it and it listens on. The line conditions
are those of `shared/tools/line_conditions.py` (its noises, cut to the telephone band, at an
SNR against the words' active level), at the SNRs asked for here; "clean" is the clip with
its own line hiss around it.

Per clip, the first utterance is the caller's turn:
- false start: it opened more than 0.2 s before the words;
- missed: nothing opened;
- backstop: it ran into the endpointer's cut-off (`listen.max_speech_ms`);
- early: it ended before the words did (a name cut in two);
- otherwise its end less the words' true end (from the clean clip), in seconds;
- first words left out: of the turns that ended (or ended early), those whose speech as the
  recogniser hears it (`vad.Spoken.speech`) begins more than 0.1 s after the words do.
The same noise without the words is fed on its own: any utterance there is a false start.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import random
import subprocess
import sys
import time
import types
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import lines as line_conditions
from ..benchfile import machine, write_block
from fourteenplus.config import DEFAULTS
from fourteenplus.speech import audio, vad

CONDITIONS = ("clean", "car20", "car10", "babble20", "babble10", "street20", "street10")
EARLY_START_S = 0.2
# The speech the recogniser hears begins this long after the words (the endpointer's pad is
# 0.1 s before its first frame of speech): a first word left out ("Nee," before "alle Gralen").
LATE_ONSET_S = 0.1


def configure(sub) -> None:
    endpoint = sub.add_parser("endpoint", help="where a turn ends on noisy lines: this endpointer against another "
                                               "revision's, on padded clips mixed with line noise")
    endpoint.add_argument("dir", type=Path, nargs="+",
                          help="corpus directories (manifest.csv, or a human split's transcripts.csv)")
    endpoint.add_argument("--against", default="main",
                          help="the git revision whose fourteenplus/speech/vad.py is the old endpointer (default main)")
    endpoint.add_argument("--conditions", default=",".join(CONDITIONS),
                          help=f"comma-separated line conditions (default {','.join(CONDITIONS)})")
    endpoint.add_argument("--count", type=int, default=0, help="at most this many clips per corpus (0: all)")
    endpoint.add_argument("--pad-before", type=float, default=2.0)
    endpoint.add_argument("--pad-after", type=float, default=6.0)
    endpoint.add_argument("--lines", type=Path, default=line_conditions.TOOL, help="the line conditions tool (its noises)")
    endpoint.add_argument("--settings", action="append", default=[], metavar="NAME=VALUE,…",
                          help="also run this endpointer at other settings (`speech.vad.Settings`), repeatable: "
                               "a tuning A/B in the same run")
    endpoint.add_argument("--report", type=Path, help="write the tables into this markdown file, between markers")
    endpoint.add_argument("--marker", default="bench", help="the results block to write (default: bench)")


def old_vad(revision: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{revision}:fourteenplus/speech/vad.py"], check=True,
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3]).stdout
    spec = importlib.util.spec_from_loader("_old_vad", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "_old_vad.py", "exec"), module.__dict__)
    return module


def clips(corpus: Path, count: int) -> list[tuple[Path, str]]:
    """(path, voice family) of a corpus's clips with words in them."""
    if (corpus / "manifest.csv").exists():
        with open(corpus / "manifest.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("kind") != "silence" and r.get("text")]
        found = [(corpus / r["file"], family(r.get("voice", ""))) for r in rows]
    else:
        with open(corpus / "transcripts.csv", newline="") as f:
            found = [(corpus / r["file"], "human") for r in csv.DictReader(f)]
    if count and len(found) > count:
        found = random.Random(32).sample(found, count)
    return found


def family(voice: str) -> str:
    return "mbrola" if voice.startswith("mb-") else "espeak" if voice.startswith("nl") else "accents"


def words(samples: np.ndarray) -> tuple[float, float]:
    """Start and end (s) of the words in a clip: frames 12 dB over its quietest tenth."""
    frames = samples[: len(samples) // vad.FRAME * vad.FRAME].reshape(-1, vad.FRAME)
    levels = np.array([vad.frame_level_db(f) for f in frames])
    loud = np.flatnonzero(levels > np.percentile(levels, 10) + 12)
    return float(loud[0] * vad.FRAME / vad.RATE), float((loud[-1] + 1) * vad.FRAME / vad.RATE)


def line_level(clean: np.ndarray, first: float, last: float) -> float:
    """The rms of the clip's own line: its frames before and after the words (so "clean"
    pads the clip with the line it already has, not a quieter one)."""
    frames = clean[: len(clean) // vad.FRAME * vad.FRAME].reshape(-1, vad.FRAME)
    power = np.mean(frames ** 2, axis=1)
    times = np.arange(len(frames)) * vad.FRAME / vad.RATE
    outside = power[(times < first - 0.1) | (times > last + 0.1)]
    return float(np.sqrt(np.median(outside) if len(outside) else np.percentile(power, 10)))


def line(condition: str, padded: np.ndarray, hiss: float, lines: line_conditions.Lines, seed: int) -> np.ndarray:
    """The words on the line (float samples), the noise at its SNR against them. The clip's
    own line (`hiss`) lies under the padding too: a corpus clip carries its hiss, and a line
    that rose by it as the words began (a quiet noise at 20 dB lies below it) held turns open
    to the clip's end, which no call has."""
    rng = np.random.default_rng(seed)
    n = len(padded)
    lined = padded + rng.standard_normal(n) * hiss
    if condition == "clean":
        return lined
    kind, snr = condition.rstrip("0123456789"), condition.lstrip("abcdefghijklmnopqrstuvwxyz")
    if kind not in ("car", "babble", "street") or not snr:
        raise SystemExit(f"unknown condition {condition}: one of {', '.join(CONDITIONS)}")
    return lines.tool.at_snr(lined, lines.noise(kind, n, rng), int(snr))


def turns(endpointer, samples: np.ndarray, max_frames: int) -> tuple[list[tuple[float, float, bool, float | None]], float]:
    """Every utterance as (start s, end s, cut off, where the speech the recogniser hears
    begins, s), as the adapter hears them; and µs per frame."""
    found: list[tuple[float, float, bool, float | None]] = []
    start = None
    frames = len(samples) // vad.FRAME
    began = time.perf_counter()
    for i in range(frames):
        event = endpointer.feed(samples[i * vad.FRAME:(i + 1) * vad.FRAME])
        at = (i + 1) * vad.FRAME / vad.RATE
        if event == vad.TurnEvent.START:
            start = at
        elif event == vad.TurnEvent.END and start is not None:
            cut = at - start >= (max_frames - 1) * vad.FRAME / vad.RATE
            found.append((start, at, cut, None if cut else heard_from(endpointer.utterance(), i + 1,
                                                                      endpointer.settings.end_frames)))
            endpointer.reset()
            start = None
    if start is not None:
        found.append((start, frames * vad.FRAME / vad.RATE, False, None))
    return found, (time.perf_counter() - began) / max(frames, 1) * 1e6


def heard_from(utterance, ended: int, end_frames: int) -> float | None:
    """Where the speech of an utterance that ended in quiet at frame `ended` begins (s): it
    leaves out the quiet that ended it but its tail (`vad._TAIL_FRAMES`)."""
    if utterance.span is None:
        return None
    last = ended - (end_frames - vad._TAIL_FRAMES)
    return ((last - len(utterance.samples) // vad.FRAME) * vad.FRAME + utterance.span[0]) / vad.RATE


def judge(found, first: float, last: float) -> tuple[str, float | None]:
    if not found:
        return "missed", None
    start, end, cut, _ = found[0]
    if start < first - EARLY_START_S:
        return "false start", None
    if cut:
        return "backstop", None
    if end < last:
        return "early", end - last
    return "ended", end - last


def _at(settings: vad.Settings) -> Callable[[], vad.Endpointer]:
    return lambda: vad.Endpointer(settings)


def main(args: argparse.Namespace) -> int:
    lines = line_conditions.Lines(line_conditions.load_tool(args.lines))
    max_frames = DEFAULTS["listen"]["max_speech_ms"] // 20
    endpointers: dict[str, Callable[[], Any]] = {"new": lambda: vad.Endpointer(vad.Settings(max_frames=max_frames))}
    for variant in args.settings:
        changed = {k: type(getattr(vad.Settings(), k))(float(v)) for k, v in (kv.split("=") for kv in variant.split(","))}
        endpointers[f"new {variant}"] = _at(vad.Settings(max_frames=max_frames, **changed))
    old = old_vad(args.against)
    endpointers[f"old ({args.against})"] = lambda: old.Endpointer(old.Settings(max_frames=max_frames))
    conditions = args.conditions.split(",")
    # (endpointer, condition, family) → outcomes, end delays, noise-only false starts, µs per frame
    tally: dict[tuple[str, str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    seed = 0
    for corpus in args.dir:
        for path, fam in clips(corpus, args.count):
            clean = audio.read_telephone(path).astype(np.float64)
            first, last = words(clean.astype(np.int16))
            before, after = int(args.pad_before * vad.RATE), int(args.pad_after * vad.RATE)
            padded = np.concatenate([np.zeros(before), clean, np.zeros(after)])
            hiss = line_level(clean, first, last)
            for condition in conditions:
                seed += 1
                mixed = line(condition, padded, hiss, lines, seed)
                heard, noise = line_conditions.telephone(mixed), line_conditions.telephone(mixed - padded)
                for name, make in endpointers.items():
                    t = tally[(name, condition, fam)]
                    found, us = turns(make(), heard, max_frames)
                    outcome, delay = judge(found, first + args.pad_before, last + args.pad_before)
                    t["outcome"].append(outcome)
                    if outcome in ("ended", "early") and found[0][3] is not None:
                        t["onset"].append(found[0][3] - first - args.pad_before)
                    if delay is not None:
                        t["delay"].append(delay)
                    t["us"].append(us)
                    t["noise_starts"].append(len(turns(make(), noise, max_frames)[0]))
            print(f"{path.name} done", file=sys.stderr, flush=True)
    table = render(tally, args, conditions)
    print(table)
    if args.report:
        write_block(args.report, args.marker, table, "Endpointer bench")
    return 0


def render(tally, args, conditions) -> str:
    head = (f"{dt.date.today().isoformat()}, {', '.join(str(d) for d in args.dir)}, "
            f"{args.pad_before:g} s of line before the words and {args.pad_after:g} s after, "
            f"old = `{args.against}`; {machine()}\n\n"
            "| endpointer | line | family | clips | ended | backstop | false start | missed | early "
            "| end − words' end p50 / p90 (s) | first words left out | heard from − words' start p10 / p50 / p90 (s) "
            "| noise-only clips opened | µs per frame |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    names = sorted({k[0] for k in tally}, key=lambda n: (not n.startswith("new"), n))
    families = sorted({k[2] for k in tally})
    for condition in conditions:
        for fam in families + ["all"]:
            for name in names:
                keys = [k for k in tally if k[0] == name and k[1] == condition and (fam == "all" or k[2] == fam)]
                if not keys:
                    continue
                merged: dict[str, list] = defaultdict(list)
                for k in keys:
                    for field, values in tally[k].items():
                        merged[field] += values
                outcomes = merged["outcome"]
                count = {o: outcomes.count(o) for o in ("ended", "backstop", "false start", "missed", "early")}
                delays = [d for d, o in zip(merged["delay"], [o for o in outcomes if o in ("ended", "early")])
                          if o == "ended"]
                spread = (f"{np.percentile(delays, 50):.2f} / {np.percentile(delays, 90):.2f}" if delays else "–")
                opened = sum(1 for n in merged["noise_starts"] if n)
                onsets = merged["onset"]
                late = sum(1 for o in onsets if o > LATE_ONSET_S)
                onset = " / ".join(f"{np.percentile(onsets, p):.2f}" for p in (10, 50, 90)) if onsets else "–"
                rows.append(f"| {name} | {condition} | {fam} | {len(outcomes)} | {count['ended']} | "
                            f"{count['backstop']} | {count['false start']} | {count['missed']} | {count['early']} | "
                            f"{spread} | {late} | {onset} | {opened} | {np.mean(merged['us']):.0f} |")
    return head + "\n" + "\n".join(rows)
