"""Speech: telephone audio → a municipality, with a decision the call flow can act on.

Importing this package is cheap on purpose (no faster-whisper, no ctranslate2): the call flow
and `fourteenplus check` use the result types without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..vocabulary import NOT_EVIDENCE, Decision, Reason

# A single take's verdict on a name (`Recognition.decision`).
Verdict = Literal[Decision.ACCEPT, Decision.CONFIRM, Decision.REJECT]



@dataclass(frozen=True)
class Candidate:
    """A municipality the utterance may name; `phrase` is what was heard for it (alias, village…)."""

    municipality: str
    score: float  # 0..1, comparable with the service's thresholds
    phrase: str
    # The phrase names places in other municipalities too (Bergen: Bergen (NH) and Bergen (L),
    # on a national number): the caller is asked which, never put through on it alone.
    shared: bool = False

    @property
    def own_name(self) -> bool:
        """Heard as the municipality's own name, not a village or an alias of it."""
        return self.phrase == self.municipality


@dataclass(frozen=True)
class Recognition:
    transcript: str
    candidates: tuple[Candidate, ...]
    decision: Verdict
    municipality: str | None
    reason: str
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    # The no-name gate's probability that this take names nothing, where the gate weighed it
    # (a name first heard in an area); None elsewhere. The call flow weighs it over the takes.
    no_name: float | None = None

    @property
    def ranked(self) -> tuple[str, ...]:
        """The municipalities the candidates name, likeliest first, when they are evidence at
        all: none when nothing was said, no name was said or the name was another area's."""
        if self.reason in NOT_EVIDENCE:
            return ()
        return tuple(c.municipality for c in self.candidates)

    @classmethod
    def rejected(cls, reason: str, transcript: str = "", candidates: tuple[Candidate, ...] = (),
                 timings: dict[str, float] | None = None, no_name: float | None = None) -> "Recognition":
        return cls(transcript, candidates, Decision.REJECT, None, reason, dict(timings or {}), no_name)


__all__ = ["Candidate", "Recognition", "Verdict"]
