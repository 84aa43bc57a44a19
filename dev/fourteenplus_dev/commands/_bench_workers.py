"""`fourteenplus bench workers DIR`: recognition workers side by side, A against B in one run.

Each configuration (`--workers 1,2`: recognitions side by side, `speech.workers`) is a speech
service of its own with its own model, loaded once; the same names from DIR are then
recognised through each, K at once (`--at-once`), as a burst of callers who stopped speaking
together: through `SpeechService.recognize`, as the app does, so the queue, its order and the
shedding rule (a name with others waiting behind it is not primed) are the app's. No deadline:
on a machine others share, one would make the figures a count of timeouts; nor is anyone
turned away (the bench asks no admission). The configurations take turns burst by burst, in an order that alternates per
round, so that what the machine's other users do falls on each alike; each figure is the
median over the rounds, with the machine's load average beside it.

Per configuration and K: names per second (the burst's names over its wall time), CPU time
per name (every thread of this process: on a machine others share, where wall time is theirs
to take, what a node of its own would have to give), compute per name (the recogniser's own
`total_ms`), the caller's wait (submitted → answered, queue
included), how many names were shed to the unprimed recognition, and how many were routed right.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from fourteenplus.speech.vad import Spoken, whole_clip
from fourteenplus.vocabulary import Decision

from ..benchfile import machine
from ..manifest import drawn, read_manifest
from ..stats import spread

AT_ONCE = (1, 4, 8, 16)


@dataclass
class Cell:
    """One configuration at one K in one round."""
    seconds: float = 0.0  # wall time of its bursts
    cpu: float = 0.0  # CPU seconds this process spent in them, every thread
    compute: list[float] = field(default_factory=list)  # ms per name with speech
    waits: list[float] = field(default_factory=list)  # ms per name, submitted → answered
    shed: int = 0
    right: int = 0


def configure(sub) -> None:
    workers = sub.add_parser("workers", help="recognition workers side by side: names per second and compute per "
                                             "name with K recognitions at once, configurations interleaved")
    workers.add_argument("dir", type=Path, help="a names corpus (manifest.csv), tune split")
    workers.add_argument("--workers", type=lambda text: [int(v) for v in text.split(",")], default=[1, 2],
                         metavar="N,…", help="the configurations, recognitions side by side (default 1,2)")
    workers.add_argument("--at-once", type=lambda text: [int(v) for v in text.split(",")], default=list(AT_ONCE),
                         metavar="K,…", help="recognitions submitted together (default 1,4,8,16)")
    workers.add_argument("--names", type=int, default=16, help="names per configuration, K and round (default 16)")
    workers.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    workers.add_argument("--json", action="store_true", help="print the figures as JSON")


def _clips(corpus: Path, count: int) -> list[tuple[Spoken, str, str]]:
    """The names, each with its speech found (no endpointer cut them) before any is measured."""
    from fourteenplus.speech import audio

    rows = [row for row in drawn(read_manifest(corpus), 0) if not row.get("repeat_of")][:count]
    return [(whole_clip(audio.read_telephone(Path(row["file"]))), row["area_code"], row["expected"]) for row in rows]


async def _burst(service, clips) -> tuple[float, list[float], list]:
    """The clips submitted together: wall seconds, each caller's wait in ms, the results."""
    waits: list[float] = []

    async def one(spoken, area_code):
        submitted = time.perf_counter()
        result = await service.recognize(spoken, area_code, ended=time.monotonic())
        waits.append((time.perf_counter() - submitted) * 1000)
        return result

    started = time.perf_counter()
    results = await asyncio.gather(*(one(spoken, area_code) for spoken, area_code, _ in clips))
    return time.perf_counter() - started, waits, results


def measure(corpus: Path, configurations: list[int], at_once: list[int], names: int, rounds: int) -> dict:
    from fourteenplus.config import DEFAULTS, Thresholds
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars
    from fourteenplus.speech.service import SpeechService

    clips = _clips(corpus, names)
    grammars = load_grammars(load_directory())
    thresholds = Thresholds(**DEFAULTS["thresholds"])
    shed: dict[int, list[int]] = {n: [] for n in configurations}  # one entry per name shed (appends: thread-safe)
    services = {n: SpeechService(grammars, thresholds, workers=n, on_shed=partial(shed[n].append, 1))
                for n in configurations}
    for service in services.values():
        service.load()
    cells: dict[tuple[int, int], list[Cell]] = {(n, k): [] for n in configurations for k in at_once}  # per round
    loads = []

    async def main():
        for n in configurations:  # each model's first calls fill its caches: not measured
            await asyncio.gather(*(services[n].recognize(s, a) for s, a, _ in clips))
        for round_ in range(rounds):
            loads.append(os.getloadavg()[0])
            order = configurations if round_ % 2 == 0 else configurations[::-1]
            for k in at_once:
                per = {n: Cell() for n in configurations}
                for start in range(0, len(clips), k):
                    for n in order:  # burst by burst, the configurations alike
                        before, cpu = len(shed[n]), time.process_time()
                        seconds, waits, results = await _burst(services[n], clips[start:start + k])
                        cell = per[n]
                        cell.cpu += time.process_time() - cpu
                        cell.seconds += seconds
                        cell.waits += waits
                        cell.compute += [r.timings["total_ms"] for r in results if "total_ms" in r.timings]
                        cell.shed += len(shed[n]) - before
                        cell.right += sum(r.municipality == expected and r.decision != Decision.REJECT
                                             for r, (_, _, expected) in zip(results, clips[start:start + k]))
                for n in configurations:
                    cells[(n, k)].append(per[n])
        loads.append(os.getloadavg()[0])

    asyncio.run(main())
    for service in services.values():
        service.close()
    figures = []
    for (n, k), per_round in cells.items():
        def median(of) -> float:
            return round(statistics.median(of(cell) for cell in per_round), 1)
        figures.append({
            "workers": n, "threads_each": max(1, (os.cpu_count() or 1) // n), "at_once": k,
            "names_per_s": round(statistics.median(len(c.waits) / c.seconds for c in per_round), 2),
            "cpu_ms_per_name": round(statistics.median(c.cpu * 1000 / len(c.waits) for c in per_round)),
            "compute_p50_ms": median(lambda c: spread(c.compute)["p50"]),
            "compute_p95_ms": median(lambda c: spread(c.compute)["p95"]),
            "wait_p50_ms": median(lambda c: spread(c.waits)["p50"]),
            "wait_p95_ms": median(lambda c: spread(c.waits)["p95"]),
            "shed": sum(c.shed for c in per_round),
            "right": sum(c.right for c in per_round), "names": sum(len(c.waits) for c in per_round)})
    return {"figures": figures, "rounds": rounds, "names": len(clips), "corpus": str(corpus),
            "load_average_1m": [round(v, 2) for v in loads], "machine": machine(),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def table(result: dict) -> str:
    lines = ["| workers × threads | at once | names/s | CPU per name | compute per name p50 / p95 | wait p50 / p95 | "
             "shed | routed right |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in sorted(result["figures"], key=lambda f: (f["at_once"], f["workers"])):
        lines.append(f"| {f['workers']} × {f['threads_each']} | {f['at_once']} | {f['names_per_s']} | "
                     f"{f['cpu_ms_per_name']} ms | "
                     f"{f['compute_p50_ms']:.0f} / {f['compute_p95_ms']:.0f} ms | "
                     f"{f['wait_p50_ms']:.0f} / {f['wait_p95_ms']:.0f} ms | {f['shed']} of {f['names']} | "
                     f"{f['right']} |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    if not (args.dir / "manifest.csv").exists():
        print(f"{args.dir}/manifest.csv not found: make a corpus with `fourteenplus corpus --split tune {args.dir}`")
        return 2
    result = measure(args.dir, args.workers, args.at_once, args.names, args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
        print(f"{result['rounds']} rounds of {result['names']} names from {result['corpus']}; load average (1 min) "
              f"{result['load_average_1m']}; {result['machine']}; {result['date']}")
    return 0
