"""A clip corpus's manifest (`fourteenplus corpus DIR`, shared/tools/human_corpus.py): its rows
read, each clip of people marked with its family, and a fixed draw of them, for the benches
that read clips (`bench recognition`, `bench fit`, `bench workers`)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HUMAN = "human"


def read_manifest(corpus: Path) -> list[dict]:
    """A corpus's manifest rows, each file as a path, each clip of people (the layout of
    `shared/tools/human_corpus.py`: a transcripts.csv beside the corpus that names its clips,
    `<corpus>/<file>`) marked with the human family."""
    rows = list(csv.DictReader((corpus / "manifest.csv").open()))
    human: set[str] = set()
    for listing in (corpus / "transcripts.csv", corpus.parent / "transcripts.csv"):
        if listing.exists():
            human |= {str(listing.parent / row["file"]) for row in csv.DictReader(listing.open())}
    return [row | {"file": str(corpus / row["file"])} | ({"family": HUMAN} if str(corpus / row["file"]) in human else {})
            for row in rows]


def drawn(rows: list[dict], count: int) -> list[dict]:
    """At most `count` first takes of a corpus's rows (0: all), drawn alike on every run so runs
    compare, each with its repeat."""
    firsts = [row for row in rows if not row.get("repeat_of")]
    if not count or len(firsts) <= count:
        return rows
    kept = {row["file"] for row in random.Random(32).sample(firsts, count)}
    return [row for row in rows if row["file"] in kept
            or (row.get("repeat_of") and str(Path(row["file"]).parent / row["repeat_of"]) in kept)]
