"""Recognition for the call handling: one model per process, off the asyncio event loop.

Whisper calls hold the GIL only briefly (CTranslate2 releases it), so one worker thread
keeps the loop responsive; a single worker also serialises calls into the model, which is
not safe to share between threads and would only contend for the two cores anyway. Every
utterance has a deadline: past it the caller is asked again rather than kept waiting.

Under load utterances queue for the worker. One that starts with others waiting behind it,
or with too little of its deadline left for the full recognition, gets the unprimed one
(the primed transcription is about a third of the work): its own fitted model (`unprimed`
in policy.yaml), a little less often sure (bench/recognition.md), but answers in time for
more callers rather than timeouts for the last ones of a burst.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import Recognition

# What a caller answers to "Bedoelt u Kapelle?". Scored like municipality names, so a
# mumbled "jawel" still counts and a cough counts as no answer. Kept short: each phrase is
# scored against the audio, and costs time. "ja hoor", "nee hoor" and "klopt niet" were
# chosen on the tune replies (nee understood 121 of 140 instead of 106, no ja lost).
YES = ("ja", "jawel", "klopt", "ja hoor")
NO = ("nee", "neen", "nee hoor", "klopt niet")


@dataclass(frozen=True)
class _ReplyPhrase:
    text: str
    municipality: str  # "yes" or "no": the matcher's grouping key
    kind: str = "name"


@dataclass(frozen=True)
class _ReplyGrammar:
    code: str
    municipalities: tuple[str, ...]
    phrases: tuple[_ReplyPhrase, ...]


REPLIES = _ReplyGrammar("reply", ("yes", "no"),
                        tuple(_ReplyPhrase(t, "yes") for t in YES) + tuple(_ReplyPhrase(t, "no") for t in NO))


def answer(recognition: Recognition, thresholds) -> bool | None:
    """ja → True, nee → False, neither heard surely enough → None. The reply matcher ranks
    ja against nee; each side has its threshold (a ja transfers, a nee only asks again)."""
    if not recognition.candidates:
        return None
    top = recognition.candidates[0]
    yes = top.municipality == "yes"
    return yes if top.score >= (thresholds.reply_yes if yes else thresholds.reply_no) else None


class SpeechService:
    """`await start()` once, then `recognize(audio, area_code)` and `reply(audio)` per utterance.

    `audio` is 8 kHz int16 samples (numpy) as the endpointer's `utterance()` returns, or bytes
    with `encoding` ("ulaw", "alaw", "slin"). `thresholds` is the configuration's
    (`config.Thresholds`): accept and confirm for names, reply_yes and reply_no for replies.
    """

    def __init__(self, grammars, thresholds, deadline_ms: int = 1500, model_path: Path | None = None,
                 on_shed: Callable[[], None] | None = None):
        self.reconfigure(grammars, thresholds, deadline_ms)
        self.model_path = model_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._pending = 0  # utterances submitted to the worker and not finished
        self._count_lock = threading.Lock()  # the loop counts them on, the worker off
        # Seconds a full recognition takes here, as the worker measures it (a moving average).
        self._full_seconds = 0.5
        self.on_shed = on_shed  # called (in the worker) per utterance given the unprimed recognition
        self._recognizer = None
        self.startup_seconds: float | None = None

    def reconfigure(self, grammars, thresholds, deadline_ms: int) -> None:
        """Grammars and thresholds for the utterances from now on (a reloaded configuration);
        the model stays loaded. An utterance in the worker finishes with what it started with."""
        self.grammars = grammars
        self.thresholds = thresholds
        self.deadline = deadline_ms / 1000
        self._matchers: dict[str, object] = {}

    async def start(self) -> None:
        """Load the model in the worker (seconds, not milliseconds): before the first call."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self.load)

    def load(self) -> None:
        """Load the model now, in this thread (idempotent)."""
        from . import model
        from .recognizer import Recognizer

        if self._recognizer is None:
            started = time.perf_counter()
            self._recognizer = Recognizer(model.load(self.model_path))
            self.startup_seconds = time.perf_counter() - started

    @property
    def recognizer(self):
        """The loaded recogniser (after `load()`/`start()`): the bench runs the plain pipeline on it."""
        return self._recognizer

    def matcher(self, area_code: str, neutral: bool = False, primed: bool = True):
        """The matcher for an area (or for ja/nee replies), built once. `neutral`: a new one
        whose policy weighs nothing, for `bench fit` to gather evidence before a model exists.
        `primed=False`: without the primed transcription, judged by the `unprimed` model."""
        from .matcher import Matcher
        from .policy import Policy

        kind = "reply" if area_code == REPLIES.code else "names" if primed else "unprimed"
        key = f"{area_code}/{kind}"
        if key in self._matchers and not neutral:
            return self._matchers[key]
        policy = Policy.neutral(kind) if neutral else Policy.load(kind)
        if kind == "reply":
            # ja/nee: no villages to pick and too short for whisper to spell better when
            # primed (measured on tests/data/corpus), so no primed transcription, ~0.1 s
            # saved; no carrier sentence either (it never scored best on the tune replies).
            matcher = Matcher(REPLIES, policy=policy, primed=False, carrier=False)
        else:
            matcher = Matcher(self.grammars.area(area_code), self.grammars.elsewhere(area_code), policy=policy,
                              primed=primed)
        if not neutral:
            self._matchers[key] = matcher
        return matcher

    def recognize_now(self, samples: np.ndarray, area_code: str, primed: bool = True) -> Recognition:
        """Synchronous recognition in the calling thread (the CLI and the bench use this)."""
        if self._recognizer is None:
            self.load()
        matcher = self.matcher(area_code, primed=primed)
        heard = self._recognizer.hear(np.asarray(samples, dtype=np.int16), matcher.shortlist, matcher.prompt)
        return matcher.decide(heard, self.thresholds.accept, self.thresholds.confirm)

    def _in_worker(self, samples: np.ndarray, area_code: str, submitted: float) -> Recognition:
        """The full recognition if nobody waits behind this utterance and what is left of its
        deadline covers a slow one (1.5× the usual: about its p95 here), else the unprimed one."""
        queued = time.monotonic() - submitted
        names = area_code != REPLIES.code  # a reply has no primed transcription to shed
        behind = self._pending - 1
        primed = not names or (behind <= 0 and self.deadline - queued >= 1.5 * self._full_seconds)
        started = time.monotonic()
        result = self.recognize_now(samples, area_code, primed)
        if names and primed and "score_ms" in result.timings:  # a clip with speech, heard in full
            self._full_seconds += 0.2 * (time.monotonic() - started - self._full_seconds)
        if not primed and self.on_shed:
            self.on_shed()
        result.timings["queued_ms"] = queued * 1000
        return result

    async def _run(self, samples, area_code: str, encoding: str) -> Recognition:
        from . import audio

        if isinstance(samples, (bytes, bytearray)):
            samples = audio.decode(bytes(samples), encoding)
        # Counted before the worker can start it (it reads the count), and off when the worker
        # is done with it (or it was dropped before it started), not when its caller stops
        # waiting: past the deadline the worker is still busy. The worker counts it off
        # itself, before it takes the next utterance, which then sees who is really behind.
        self._count(1)
        try:
            job = self._executor.submit(self._in_worker, samples, area_code, time.monotonic())
        except RuntimeError:  # the service is closing
            self._count(-1)
            raise
        job.add_done_callback(lambda _: self._count(-1))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), self.deadline)
        except asyncio.TimeoutError:
            # The worker finishes the late utterance on its own; its result is dropped.
            return Recognition.rejected("timeout", timings={"deadline_ms": self.deadline * 1000})

    def _count(self, step: int) -> None:
        with self._count_lock:
            self._pending += step

    @property
    def idle(self) -> bool:
        """Nothing in the worker: an utterance submitted now starts at once."""
        return self._pending == 0

    async def recognize(self, samples, area_code: str, encoding: str = "ulaw") -> Recognition:
        return await self._run(samples, area_code, encoding)

    async def reply(self, samples, encoding: str = "ulaw") -> bool | None:
        """ja → True, nee → False, anything unclear → None (ask again or use the keypad)."""
        return answer(await self._run(samples, REPLIES.code, encoding), self.thresholds)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
