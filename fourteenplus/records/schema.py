"""The record of one call, as the call flow fills it and the store keeps it.

The call flow (`callflow`) writes these and names the values they hold (paths, outcomes,
attempt kinds and decisions); the store and the report read them. Stored values are plain
strings: rows written by earlier versions hold the same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class Attempt:
    """One thing the caller said or pressed, and what we made of it."""
    kind: str                      # callflow.KIND_*: name, reply, keypad, silence, failure, language, department
    decision: str                  # callflow.DECISION_* (accept … en, the language chosen)
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
    path: str | None = None         # callflow.DIRECT, SPOKEN, SPOKEN_REPEAT, CONFIRMED, KEYPAD, DEFAULT
    municipality: str | None = None
    department: str | None = None   # the municipality's department put through to; None: its general line
    trunk: str | None = None
    outcome: str | None = None      # callflow.OUTCOME_*
    language: str = "nl"
    abandoned_at: str | None = None  # the call state the caller left in (callflow.ASKING, …)
    reason: str | None = None
    dial_status: str | None = None
    # DIALSTATUS of the overflow destination when the trunk failed and one was dialled.
    overflow_status: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    # Filled by the session, which has the clock: call start (epoch seconds) and latencies
    # in ms under the keys of `session.TIMINGS`.
    started_at: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # The call's id in the store, from the start: kept audio is named by it before the row exists.
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
