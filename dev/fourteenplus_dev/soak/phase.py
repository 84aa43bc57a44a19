"""One phase's calls (`Outcome`: where each ended, the app's record of it) and the figures
the phase reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from fourteenplus import sipp
from fourteenplus.records import CallRecord
from fourteenplus.vocabulary import CallPath, Prompt, Timing

from ..stats import spread
from .mix import Scenario, describe_script


def concurrency(intervals: list[tuple[float, float]]) -> tuple[int, float]:
    """(peak, time-weighted mean) number of calls up at once, from (answered, ended) pairs."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    peak = up = 0
    area = 0.0
    last = events[0][0] if events else 0.0
    for at, step in events:
        area += up * (at - last)
        up += step
        peak = max(peak, up)
        last = at
    span = (events[-1][0] - events[0][0]) if events else 0.0
    return peak, round(area / span, 1) if span else 0.0


@dataclass
class Outcome:
    index: int
    scenario: Scenario
    result: sipp.CallResult | None
    problem: str | None  # why the call is lost, None when it ended where expected
    record: CallRecord | None = None  # the app's record of this call, once read back (attach_records)
    defaulted: bool = False  # put through to the area's default after hearing so (`judge`)

    def timed(self, kind: str) -> bool:
        """Counts toward the `kind` latency: ended where expected, and for a name, put
        through on the name itself (not after a confirmation or the menu)."""
        return self.latency_ms(kind) is not None

    def latency_ms(self, kind: str) -> float | None:
        """End of speech → INVITE, as the caller measured it, when the call counts toward `kind`."""
        if self.scenario.latency != kind or self.problem or self.result is None:
            return None
        if kind == "voice" and getattr(self.record, "path", None) not in (CallPath.SPOKEN, CallPath.SPOKEN_REPEAT):
            return None
        return self.result.speech_end_to_invite_ms


def app_view(record) -> str:
    """What the app's record says happened: its path and every attempt."""
    if record is None:
        return "no record of the call in the app's store"
    attempts = "; ".join(" ".join(str(x) for x in (a.kind, a.decision, a.municipality, a.reason,
                                                    repr(a.transcript) if a.transcript else None) if x)
                         for a in record.attempts)
    return f"path {record.path}, outcome {record.outcome}" + (f", attempts: {attempts}" if attempts else "")


@dataclass
class Phase:
    name: str
    config: str
    concurrency: int
    outcomes: list[Outcome] = field(default_factory=list)
    tick_late_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu: dict = field(default_factory=dict)

    def figures(self) -> dict:
        lost = [o for o in self.outcomes if o.problem]
        defaulted = [o for o in self.outcomes if o.defaulted]
        answered = [(o.result.answered_at, o.result.ended_at) for o in self.outcomes
                    if o.result and o.result.answered_at]
        peak, mean = concurrency(answered)
        latency = {kind: spread([ms for o in self.outcomes if (ms := o.latency_ms(kind)) is not None])
                   for kind in ("voice", "reply")}
        voice = [o for o in self.outcomes if o.scenario.latency == "voice"]
        ended = Timing.SPEECH_END_TO_TRANSFER
        recognised = [o.record.timings[ended] for o in self.outcomes
                      if o.timed("voice") and o.record is not None and ended in o.record.timings]
        return {"phase": self.name, "config": self.config, "concurrency": self.concurrency,
                "calls": len(self.outcomes), "lost": len(lost), "defaulted": len(defaulted),
                # sent to the keypad menu at once: the recogniser could not keep up (admission)
                "busy": sum(o.record is not None and any(a.reason == Prompt.BUSY for a in o.record.attempts)
                            for o in self.outcomes),
                "peak_concurrency": peak,
                "mean_concurrency": mean, "wall_s": round(self.wall_s, 1),
                "calls_per_minute": round(60 * len(self.outcomes) / self.wall_s, 1) if self.wall_s else None,
                "latency": latency,
                # the app's own clock, for the timed names: its endpointer's end of the utterance
                # (after ~0.5 s of quiet) → the transfer: recognition, with any wait for the worker
                "app_utterance_to_transfer_ms": spread(recognised),
                "names_confirmed": sum(getattr(o.record, "path", None) == CallPath.CONFIRMED for o in voice),
                "names": len(voice),
                "records_found": sum(o.record is not None for o in self.outcomes),
                "answer_to_first_audio_ms": spread(
                    [o.result.answer_to_audio_ms for o in self.outcomes if o.result and o.result.answer_to_audio_ms]),
                "tick_late_ms": spread(self.tick_late_ms), "cpu_percent": self.cpu,
                "lost_calls": [{"call": o.index, "scenario": o.scenario.name, "number": o.scenario.number,
                                "script": describe_script(o.scenario), "problem": o.problem,
                                "app": app_view(o.record)} for o in lost],
                "defaulted_calls": [{"call": o.index, "scenario": o.scenario.name, "number": o.scenario.number,
                                     "script": describe_script(o.scenario), "app": app_view(o.record)}
                                    for o in defaulted]}
