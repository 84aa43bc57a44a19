"""The record of one call, as the call flow fills it and the store keeps it.

The call flow (`callflow`) writes these; the values they hold (paths, outcomes, attempt kinds
and decisions, states, timing keys) are the call's vocabulary (`vocabulary`), whose members
are the plain strings the store keeps: rows written by earlier versions hold the same ones.
The store, the report and the metrics read them; `CallRecord.ending` is the one rule for
what became of a call once the trunk answered for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..vocabulary import TRUNK_FAILURES, DialStatus, Ending, Outcome


@dataclass
class Attempt:
    """One thing the caller said or pressed, and what we made of it."""
    kind: str                      # vocabulary.AttemptKind
    decision: str                  # vocabulary.Decision
    municipality: str | None = None
    score: float | None = None
    transcript: str = ""
    candidates: tuple[tuple[str, float], ...] = ()  # (municipality, probability), likeliest first
    reason: str = ""
    # The utterance as heard, kept (`records.keep_audio`) under this file name in the audio
    # folder (`privacy.AudioArchive`); None: not kept, or no utterance (a key, a silence).
    audio: str | None = None


@dataclass
class CallRecord:
    dialled: str
    caller: str | None = None
    area_code: str | None = None
    path: str | None = None         # vocabulary.CallPath
    municipality: str | None = None
    department: str | None = None   # the municipality's department put through to; None: its general line
    trunk: str | None = None
    outcome: str | None = None      # vocabulary.Outcome
    language: str = "nl"
    abandoned_at: str | None = None  # the call state the caller left in (vocabulary.State)
    reason: str | None = None
    dial_status: str | None = None
    # DIALSTATUS of the overflow destination when the trunk failed and one was dialled.
    overflow_status: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    # The municipality the caller's own history suggested (`history:`), None: none or off.
    suggested: str | None = None
    # Filled by the session, which has the clock: call start (epoch seconds) and latencies
    # in ms under the keys of `vocabulary.Timing`.
    started_at: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # The call's id in the store, from the start: kept audio is named by it before the row exists.
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Asterisk's keys of the caller's channel (the CDR's uniqueid and linkedid), so the
    # operator's billing and these records join; None: not given by the adapter.
    uniqueid: str | None = None
    linkedid: str | None = None

    @property
    def ending(self) -> str:
        """The end of the call with the trunk's result: an `Outcome` (transferred: answered, or
        the result unknown), or an `Ending` (overflow, failed, hung_up_transfer, unknown).
        What the report and the metrics count as the call's outcome."""
        if self.outcome != Outcome.TRANSFERRED:
            return self.outcome or Ending.UNKNOWN
        status = self.dial_status
        if status in TRUNK_FAILURES and self.overflow_status is not None:
            status, overflowed = self.overflow_status, True
        else:
            overflowed = False
        if status == DialStatus.CANCEL:
            return Ending.HUNG_UP_TRANSFER
        if status in (None, DialStatus.ANSWER):
            return Ending.OVERFLOW if overflowed else Outcome.TRANSFERRED
        return Ending.FAILED
