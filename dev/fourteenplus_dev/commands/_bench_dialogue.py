"""`fourteenplus bench dialogue DIR`: whole callers through the real call flow, judged per caller.

DIR holds callers.csv (caller,area_code,expected,first,second,yes,no,voice_family; expected
"none" for a caller who names no municipality; department,topic for a caller of a
municipality with departments, department "none" for one who names none) and the clips it names, as `fourteenplus
corpus DIR --callers` writes them. Every caller goes through `callflow.CallFlow` with the
real `SpeechService` (`simulation.Simulation` plays the caller and keeps the time), and
through the keypad-only menu of their area, the anchor speech must beat on time.

The configuration connects every municipality of the corpus's areas (the directory's order
is the menu's), with the shipped thresholds unless others are given: the bench measures what
an installation does by default. A corpus with department answers gets the shipped example's
departments too (Goes, Nijmegen), so its callers there hear the department question. Callers of area code `national` (`corpus --callers
--national`) dial a national number, and every municipality of the country is connected: a
caller is right when put through to theirs (one not connected would hear its 14+ number on
the same decision). They have no keypad menu to compare with.

With `--line` the same callers are also placed on real lines (`fourteenplus_dev.lines`): a
caller in noise is in it from before each answer to after it, one sound at one level through
the call, so the endpointer learns it while the prompt plays (and keeps it for the next
question, one endpointer per call) and a turn it holds open runs into the cut-off. Each line's figures
stand per voice family beside the clean line's, in the same run.
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
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import lines as line_conditions
from ..benchfile import machine, write_block
from fourteenplus.callflow import CallFlow
from fourteenplus.config import DEFAULTS, HistorySettings, Service, Thresholds, load_service
from fourteenplus.numberplan import NATIONAL
from fourteenplus.paths import cache_dir
from ..simulation import BARGE_IN_S, Caller, Outcome, PromptAudio, Simulation, keypad_menu_seconds, words_start
from fourteenplus.speech import Recognition, vad
from fourteenplus.speech.service import Answer, SpeechService
from fourteenplus.speech.vad import Spoken
from fourteenplus.vocabulary import SPOKEN_PATHS, CallPath, ListenMode
from ..stats import spread, stages


class TimedSpeech:
    """The real speech service as the simulation calls it, with each recognition's compute
    (`last_ms`). A clip heard before is not heard again (its cache): the candidates for a name
    do not depend on the thresholds (the flow decides from them), so a sweep of them runs in
    seconds; an answer does (ja at `reply_yes`, nee at `reply_no`), so it is cached per
    thresholds. A clip's compute is the one measured the first time."""

    def __init__(self, service: SpeechService):
        self.service = service
        self.last_ms = 0.0
        self._cache: dict[tuple[object, str, object], tuple[Recognition | Answer, float]] = {}

    def _timed(self, spoken: Spoken, mode: str, context: object,
               hear: Callable[[], Recognition | Answer]) -> Recognition | Answer:
        key = ((hashlib.sha1(spoken.samples.tobytes()).hexdigest(), spoken.span), mode, context)
        if key in self._cache:
            result, self.last_ms = self._cache[key]
            return result
        started = time.perf_counter()
        result = hear()
        self.last_ms = (time.perf_counter() - started) * 1000
        self._cache[key] = (result, self.last_ms)
        return result

    def recognize_now(self, spoken: Spoken, area_code: str) -> Recognition:
        result = self._timed(spoken, ListenMode.NAME, area_code,
                             lambda: self.service.recognize_now(spoken, area_code))
        assert isinstance(result, Recognition)
        return result

    def reply_now(self, spoken: Spoken, area_code: str | None = None, asked: str | None = None) -> Answer:
        # Per question too: a name said with the answer is judged against the one asked about.
        result = self._timed(spoken, ListenMode.REPLY, (self.service.thresholds, area_code, asked),
                             lambda: self.service.reply_now(spoken, area_code=area_code, asked=asked))
        assert isinstance(result, Answer)
        return result

    def department_now(self, spoken: Spoken, phrases: tuple[tuple[str, str], ...]) -> Recognition:
        result = self._timed(spoken, ListenMode.DEPARTMENT, phrases, lambda: self.service.department_now(spoken, phrases))
        assert isinstance(result, Recognition)
        return result

    def stages(self) -> dict:
        """Each stage's compute over every clip heard (names and replies apart)."""
        heard = list(self._cache.items())
        return {mode: stages([result for (_, heard_as, _), (result, _) in heard if heard_as == mode])
                for mode in (ListenMode.NAME, ListenMode.REPLY)}


PARTS = ("first", "second", "yes", "no")  # a caller's clips, as callers.csv names them


def read_callers(corpus: Path) -> list[Caller]:
    from fourteenplus.speech import audio

    callers = []
    for row in csv.DictReader((corpus / "callers.csv").open()):
        clips: dict[str, Any] = {part: audio.read_telephone(corpus / row[part]) for part in PARTS}
        department = row.get("department") or None
        callers.append(Caller(row["caller"], row["area_code"], None if row["expected"] == "none" else row["expected"],
                              voice_family=row.get("voice_family", ""), **clips,
                              department=None if department == "none" else department,
                              topic=audio.read_telephone(corpus / row["topic"]) if row.get("topic") else None))
    return callers


def bench_service(areas: set[str], thresholds: Thresholds, questions: int, departments: bool = False) -> Service:
    """Every municipality of these areas connected, through the configuration's own loader;
    `departments`: with those the shipped example gives them."""
    from fourteenplus.config import EXAMPLE
    from fourteenplus.directory import load_directory

    directory = load_directory()
    shipped = {name: c.departments for name, c in load_service(EXAMPLE, directory).connections.items()} \
        if departments else {}

    def line(name: str) -> str:
        slug = directory.municipalities[name].slug
        entry: dict[str, object] = {"trunk": f"PJSIP/{slug}@bench"}
        if shipped.get(name):
            entry["departments"] = {d.name: {"phrases": list(d.phrases), "trunk": f"PJSIP/{slug}-{d.key}@bench",
                                             "key": int(d.key)} for d in shipped[name]}
        return f"  {json.dumps(name)}: {json.dumps(entry)}"

    lines = ["municipalities:"]
    names = sorted(directory.municipalities) if NATIONAL in areas else \
        sorted({m for code in areas for m in directory.areas[code].municipalities})
    lines += [line(name) for name in names]
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


def play(caller: Caller, service: Service, speech, audio: PromptAudio, barge_in_s: float | None,
         suggested: str | None = None, endpointer: vad.Settings | None = None) -> Outcome:
    """One caller through the call flow, and the same caller's time on the keypad-only menu."""
    outcome = Simulation(CallFlow(service, dialled(caller.area_code)), caller, speech, audio, barge_in_s,
                         suggested=suggested, endpointer=endpointer).run()
    outcome.keypad_menu_s = keypad_menu_seconds(caller, service.plan(caller.area_code), audio)
    return outcome


def run_callers(callers: list[Caller], service: Service, speech, audio: PromptAudio,
                barge_in: float = 0.0, seed: int = 0, endpointer: vad.Settings | None = None) -> list[Outcome]:
    return [play(caller, service, speech, audio, barge_in_s, endpointer=endpointer)
            for caller, barge_in_s in zip(callers, barge_ins(len(callers), barge_in, seed))]


def repeat_callers(callers: list[Caller], service: Service, share: float, seed: int) -> dict[str, tuple[str, bool]]:
    """The callers who called before (`share` of them, drawn from `seed`): caller → (the
    municipality their history suggests, whether it is the one they want now). Half of those
    who name one last chose it; the others, and every caller who names none, chose another
    municipality of the area."""
    rng = np.random.default_rng(seed + 28)
    out = {}
    for caller in callers:
        chosen, same, pick = rng.random(3)
        if chosen >= share:
            continue
        connected = service.plan(caller.area_code).connected
        others = [m for m in connected if m != caller.expected]
        if caller.expected is not None and same < 0.5:
            out[caller.caller] = (caller.expected, True)
        elif others:
            out[caller.caller] = (others[int(pick * len(others))], False)
    return out


HISTORY_FIGURES = ("callers", "right_first_answer", "right_by_speech", "wrong", "negatives_transferred_by_speech",
                   "questions_per_caller", "time_to_transfer_s")


def history_figures(callers: list[Caller], outcomes: list[Outcome], service: Service, speech, audio: PromptAudio,
                    share: float, odds: list[float], barge_in: float, seed: int) -> dict:
    """What the caller's history gains for those who want the same municipality again and costs
    those who want another: the repeat callers played without their history (`outcomes`, the
    bench's own run) and with it, at each of `odds`, on the same recognitions."""
    repeats = repeat_callers(callers, service, share, seed)
    barging = dict(zip((c.caller for c in callers), barge_ins(len(callers), barge_in, seed)))
    without = {o.caller: o for o in outcomes}
    result: dict[str, object] = {"share": share, "repeat_callers": len(repeats)}
    for value in odds:
        remembering = dataclasses.replace(service, history=HistorySettings(30, value))
        groups: dict[str, dict] = {}
        for label, same in (("same_municipality", True), ("another_municipality", False)):
            chosen = [c for c in callers if c.caller in repeats and repeats[c.caller][1] == same]
            played = [play(c, remembering, speech, audio, barging[c.caller], repeats[c.caller][0]) for c in chosen]
            before, after = figures([without[c.caller] for c in chosen]), figures(played)
            groups[label] = {"without": {k: before[k] for k in HISTORY_FIGURES if k in before},
                             "with": {k: after[k] for k in HISTORY_FIGURES if k in after}}
        result[f"odds {value:g}"] = groups
    return result


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
        # On a path speech decided, keys pressed or not: a caller who pressed 2 to one question
        # and was then put through on a ja heard in their nee was still put through by speech.
        "negatives_transferred_by_speech": sum(o.path in SPOKEN_PATHS and o.municipality is not None
                                               for o in negatives),
        # Callers who named none and still heard "Bedoelt u …?" about a town (issue 24: people).
        "negatives_asked_about_a_town": sum(o.questions > 0 for o in negatives),
        "first_take_top1": sum(o.first_take_rank == 1 for o in names),
        "first_take_top3": sum(1 <= o.first_take_rank <= 3 for o in names),
        "asked_name_again": sum(o.name_takes > 1 for o in names),
        "reached_keypad_menu": sum(o.path == CallPath.KEYPAD for o in names),
        "questions_per_caller": round(sum(o.questions for o in outcomes) / len(outcomes), 2) if outcomes else 0.0,
        "prompts_stopped_by_speech": sum(o.prompts_stopped for o in outcomes),
        # Of those, stopped before the caller said a word: the line's voices or noise took the turn.
        "prompts_stopped_by_line": sum(o.prompts_stopped_by_line for o in outcomes),
        # From the caller's first word to the prompt stopped, per prompt their words stopped.
        "barge_in_ms": spread([ms for o in outcomes for ms in o.barge_in_ms]),
        # A turn the line held open until the endpointer's cut-off (`listen.max_speech_ms`).
        "turns_cut_off": sum(o.turns_cut_off for o in outcomes),
        "time_to_transfer_s": speech,
        "keypad_menu_s": keypad,
        "compute_ms": spread(compute),
        # End of the caller's words → the answer ready, per utterance: what the caller waits
        # in silence before the transfer or the next prompt (the transfer's own ms not included).
        "speech_end_to_answer_ms": {mode: spread([ms for o in outcomes for ms in o.answer_waits_ms.get(mode, [])])
                                    for mode in (ListenMode.NAME, ListenMode.REPLY)},
    }
    asked = [o for o in outcomes if o.asked_department]
    if asked:
        wanting = [o for o in asked if o.expected_department is not None]
        result["departments"] = {
            "asked": len(asked),
            "named_one": len(wanting),
            "right_department": sum(o.department_right for o in wanting),
            "general_line": sum(o.department is None for o in wanting),
            "wrong_department": sum(o.department_wrong for o in asked),
            "named_none": len(asked) - len(wanting),
            "named_none_to_general_line": sum(o.department is None for o in asked if o.expected_department is None),
            # "Over …?" about a department heard likely but not surely (`thresholds.department_confirm`).
            "asked_about_one": sum(o.department_questions for o in asked),
            "asked_about_one_of_theirs": sum(o.department_questions for o in wanting),
            "time_to_transfer_s": spread([o.seconds for o in asked if o.municipality is not None]),
        }
    if names:
        result["right_first_answer_share"] = round(right_first / len(names), 4)
        result["right_by_speech_share"] = round(by_speech / len(names), 4)
    if speech["n"] and keypad["n"]:
        result["median_time_ratio"] = round(speech["p50"] / keypad["p50"], 2)
    return result


def report(outcomes: list[Outcome], thresholds: Thresholds, questions: int, corpus: Path,
           speech: TimedSpeech | None = None, barge_in: float = 0.0, seed: int = 0) -> dict:
    return figures(outcomes) | ({"stages_ms": speech.stages()} if speech else {}) | {
        "by_voice_family": by_voice_family(outcomes),
        "thresholds": dataclasses.asdict(thresholds), "questions": questions, "settled": speech.service.settled if speech else None,
        "barge_in": barge_in, "seed": seed,
        "corpus": str(corpus), "machine": machine(), "date": dt.date.today().isoformat(),
    }


def on_line(callers: list[Caller], condition: str, lines: line_conditions.Lines) -> list[Caller]:
    """The same callers on a line: each clip through it, with the line's own sound around it
    when it has any (noise), one sound through the call at one level (`Lines.call`), so what
    the endpointer learnt of it at one question holds at the next. Seeded by the line, the
    caller and the clip."""
    placed = []
    for caller in callers:
        heard: dict[str, Any] = {}
        around = {}
        parts = PARTS + (("topic",) if caller.topic is not None else ())
        seeds = [zlib.crc32(f"{condition}/{caller.caller}/{part}".encode()) for part in parts]
        for part, (before, heard[part], after) in zip(parts, lines.call(condition, [getattr(caller, p) for p in parts],
                                                                        seeds)):
            if before is not None and after is not None:
                around[part] = (before, after)
        placed.append(dataclasses.replace(caller, **heard, line=around,
                                          words={part: words_start(getattr(caller, part)) for part in heard}))
    return placed


def by_voice_family(outcomes: list[Outcome]) -> dict:
    return {family: figures([o for o in outcomes if o.voice_family == family])
            for family in sorted({o.voice_family for o in outcomes})}


def by_line(results: dict[str, list[Outcome]]) -> dict:
    """Each line's figures, over all callers and per voice family."""
    return {condition: figures(outcomes) | {"by_voice_family": by_voice_family(outcomes)}
            for condition, outcomes in results.items()}


# The lines table: what the issue asks of a caller in noise (first answer right, nobody put
# through wrong, no turn held open to the cut-off), per line and voice family.
LINE_COLUMNS = (
    ("callers (naming none)", lambda f: f"{f['callers']} ({f['negatives']})"),
    ("right at the first answer", lambda f: f"{f['right_first_answer']} of {f['names']}"),
    ("right by speech", lambda f: str(f["right_by_speech"])),
    ("right", lambda f: str(f["right"])),
    ("**put through wrong**", lambda f: str(f["wrong"])),
    ("**naming none, put through by speech**", lambda f: str(f["negatives_transferred_by_speech"])),
    ("naming none, asked about a town", lambda f: str(f["negatives_asked_about_a_town"])),
    ("turns cut off", lambda f: str(f["turns_cut_off"])),
    ("reached the keypad menu", lambda f: str(f["reached_keypad_menu"])),
    ("prompts stopped by speech", lambda f: str(f["prompts_stopped_by_speech"])),
    ("of them by the line", lambda f: str(f["prompts_stopped_by_line"])),
    ("barge-in p50 / p95 (ms)", lambda f: f"{f['barge_in_ms'].get('p50', '–')} / {f['barge_in_ms'].get('p95', '–')}"),
    ("time to transfer p50 (s)", lambda f: str(f["time_to_transfer_s"].get("p50", "–"))),
)


def write_outcomes(path: Path, on_lines: dict[str, list[Outcome]]) -> None:
    """Every caller's outcome on every line run (`line`: `clean`, or the condition's name)."""
    fields = ("caller", "expected", "voice_family", "municipality", "path", "seconds", "name_takes", "questions",
              "keys", "keypad_menu_s", "first_take_rank", "turns_cut_off", "expected_department", "department",
              "department_questions")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("line",) + fields)
        for condition, outcomes in on_lines.items():
            for o in outcomes:
                writer.writerow([condition] + [getattr(o, f) for f in fields])


def main(args: argparse.Namespace) -> int:
    from fourteenplus.directory import load_directory
    from fourteenplus.grammar import load_grammars

    if not (args.dir / "callers.csv").exists():
        print(f"{args.dir}/callers.csv not found: make a corpus with `fourteenplus corpus {args.dir} --callers`")
        return 2
    thresholds = Thresholds(**{name: getattr(args, name) for name in DEFAULTS["thresholds"]})
    conditions = line_conditions.conditions(args.line)
    lines = line_conditions.Lines(line_conditions.load_tool(args.lines)) if conditions else None
    callers = read_callers(args.dir)
    departments = any(c.topic is not None for c in callers)
    service = bench_service({c.area_code for c in callers}, thresholds, args.questions, departments)
    speech = SpeechService(load_grammars(load_directory()), thresholds)
    speech.settled = args.settled  # above 1: every name is primed (the A/B of `--settled`)
    recognizer = speech.load()
    # 0: no trie search on a national number (the A/B of `--search-beam`).
    recognizer.tuning = dataclasses.replace(recognizer.tuning, search_beam=args.search_beam,
                                            search_depth=args.search_depth)
    audio = PromptAudio.made(service, cache_dir() / "bench-prompts")
    timed = TimedSpeech(speech)
    outcomes = run_callers(callers, service, timed, audio, args.barge_in, args.seed)
    result = report(outcomes, thresholds, args.questions, args.dir, timed, args.barge_in, args.seed)
    result["prompt_seconds"] = audio.summary()
    if args.history:
        result["history"] = history_figures(callers, outcomes, service, timed, audio, args.history,
                                            args.history_odds, args.barge_in, args.seed)
    # The same callers on each line, once for every run of them.
    placed = {condition: on_line(callers, condition, lines) for condition in conditions
              if lines is not None and condition != line_conditions.CLEAN}

    def against(other: dict[str, Any]) -> dict:
        """The same callers on the same recognitions (the cache), at other settings: the
        thresholds', and the endpointer's (`vad.Settings`, e.g. talker_db), on every line."""
        questions = int(other.pop("questions", args.questions))
        barge_in = other.pop("barge_in", args.barge_in)
        heard = {name: other.pop(name) for name in list(other) if name in vad.Settings.__dataclass_fields__}
        endpointer = dataclasses.replace(vad.Settings.cut_at(service.listen.max_speech_ms), **heard)
        changed = dataclasses.replace(thresholds, **other)
        other_service = bench_service({c.area_code for c in callers}, changed, questions, departments)
        other_outcomes = run_callers(callers, other_service, timed, audio, barge_in, args.seed, endpointer)
        figured = figures(other_outcomes) | {"by_voice_family": by_voice_family(other_outcomes),
                                             "thresholds": dataclasses.asdict(changed), "questions": questions,
                                             "barge_in": barge_in, "endpointer": heard}
        if lines is not None:
            figured["lines"] = by_line({condition: run_callers(
                placed[condition], other_service, timed, audio, barge_in, args.seed, endpointer)
                for condition in placed})
        return figured

    if args.against:  # each --against its own run, in the order given
        result["against"] = [against(dict(other)) for other in args.against]
    table = None
    on_lines = {line_conditions.CLEAN: outcomes}
    if lines is not None:
        on_lines = {condition: outcomes if condition == line_conditions.CLEAN else run_callers(
            placed[condition], service, timed, audio, args.barge_in, args.seed)
            for condition in conditions}
        result["lines"] = by_line(on_lines)
        table = line_conditions.table(result["lines"], "by_voice_family", LINE_COLUMNS, result)
    if args.outcomes:
        write_outcomes(args.outcomes, on_lines)
    if args.report:
        # A run on lines writes its table (its own block: small tune runs must not replace the main figures).
        write_block(args.report, args.marker or ("lines" if table else "bench"),
                    table or f"```json\n{json.dumps(result, indent=2, ensure_ascii=False)}\n```", "Dialogue bench")
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"callers {result['callers']} (names {result['names']}, negatives {result['negatives']}): "
              f"right at the first answer {result['right_first_answer']}, by speech {result['right_by_speech']}, "
              f"right {result['right']}, wrong {result['wrong']}, negatives transferred by speech "
              f"{result['negatives_transferred_by_speech']}, asked about a town {result['negatives_asked_about_a_town']}; "
              f"time to transfer p50 "
              f"{result['time_to_transfer_s'].get('p50')} s against the keypad menu's "
              f"{result['keypad_menu_s'].get('p50')} s")
        if table:
            print(table)
    return 0
