"""`fourteenplus bench dialogue DIR`: whole callers through the real call flow, judged per caller.

DIR holds callers.csv (caller,area_code,expected,first,second,yes,no,voice_family; expected
"none" for a caller who names no municipality) and the clips it names, as `fourteenplus
corpus DIR --callers` writes them. Every caller goes through `callflow.CallFlow` with the
real `SpeechService` (`simulation.Simulation` plays the caller and keeps the time), and
through the keypad-only menu of their area, the anchor speech must beat on time.

The configuration connects every municipality of the corpus's areas (the directory's order
is the menu's), with the shipped thresholds unless others are given: the bench measures what
an installation does by default. Callers of area code `national` (`corpus --callers
--national`) dial a national number, and every municipality of the country is connected: a
caller is right when put through to theirs (one not connected would hear its 14+ number on
the same decision). They have no keypad menu to compare with.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..benchfile import write_block
from fourteenplus.callflow import KEYPAD, NAME, REPLY
from fourteenplus.config import DEFAULTS, Service, Thresholds, load_service
from fourteenplus.numberplan import NATIONAL
from fourteenplus.paths import cache_dir
from ..simulation import BARGE_IN_S, Caller, Outcome, PromptAudio, Simulation, keypad_menu_seconds
from fourteenplus.speech import Recognition
from fourteenplus.speech.service import Answer, SpeechService
from ..stats import spread


class TimedSpeech:
    """The real speech service as the simulation calls it, with each recognition's compute
    (`last_ms`). A clip heard before is not heard again (its cache): the candidates for a name
    do not depend on the thresholds (the flow decides from them), so a sweep of them runs in
    seconds; an answer does (ja at `reply_yes`, nee at `reply_no`), so it is cached per
    thresholds. A clip's compute is the one measured the first time."""

    def __init__(self, service: SpeechService):
        self.service = service
        self.last_ms = 0.0
        self._cache: dict[tuple[str, str, object], tuple[Recognition | Answer, float]] = {}

    def _timed(self, samples: np.ndarray, mode: str, context: object,
               hear: Callable[[], Recognition | Answer]) -> Recognition | Answer:
        key = (hashlib.sha1(samples.tobytes()).hexdigest(), mode, context)
        if key in self._cache:
            result, self.last_ms = self._cache[key]
            return result
        started = time.perf_counter()
        result = hear()
        self.last_ms = (time.perf_counter() - started) * 1000
        self._cache[key] = (result, self.last_ms)
        return result

    def recognize_now(self, samples: np.ndarray, area_code: str) -> Recognition:
        result = self._timed(samples, NAME, area_code, lambda: self.service.recognize_now(samples, area_code))
        assert isinstance(result, Recognition)
        return result

    def reply_now(self, samples: np.ndarray, area_code: str | None = None, asked: str | None = None) -> Answer:
        # Per question too: a name said with the answer is judged against the one asked about.
        result = self._timed(samples, REPLY, (self.service.thresholds, area_code, asked),
                             lambda: self.service.reply_now(samples, area_code=area_code, asked=asked))
        assert isinstance(result, Answer)
        return result

    def stages(self) -> dict:
        """Each stage's compute over every clip heard (names and replies apart)."""
        from .bench import stages

        heard = list(self._cache.items())
        return {mode: stages([result for (_, heard_as, _), (result, _) in heard if heard_as == mode])
                for mode in (NAME, REPLY)}


def read_callers(corpus: Path) -> list[Caller]:
    from fourteenplus.speech import audio

    callers = []
    for row in csv.DictReader((corpus / "callers.csv").open()):
        clips = {part: audio.read_telephone(corpus / row[part]) for part in ("first", "second", "yes", "no")}
        callers.append(Caller(row["caller"], row["area_code"], None if row["expected"] == "none" else row["expected"],
                              voice_family=row.get("voice_family", ""), **clips))
    return callers


def bench_service(areas: set[str], thresholds: Thresholds, questions: int) -> Service:
    """Every municipality of these areas connected, through the configuration's own loader."""
    from fourteenplus.directory import load_directory

    directory = load_directory()
    lines = ["municipalities:"]
    names = sorted(directory.municipalities) if NATIONAL in areas else \
        sorted({m for code in areas for m in directory.areas[code].municipalities})
    lines += [f"  {json.dumps(name)}: {{trunk: PJSIP/{directory.municipalities[name].slug}@bench}}" for name in names]
    if NATIONAL in areas:
        lines.append(f'national: {{numbers: ["{NATIONAL_NUMBER}"]}}')
    areas = areas - {NATIONAL}
    lines.append("areas:" if areas else "")
    for code in sorted(areas):
        members = directory.areas[code].municipalities
        lines.append(f'  "{code}": {{municipalities: {json.dumps(list(members))}, default: {json.dumps(members[0])}}}')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text("\n".join(lines) + "\n")
        service = load_service(path, directory)
    listen = dataclasses.replace(service.listen, questions=questions)
    return dataclasses.replace(service, thresholds=thresholds, listen=listen)


NATIONAL_NUMBER = "08001414"  # what the bench's national callers dial


def dialled(area_code: str) -> str:
    return NATIONAL_NUMBER if area_code == NATIONAL else "14" + area_code


def barge_ins(count: int, share: float, seed: int) -> list[float | None]:
    """For each of `count` callers, how far into the question they start talking (None: they
    wait for the end of every prompt). Drawn from `seed` alone, so the callers who barge in at
    a share are among those who do at any larger share."""
    draws = np.random.default_rng(seed).random((count, 2))
    low, high = BARGE_IN_S
    return [round(low + (high - low) * at, 3) if chosen < share else None for chosen, at in draws]


def run_callers(callers: list[Caller], service: Service, speech, audio: PromptAudio,
                barge_in: float = 0.0, seed: int = 0) -> list[Outcome]:
    from fourteenplus.callflow import CallFlow

    outcomes = []
    for caller, barge_in_s in zip(callers, barge_ins(len(callers), barge_in, seed)):
        outcome = Simulation(CallFlow(service, dialled(caller.area_code)), caller, speech, audio, barge_in_s).run()
        outcome.keypad_menu_s = keypad_menu_seconds(caller, service.plan(caller.area_code), audio)
        outcomes.append(outcome)
    return outcomes


def figures(outcomes: list[Outcome]) -> dict:
    """The issue's figures over these callers (counts are integers)."""
    names = [o for o in outcomes if o.expected is not None]
    negatives = [o for o in outcomes if o.expected is None]
    routed = [o for o in names if o.municipality is not None]
    compute = [ms for o in outcomes for ms in o.compute_ms]
    right_first = sum(o.first_answer for o in names)
    by_speech = sum(o.right and o.by_speech for o in names)
    speech = spread([o.seconds for o in routed])
    keypad = spread([o.keypad_menu_s for o in routed if o.keypad_menu_s is not None])
    result: dict[str, object] = {
        "callers": len(outcomes),
        "names": len(names),
        "negatives": len(negatives),
        "right_first_answer": right_first,
        "right_by_speech": by_speech,
        "right": sum(o.right for o in names),
        "wrong": sum(o.wrong for o in names),
        "negatives_transferred_by_speech": sum(o.by_speech and o.municipality is not None for o in negatives),
        "first_take_top1": sum(o.first_take_rank == 1 for o in names),
        "first_take_top3": sum(1 <= o.first_take_rank <= 3 for o in names),
        "asked_name_again": sum(o.name_takes > 1 for o in names),
        "reached_keypad_menu": sum(o.path == KEYPAD for o in names),
        "questions_per_caller": round(sum(o.questions for o in outcomes) / len(outcomes), 2) if outcomes else 0.0,
        "prompts_stopped_by_speech": sum(o.prompts_stopped for o in outcomes),
        "time_to_transfer_s": speech,
        "keypad_menu_s": keypad,
        "compute_ms": spread(compute),
        # End of the caller's words → the answer ready, per utterance: what the caller waits
        # in silence before the transfer or the next prompt (the transfer's own ms not included).
        "speech_end_to_answer_ms": {mode: spread([ms for o in outcomes for ms in o.answer_waits_ms.get(mode, [])])
                                    for mode in (NAME, REPLY)},
    }
    if names:
        result["right_first_answer_share"] = round(right_first / len(names), 4)
        result["right_by_speech_share"] = round(by_speech / len(names), 4)
    if speech["n"] and keypad["n"]:
        result["median_time_ratio"] = round(speech["p50"] / keypad["p50"], 2)
    return result


def report(outcomes: list[Outcome], thresholds: Thresholds, questions: int, corpus: Path,
           speech: TimedSpeech | None = None, barge_in: float = 0.0, seed: int = 0) -> dict:
    from .bench import machine

    families = sorted({o.voice_family for o in outcomes})
    return figures(outcomes) | ({"stages_ms": speech.stages()} if speech else {}) | {
        "by_voice_family": {family: figures([o for o in outcomes if o.voice_family == family]) for family in families},
        "thresholds": dataclasses.asdict(thresholds), "questions": questions, "settled": speech.service.settled if speech else None,
        "barge_in": barge_in, "seed": seed,
        "corpus": str(corpus), "machine": machine(), "date": dt.date.today().isoformat(),
    }


def write_outcomes(path: Path, outcomes: list[Outcome]) -> None:
    fields = ("caller", "expected", "voice_family", "municipality", "path", "seconds", "name_takes", "questions",
              "keys", "keypad_menu_s", "first_take_rank")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for o in outcomes:
            writer.writerow([getattr(o, f) for f in fields])


def main(args: argparse.Namespace) -> int:
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars

    if not (args.dir / "callers.csv").exists():
        print(f"{args.dir}/callers.csv not found: make a corpus with `fourteenplus corpus {args.dir} --callers`")
        return 2
    thresholds = Thresholds(**{name: getattr(args, name) for name in DEFAULTS["thresholds"]})
    callers = read_callers(args.dir)
    service = bench_service({c.area_code for c in callers}, thresholds, args.questions)
    speech = SpeechService(load_grammars(load_directory()), thresholds, settled=args.settled)
    speech.load()
    audio = PromptAudio.made(service, cache_dir() / "bench-prompts")
    timed = TimedSpeech(speech)
    outcomes = run_callers(callers, service, timed, audio, args.barge_in, args.seed)
    result = report(outcomes, thresholds, args.questions, args.dir, timed, args.barge_in, args.seed)
    result["prompt_seconds"] = audio.summary()
    if args.against:
        # The same callers on the same recognitions (the cache), at the other settings.
        other = dict(args.against)
        questions = int(other.pop("questions", args.questions))
        barge_in = other.pop("barge_in", args.barge_in)
        against = dataclasses.replace(thresholds, **other)
        other_outcomes = run_callers(callers, bench_service({c.area_code for c in callers}, against, questions),
                                     timed, audio, barge_in, args.seed)
        result["against"] = figures(other_outcomes) | {"thresholds": dataclasses.asdict(against),
                                                       "questions": questions, "barge_in": barge_in}
    if args.outcomes:
        write_outcomes(args.outcomes, outcomes)
    if args.report:
        write_block(args.report, args.marker, f"```json\n{json.dumps(result, indent=2, ensure_ascii=False)}\n```",
                    "Dialogue bench")
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"callers {result['callers']} (names {result['names']}, negatives {result['negatives']}): "
              f"right at the first answer {result['right_first_answer']}, by speech {result['right_by_speech']}, "
              f"right {result['right']}, wrong {result['wrong']}, negatives transferred by speech "
              f"{result['negatives_transferred_by_speech']}; time to transfer p50 "
              f"{result['time_to_transfer_s'].get('p50')} s against the keypad menu's "
              f"{result['keypad_menu_s'].get('p50')} s")
    return 0
