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

from .config import NOT_A_DEPARTMENT, AreaPlan, Connection, Department, Service
from .directory import slug
from .numberplan import NATIONAL, NumberRejected, digits_of, parse
from .records.schema import Attempt, CallRecord
from .speech import Candidate, Recognition
from .text import asks_for_english, fold, phrases_in
from .vocabulary import (
    GENERAL_LINE, AttemptKind, CallPath, Decision, ListenMode, Outcome, Prompt, PromptFamily, Reason, State,
    prompt_id, said,
)


# ---- events (what happened) ----

@dataclass(frozen=True)
class PromptDone:
    play_id: str


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class Utterance:
    """A name heard: the recogniser's take on it. `cut_off`: the turn never ended (voices or
    noise held it open to `listen.max_speech_ms`) and what was recognised is its last seconds:
    a name heard there counts as any, but nothing heard is no reason to ask again on a line
    that holds a turn open: the keypad menu."""
    recognition: Recognition
    cut_off: bool = False


@dataclass(frozen=True)
class RecognitionFailed:
    reason: str  # Reason.DEADLINE, or what failed (an exception's name)


@dataclass(frozen=True)
class Reply:
    yes: bool | None  # None: neither ja nor nee was understood
    # A name said with the answer ("nee, Koggenland"), heard as a name is: taken as one.
    correction: Recognition | None = None
    cut_off: bool = False  # as `Utterance.cut_off`: an answer not understood leads to the keypad menu


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
class Suggested:
    """The caller's own history (`history:` in the configuration): the municipality this
    caller was last put through to from this area. It may come at any time, or never."""
    municipality: str


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


@dataclass(frozen=True)
class Listen:
    mode: ListenMode
    area_code: str
    # ListenMode.REPLY: the municipality of "Bedoelt u …?" (or of the department of "Over …?");
    # ListenMode.DEPARTMENT: the municipality
    asked: str | None = None
    # ListenMode.DEPARTMENT: what callers say about each department, (phrase, department), for
    # the recogniser to score (an Utterance comes back, its candidates the departments).
    phrases: tuple[tuple[str, str], ...] = ()


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
    department: str | None = None  # put through to one of the municipality's departments


@dataclass(frozen=True)
class Hangup:
    reason: str


@dataclass(frozen=True)
class AnswerCall:
    """A conversation starts: answer the call. Never before one, so a caller whose number is
    refused or who is put straight through pays for nothing of ours."""


@dataclass(frozen=True)
class Refuse:
    """End the call unanswered: `prompts` as early media, then the SIP status that says why
    (404: there is no such number here)."""
    prompts: tuple[str, ...]
    language: str = "nl"


Event = (PromptDone | SpeechStarted | Utterance | RecognitionFailed | Reply | Dtmf | Timeout | HungUp | DialResult
         | Suggested)
Action = (Play | StopPlayback | Listen | StopListening | StartTimer | CancelTimer | Transfer | Hangup | AnswerCall
          | Refuse)


# ---- the record of a call ----
# Its values (paths, outcomes, attempt kinds and decisions, states), the listen modes and the
# prompt ids are the call's vocabulary (`vocabulary`).

# How closely (rapidfuzz, 0..100) a name take's transcript must spell a department's phrase
# for the department to count as said with the name: nearly as written, since no audio was
# scored for it.
SAID_WITH_NAME = 90


# The states that listen to the caller: a prompt's end starts the no-input timer there, and
# speech stops the prompt.
LISTENING = (State.ASKING, State.CONFIRMING, State.CHOOSING, State.CONFIRMING_DEPARTMENT)

ENGLISH_KEY = "9"  # at the question (or saying "English"): the rest of the call in English


class CallFlow:
    """`now` is the moment the call came in (aware datetime), for opening hours; the adapter
    passes its clock. Without it, opening hours are not applied (tests of other paths)."""

    def __init__(self, service: Service, dialled: str, caller: str | None = None,
                 now: dt.datetime | None = None):
        self.service = service
        self.now = now
        self.record = CallRecord(dialled=dialled, caller=caller, language=service.language)
        self.state: State = State.STARTING
        self._final: list[Action] = []  # what follows the message played in State.ENDING
        self.plan: AreaPlan | None = None
        self._name_attempts = 0
        self._menu_plays = 0
        self._confirm_plays = 0
        self._questions = 0  # "Bedoelt u …?" asked in this call, all municipalities together
        self._confirming: str | None = None
        # The dialogue's memory across the caller's answers: what each name take said for
        # each municipality (its probability of being the one), the municipalities the
        # caller said nee to, and those still to ask about after this question.
        self._takes: list[dict[str, float]] = []
        self._transcripts: list[str] = []  # of the name takes: a department may be said with the name
        self._doubts: list[float] = []  # of the name takes the no-name gate weighed: P(no name)
        self._choosing: Connection | None = None  # CHOOSING: the municipality whose department is asked
        self._department: Department | None = None  # CONFIRMING_DEPARTMENT: the one asked about
        self._denied: set[str] = set()
        self._to_ask: list[str] = []
        self._suggested: str | None = None  # the caller's history's municipality, in this area
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
        """The municipality the caller is asked about ("Bedoelt u …?"), while State.CONFIRMING."""
        assert self._confirming is not None
        return self._confirming

    @property
    def _municipality(self) -> Connection:
        """The municipality whose department the caller is asked for, while CHOOSING (and
        CONFIRMING_DEPARTMENT)."""
        assert self._choosing is not None
        return self._choosing

    @property
    def done(self) -> bool:
        return self.state in (State.TRANSFERRED, State.DONE)

    # ---- entry points ----

    def start(self, busy: bool = False) -> list[Action]:
        """`busy`: the recognisers cannot keep up (`SpeechService.busy`); a caller who would be
        asked to speak gets the keypad menu at once, with an apology, instead of a long wait.

        The call is answered only when something is said to the caller or heard from them: a
        refused number and a call put straight through are never answered here."""
        actions = self._begin(busy)
        return [AnswerCall(), *actions] if any(isinstance(a, (Play, Listen)) for a in actions) else actions

    def _begin(self, busy: bool) -> list[Action]:
        try:
            kind, target = self.service.numbers[digits_of(self.record.dialled)]
        except (NumberRejected, KeyError):
            pass
        else:  # a geographic number, dialled from abroad where 14+ cannot be reached
            if kind == "municipality":
                self._enter_area(next(p for p in self.service.areas.values() if target in p.connected))
                return self._transfer(target, CallPath.DIRECT)
            return self._start_area(target, busy)
        try:
            national = self.service.national.numbers if self.service.national else ()
            code = parse(self.record.dialled, self.service.directory.areas, national)
        except NumberRejected as exc:
            self.record.reason = exc.reason
            return self._refuse(Outcome.REJECTED_NUMBER, (prompt_id(PromptFamily.NUMBER, exc.reason),))
        return self._start_area(code, busy)

    def _start_area(self, code: str, busy: bool) -> list[Action]:
        self._enter_area(self.service.plan(code))
        if self._national:
            # No keypad menu holds the country: a busy recogniser hears this caller late.
            return self._ask(Prompt.QUESTION)
        if not self._area.connected:
            return self._refuse(Outcome.NOT_SERVED, (prompt_id(PromptFamily.NUMBER, Outcome.NOT_SERVED),))
        if len(self._area.connected) == 1:
            return self._transfer(self._area.connected[0], CallPath.DIRECT)
        if busy:
            self.record.attempts.append(Attempt(AttemptKind.FAILURE, Decision.FAILED, reason=Prompt.BUSY))
            return self._menu((Prompt.BUSY,))
        return self._ask(Prompt.QUESTION)

    def _enter_area(self, plan: AreaPlan) -> None:
        self.plan = plan
        self.record.area_code = plan.code
        if plan.language:  # the area's own prompt set (Frisian) from here on
            self.record.language = plan.language

    def handle(self, event: Event) -> list[Action]:
        if self.state == State.DONE:
            return []
        if isinstance(event, HungUp):
            return self._hung_up()
        if isinstance(event, DialResult):
            self.record.dial_status = event.status
            return []
        if self.state == State.TRANSFERRED:
            return []
        if isinstance(event, Suggested):
            return self._suggest(event.municipality)
        if isinstance(event, PromptDone):
            return self._prompt_done(event.play_id)
        if isinstance(event, Timeout):
            return self._timeout(event.timer_id) if event.timer_id == self._timer else []
        if isinstance(event, SpeechStarted):
            return self._speech_started()
        if isinstance(event, Dtmf):
            return self._dtmf(event.digit)
        if isinstance(event, Utterance) and self.state == State.ASKING:
            return self._utterance(event.recognition, event.cut_off)
        if isinstance(event, Utterance) and self.state == State.CHOOSING:
            return self._department_heard(event.recognition)
        if isinstance(event, Reply) and self.state == State.CONFIRMING:
            return self._reply(event.yes, correction=event.correction, cut_off=event.cut_off)
        if isinstance(event, Reply) and self.state == State.CONFIRMING_DEPARTMENT:
            return self._department_reply(Decision.UNCLEAR if event.yes is None else said(event.yes))
        if isinstance(event, RecognitionFailed) and self.state in LISTENING:
            return self._recognition_failed(event.reason)
        return []

    # ---- transitions ----

    def _hung_up(self) -> list[Action]:
        # A caller who leaves during a final message got what we had to say; one who leaves
        # before a transfer that was still to come did not.
        message_only = self.state == State.ENDING and isinstance(self._final[0], Hangup)
        if self.state != State.TRANSFERRED and not message_only:
            self.record.outcome = Outcome.ABANDONED
            self.record.abandoned_at = self.state
        self.state = State.DONE
        return []

    def _suggest(self, municipality: str) -> list[Action]:
        # Only a municipality the caller can reach from here; one they said nee to stays denied.
        if self.plan is not None and municipality in self._area.connected and len(self._area.connected) > 1:
            self._suggested = self.record.suggested = municipality
        return []

    def _prompt_done(self, play_id: str) -> list[Action]:
        if play_id != self._playing:
            return []
        self._playing = None
        if self.state == State.ENDING:
            self.state = State.TRANSFERRED if self._final and isinstance(self._final[0], Transfer) else State.DONE
            return self._final
        if self.state in LISTENING and not self._speaking:
            return self._start_timer("no-input", self.service.listen.no_input_ms)
        if self.state == State.MENU:
            return self._start_timer("menu", self.service.listen.menu_timeout_ms)
        return []

    def _timeout(self, timer_id: str) -> list[Action]:
        self._timer = None
        if timer_id.startswith("speech"):
            return self._recognition_failed(Reason.DEADLINE)
        if self.state == State.ASKING:
            self.record.attempts.append(Attempt(AttemptKind.SILENCE, Decision.TIMED_OUT))
            return self._failed_name_attempt()
        if self.state == State.CONFIRMING:
            self.record.attempts.append(Attempt(AttemptKind.REPLY, Decision.TIMED_OUT))
            return self._unclear_reply()
        if self.state == State.MENU:
            self.record.attempts.append(Attempt(AttemptKind.KEYPAD, Decision.TIMED_OUT))
            return self._menu_or_default(())
        if self.state in (State.CHOOSING, State.CONFIRMING_DEPARTMENT):
            return self._general(Attempt(AttemptKind.DEPARTMENT, Decision.TIMED_OUT, self._municipality.name,
                                         reason=GENERAL_LINE))
        return []

    def _recognition_failed(self, reason: str) -> list[Action]:
        # A recogniser that failed once will likely fail again; the keypad still works.
        self._speaking = False
        # The municipality is known: its general line, not the menu.
        if self.state in (State.CHOOSING, State.CONFIRMING_DEPARTMENT):
            return self._general(Attempt(AttemptKind.DEPARTMENT, Decision.FAILED, self._municipality.name,
                                         reason=reason))
        self.record.attempts.append(Attempt(AttemptKind.FAILURE, Decision.FAILED, reason=reason))
        return self._cancel_timer() + self._menu_or_default(())

    def _speech_started(self) -> list[Action]:
        if self.state not in LISTENING:
            return []
        self._speaking = True
        actions: list[Action] = [StopPlayback()] if self._playing else []
        self._playing = None
        # The backstop of the deadline policy (speech/deadline.py): a caller is never left
        # waiting on a recogniser or an adapter that is stuck.
        return actions + self._start_timer("speech", self.service.listen.deadline.speech_ms)

    def _dtmf(self, digit: str) -> list[Action]:
        if self.state == State.CHOOSING:
            return self._department_key(digit)
        if self.state == State.CONFIRMING_DEPARTMENT:
            # 1 and 2 answer as at "Bedoelt u …?"; any other key is no ja: the general line.
            return self._department_reply({"1": Decision.YES, "2": Decision.NO}.get(digit, Decision.PRESSED))
        if self.state == State.CONFIRMING and digit in ("1", "2"):
            return self._reply(digit == "1", keyed=True)
        if self.state == State.ASKING and digit == ENGLISH_KEY and self.record.language != "en":
            return self._english(Attempt(AttemptKind.LANGUAGE, Decision.ENGLISH, reason=f"pressed {digit!r}"))
        if self.state in (State.ASKING, State.CONFIRMING):
            # A caller who reaches for the keypad wants the keypad: give them the menu now.
            self._speaking = False
            self.record.attempts.append(Attempt(AttemptKind.KEYPAD, Decision.PRESSED,
                                                reason=f"pressed {digit!r} before the menu"))
            return self._cancel_timer() + self._menu_or_default(())
        if self.state == State.MENU:
            return self._menu_choice(digit)
        return []

    def _utterance(self, recognition: Recognition, cut_off: bool = False) -> list[Action]:
        # "English" is no municipality: the recogniser rejects it, but its transcript says it.
        # A name it accepted wins over a word that only sounds like one.
        if (recognition.decision != Decision.ACCEPT and self.record.language != "en"
                and asks_for_english(recognition.transcript)):
            return self._english(Attempt(AttemptKind.LANGUAGE, Decision.ENGLISH, transcript=recognition.transcript,
                                         reason="said"))
        self._speaking = False
        actions = self._cancel_timer()
        candidates = tuple((c.municipality, round(c.score, 3)) for c in recognition.candidates)
        self.record.attempts.append(Attempt(
            AttemptKind.NAME, recognition.decision, recognition.municipality, candidates[0][1] if candidates else None,
            recognition.transcript, candidates, recognition.reason))
        # A recogniser must never route outside the dialled area, nor on a name it heard as
        # another area's; the candidates it still ranked are no evidence then.
        heard = bool(recognition.ranked)
        take = {c.municipality: c.score for c in recognition.candidates
                if heard and c.municipality in self._area.municipalities}
        self._takes.append(take)
        self._transcripts.append(recognition.transcript)
        if recognition.no_name is not None:
            self._doubts.append(recognition.no_name)
        self._heard_as.update({c.municipality: c for c in recognition.candidates if c.municipality in take})
        thresholds = self.service.thresholds
        # A transfer without a question rests on this take alone, as sure as the policy was
        # fitted to be, and on the municipality's own name: a village or an alias heard
        # (short, and many of them) is asked about, however sure: that is where wrong
        # transfers at accept level came from (bench/recognition.md, fifth pass). The takes
        # together only choose what to ask about.
        # On a national number every name is asked about: only a shortlist of the country's
        # names is scored (the caller's may not be on it), and the policy was fitted where all
        # of an area's names are, so there a sure take can be a wrong one (bench/dialogue.md).
        sure = [c for c in recognition.candidates if c.municipality in take and c.own_name and not self._national
                and c.municipality not in self._denied and c.score >= thresholds.accept]
        if sure:
            top = max(sure, key=lambda c: c.score).municipality
            if top not in self._area.connected:
                return actions + self._end(Outcome.NOT_CONNECTED, (Prompt.NOT_CONNECTED, Prompt.GOODBYE))
            path = CallPath.SPOKEN if self._name_attempts == 0 else CallPath.SPOKEN_REPEAT
            return actions + self._transfer(top, path)
        if cut_off and not heard:
            return actions + self._turn_never_ended()
        again = Prompt.NO_NAME if recognition.reason == Reason.NO_NAME else Prompt.AGAIN
        # A person who names nothing says a sentence, and whisper hears a town in it often
        # enough to be asked about; each sentence alone looks only somewhat unlike a name, so
        # the takes are judged together: two takes that look like no name, on average, do
        # not add up to a "Bedoelt u …?". But a caller who gave a reason first and then says
        # the name is asked about it: a take that looks like a name (under half the bar) is
        # judged on its own.
        if self._doubtful(recognition.no_name):
            return actions + self._failed_name_attempt(Prompt.NO_NAME)
        ranked = self._ranked()
        if not ranked:
            return actions + self._failed_name_attempt(again)
        top, confidence = ranked[0]
        if confidence >= thresholds.confirm and not self._askable(top):
            return actions + self._end(Outcome.NOT_CONNECTED, (Prompt.NOT_CONNECTED, Prompt.GOODBYE))
        # Ask about the likeliest, and after a nee about the next, while each is likely enough:
        # a "Bedoelt u …?" answered nee costs a short turn, saying the name again a long one.
        self._to_ask = [m for i, (m, p) in enumerate(ranked[: self.service.listen.questions])
                        if self._askable(m) and p >= (thresholds.confirm if i == 0 else thresholds.runner_up)]
        if not self._to_ask or self._to_ask[0] != top:
            return actions + self._failed_name_attempt(again)
        return actions + self._confirm(self._to_ask.pop(0), PromptFamily.CONFIRM)

    def _doubtful(self, latest: float | None) -> bool:
        """Whether the name takes so far look like no name (`thresholds.no_name_doubt`): on
        average, and this one too, at least half as much. None: the gate did not weigh it."""
        bar = self.service.thresholds.no_name_doubt
        return latest is not None and latest >= bar / 2 and sum(self._doubts) / len(self._doubts) >= bar

    def _ranked(self) -> list[tuple[str, float]]:
        """The area's municipalities by how likely the caller means each, over every name take
        so far (`combine`), without those they said nee to. The caller's history makes the
        municipality it suggests likelier, but only one the takes heard at all: it changes
        what is asked about, never what is put through without a question."""
        combined = combine(self._takes)
        if self._suggested in combined:
            combined[self._suggested] = suggest(combined[self._suggested], self.service.history.odds)
        return sorted(((m, p) for m, p in combined.items() if m not in self._denied), key=lambda item: -item[1])

    def _askable(self, municipality: str) -> bool:
        """Whether the caller may be asked about it: a connected municipality of the area; on a
        national number any (one not connected here has its 14+ number told)."""
        return self._national or municipality in self._area.connected

    def _confirm(self, municipality: str, family: PromptFamily) -> list[Action]:
        # However the answers go (nee, a correction, a correction again), a caller hears
        # "Bedoelt u …?" at most as often as every name they may say could ask it; then the keys.
        self._questions += 1
        if self._questions > self.service.listen.questions * self.service.listen.attempts:
            return self._menu_or_default(())
        self._confirming = municipality
        self._confirm_plays = 0
        self.state = State.CONFIRMING
        return (self._listen(ListenMode.REPLY, municipality)
                + self._play("confirm", (self._question(family, municipality),), True))

    def _question(self, family: PromptFamily, municipality: str) -> str:
        """`confirm/<slug>` ("Bedoelt u Hoorn?"), or for a place that shares its name with
        places in other municipalities `confirm/<slug>/<place slug>` ("Bedoelt u Bergen in
        Noord-Holland?")."""
        heard = self._heard_as.get(municipality)
        if heard is not None and heard.shared:
            return prompt_id(family, f"{self._slug(municipality)}/{slug(heard.phrase)}")
        return prompt_id(family, self._slug(municipality))

    def _english(self, attempt: Attempt) -> list[Action]:
        """The rest of the call in English: the question again, the Dutch names still heard."""
        self._speaking = False
        self.record.language = "en"
        self.record.attempts.append(attempt)
        return self._cancel_timer() + self._ask(Prompt.QUESTION)

    def _reply(self, yes: bool | None, keyed: bool = False, correction: Recognition | None = None,
               cut_off: bool = False) -> list[Action]:
        self._speaking = False
        actions = self._cancel_timer()
        kind = AttemptKind.KEYPAD if keyed else AttemptKind.REPLY
        self.record.attempts.append(Attempt(kind, Decision.UNCLEAR if yes is None else said(yes), self._confirming))
        if yes:
            return actions + self._chosen(self._asked, CallPath.CONFIRMED)
        if yes is False:
            self._denied.add(self._asked)
        # A name said with the answer is the caller's next take, weighed with the others as
        # any name is: put through when sure, else asked about. A nee whose name ranks
        # nothing is a plain nee.
        # An answer not understood whose "name" is the one asked about corrects nothing: whisper
        # heard the answer as words ("3 3 3") the area's names were scored on.
        if correction is not None and correction.ranked and not (yes is None and correction.ranked[0] == self._asked):
            return actions + self._utterance(correction)
        if yes is False:
            if self._to_ask:
                return actions + self._confirm(self._to_ask.pop(0), PromptFamily.CONFIRM_OR)
            return actions + self._failed_name_attempt()
        if cut_off:
            return actions + self._turn_never_ended()
        return actions + self._unclear_reply()

    def _turn_never_ended(self) -> list[Action]:
        """A turn held open to the cut-off whose last seconds said nothing the flow can use: the
        line (voices, a street) will hold the next one open too, and the keys work in any noise."""
        self.record.attempts.append(Attempt(AttemptKind.FAILURE, Decision.FAILED, reason=Reason.CUT_OFF))
        return self._menu_or_default(())

    def _unclear_reply(self) -> list[Action]:
        """The same question once more, now naming the keys that answer it."""
        self._confirm_plays += 1
        if self._confirm_plays < 2:
            return self._play("confirm", (self._question(PromptFamily.CONFIRM, self._asked), Prompt.REPLY_KEYS), True)
        return self._menu_or_default(())

    def _failed_name_attempt(self, prompt: Prompt = Prompt.AGAIN) -> list[Action]:
        self._name_attempts += 1
        if self._name_attempts < self.service.listen.attempts:
            return self._ask(prompt)
        return self._menu_or_default(())

    def _menu_choice(self, digit: str) -> list[Action]:
        connected = self._area.connected
        actions = self._cancel_timer()
        if digit.isdigit() and 1 <= int(digit) <= len(connected):
            self.record.attempts.append(Attempt(AttemptKind.KEYPAD, Decision.PRESSED, connected[int(digit) - 1],
                                                reason=digit))
            return actions + self._transfer(connected[int(digit) - 1], CallPath.KEYPAD)
        self.record.attempts.append(Attempt(AttemptKind.KEYPAD, Decision.PRESSED, reason=f"wrong key {digit!r}"))
        return actions + self._menu_or_default((Prompt.MENU_AGAIN,))

    def _menu_or_default(self, before: tuple[str, ...]) -> list[Action]:
        if self._national:  # no menu holds the whole country
            if self._area.default:
                return self._transfer(self._area.default, CallPath.DEFAULT)
            return self._end(Outcome.NO_CHOICE, (Prompt.DIAL_AREA, Prompt.GOODBYE))
        if self._menu_plays < self.service.listen.menu_attempts:
            return self._menu(before)
        if self._area.default:
            return self._transfer(self._area.default, CallPath.DEFAULT)
        return self._end(Outcome.NO_CHOICE, (Prompt.GOODBYE,))

    # ---- building blocks ----

    def _ask(self, prompt: Prompt) -> list[Action]:
        self.state = State.ASKING
        return self._listen(ListenMode.NAME) + self._play(prompt, (prompt,), True)

    def _menu(self, before: tuple[str, ...]) -> list[Action]:
        self.state = State.MENU
        self._menu_plays += 1
        return self._stop_listening() + self._play("menu", (*before, self._area.menu_prompt), True)

    def _listen(self, mode: ListenMode, asked: str | None = None,
                phrases: tuple[tuple[str, str], ...] = ()) -> list[Action]:
        self._listening = True
        return [Listen(mode, self._area.code, asked, phrases)]

    def _stop_listening(self) -> list[Action]:
        if not self._listening:
            return []
        self._listening = False
        return [StopListening()]

    def _chosen(self, municipality: str, path: CallPath) -> list[Action]:
        """The municipality chosen on a national number (or in an area): its trunk when it is
        connected here, else its 14+ number told."""
        if municipality in self._area.connected:
            return self._transfer(municipality, path)
        self.record.path = path
        self.record.municipality = municipality
        return self._end(Outcome.REFERRED, (prompt_id(PromptFamily.REACHABLE, self._slug(municipality)), Prompt.GOODBYE))

    def _transfer(self, municipality: str, path: CallPath) -> list[Action]:
        connection = self.service.municipality(municipality)
        self.record.path = path
        self.record.municipality = municipality
        # Hours are checked once the municipality is known, so the caller hears the right ones.
        if connection.hours and self.now and not connection.hours.is_open(self.now):
            closed = (prompt_id(PromptFamily.CLOSED, connection.slug),)
            if connection.after_hours:
                self.record.trunk = connection.after_hours
                return self._end(Outcome.AFTER_HOURS, closed,
                                 then=[Transfer(municipality, connection.after_hours, None)])
            return self._end(Outcome.CLOSED, closed)
        english = self.record.language == "en" and connection.english
        # A caller the area's default was chosen for has struggled enough; one who chose
        # English goes to the English line. Everyone else says what the call is about.
        if connection.departments and path != CallPath.DEFAULT and not english:
            said = self._said_department(connection)
            if said is not None:
                return self._to_department(connection, said)
            return self._ask_department(connection)
        trunk = connection.english if english and connection.english else connection.trunk
        self.record.trunk = trunk
        transfer = Transfer(municipality, trunk, connection.overflow)
        if path == CallPath.DEFAULT:  # chosen for the caller: they hear where to, then the trunk rings
            return self._end(Outcome.TRANSFERRED, (prompt_id(PromptFamily.DEFAULT, connection.slug),), then=[transfer])
        return self._put_through(transfer)

    def _put_through(self, transfer: Transfer) -> list[Action]:
        self.state = State.TRANSFERRED
        self.record.outcome = Outcome.TRANSFERRED
        return self._quiet() + [transfer]

    # ---- departments ----

    def _said_department(self, connection: Connection) -> Department | None:
        """A department the caller named with the municipality ("mijn paspoort verlengen in
        Hoorn"): one of its phrases spelled in a name take's transcript, and no other
        department's in any. Only the words count here (the audio was scored for names, not
        departments), so only a phrase whisper wrote down nearly as it is."""
        said = [(fold(phrase), d) for d in connection.departments for phrase in d.phrases]
        found = {said[i][1].name for transcript in self._transcripts
                 for i in phrases_in(fold(transcript), [key for key, _ in said], SAID_WITH_NAME)}
        return next(d for d in connection.departments if d.name in found) if len(found) == 1 else None

    def _ask_department(self, connection: Connection) -> list[Action]:
        self._choosing = connection
        self.state = State.CHOOSING
        phrases = (tuple((phrase, d.name) for d in connection.departments for phrase in d.phrases)
                   + tuple((phrase, GENERAL_LINE) for phrase in (connection.name, *NOT_A_DEPARTMENT)))
        return (self._listen(ListenMode.DEPARTMENT, connection.name, phrases)
                + self._play("department", (prompt_id(PromptFamily.DEPARTMENT, connection.slug),), True))

    def _department_heard(self, recognition: Recognition) -> list[Action]:
        """Put through to a department when the recogniser is sure of it (`thresholds.department`),
        ask about it when it is likely (`thresholds.department_confirm`); anything else (nothing
        heard, a nee, something it is unsure of, the general line's side ranked first) is the
        general line."""
        self._speaking = False
        connection = self._municipality
        candidates = tuple((c.municipality, round(c.score, 3)) for c in recognition.candidates)
        top = recognition.candidates[0] if recognition.ranked else None
        department = next((d for d in connection.departments if top and d.name == top.municipality), None)
        thresholds = self.service.thresholds
        score = top.score if top and department else 0.0
        decision = (Decision.ACCEPT if score >= thresholds.department
                    else Decision.CONFIRM if score >= thresholds.department_confirm else Decision.REJECT)
        attempt = Attempt(AttemptKind.DEPARTMENT, decision, connection.name, candidates[0][1] if candidates else None,
                          recognition.transcript, candidates,
                          department.name if department and decision != Decision.REJECT else GENERAL_LINE)
        if department is None or decision == Decision.REJECT:
            return self._general(attempt)
        self.record.attempts.append(attempt)
        if decision == Decision.CONFIRM:
            return self._cancel_timer() + self._confirm_department(connection, department)
        return self._cancel_timer() + self._to_department(connection, department)

    def _confirm_department(self, connection: Connection, department: Department) -> list[Action]:
        """"Over paspoort?" about a department heard likely but not surely: once, and only
        once. The reply recogniser hears the answer as it hears one to "Bedoelt u …?" (the
        municipality as the one asked about, so "ja, Goes" stays a ja)."""
        self._department = department
        self.state = State.CONFIRMING_DEPARTMENT
        return (self._listen(ListenMode.REPLY, connection.name)
                + self._play("department-confirm", (connection.department_confirm(department),), True))

    def _department_reply(self, decision: Decision) -> list[Action]:
        """The answer to "Over …?": a ja (or key 1) is the department's line; a nee, a key 2
        or any other, an answer not understood: the general line, never a second question."""
        self._speaking = False
        connection, department = self._municipality, self._department
        assert department is not None
        attempt = Attempt(AttemptKind.DEPARTMENT, decision, connection.name,
                          reason=department.name if decision == Decision.YES else GENERAL_LINE)
        if decision != Decision.YES:
            return self._general(attempt)
        self.record.attempts.append(attempt)
        return self._cancel_timer() + self._to_department(connection, department)

    def _department_key(self, digit: str) -> list[Action]:
        self._speaking = False
        connection = self._municipality
        department = connection.department(digit)
        attempt = Attempt(AttemptKind.DEPARTMENT, Decision.PRESSED, connection.name,
                          reason=department.name if department else GENERAL_LINE)
        if department is None:  # 0, or a key no department has: the general line, never a dead end
            return self._general(attempt)
        self.record.attempts.append(attempt)
        return self._cancel_timer() + self._to_department(connection, department)

    def _to_department(self, connection: Connection, department: Department) -> list[Action]:
        self.record.department = department.name
        self.record.trunk = department.trunk
        # Busy or unreachable, the department's caller still reaches the municipality.
        return self._put_through(Transfer(connection.name, department.trunk, connection.trunk, department.name))

    def _general(self, attempt: Attempt) -> list[Action]:
        """The municipality's own trunk: what every answer but a sure department leads to."""
        connection = self._municipality
        self.record.attempts.append(attempt)
        self.record.trunk = connection.trunk
        return self._cancel_timer() + self._put_through(Transfer(connection.name, connection.trunk, connection.overflow))

    def _end(self, outcome: Outcome, prompts: tuple[str, ...], then: list[Action] | None = None) -> list[Action]:
        self.state = State.ENDING
        self.record.outcome = outcome
        self._final = then or [Hangup(outcome)]
        return self._quiet() + self._play("end", prompts, False)

    def _refuse(self, outcome: Outcome, prompts: tuple[str, ...]) -> list[Action]:
        """A number nobody here answers: said why as early media, refused, never answered."""
        self.state = State.DONE
        self.record.outcome = outcome
        return [Refuse(prompts, self.record.language)]

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


def suggest(probability: float, odds: float) -> float:
    """`probability` with its odds multiplied by `odds` (Bayes with a likelihood ratio)."""
    if probability >= 1.0:
        return 1.0
    ratio = probability / (1.0 - probability) * odds
    return ratio / (1.0 + ratio)


def combine(takes: list[dict[str, float]]) -> dict[str, float]:
    """One probability per municipality from every name take that heard one: each take's,
    averaged (a municipality such a take did not rank counts 0 there). Two takes that agree
    keep their confidence, two that disagree lose it; a take that heard nothing (silence,
    another area's name) takes nothing away."""
    heard = [take for take in takes if take]
    names = {m for take in heard for m in take}
    return {m: sum(take.get(m, 0.0) for take in heard) / len(heard) for m in names}
