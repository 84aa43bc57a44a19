"""Recognition for the call handling: one model per process, off the asyncio event loop.

Whisper calls hold the GIL only briefly (CTranslate2 releases it), so worker threads keep the
loop responsive. `workers` recognitions run side by side (`speech.workers`), the model loaded
with as many replicas of `cpus // workers` threads each: whisper base's matrices are small,
so a second thread inside one recognition buys little, while two recognitions use both cores
(bench/soak.md). Waiting utterances are taken by deadline, not arrival
(`speech.workers.Workers`). Every utterance has a deadline (`speech.deadline`) from when a
worker takes it: past it the caller is asked again rather than kept waiting. The wait in the
queue before that is not the caller's doing and costs them nothing; when it grows too long,
new callers are turned to the keypad instead (`busy`).

A name is heard unprimed first and primed only in doubt (`SpeechService.recognize_now`).
Under load utterances queue for the workers. One that starts with others waiting behind it,
or with too little of its deadline left for the full recognition, stops at the unprimed
step whatever its doubt: its own fitted model (`unprimed` in policy.yaml), a little less
often sure (bench/recognition.md), but answers in time for more callers rather than
timeouts for the last ones of a burst.

The caches a recognition fills (the matchers here, the recogniser's priors and prompts) are
filled under a lock, the model's replicas are CTranslate2's to share out, and a matcher is
read-only once built: concurrent recognitions give what serial ones give.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from ..grammar import AreaGrammar, Grammars, Phrase
from ..numberplan import NATIONAL
from ..text import SAYS_NO, SAYS_YES, answer_of, denied_ja
from ..vocabulary import Decision, Reason
from . import Recognition
from .deadline import Deadline
from .workers import Workers

if TYPE_CHECKING:
    from ..config import Thresholds
    from .matcher import Matcher
    from .policy import Policy
    from .recognizer import Clip, Heard, Recognizer
    from .vad import Spoken

# What a caller answers to "Bedoelt u Kapelle?". Scored like municipality names, so a
# mumbled "jawel" still counts and a cough counts as no answer. Kept short: each phrase is
# scored against the audio, and costs time. "nee hoor" and "klopt niet" were chosen on the
# tune replies, where they made more nee's understood and lost no ja (bench/recognition.md,
# third pass); "natuurlijk" once people were in the tune split (seventh pass): a person's
# "Natuurlijk, …" scored against nothing of its own. (In place of "ja hoor" it cost
# espeak-ng's ja's.) Each ja phrase that is a ja only unnegated has its "niet" beside it on the
# nee side: with voices around them a person's "Natuurlijk niet." is written "Natuurlijk hier."
# and, scored against "natuurlijk" alone, put them through (bench/recognition.md, thirteenth pass).
SAID_YES = ("ja", "jawel", "klopt", "ja hoor", "natuurlijk")
SAID_NO = ("nee", "neen", "nee hoor", "klopt niet", "natuurlijk niet")
# The unprimed model's P(right) from which its top municipality is the answer without the
# primed transcription. Chosen on the tune callers (bench/recognition.md, sixth pass): from
# here the unprimed ranking is as right as the primed one, and the names that stop here save
# the primed transcription's compute.
SETTLED = 0.70
# More different words than this, none of them a ja at the start, are a sentence, not a ja:
# whisper spells a short ja it mishears in a word or two ("Jamel", "Ila. Ila!"), and a person
# who says something else says more (chosen on the tune replies: bench/recognition.md).
SENTENCE_WORDS = 3
# Whisper's probability that the answer opens with "ja" (`Recognizer.transcribe`) from
# which a ja it did not write is no sentence (`Answer.of`): whisper drops a person's ja in
# front of a sentence ("We zijn een pijn de klaar"). Chosen on the tune replies
# (bench/recognition.md, issue 24): people's ja's open at 0.25 or more, their nee's and other
# speech at 0.02 or less; espeak-ng's nee's at 0.07 or less, its non-answers too but for a
# "hallo" written "Ja, loopt." (0.19, a ja by its words already). It lowers no bar: judged
# at `reply_no`, a held-out caller's accented nee written "Ja, dat is hier maar." (P 0.60)
# and another's "neen" in street noise written "Ja." (0.73) were put through, for one
# person's ja and one accented MBROLA ja of the tune replies (bench/dialogue.md, 2026-12-07).
OPENS_JA = 0.15
# ... under which, in speech as long as a sentence (`SENTENCE_SECONDS`), the best phrase
# being ja ("ja", "ja hoor") is no ja: whisper neither wrote nor heard the answer open with
# one, and the word count cannot tell (its 16 tokens bound it: a person's "Misschien moeten
# we een sleutel meenemen …" is written "Schien wordt verstotelingen", three words, P(ja)
# 0.90, opening 0.0003). On the tune replies it changes no other answer: espeak-ng's ja's
# whisper misspells ("IRA", 0.009) last under a second, people's ja's open at 0.25 or more,
# and the one ja that long scored best as ja opening under 0.01 (espeak-ng's "jawel" written
# "via een leo") was at P 0.60, no ja either way (bench/recognition.md, issue 24). A ja
# scored as another word (klopt, natuurlijk) opens with that word: this says nothing of it.
OPENS_NOT_JA = 0.01
SENTENCE_SECONDS = 1.5
# How close (rapidfuzz, 0..1) the words after a ja must come to another municipality's
# phrase than the one asked about for the ja to be a correction ("ja, Opmeer" to "Bedoelt u
# Hoorn?"): a spelling whisper garbles a little, not a word that only shares letters.
NAMED = 0.75
# How many municipalities a national number's name is scored against: those whose phrases come
# nearest to the transcripts (`Matcher(shortlist=…)`), so a name costs what an area's does.
NATIONAL_SHORTLIST = 6
# What a caller says who did not hear the question: scored on the answer's audio beside the
# two sides, but no side of its own (the reply model knows ja and nee only). A ja whisper did
# not write whose audio this explains better than any ja phrase, by `ASKED_BACK_MARGIN` or
# more (calibrated log-scores), is no ja: espeak-ng's and MBROLA's "hallo" ("HALOPE", "hano",
# "Hanop") scored a ja at 0.87 to 0.98 through "ja hoor". Chosen on the tune replies
# (bench/recognition.md, fifteenth pass): of 46 hallo's, 13 were taken for a ja, now 5 (three
# of them written "Ja, …"), no ja lost on a quiet line; the closest ja it would take ("dat
# klopt" written "Last, no. Last, go.") lies 0.16 above. As a side of its own, or with "wat
# zegt u" and "pardon", it cost 16 to 23 of 310 ja's: the reply model knows two sides.
ASKED_BACK = ("hallo",)
ASKED_BACK_MARGIN = 0.5
# The two sides as the matcher ranks them, like two municipalities of an area of their own.
REPLIES = AreaGrammar("reply", (Decision.YES, Decision.NO), tuple(Phrase(t, Decision.YES, "name") for t in SAID_YES)
                      + tuple(Phrase(t, Decision.NO, "name") for t in SAID_NO))


@dataclass(frozen=True)
class Answer:
    """What a caller answered to "Bedoelt u …?": ja (True), nee (False), or neither heard
    surely enough (None: ask again, or use the keypad). `correction`: a name said with the
    answer ("nee, Koggenland"; "ja, Opmeer" to "Bedoelt u Hoorn?", which is then no ja), as
    the area's name recognition heard it: the call flow takes it as it takes a name."""

    yes: bool | None
    likelier: bool | None  # the side the reply model found likelier, however unsure; None: nothing heard
    probability: float  # the reply model's P(right) for that side; 0 when nothing was heard
    transcript: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    correction: Recognition | None = None

    @classmethod
    def of(cls, heard: Recognition, thresholds: Thresholds, opens_ja: float = 0.0, seconds: float = 0.0,
           asked_back: bool = False) -> Answer:
        """The reply matcher ranks ja against nee; each side has its threshold (a ja
        transfers, so it is strict; a nee only asks again). The words have a veto
        (`text.answer_of`): whatever the audio scores, a transcript that starts with a nee,
        or a sentence that does not start with a ja, is never a ja. A nee the words say and
        the audio ranks first is a nee however unsure the audio is: both agree, and a nee
        costs the caller no more than a question. A ja the next words deny ("Ja, nee", "Ja,
        dat is niet.") is never a ja. A ja whisper did not write but heard the answer open
        with (`opens_ja`, at `OPENS_JA` or more) has no sentence veto (the ja opened it),
        unless its words start with an answer word or one that only starts like ja ("Jaar",
        "Jammer"); it is judged at `reply_yes_unwritten` as every unwritten ja is. A ja
        scored best as "ja" in `seconds` of a sentence's length that whisper neither wrote
        nor heard open with one (`OPENS_NOT_JA`) is a sentence that does not start with a ja.
        A ja whisper did not write whose audio a caller's "hallo" explains better
        (`asked_back`, `ASKED_BACK`) is no ja."""
        if not heard.candidates:
            return cls(None, None, 0.0, heard.transcript, heard.timings)
        top = heard.candidates[0]
        yes = top.municipality == Decision.YES
        said, words = answer_of(heard.transcript)
        lead = words.split()[:1]
        # A ja the next words deny ("Ja, nee", "Ja, dat is niet."): never a ja, whatever the audio.
        denied = denied_ja(heard.transcript)
        opened = opens_ja >= OPENS_JA and said is None and not denied and not any(
            word in SAYS_YES | SAYS_NO or word.startswith("ja") for word in lead)
        unopened = said is None and opens_ja < OPENS_NOT_JA and seconds >= SENTENCE_SECONDS \
            and top.phrase.split()[:1] == ["ja"]
        # A ja the words say is judged at `reply_yes`; one they do not, at the stricter
        # `reply_yes_unwritten`: in noise whisper writes a nee as anything at all.
        unwritten = max(thresholds.reply_yes, thresholds.reply_yes_unwritten)
        # A person's "Oh nee, dat is vast …" scores a nee the audio is unsure of (bench/recognition.md,
        # eighth pass).
        threshold = (thresholds.reply_yes if said else unwritten) if yes else 0.0 if said is False else thresholds.reply_no
        # A sentence that does not start with a ja says something else ("Hij is goed, zeg.").
        sentence = said is None and (len(set(words.split())) > SENTENCE_WORDS or unopened) and not opened
        sure = top.score >= threshold and not (yes and (said is False or sentence or denied or asked_back and not said))
        return cls(yes if sure else None, yes, top.score, heard.transcript, heard.timings)


_Result = TypeVar("_Result", Recognition, Answer)


class Abandoned(Exception):
    """Nobody waits for this utterance any more: its worker stops before its next stage."""


def _go_on(abandoned: threading.Event | None) -> None:
    if abandoned is not None and abandoned.is_set():
        raise Abandoned


class SpeechService:
    """`await start()` once, then `recognize(audio, area_code)` per name and `reply(audio)`
    per answer to "Bedoelt u …?".

    What is heard is a `vad.Spoken`: the endpointer's `utterance()` (its speech found as it was
    cut), or `vad.whole_clip(samples)` for a clip no endpointer cut (a file).
    `thresholds` is the configuration's (`config.Thresholds`): accept and confirm for names,
    reply_yes and reply_no for replies.
    `deadline` (`speech.deadline`; None: none, for the CLI and the benches) bounds the wait.
    `workers`: recognitions side by side (`speech.workers`).
    """

    def __init__(self, grammars: Grammars, thresholds: Thresholds, deadline: Deadline | None = None,
                 model_path: Path | None = None, on_shed: Callable[[], None] | None = None,
                 policy: Path | None = None, recognizer: Recognizer | None = None, workers: int = 1):
        self._built_lock = threading.Lock()  # two workers that need a matcher build it once
        self.reconfigure(grammars, thresholds, deadline)
        self.settled = SETTLED  # from this unprimed P(right) a name is not primed
        self.model_path = model_path
        # The policy file its matchers are judged by (None: the one in force, `policy.policy_path()`),
        # and a recogniser already loaded (`fourteenplus tune` judges the same clips by two policies).
        self.policy = policy
        self.workers = workers
        self._workers = Workers(workers)
        self._pending = 0  # utterances submitted to the workers and not finished
        self._count_lock = threading.Lock()  # the loop counts them on, the workers off
        # Seconds a full recognition takes here, as the workers measure it (a moving average).
        self._full_seconds = 0.5
        # Seconds any utterance keeps a worker, name or reply, shed or not (a moving average).
        self._work_seconds = 0.5
        self.on_shed = on_shed  # called (in a worker) per utterance given the unprimed recognition
        self._recognizer: Recognizer | None = recognizer
        self.startup_seconds: float | None = None

    def reconfigure(self, grammars: Grammars, thresholds: Thresholds, deadline: Deadline | None) -> None:
        """Grammars, thresholds and deadline for the utterances from now on (a reloaded
        configuration); the model stays loaded. An utterance in a worker finishes with what
        it started with."""
        self.grammars = grammars
        self.thresholds = thresholds
        self.deadline = deadline
        self._matchers: dict[str, Matcher] = {}

    async def start(self) -> None:
        """Load the model in a worker (seconds, not milliseconds): before the first call."""
        await asyncio.wrap_future(self._workers.submit(self.load, -math.inf))

    def load(self) -> Recognizer:
        """Load the model now, in this thread (idempotent)."""
        from . import model
        from .recognizer import Recognizer

        if self._recognizer is None:
            started = time.perf_counter()
            self._recognizer = Recognizer(model.load(self.model_path, workers=self.workers))
            self.startup_seconds = time.perf_counter() - started
        return self._recognizer

    @property
    def recognizer(self) -> Recognizer:
        """The recogniser (loaded on first use)."""
        return self.load()

    def matcher(self, area_code: str, neutral: bool = False, primed: bool = True) -> Matcher:
        """The matcher for an area's names, built once. `neutral`: a new one whose policy weighs
        nothing, for `bench fit` to gather evidence before a model exists. `primed=False`:
        without the primed transcription, judged by the `unprimed` model."""
        from .matcher import Matcher

        from .policy import Policy

        kind = "names" if primed else "unprimed"
        shortlist = NATIONAL_SHORTLIST if area_code == NATIONAL else None
        # The no-name gate stands where every name is first heard, unprimed (`_name`): speech it
        # stops is never primed, and the primed step (other phrases scored) does not judge it
        # again. None for gathering evidence, and on a national number, whose callers it was
        # not fitted on (a shortlist's scores, the country's phrases to cover the words).
        # Read with the matcher, once: not on every name.
        gated = not (neutral or primed or shortlist is not None)
        return self._built(f"{area_code}/{kind}", kind, neutral, lambda policy: Matcher(
            self.grammars.area(area_code), self.grammars.elsewhere(area_code), policy=policy, primed=primed,
            shortlist=shortlist, gate=Policy.load("gate", self.policy) if gated else None))

    def reply_matcher(self, neutral: bool = False) -> Matcher:
        """The matcher for ja/nee, judged by the `reply` model. No villages to pick and too short
        for whisper to spell better when primed (measured on tests/data/corpus), so no primed
        transcription, ~0.1 s saved; no carrier sentence either (it never scored best on the
        tune replies)."""
        from .matcher import Matcher

        return self._built("reply", "reply", neutral,
                           lambda policy: Matcher(REPLIES, policy=policy, primed=False, carrier=False))

    def department_matcher(self, phrases: tuple[tuple[str, str], ...]) -> Matcher:
        """The matcher for a municipality's departments, `phrases` (phrase, department) as its
        grammar's (each department ranked like a municipality of an area of its own, as ja and
        nee are). Judged by the `unprimed` names model, fitted on names, not departments: its
        probabilities are only as calibrated as a department phrase is like a name, so the
        flow takes them at a strict threshold of its own (`thresholds.department`).

        People answer in a sentence ("ik heb een vraag over de belastingen"): each phrase is
        also scored in the words they said around it (`Matcher.said_around`), and those words
        are no evidence against it (`ABOUT_FILLERS`), as the carrier sentence and the fillers
        are for a name (bench/dialogue.md, departments)."""
        from .matcher import ABOUT_FILLERS, Matcher

        grammar = AreaGrammar("departments", tuple(dict.fromkeys(d for _, d in phrases)),
                              tuple(Phrase(text, department, "name") for text, department in phrases))
        return self._built(f"departments/{phrases!r}", "unprimed", False,
                           lambda policy: Matcher(grammar, policy=policy, primed=False, carrier=False,
                                                  fillers=ABOUT_FILLERS, around=True))

    def _built(self, key: str, kind: str, neutral: bool, build: Callable[[Policy], Matcher]) -> Matcher:
        from .policy import Policy

        if neutral:
            return build(Policy.neutral(kind))
        matchers = self._matchers  # a reconfiguration replaces the dict, never empties it
        found = matchers.get(key)
        if found is None:
            with self._built_lock:
                found = matchers.get(key)
                if found is None:
                    found = matchers[key] = build(Policy.load(kind, self.policy))
        return found

    def _decide(self, matcher: Matcher, heard: Heard) -> Recognition:
        return matcher.decide(heard, self.thresholds.accept, self.thresholds.confirm)

    def recognize_now(self, spoken: Spoken, area_code: str, primed: bool = True,
                      abandoned: threading.Event | None = None) -> Recognition:
        """A name, synchronously in the calling thread (the CLI and the bench use this).

        Only doubt pays for the primed transcription: the clip is first heard without it and
        judged by the `unprimed` model. A name that model is sure of (`settled`), or none to
        be had (no speech, another area's name), is the answer; otherwise the primed
        transcription runs on the same encoded clip, and only its villages not yet scored
        are. `primed=False` (under load) stops at the first step, without a national
        number's trie search (`Recognizer.search`) before it. Once `abandoned` is set,
        the next stage raises `Abandoned` instead of starting."""
        return self._name(self.recognizer.clip(spoken), area_code, primed, abandoned)

    def _name(self, clip: Clip, area_code: str, primed: bool, abandoned: threading.Event | None) -> Recognition:
        recognizer = self.recognizer
        unprimed = self.matcher(area_code, primed=False)
        _go_on(abandoned)
        if primed and unprimed.searchable and recognizer.tuning.search_beam:
            # A national number: the trie search shortlists what whisper cannot spell. It costs
            # about as much as the scoring (bench/dialogue.md), so it is shed under load as the
            # primed transcription is, and a correction said with a reply goes without it.
            recognizer.search(clip, unprimed.searchable, unprimed.lead(clip.transcript))
            _go_on(abandoned)
        first = self._decide(unprimed, recognizer.score(clip, unprimed.shortlist))
        if not primed or not first.ranked or first.candidates[0].score >= self.settled:
            return first
        named = self.matcher(area_code)
        _go_on(abandoned)
        recognizer.prime(clip, named.prompt_for(clip.transcript))
        _go_on(abandoned)
        # The gate weighed the take where it was first heard: its doubt stays with the take.
        return dataclasses.replace(self._decide(named, recognizer.score(clip, named.shortlist)), no_name=first.no_name)

    def reply_now(self, spoken: Spoken, abandoned: threading.Event | None = None,
                  area_code: str | None = None, asked: str | None = None) -> Answer:
        """An answer to "Bedoelt u `asked`?", synchronously in the calling thread.

        With the area, a name said with the answer (`reply.said_name`) is heard as a name
        is, on the same encoded clip, and only then (few answers hold one): after a nee it is
        the caller's correction; after a ja only when its words name another of the area's
        municipalities than `asked` ("ja, Opmeer" to "Bedoelt u Hoorn?"), and unless the
        recognition then ranks `asked` first, the ja is no ja."""
        from .reply import said_name

        matcher = self.reply_matcher()
        clip = self.recognizer.clip(spoken, opening="ja")
        _go_on(abandoned)
        # ASKED_BACK on the same audio, in the same pass: one text more, never the model's.
        heard = self.recognizer.score(clip, lambda *transcripts: matcher.shortlist(*transcripts)
                                      + [(text, matcher.other_forms) for text in ASKED_BACK])
        answers = {text: score for text, score in heard.phrase_scores.items() if text not in ASKED_BACK}
        yes = max((score for text, score in answers.items() if text in SAID_YES), default=-math.inf)
        asked_back = any(heard.phrase_scores.get(text, -math.inf) >= yes + ASKED_BACK_MARGIN for text in ASKED_BACK)
        answer = Answer.of(self._decide(matcher, dataclasses.replace(heard, phrase_scores=answers)), self.thresholds,
                           clip.opens, clip.seconds, asked_back)
        said, name = said_name(clip.transcript, answer.likelier)
        if area_code is None or said is None or not name:
            return answer
        if said:
            named = self.matcher(area_code, primed=False).text_match(name)[0]
            if not named or named[0].municipality == asked or named[0].score < NAMED:
                return answer
        _go_on(abandoned)
        # Unprimed, as a name under load: the cost of one more scoring of the area's names on
        # the clip already encoded, and the flow asks about what it is not sure of.
        correction = self._name(dataclasses.replace(clip, transcript=name), area_code, False, abandoned)
        if said and correction.ranked[:1] == (asked,):
            return answer
        return dataclasses.replace(answer, yes=None if said else answer.yes, correction=correction)

    def department_now(self, spoken: Spoken, phrases: tuple[tuple[str, str], ...],
                       abandoned: threading.Event | None = None) -> Recognition:
        """What a call is about, synchronously: the departments' phrases scored against the clip
        as names are, without the primed transcription (a short phrase, like a reply)."""
        matcher = self.department_matcher(phrases)
        clip = self.recognizer.clip(spoken)
        _go_on(abandoned)
        return self._decide(matcher, self.recognizer.score(clip, matcher.shortlist))

    def _name_in_worker(self, spoken: Spoken, area_code: str, queued: float,
                        abandoned: threading.Event) -> Recognition:
        """The full recognition if nobody waits behind this utterance and what is left of its
        deadline covers a slow one, else the unprimed one. Nobody waits while every utterance
        not finished has a worker: those in the other workers keep their own cores."""
        with self._count_lock:
            primed, full_seconds = self._pending <= self.workers, self._full_seconds
        primed = primed and (self.deadline is None or self.deadline.primed_fits(queued, full_seconds))
        started = time.monotonic()
        try:
            result = self.recognize_now(spoken, area_code, primed, abandoned)
        except Abandoned:
            # A full recognition cut short took at least this long: when that is longer than
            # the estimate, the estimate learns it, or recognitions that always run past the
            # deadline (a national number's search on a loaded node) would never be shed.
            # One abandoned early (the caller spoke on) teaches nothing.
            if primed:
                self._full_took(time.monotonic() - started, at_least=True)
            raise
        if "prompted_ms" in result.timings:  # a clip that needed the primed transcription
            self._full_took(time.monotonic() - started)
        if not primed and self.on_shed:
            self.on_shed()
        return result

    def _full_took(self, seconds: float, at_least: bool = False) -> None:
        """A full recognition took `seconds` (`at_least`: it was cut short, so only a time
        above the estimate teaches it): into the moving average."""
        with self._count_lock:
            change = seconds - self._full_seconds
            self._full_seconds += 0.2 * (max(change, 0.0) if at_least else change)

    async def _run(self, spoken: Spoken, ended: float | None,
                   work: Callable[[Spoken, float, threading.Event], _Result], late: _Result) -> _Result:
        """`work(spoken, seconds queued, abandoned)` in a worker, or `late` past the deadline.
        `ended`: when what `spoken` holds ended (`time.monotonic()`; None: now), which
        orders it among the waiting (`Workers`): every utterance has the same deadline once
        taken, so the earliest deadline is the earliest end.
        Past the deadline, or when the caller's task is cancelled (a recognition started at a
        pause, superseded because the caller spoke on), the work is abandoned: it never
        starts, or stops at its next stage, and the worker is free for the next utterance."""
        abandoned = threading.Event()
        loop = asyncio.get_running_loop()
        taken = asyncio.Event()  # a worker has taken the utterance: its deadline runs from here
        submitted = time.monotonic()

        def timed() -> _Result:
            started = time.monotonic()
            loop.call_soon_threadsafe(taken.set)
            _go_on(abandoned)
            result = work(spoken, started - submitted, abandoned)
            result.timings["queued_ms"] = (started - submitted) * 1000
            with self._count_lock:
                self._work_seconds += 0.2 * (time.monotonic() - started - self._work_seconds)
            return result

        # Counted before a worker can start it (it reads the count), and off when the worker
        # is done with it (or it was dropped before it started), not when its caller stops
        # waiting: past the deadline the worker is still busy. The worker counts it off
        # itself, before it takes the next utterance, which then sees who is really behind.
        self._count(1)
        try:
            job = self._workers.submit(timed, submitted if ended is None else ended)
        except RuntimeError:  # the service is closing
            self._count(-1)
            raise
        job.add_done_callback(lambda _: self._count(-1))
        done = asyncio.wrap_future(job)
        waiting = asyncio.ensure_future(taken.wait())
        try:
            # Queued behind other callers: no deadline yet (speech/deadline.py).
            await asyncio.wait((done, waiting), return_when=asyncio.FIRST_COMPLETED)
            seconds = None if self.deadline is None else self.deadline.seconds
            return await asyncio.wait_for(done, seconds)
        except asyncio.TimeoutError:
            abandoned.set()
            return late
        except asyncio.CancelledError:
            # The caller has gone (or spoke on): a queued utterance is never started.
            abandoned.set()
            done.cancel()
            raise
        finally:
            waiting.cancel()

    def _count(self, step: int) -> None:
        with self._count_lock:
            self._pending += step

    @property
    def idle(self) -> bool:
        """A worker is free and nothing waits: an utterance submitted now starts at once."""
        return self._pending < self.workers

    @property
    def expected_wait_s(self) -> float:
        """How long an utterance submitted now would wait for a worker: until those before it
        beyond the free workers have been taken, the workers together getting through one
        per `1 / workers` of what a worker has lately taken per utterance."""
        with self._count_lock:
            ahead = self._pending - self.workers + 1
            return max(ahead, 0) * self._work_seconds / self.workers

    @property
    def busy(self) -> bool:
        """The recognisers cannot keep up: a new caller is better served by the keypad
        (`Deadline.admits`)."""
        return self.deadline is not None and not self.deadline.admits(self.expected_wait_s)

    def _timed_out(self) -> Recognition:
        """What a caller gets past the deadline (speech/deadline.py, outcome 2)."""
        waited = self.deadline.recognition_ms if self.deadline else 0.0
        return Recognition.rejected(Reason.TIMEOUT, timings={"deadline_ms": waited})

    async def recognize(self, spoken: Spoken, area_code: str, ended: float | None = None) -> Recognition:
        """`ended`: when the caller stopped speaking (`time.monotonic()`; None: now), which
        orders the waiting utterances (`_run`)."""
        return await self._run(spoken, ended,
                               lambda s, queued, abandoned: self._name_in_worker(s, area_code, queued, abandoned),
                               self._timed_out())

    async def reply(self, spoken: Spoken, area_code: str | None = None, asked: str | None = None,
                    ended: float | None = None) -> Answer:
        """A reply is never shed: it has no primed transcription to shed (nor has a name said
        with it: see `reply_now`).

        Nor does it jump the queue, short as it is: it is taken by when it ended, as a name
        is. Its deadline is a name's, so by deadline it is not first; going first would save
        its caller the names ahead of it and cost each of them a reply's recognition, and in
        a burst of ja's the names would wait for all of them (and be shed to unprimed). One
        rule, the caller who stopped speaking first is heard first, bounds every caller's
        wait by those who stopped before them."""
        return await self._run(spoken, ended,
                               lambda s, _, abandoned: self.reply_now(s, abandoned, area_code, asked),
                               Answer.of(self._timed_out(), self.thresholds))

    async def department(self, spoken: Spoken, phrases: tuple[tuple[str, str], ...],
                         ended: float | None = None) -> Recognition:
        """Never shed either: it has no primed transcription. Taken by when it ended too."""
        return await self._run(spoken, ended, lambda s, _, abandoned: self.department_now(s, phrases, abandoned),
                               self._timed_out())

    def close(self) -> None:
        self._workers.close()
