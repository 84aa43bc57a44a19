"""Real telephone lines for the benches: a caller's words as their line delivers them.

The lines are those of `line_conditions.py`, a tool of the shared checkout beside this
repository (`../shared/tools/`, not part of it: a bench that needs it says where it looked):
- `car<SNR>`, `babble<SNR>`, `street<SNR>`: an engine, other Dutch voices talking at once
  (the human tune split's actors only), pink noise and voices; cut to the telephone band and
  mixed <SNR> dB below the words' active level (the tool's 10 and 5 dB, and any other, such as
  20 dB, the mildest of the classic noisy-telephone benchmarks);
- `amr12`, `amr4`: a mobile leg, AMR-NB at 12.2 and 4.75 kbit/s; `loss5`: 5 % of the packets
  lost in bursts; `quiet`: a soft talker, 20 dB lower (the tool's own, as it names them);
- `clean`: the clip as the corpus holds it, which has a line of its own (the synthetic
  corpora put most clips in 10–25 dB of noise);
- `alaw`, `alaw-ulaw` (ours, not the tool's): a Dutch carrier's A-law line as the ARI app
  hears it, through an externalMedia channel in linear audio (`asterisk.ari.media: slin`: the
  line's one companding) or in μ-law (the default: A-law, then μ-law).
Every other line ends in G.711 µ-law, as the tool's corpora do.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np

from fourteenplus.speech import audio

TOOL = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "line_conditions.py"
CLEAN = "clean"
CODECS = ("amr12", "amr4", "loss5", "quiet")
LAWS = {"alaw": ("alaw",), "alaw-ulaw": ("alaw", "ulaw")}  # a line's companding, in order
_NOISE = re.compile(r"(car|babble|street)(\d{1,2})")
# A caller in noise is in it before they speak and after (the endpointer learns the line
# while the question plays): the seconds of it around each clip in the dialogue bench.
# After: the endpointer's cut-off and its wait for quiet, so a turn the noise holds open
# runs into the cut-off there as it would on the phone.
BEFORE_S, AFTER_S = 2.0, 9.0


def parse(text: str) -> tuple[str, ...]:
    """`--line`: comma-separated line conditions, each one checked (`clean` is always run)."""
    names = tuple(item.strip() for item in text.split(",") if item.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one line condition")
    for name in names:
        if name != CLEAN and name not in CODECS and name not in LAWS and not _NOISE.fullmatch(name):
            raise argparse.ArgumentTypeError(
                f"{name!r} is no line condition: car<SNR>, babble<SNR>, street<SNR> (SNR in dB, e.g. car20), "
                f"{', '.join((*CODECS, *LAWS))} or {CLEAN}")
    return names


def conditions(given: list[tuple[str, ...]] | None) -> tuple[str, ...]:
    """The repeated `--line` options as one run's conditions: `clean` first (the figures the
    others stand beside), each once, in the order given; () without any."""
    if not given:
        return ()
    return tuple(dict.fromkeys((CLEAN, *(name for names in given for name in names))))


class ToolMissing(SystemExit):
    """The shared tool is not beside this checkout: an engineer's error, said precisely."""


def load_tool(path: Path = TOOL) -> types.ModuleType:
    """`line_conditions.py`, imported by path (it is no package of ours)."""
    if not path.is_file():
        raise ToolMissing(
            f"line conditions need the shared tool {path}, which is not there: it lives in the shared checkout "
            "beside this repository (../shared/tools/line_conditions.py); name it with --lines PATH, or run "
            "without --line")
    spec = importlib.util.spec_from_file_location("_line_conditions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def telephone(x: np.ndarray, laws: tuple[str, ...] = ("ulaw",)) -> np.ndarray:
    """Float samples through G.711 (µ-law, or `laws` one after the other), as int16."""
    samples = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    for law in laws:
        samples = audio.decode(audio.encode(samples, law), law)
    return samples


# A clip as its line delivers it: (the line before it, the clip, the line after it); a line
# without sound of its own has None around the clip.
Placed = tuple[np.ndarray | None, np.ndarray, np.ndarray | None]


class Lines:
    """The tool's conditions applied to clips. A clip's line is drawn from its seed alone
    (`around`, `apply`), so it does not depend on the clips or lines run before it; `noise`
    without a seed draws the voices from one stream in the order clips come, as the endpointer
    bench has always drawn them."""

    def __init__(self, tool: types.ModuleType):
        self.tool = tool
        self._babble: Any = None

    def babble(self, n: int, talkers: int = 6, seed: int | None = None) -> np.ndarray:
        if self._babble is None:  # reads the game's clips: only for a line that needs voices
            self._babble = self.tool.Babble(random.Random(34))
        if seed is not None:
            self._babble.rng = random.Random(seed)  # which voices, from where: this clip's own draw
        return self._babble(n, talkers)

    def noise(self, kind: str, n: int, rng: np.random.Generator, seed: int | None = None) -> np.ndarray:
        """`n` samples of a noise kind (car, babble, street), at no level yet; the voices of
        babble drawn from `seed` (None: the stream)."""
        if kind == "car":
            return self.tool.car(n, rng)
        if kind == "babble":
            return self.babble(n, seed=seed)
        if kind == "street":
            p, b = self.tool.pink(n, rng), self.babble(n, 3, seed)
            return p / p.std() + b / (b.std() + 1e-9)
        raise ValueError(f"no noise {kind!r}")

    def apply(self, condition: str, clip: np.ndarray, seed: int) -> np.ndarray:
        """A clip (int16) as the line delivers it."""
        return self.around(condition, clip, seed, 0.0, 0.0)[1]

    def around(self, condition: str, clip: np.ndarray, seed: int, before_s: float = BEFORE_S,
               after_s: float = AFTER_S) -> Placed:
        """(the line before the clip, the clip on it, the line after it), int16. The noise runs
        on from `before_s` before the words to `after_s` after them, at its SNR against the
        words; a line without noise of its own (clean, a codec, loss, a soft talker) has
        nothing around the clip (None: the listener's own hiss)."""
        x = np.asarray(clip, dtype=np.float64)
        if condition == CLEAN:
            return None, np.asarray(clip, dtype=np.int16), None
        if condition in LAWS:
            return None, telephone(x, LAWS[condition]), None
        found = _NOISE.fullmatch(condition)
        if found is None:
            with tempfile.TemporaryDirectory() as tmp:
                return None, telephone(self.tool.condition(condition, x, random.Random(seed), None, tmp)), None
        kind, snr = found.group(1), int(found.group(2))
        before, after = int(before_s * audio.TELEPHONE_RATE), int(after_s * audio.TELEPHONE_RATE)
        padded = np.concatenate([np.zeros(before), x, np.zeros(after)])
        noise = self.noise(kind, len(padded), np.random.default_rng(seed), seed)
        heard = telephone(self.tool.at_snr(padded, noise, snr))
        return heard[:before], heard[before:before + len(x)], heard[before + len(x):]


    def call(self, condition: str, clips: list[np.ndarray], seeds: list[int]) -> list[Placed]:
        """A caller's clips on one line through the call, each as `around` gives it: a noise
        runs on from one clip's stretch into the next at one level (its SNR against the first
        clip's words), as the people around a caller go on talking at one distance; drawn from
        the first seed. A line without noise of its own: each clip from its own seed."""
        found = _NOISE.fullmatch(condition)
        if found is None:
            return [self.around(condition, clip, seed) for clip, seed in zip(clips, seeds)]
        kind, snr = found.group(1), int(found.group(2))
        before, after = int(BEFORE_S * audio.TELEPHONE_RATE), int(AFTER_S * audio.TELEPHONE_RATE)
        padded = [np.concatenate([np.zeros(before), np.asarray(clip, np.float64), np.zeros(after)]) for clip in clips]
        noise = self.tool.band(self.noise(kind, sum(map(len, padded)), np.random.default_rng(seeds[0]), seeds[0]))
        gain = np.sqrt(self.tool.active_level(padded[0]) / ((noise**2).mean() + 1e-9) / 10 ** (snr / 10))
        placed: list[Placed] = []
        at = 0
        for x, clip in zip(padded, clips):
            heard = telephone(x + gain * noise[at:at + len(x)])
            at += len(x)
            placed.append((heard[:before], heard[before:before + len(clip)], heard[before + len(clip):]))
        return placed


def options(parser: argparse.ArgumentParser) -> None:
    """`--line` and `--lines`, as every bench on lines takes them."""
    parser.add_argument("--line", type=parse, action="append", metavar="CONDITION,…",
                        help="also pass every clip through these line conditions (repeatable): car<SNR>, "
                             "babble<SNR>, street<SNR> (e.g. car20, babble10), amr12, amr4, loss5, quiet, alaw (an A-law "
                             "line heard as slin), alaw-ulaw (heard through μ-law); each "
                             "line's figures per voice family beside the clean line's, in the same run")
    parser.add_argument("--lines", type=Path, default=TOOL, help=f"the line conditions tool (default {TOOL})")


def table(per_line: dict[str, dict], families: str, columns, run: dict) -> str:
    """The lines' figures as a markdown table, each voice family's lines together (the clean
    line first), then all families': `per_line` maps a line to its figures, which hold each
    family's under `families`; `columns` are (heading, figures → cell)."""
    names = sorted({family for figures in per_line.values() for family in figures[families]})
    rows = [f"{run['date']}, {run['corpus']}; {run['machine']}", "",
            "| family | line | " + " | ".join(heading for heading, _ in columns) + " |",
            "| --- | --- | " + " | ".join("---" for _ in columns) + " |"]
    for family in [*names, "all"]:
        for condition, figures in per_line.items():
            cell = figures if family == "all" else figures[families].get(family)
            if cell is not None:
                rows.append(f"| {family} | {condition} | " + " | ".join(show(cell) for _, show in columns) + " |")
    return "\n".join(rows)
