"""The conversation with one caller, as a state machine: events in, actions out.

No sockets, no clock, no files: the ARI and the FastAGI adapters feed it what happened
(`handle(event)`) and carry out what it returns. Everything a caller can do at any moment,
including nothing and hanging up, leads somewhere deliberate: a municipality's trunk or a
spoken message followed by a clean hang-up.

Timers and playbacks carry ids; a Timeout or PromptDone whose id is no longer current
is stale (the caller moved on) and is ignored, so adapters never have to race-proof them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .config import DIAL_AREA, REACHABLE, AreaPlan, Service
from .directory import slug
from .numberplan import NATIONAL, NumberRejected, digits_of, parse
from .records.schema import Attempt, CallRecord
from .speech import Candidate, Recognition
from .text import asks_for_english


# ---- events (what happened) ----

@dataclass(frozen=True)
class PromptDone:
    play_id: str


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class Utterance:
    """A name heard: the recogniser's take on it."""
    recognition: Recognition


@dataclass(frozen=True)
class RecognitionFailed:
    reason: str  # "error", "deadline", …


@dataclass(frozen=True)
class Reply:
    yes: bool | None  # None: neither ja nor nee was understood
    # A name said with the answer ("nee, Koggenland"), heard as a name is: taken as one.
    correction: Recognition | None = None


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Timeout:
    timer_id: str


@dataclass(frozen=True)
class HungUp:
    pass


@dataclass(frozen=True)
class DialResult:
    status: str  # Asterisk DIALSTATUS: ANSWER, BUSY, CONGESTION, CHANUNAVAIL, NOANSWER, …


# ---- actions (what to do) ----

@dataclass(frozen=True)
class Play:
    play_id: str
    prompts: tuple[str, ...]
    barge_in: bool
    language: str = "nl"  # the prompt set: sounds/fourteenplus/<language>/<prompt id>


@dataclass(frozen=True)
class StopPlayback:
    pass


# What the caller is listened for (`Listen.mode`).
NAME, REPLY = "name", "reply"


@dataclass(frozen=True)
class Listen:
    mode: str  # NAME or REPLY
    area_code: str
    asked: str | None = None  # REPLY: the municipality of "Bedoelt u …?"


@dataclass(frozen=True)
class StopListening:
    pass


@dataclass(frozen=True)
class StartTimer:
    timer_id: str
    ms: int


@dataclass(frozen=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True)
class Transfer:
    municipality: str
    trunk: str
    overflow: str | None


@dataclass(frozen=True)
class Hangup:
    reason: str


Event = PromptDone | SpeechStarted | Utterance | RecognitionFailed | Reply | Dtmf | Timeout | HungUp | DialResult
Action = Play | StopPlayback | Listen | StopListening | StartTimer | CancelTimer | Transfer | Hangup


# ---- the record of a call ----

# How a call reached its municipality (`CallRecord.path`): dialled for one (direct), the name
# accepted at once (spoken, or spoken_repeat after "Dat verstond ik niet"), a ja or key 1 to
# "Bedoelt u …?" (confirmed), the keypad menu, or the area's default.
DIRECT, SPOKEN, SPOKEN_REPEAT, CONFIRMED, KEYPAD, DEFAULT = (
    "direct", "spoken", "spoken_repeat", "confirmed", "keypad", "default")

# Prompt ids the flow plays (besides menu/<area>, number/<reason>, closed/<slug> and the
# end messages): the question, the question again, "Bedoelt u X?" (confirm/<slug>), "Of
# bedoelt u Y?" for the next likeliest after a nee (confirm-or/<slug>), and the keys that
# answer a question, added when a spoken answer was not understood. A caller who said
# something that names no municipality at all hears the question with a hint (no-name),
# not "Dat verstond ik niet": they were understood, they just did not say a name.
QUESTION, AGAIN, CONFIRM, CONFIRM_OR, REPLY_KEYS = "question", "again", "confirm", "confirm-or", "reply-keys"
NO_NAME = "no-name"
CONFIRM_PROMPTS = (CONFIRM, CONFIRM_OR)
# Before the menu, when the recognisers cannot keep up, "it is busy, choose with the keys"
# (its id is also the reason of that call's failure attempt); and before the area's default,
# "you are put through to X" (default/<slug>), so a caller never reaches it without a word.
BUSY, PUT_THROUGH_TO_DEFAULT = "busy", "default"


# What became of a call (`CallRecord.outcome`): transferred to a trunk, sent to the
# after-hours number or told the municipality is closed, a number refused or an area not
# served here, a municipality not connected, no choice made at the menu, or hung up first.
(OUTCOME_TRANSFERRED, OUTCOME_AFTER_HOURS, OUTCOME_CLOSED, OUTCOME_REJECTED_NUMBER, OUTCOME_NOT_SERVED,
 OUTCOME_NOT_CONNECTED, OUTCOME_NO_CHOICE, OUTCOME_ABANDONED) = (
    "transferred", "after_hours", "closed", "rejected_number", "not_served", "not_connected", "no_choice",
    "abandoned")
# On a national number: the municipality named is not connected here, and the caller was told
# its 14+ number ("Opmeer is bereikbaar op veertien 0 2 2 6").
OUTCOME_REFERRED = "referred"

# What an attempt was (`Attempt.kind`): a name said, a ja/nee said, a key pressed, nothing
# said in time, the recogniser failing, or English asked for.
KIND_NAME, KIND_REPLY, KIND_KEYPAD, KIND_SILENCE, KIND_FAILURE, KIND_LANGUAGE = (
    "name", "reply", "keypad", "silence", "failure", "language")
# What we made of it (`Attempt.decision`), besides a name's `speech.Decision` (accept,
# confirm, reject): ja, nee or neither, a key, no answer in time, a failure, English.
YES, NO, UNCLEAR, PRESSED, TIMED_OUT, FAILED, ENGLISH = "yes", "no", "unclear", "digit", "timeout", "error", "en"

# States, named for what the caller is doing (`CallRecord.abandoned_at` holds one).
STARTING, ASKING, CONFIRMING, MENU, ENDING, TRANSFERRED, DONE = (
    "starting", "asking", "confirming", "menu", "ending", "transferred", "done")


ENGLISH_KEY = "9"  # at the question (or saying "English"): the rest of the call in English


class CallFlow:
    """`now` is the moment the call came in (aware datetime), for opening hours; the adapter
    passes its clock. Without it, opening hours are not applied (tests of other paths)."""

    def __init__(self, service: Service, dialled: str, caller: str | None = None,
                 now: dt.datetime | None = None):
        self.service = service
        self.now = now
        self.record = CallRecord(dialled=dialled, caller=caller, language=service.language)
        self.state = STARTING
        self._final: list[Action] = []  # what follows the message played in ENDING
        self.plan: AreaPlan | None = None
        self._name_attempts = 0
        self._menu_plays = 0
        self._confirm_plays = 0
        self._confirming: str | None = None
        # The dialogue's memory across the caller's answers: what each name take said for
        # each municipality (its probability of being the one), the municipalities the
        # caller said nee to, and those still to ask about after this question.
        self._takes: list[dict[str, float]] = []
        self._denied: set[str] = set()
        self._to_ask: list[str] = []
        # What each municipality was last heard as (a national caller's "Bergen" is asked
        # about with where it is).
        self._heard_as: dict[str, Candidate] = {}
        self._counter = 0
        self._playing: str | None = None
        self._timer: str | None = None
        self._speaking = False
        self._listening = False

    @property
    def _area(self) -> AreaPlan:
        """The dialled area's plan: known once the flow has started in an area, as it is in
        every state that asks, listens or transfers."""
        assert self.plan is not None
        return self.plan

    @property
    def _national(self) -> bool:
        """A national number's call: any municipality of the country may be named."""
        return self._area.code == NATIONAL

    @property
    def _asked(self) -> str:
        """The municipality the caller is asked about ("Bedoelt u …?"), while CONFIRMING."""
        assert self._confirming is not None
        return self._confirming

    @property
    def done(self) -> bool:
        return self.state in (TRANSFERRED, DONE)

    # ---- entry points ----

    def start(self, busy: bool = False) -> list[Action]:
        """`busy`: the recognisers cannot keep up (`SpeechService.busy`); a caller who would be
        asked to speak gets the keypad menu at once, with an apology, instead of a long wait."""
        try:
            kind, target = self.service.numbers[digits_of(self.record.dialled)]
        except (NumberRejected, KeyError):
            pass
        else:  # a geographic number, dialled from abroad where 14+ cannot be reached
            if kind == "municipality":
                self._enter_area(next(p for p in self.service.areas.values() if target in p.connected))
                return self._transfer(target, DIRECT)
            return self._start_area(target, busy)
        try:
            national = self.service.national.numbers if self.service.national else ()
            code = parse(self.record.dialled, self.service.directory.areas, national)
        except NumberRejected as exc:
            self.record.reason = exc.reason
            return self._end(OUTCOME_REJECTED_NUMBER, ("number/" + exc.reason,))
        return self._start_area(code, busy)

    def _start_area(self, code: str, busy: bool) -> list[Action]:
        self._enter_area(self.service.plan(code))
        if self._national:
            # No keypad menu holds the country: a busy recogniser hears this caller late.
            return self._ask(QUESTION)
        if not self._area.connected:
            return self._end(OUTCOME_NOT_SERVED, ("number/" + OUTCOME_NOT_SERVED,))
        if len(self._area.connected) == 1:
            return self._transfer(self._area.connected[0], DIRECT)
        if busy:
            self.record.attempts.append(Attempt(KIND_FAILURE, FAILED, reason=BUSY))
            return self._menu((BUSY,))
        return self._ask(QUESTION)

    def _enter_area(self, plan: AreaPlan) -> None:
        self.plan = plan
        self.record.area_code = plan.code
        if plan.language:  # the area's own prompt set (Frisian) from here on
            self.record.language = plan.language

    def handle(self, event: Event) -> list[Action]:
        if self.state == DONE:
            return []
        if isinstance(event, HungUp):
            return self._hung_up()
        if isinstance(event, DialResult):
            self.record.dial_status = event.status
            return []
        if self.state == TRANSFERRED:
            return []
        if isinstance(event, PromptDone):
            return self._prompt_done(event.play_id)
        if isinstance(event, Timeout):
            return self._timeout(event.timer_id) if event.timer_id == self._timer else []
        if isinstance(event, SpeechStarted):
            return self._speech_started()
        if isinstance(event, Dtmf):
            return self._dtmf(event.digit)
        if isinstance(event, Utterance) and self.state == ASKING:
            return self._utterance(event.recognition)
        if isinstance(event, Reply) and self.state == CONFIRMING:
            return self._reply(event.yes, correction=event.correction)
        if isinstance(event, RecognitionFailed) and self.state in (ASKING, CONFIRMING):
            return self._recognition_failed(event.reason)
        return []

    # ---- transitions ----

    def _hung_up(self) -> list[Action]:
        # A caller who leaves during a final message got what we had to say; one who leaves
        # before a transfer that was still to come did not.
        message_only = self.state == ENDING and isinstance(self._final[0], Hangup)
        if self.state != TRANSFERRED and not message_only:
            self.record.outcome = OUTCOME_ABANDONED
            self.record.abandoned_at = self.state
        self.state = DONE
        return []

    def _prompt_done(self, play_id: str) -> list[Action]:
        if play_id != self._playing:
            return []
        self._playing = None
        if self.state == ENDING:
            self.state = TRANSFERRED if self._final and isinstance(self._final[0], Transfer) else DONE
            return self._final
        if self.state in (ASKING, CONFIRMING) and not self._speaking:
            return self._start_timer("no-input", self.service.listen.no_input_ms)
        if self.state == MENU:
            return self._start_timer("menu", self.service.listen.menu_timeout_ms)
        return []

    def _timeout(self, timer_id: str) -> list[Action]:
        self._timer = None
        if timer_id.startswith("speech"):
            return self._recognition_failed("deadline")
        if self.state == ASKING:
            self.record.attempts.append(Attempt(KIND_SILENCE, TIMED_OUT))
            return self._failed_name_attempt()
        if self.state == CONFIRMING:
            self.record.attempts.append(Attempt(KIND_REPLY, TIMED_OUT))
            return self._unclear_reply()
        if self.state == MENU:
            self.record.attempts.append(Attempt(KIND_KEYPAD, TIMED_OUT))
            return self._menu_or_default(())
        return []

    def _recognition_failed(self, reason: str) -> list[Action]:
        # A recogniser that failed once will likely fail again; the keypad still works.
        self._speaking = False
        self.record.attempts.append(Attempt(KIND_FAILURE, FAILED, reason=reason))
        return self._cancel_timer() + self._menu_or_default(())

    def _speech_started(self) -> list[Action]:
        if self.state not in (ASKING, CONFIRMING):
            return []
        self._speaking = True
        actions: list[Action] = [StopPlayback()] if self._playing else []
        self._playing = None
        # The backstop of the deadline policy (speech/deadline.py): a caller is never left
        # waiting on a recogniser or an adapter that is stuck.
        return actions + self._start_timer("speech", self.service.listen.deadline.speech_ms)

    def _dtmf(self, digit: str) -> list[Action]:
        if self.state == CONFIRMING and digit in ("1", "2"):
            return self._reply(digit == "1", keyed=True)
        if self.state == ASKING and digit == ENGLISH_KEY and self.record.language != "en":
            return self._english(Attempt(KIND_LANGUAGE, ENGLISH, reason=f"pressed {digit!r}"))
        if self.state in (ASKING, CONFIRMING):
            # A caller who reaches for the keypad wants the keypad: give them the menu now.
            self._speaking = False
            self.record.attempts.append(Attempt(KIND_KEYPAD, PRESSED, reason=f"pressed {digit!r} before the menu"))
            return self._cancel_timer() + self._menu_or_default(())
        if self.state == MENU:
            return self._menu_choice(digit)
        return []

    def _utterance(self, recognition: Recognition) -> list[Action]:
        # "English" is no municipality: the recogniser rejects it, but its transcript says it.
        # A name it accepted wins over a word that only sounds like one.
        if (recognition.decision != "accept" and self.record.language != "en"
                and asks_for_english(recognition.transcript)):
            return self._english(Attempt(KIND_LANGUAGE, ENGLISH, transcript=recognition.transcript, reason="said"))
        self._speaking = False
        actions = self._cancel_timer()
        candidates = tuple((c.municipality, round(c.score, 3)) for c in recognition.candidates)
        self.record.attempts.append(Attempt(
            KIND_NAME, recognition.decision, recognition.municipality, candidates[0][1] if candidates else None,
            recognition.transcript, candidates, recognition.reason))
        # A recogniser must never route outside the dialled area, nor on a name it heard as
        # another area's; the candidates it still ranked are no evidence then.
        heard = bool(recognition.ranked)
        take = {c.municipality: c.score for c in recognition.candidates
                if heard and c.municipality in self._area.municipalities}
        self._takes.append(take)
        self._heard_as.update({c.municipality: c for c in recognition.candidates if c.municipality in take})
        thresholds = self.service.thresholds
        # A transfer without a question rests on this take alone, as sure as the policy was
        # fitted to be, and on the municipality's own name: a village or an alias heard
        # (short, and many of them) is asked about, however sure (on the tune callers every
        # transfer at accept level that went wrong was one). The takes together only choose
        # what to ask about.
        # On a national number every name is asked about: only a shortlist of the country's
        # names is scored (the caller's may not be on it), and the policy was fitted where all
        # of an area's names are, so there a sure take can be a wrong one (bench/dialogue.md).
        sure = [c for c in recognition.candidates if c.municipality in take and c.own_name and not self._national
                and c.municipality not in self._denied and c.score >= thresholds.accept]
        if sure:
            top = max(sure, key=lambda c: c.score).municipality
            if top not in self._area.connected:
                return actions + self._end(OUTCOME_NOT_CONNECTED, ("not-connected", "goodbye"))
            return actions + self._transfer(top, SPOKEN if self._name_attempts == 0 else SPOKEN_REPEAT)
        again = NO_NAME if recognition.reason == "no_name" else AGAIN
        ranked = self._ranked()
        if not ranked:
            return actions + self._failed_name_attempt(again)
        top, confidence = ranked[0]
        if confidence >= thresholds.confirm and not self._askable(top):
            return actions + self._end(OUTCOME_NOT_CONNECTED, ("not-connected", "goodbye"))
        # Ask about the likeliest, and after a nee about the next, while each is likely enough:
        # a "Bedoelt u …?" answered nee costs a short turn, saying the name again a long one.
        self._to_ask = [m for i, (m, p) in enumerate(ranked[: self.service.listen.questions])
                        if self._askable(m) and p >= (thresholds.confirm if i == 0 else thresholds.runner_up)]
        if not self._to_ask or self._to_ask[0] != top:
            return actions + self._failed_name_attempt(again)
        return actions + self._confirm(self._to_ask.pop(0), CONFIRM)

    def _ranked(self) -> list[tuple[str, float]]:
        """The area's municipalities by how likely the caller means each, over every name take
        so far (`combine`), without those they said nee to."""
        combined = combine(self._takes)
        return sorted(((m, p) for m, p in combined.items() if m not in self._denied), key=lambda item: -item[1])

    def _askable(self, municipality: str) -> bool:
        """Whether the caller may be asked about it: a connected municipality of the area; on a
        national number any (one not connected here has its 14+ number told)."""
        return self._national or municipality in self._area.connected

    def _confirm(self, municipality: str, prompt: str) -> list[Action]:
        self._confirming = municipality
        self._confirm_plays = 0
        self.state = CONFIRMING
        return self._listen(REPLY, municipality) + self._play("confirm", (self._question(prompt, municipality),), True)

    def _question(self, prompt: str, municipality: str) -> str:
        """`confirm/<slug>` ("Bedoelt u Hoorn?"), or for a place that shares its name with
        places in other municipalities `confirm/<slug>/<place slug>` ("Bedoelt u Bergen in
        Noord-Holland?")."""
        heard = self._heard_as.get(municipality)
        if heard is not None and heard.shared:
            return f"{prompt}/{self._slug(municipality)}/{slug(heard.phrase)}"
        return f"{prompt}/{self._slug(municipality)}"

    def _english(self, attempt: Attempt) -> list[Action]:
        """The rest of the call in English: the question again, the Dutch names still heard."""
        self._speaking = False
        self.record.language = "en"
        self.record.attempts.append(attempt)
        return self._cancel_timer() + self._ask(QUESTION)

    def _reply(self, yes: bool | None, keyed: bool = False, correction: Recognition | None = None) -> list[Action]:
        self._speaking = False
        actions = self._cancel_timer()
        kind = KIND_KEYPAD if keyed else KIND_REPLY
        self.record.attempts.append(Attempt(kind, {True: YES, False: NO, None: UNCLEAR}[yes], self._confirming))
        if yes:
            return actions + self._put_through(self._asked, CONFIRMED)
        if yes is False:
            self._denied.add(self._asked)
        # A name said with the answer is the caller's next take, weighed with the others as
        # any name is: put through when sure, else asked about. A nee whose name ranks
        # nothing is a plain nee.
        if correction is not None and correction.ranked:
            return actions + self._utterance(correction)
        if yes is False:
            if self._to_ask:
                return actions + self._confirm(self._to_ask.pop(0), CONFIRM_OR)
            return actions + self._failed_name_attempt()
        return actions + self._unclear_reply()

    def _unclear_reply(self) -> list[Action]:
        """The same question once more, now naming the keys that answer it."""
        self._confirm_plays += 1
        if self._confirm_plays < 2:
            return self._play("confirm", (self._question(CONFIRM, self._asked), REPLY_KEYS), True)
        return self._menu_or_default(())

    def _failed_name_attempt(self, prompt: str = AGAIN) -> list[Action]:
        self._name_attempts += 1
        if self._name_attempts < self.service.listen.attempts:
            return self._ask(prompt)
        return self._menu_or_default(())

    def _menu_choice(self, digit: str) -> list[Action]:
        connected = self._area.connected
        actions = self._cancel_timer()
        if digit.isdigit() and 1 <= int(digit) <= len(connected):
            self.record.attempts.append(Attempt(KIND_KEYPAD, PRESSED, connected[int(digit) - 1], reason=digit))
            return actions + self._transfer(connected[int(digit) - 1], KEYPAD)
        self.record.attempts.append(Attempt(KIND_KEYPAD, PRESSED, reason=f"wrong key {digit!r}"))
        return actions + self._menu_or_default(("menu-again",))

    def _menu_or_default(self, before: tuple[str, ...]) -> list[Action]:
        if self._national:  # no menu holds the whole country
            if self._area.default:
                return self._transfer(self._area.default, DEFAULT)
            return self._end(OUTCOME_NO_CHOICE, (DIAL_AREA, "goodbye"))
        if self._menu_plays < self.service.listen.menu_attempts:
            return self._menu(before)
        if self._area.default:
            return self._transfer(self._area.default, DEFAULT)
        return self._end(OUTCOME_NO_CHOICE, ("goodbye",))

    # ---- building blocks ----

    def _ask(self, prompt: str) -> list[Action]:
        self.state = ASKING
        return self._listen(NAME) + self._play(prompt, (prompt,), True)

    def _menu(self, before: tuple[str, ...]) -> list[Action]:
        self.state = MENU
        self._menu_plays += 1
        return self._stop_listening() + self._play("menu", (*before, "menu/" + self._area.code), True)

    def _listen(self, mode: str, asked: str | None = None) -> list[Action]:
        self._listening = True
        return [Listen(mode, self._area.code, asked)]

    def _stop_listening(self) -> list[Action]:
        if not self._listening:
            return []
        self._listening = False
        return [StopListening()]

    def _put_through(self, municipality: str, path: str) -> list[Action]:
        """The municipality chosen on a national number (or in an area): its trunk when it is
        connected here, else its 14+ number told."""
        if municipality in self._area.connected:
            return self._transfer(municipality, path)
        self.record.path = path
        self.record.municipality = municipality
        return self._end(OUTCOME_REFERRED, (f"{REACHABLE}/{self._slug(municipality)}", "goodbye"))

    def _transfer(self, municipality: str, path: str) -> list[Action]:
        connection = self.service.municipality(municipality)
        self.record.path = path
        self.record.municipality = municipality
        # Hours are checked once the municipality is known, so the caller hears the right ones.
        if connection.hours and self.now and not connection.hours.is_open(self.now):
            closed = ("closed/" + connection.slug,)
            if connection.after_hours:
                self.record.trunk = connection.after_hours
                return self._end(OUTCOME_AFTER_HOURS, closed,
                                 then=[Transfer(municipality, connection.after_hours, None)])
            return self._end(OUTCOME_CLOSED, closed)
        trunk = connection.english if self.record.language == "en" and connection.english else connection.trunk
        self.record.trunk = trunk
        transfer = Transfer(municipality, trunk, connection.overflow)
        if path == DEFAULT:  # chosen for the caller: they hear where to, then the trunk rings
            return self._end(OUTCOME_TRANSFERRED, (f"{PUT_THROUGH_TO_DEFAULT}/{connection.slug}",), then=[transfer])
        self.state = TRANSFERRED
        self.record.outcome = OUTCOME_TRANSFERRED
        return self._quiet() + [transfer]

    def _end(self, outcome: str, prompts: tuple[str, ...], then: list[Action] | None = None) -> list[Action]:
        self.state = ENDING
        self.record.outcome = outcome
        self._final = then or [Hangup(outcome)]
        return self._quiet() + self._play("end", prompts, False)

    def _quiet(self) -> list[Action]:
        """Stop whatever is playing, listening or counting down."""
        actions: list[Action] = [StopPlayback()] if self._playing else []
        self._playing = None
        return actions + self._stop_listening() + self._cancel_timer()

    def _play(self, name: str, prompts: tuple[str, ...], barge_in: bool) -> list[Action]:
        actions: list[Action] = [StopPlayback()] if self._playing else []
        self._counter += 1
        self._playing = f"{name}-{self._counter}"
        return actions + [Play(self._playing, prompts, barge_in, self.record.language)]

    def _start_timer(self, name: str, ms: int) -> list[Action]:
        actions = self._cancel_timer()
        self._counter += 1
        self._timer = f"{name}-{self._counter}"
        return actions + [StartTimer(self._timer, ms)]

    def _cancel_timer(self) -> list[Action]:
        if self._timer is None:
            return []
        timer, self._timer = self._timer, None
        return [CancelTimer(timer)]

    def _slug(self, municipality: str) -> str:
        return self.service.directory.municipalities[municipality].slug



def combine(takes: list[dict[str, float]]) -> dict[str, float]:
    """One probability per municipality from every name take that heard one: each take's,
    averaged (a municipality such a take did not rank counts 0 there). Two takes that agree
    keep their confidence, two that disagree lose it; a take that heard nothing (silence,
    another area's name) takes nothing away."""
    heard = [take for take in takes if take]
    names = {m for take in heard for m in take}
    return {m: sum(take.get(m, 0.0) for take in heard) / len(heard) for m in names}
