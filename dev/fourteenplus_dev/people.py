"""Callers made of people: whole callers for `bench dialogue` from the human corpus.

`shared/tools/human_corpus.py OUT` writes recordings of Dutch voice actors (Debian's
fillets-ng-data-nl): `negatives/` (sentences that name no municipality, each with an area
code) and `replies/` (answers that begin with ja or nee). None of them names a municipality,
so a caller made of them is one the dialogue must never put through by speech: they say a
sentence, say another when asked again, and answer nee to any "Bedoelt u …?". That is the
caller the issue "Callers are people" counts: how many are asked about a town they never
named, and how many are put through.

A caller's clips are one actor's where the corpus allows: the game's two fish (`-m-`, `-v-`
in a file's name) speak most of it; the other characters share one pool. The corpus is
whatever split the source directory holds (the tool writes the tune half only).
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import defaultdict
from pathlib import Path

FAMILY = "human"
FISH = ("m", "v")  # the game's two leading voices, by the third part of a clip's name


def speaker(name: str) -> str:
    """Who speaks a clip, by its file name (the level first, then, in some order, the scene,
    the speaker and the line: "linux-m-ukolem", "fdto-hybeme-v", "hardware-pz-m-co"): one of
    the two fish, or "other" for the game's other characters."""
    fish = [part for part in Path(name).stem.split("-")[1:] if part in FISH]
    return fish[0] if fish else "other"


def _manifest(directory: Path) -> list[dict[str, str]]:
    path = directory / "manifest.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: make the human corpus with shared/tools/human_corpus.py OUT")
    with path.open() as handle:
        return list(csv.DictReader(handle))


def build(out: Path, people: Path, count: int, columns: tuple[str, ...], seed: int = 7) -> int:
    """Up to `count` callers in `out` (callers.csv in `columns`, and their clips), each from two of `people`'s
    negatives said by one speaker (first and second take, same area code), that speaker's ja
    and nee where the replies hold one. Returns how many were written."""
    negatives = _manifest(people / "negatives")
    replies = _manifest(people / "replies")
    answers: dict[str, dict[str, list[str]]] = {"yes": defaultdict(list), "no": defaultdict(list)}
    for row in replies:
        if row["expected"] in answers:
            answers[row["expected"]][speaker(row["file"])].append(row["file"])
    if not answers["yes"] or not answers["no"]:
        raise ValueError(f"{people / 'replies'} holds no ja or no nee: a caller needs both")
    rng = random.Random(seed)
    pools: dict[tuple[str, str], list[str]] = defaultdict(list)  # (speaker, area code) → sentences
    for row in negatives:
        pools[(speaker(row["file"]), row["area_code"])].append(row["file"])
    pairs = []
    for (who, code), files in sorted(pools.items()):
        rng.shuffle(files)
        pairs += [(who, code, files[i], files[i + 1]) for i in range(0, len(files) - 1, 2)]
    rng.shuffle(pairs)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (who, code, first, second) in enumerate(pairs[:count]):
        caller = f"people-caller-{index:04d}"
        clips = {"first": ("negatives", first), "second": ("negatives", second)}
        for part in ("yes", "no"):
            own = answers[part].get(who) or [f for files in answers[part].values() for f in files]
            clips[part] = ("replies", rng.choice(sorted(own)))
        row = {"caller": caller, "area_code": code, "expected": "none", "voice_family": FAMILY,
               "department": "", "topic": ""}
        for part, (folder, name) in clips.items():
            row[part] = f"{caller}-{part}.wav"
            shutil.copyfile(people / folder / name, out / row[part])
        rows.append(row)
    with (out / "callers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
