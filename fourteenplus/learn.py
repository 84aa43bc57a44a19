"""Learning from calls, under human control: proposed aliases, accepted or rejected by a person.

The evidence is a caller who was not understood and then showed what they meant: every name
they said in a call that reached a municipality through the keypad menu (a reject, or a
"Bedoelt u …?" answered "nee", then a key). What they said, without the words around a
name (`speech.matcher.content`), becomes a proposal "this phrase → that municipality, in this
area, seen N times, from M distinct callers" (callers counted by their keyed hash).

Not proposed: a phrase the area's grammar already routes (to the same municipality: the
recogniser missed it for other reasons; to another: it would make the grammar ambiguous, which
`fourteenplus check` refuses), and a proposal a person already decided on.

`accept` writes the phrase into `data/grammars/learned.yaml` in the format data/grammars/README.md
describes, then loads all grammars again; if they do not validate, the file is put back and
the errors are raised, so an accepted alias can never break `fourteenplus check`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from . import paths
from .grammar import Grammars, load_grammars
from .records import StoredCall
from .speech.matcher import content
from .text import fold
from .vocabulary import AttemptKind, CallPath

LEARNED_FILE = "learned.yaml"


@dataclass(frozen=True)
class Proposal:
    id: str
    area_code: str
    phrase: str
    municipality: str
    seen: int
    callers: int
    examples: tuple[str, ...]       # a few transcripts as heard, for the reviewer
    elsewhere: dict[str, int] = field(default_factory=dict)  # the same phrase ending at others: name → calls


def proposal_id(area_code: str, phrase: str, municipality: str) -> str:
    """Stable across runs and machines, so a reviewer can accept an id another listed."""
    return hashlib.sha256(f"{area_code}|{fold(phrase)}|{municipality}".encode()).hexdigest()[:8]


def propose(calls: Iterable[StoredCall], grammars: Grammars, decided: Iterable[str] = (),
            min_seen: int = 3, min_callers: int = 2) -> list[Proposal]:
    """Proposals from the records, most evidence first."""
    seen: Counter = Counter()
    callers: dict[tuple, set] = defaultdict(set)
    examples: dict[tuple, list[str]] = defaultdict(list)
    for call in calls:
        record = call.record
        if record.path != CallPath.KEYPAD or not record.municipality:
            continue
        for attempt in record.attempts:
            phrase = content(attempt.transcript) if attempt.kind == AttemptKind.NAME else ""
            if not phrase:
                continue
            key = (record.area_code, phrase, record.municipality)
            seen[key] += 1
            callers[key].add(call.caller_hash or f"unknown:{call.call_id}")  # withheld: each call its own
            if len(examples[key]) < 3 and attempt.transcript not in examples[key]:
                examples[key].append(attempt.transcript)
    endings: dict[tuple, Counter] = defaultdict(Counter)
    for (area, phrase, municipality), n in seen.items():
        endings[(area, phrase)][municipality] += n
    decided = set(decided)
    proposals = []
    for key, n in seen.items():
        area, phrase, municipality = key
        pid = proposal_id(*key)
        if pid in decided or n < min_seen or len(callers[key]) < min_callers or _routed(grammars, area, phrase):
            continue
        others = {m: c for m, c in endings[(area, phrase)].items() if m != municipality}
        proposals.append(Proposal(pid, area, phrase, municipality, n, len(callers[key]), tuple(examples[key]),
                                  others))
    return sorted(proposals, key=lambda p: (-p.callers, -p.seen, p.area_code, p.phrase))


def _routed(grammars: Grammars, area: str, phrase: str) -> bool:
    try:
        return any(p.key == fold(phrase) for p in grammars.area(area).phrases)
    except KeyError:
        return True  # an area the directory no longer has: nothing to learn for it


def accept(proposal: Proposal, reviewer: str, directory, folder: Path | None = None,
           today: dt.date | None = None) -> Path:
    """Write the alias into learned.yaml (merging with the same phrase learned in another area)."""
    folder = folder or paths.grammars_dir()
    path = folder / LEARNED_FILE
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    entries = (yaml.safe_load(before) or {}).get("learned") or []
    today = today or dt.date.today()
    same = next((e for e in entries if e["municipality"] == proposal.municipality
                 and fold(str(e["phrase"])) == fold(proposal.phrase)), None)
    if same is None:
        entries.append({"phrase": proposal.phrase, "municipality": proposal.municipality,
                        "areas": [proposal.area_code], "seen": proposal.seen, "callers": proposal.callers})
        same = entries[-1]
    elif proposal.area_code not in same["areas"]:
        # The grammar lists a phrase once per municipality, so another area widens the entry; the
        # counts add up (callers may then count one person heard in two areas twice).
        same["areas"].append(proposal.area_code)
        same["seen"] += proposal.seen
        same["callers"] += proposal.callers
    same["reviewed_by"], same["reviewed_on"] = reviewer, today
    path.write_text(_header(before) + _dump(entries), encoding="utf-8")
    try:
        load_grammars(directory, folder)
    except Exception:
        path.write_text(before, encoding="utf-8")
        raise
    return path


def _header(text: str) -> str:
    """The file's leading comments, kept as they are."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line + "\n")
    return "".join(lines)


def _dump(entries: list[dict]) -> str:
    """learned.yaml as a person would write it (data/grammars/README.md); strings as JSON, which YAML reads."""
    if not entries:
        return "learned: []\n"
    out = ["learned:\n"]
    for e in entries:
        reviewed_on = e["reviewed_on"] if isinstance(e["reviewed_on"], str) else e["reviewed_on"].isoformat()
        out += [f"  - phrase: {json.dumps(str(e['phrase']), ensure_ascii=False)}\n",
                f"    municipality: {json.dumps(e['municipality'], ensure_ascii=False)}\n",
                f"    areas: {json.dumps([str(a) for a in e['areas']])}\n",
                f"    reviewed_by: {json.dumps(str(e['reviewed_by']), ensure_ascii=False)}\n",
                f"    reviewed_on: {reviewed_on}\n",
                f"    seen: {int(e['seen'])}\n",
                f"    callers: {int(e['callers'])}\n"]
    return "".join(out)
