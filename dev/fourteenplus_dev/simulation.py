"""A caller played through the real call flow on simulated time: the dialogue bench's engine.

`Simulation` is one more adapter of `callflow.CallFlow`: where the ARI app carries out the
flow's actions on a channel, this one carries them out on a clock of its own. The times come
from real durations, so a figure such as "answer to transfer" means what it would mean on
the phone:
- a prompt lasts as long as its audio (`PromptAudio`: the project's own prompt files);
- a caller's answer lasts as long as their clip, and ends where the production endpointer
  (`speech.vad.Endpointer`, one per call as the ARI adapter's, so what it learnt of the line
  at one question holds at the next) decides it ends, frame by frame, on that clip; the
  recogniser hears the speech the endpointer found in it, as in a call;
- a recognition lasts its measured compute, started at the caller's last pause when the
  utterance there is the whole one (the session's rule, `speech.early`), else at the end;
- a key is pressed `KEY_REACTION_S` after the caller heard what it is for; a caller can
  press it over a menu still playing (barge-in), as the flow allows;
- a caller who talks over prompts (`barge_in_s`) starts their name that far into the
  question, and their ja or nee as the name in "Bedoelt u X?" ends (where the prompt's speech
  ends); the prompt stops where the flow stops it, once the speech takes the turn
  (`speech.bargein.Turn`, as the ARI adapter decides it).

The caller (`Caller`) is scripted the way the issue that asked for this bench describes:
asked for the name they play their first take, asked again their second (and the second
again after that); asked "Bedoelt u X?" they answer with their own ja if X is their
municipality, else their nee; when the question comes back with the keys named (we did not
understand their answer) they press 1 or 2; at the keypad menu they press their
municipality's key when they hear it. A caller who names no municipality says nee to
everything and presses nothing. Asked "Waarover belt u?" (a municipality with departments),
a caller with a `topic` clip says it once they have heard the question and its examples
(`TOPIC_AFTER_S` into it, over the keys it goes on to name); one without says nothing. Asked
"Over paspoort?" about a department, they answer as to "Bedoelt u X?": their ja if it is
their department, else their nee.

Recognition goes through whatever `speech` is given: the real `SpeechService` in the bench,
a scripted stand-in in the unit tests.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fourteenplus import callflow as cf
from fourteenplus.speech import vad
from fourteenplus.speech.audio import decode
from fourteenplus.speech.bargein import Turn
from fourteenplus.speech.early import Early
from fourteenplus.vocabulary import (
    CONFIRM_FAMILIES, SPOKEN_PATHS, CallPath, ListenMode, Prompt, PromptFamily, State, prompt_id,
)

KEY_REACTION_S = 0.5  # from hearing what a key is for to pressing it
# A caller who talks over the question starts somewhere in this window (seconds into it):
# once they have heard "Welke gemeente".
BARGE_IN_S = (0.6, 1.0)
# A caller answers "Waarover belt u? Bijvoorbeeld paspoort, afval of parkeren. Voor …" this far
# into it: once the question and its examples have been said, not waiting for the keys.
TOPIC_AFTER_S = 3.5
# Callers in a phone queue give up; a simulated call that runs past this is counted as ended.
GIVE_UP_S = 120.0


@dataclass(frozen=True)
class Caller:
    """One caller of the corpus: four clips (8 kHz int16) in one voice, on one line."""

    caller: str
    area_code: str
    expected: str | None  # the municipality they want; None: they name none
    first: np.ndarray
    second: np.ndarray
    yes: np.ndarray
    no: np.ndarray
    voice_family: str = ""
    # Their answer to the department question: the department they want (None: none of them,
    # or they were not asked; the topic clip then says something else, or is None: silence).
    department: str | None = None
    topic: np.ndarray | None = None
    # A caller in noise: the line's sound before and after each clip ("first", … → (before,
    # after)), heard around it; a clip without: the hiss of its own lead-in.
    line: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # Where each clip's words begin (s), measured before a line's noise was mixed in (a barge-in
    # is timed from there); absent: measured on the clip as it is.
    words: dict[str, float] = field(default_factory=dict)


@dataclass
class Outcome:
    """Where one simulated call ended, how long it took and what the caller had to do."""

    caller: str
    expected: str | None
    voice_family: str
    municipality: str | None  # transferred to (None: the call ended without a transfer)
    path: str | None  # the record's path: spoken, spoken_repeat, confirmed, keypad, default, …
    seconds: float  # from the answer to the transfer (or to the end of the call)
    name_takes: int = 0  # how often the caller said the name
    questions: int = 0  # "Bedoelt u …?" questions heard
    keys: int = 0  # keys pressed
    compute_ms: list[float] = field(default_factory=list)
    # Per utterance, from the end of the caller's words to the recognition's answer, by what
    # was heard (`ListenMode`): the wait for quiet and the compute it did not hide.
    answer_waits_ms: dict[str, list[float]] = field(default_factory=dict)
    keypad_menu_s: float | None = None  # the same caller on the keypad-only menu
    # Where the recogniser ranked the caller's municipality on their first take (1: first;
    # 0: not among the candidates, or no name heard).
    first_take_rank: int = 0
    prompts_stopped: int = 0  # prompts stopped by what took the turn (the caller's barge-in, or the line's)
    # Of those, stopped before the caller's words began: the line's voices or noise took the turn.
    prompts_stopped_by_line: int = 0
    # Per prompt the caller's own words stopped: from their first word to the stop (ms).
    barge_in_ms: list[float] = field(default_factory=list)
    turns_cut_off: int = 0  # utterances the endpointer ended at its cut-off, not at quiet
    expected_department: str | None = None
    asked_department: bool = False  # heard the department question
    department: str | None = None  # put through to (None: the municipality's general line, or none)
    department_questions: int = 0  # "Over …?" heard about a department

    @property
    def department_right(self) -> bool:
        return self.right and self.expected_department is not None and self.department == self.expected_department

    @property
    def department_wrong(self) -> bool:
        """Put through to a department the caller did not ask for (or asked for none)."""
        return self.department is not None and self.department != self.expected_department

    @property
    def right(self) -> bool:
        return self.expected is not None and self.municipality == self.expected

    @property
    def wrong(self) -> bool:
        """Transferred somewhere the caller did not ask for (a caller who named none has no
        wrong place by the keypad or the default: they chose nothing)."""
        if self.municipality is None:
            return False
        if self.expected is None:
            return self.by_speech
        return self.municipality != self.expected

    @property
    def by_speech(self) -> bool:
        """Routed on what the recogniser heard (a name, or a ja), not on a key or a default."""
        return self.path in SPOKEN_PATHS and self.keys == 0

    @property
    def first_answer(self) -> bool:
        """Right without saying the name twice; ja, nee and keys to questions allowed."""
        return self.right and self.name_takes <= 1 and self.path in (CallPath.SPOKEN, CallPath.CONFIRMED)


class PromptAudio:
    """How long each prompt plays: the durations of the project's own prompt files
    (`prompts.install` into a directory of the bench's), and where in a keypad menu each
    item ends, so a caller presses their key as soon as they heard it."""

    def __init__(self, seconds: dict[tuple[str, str], float], menu_items: dict[tuple[str, str], tuple[float, ...]],
                 spoken: dict[tuple[str, str], float] | None = None):
        self.seconds = seconds  # (language, prompt id) → seconds
        self.menu_items = menu_items  # (language, menu prompt id) → end of each item, seconds into it
        self.spoken = spoken or {}  # (language, prompt id) → where its last word ends (else: its end)

    @classmethod
    def made(cls, service, sounds: Path) -> "PromptAudio":
        """Make (or reuse) the configuration's prompts under `sounds` and time them."""
        from fourteenplus import prompts

        prompts.install(service, sounds)
        seconds, menu_items, spoken = {}, {}, {}
        for language in prompts.LANGUAGES:
            base = sounds / prompts.SOUNDS_SUBDIR / language
            for file in base.rglob("*.ulaw"):
                key = (language, str(file.relative_to(base).with_suffix("")))
                seconds[key] = file.stat().st_size / vad.RATE
                spoken[key] = _spoken_end(decode(file.read_bytes(), "ulaw"))
            for code, plan in service.areas.items():
                menu = plan.menu_prompt
                if (language, menu) in seconds:
                    menu_items[(language, menu)] = _item_ends(
                        prompts.menu_items(plan.connected, language), seconds[(language, menu)])
        return cls(seconds, menu_items, spoken)

    def duration(self, play: cf.Play) -> float:
        return sum(self.seconds[(play.language, prompt)] for prompt in play.prompts)

    def start_of(self, play: cf.Play, index: int) -> float:
        return sum(self.seconds[(play.language, prompt)] for prompt in play.prompts[:index])

    def summary(self, language: str = "nl") -> dict[str, float]:
        """How long the prompts of a spoken answer last: the question, the question again, the
        keys named, and the median "Bedoelt u X?" and "Of bedoelt u X?" over the area's names."""
        spoken = (Prompt.QUESTION, Prompt.AGAIN, Prompt.REPLY_KEYS)
        out: dict[str, float] = {p: round(self.seconds[(language, p)], 2) for p in spoken if (language, p) in self.seconds}
        for family in CONFIRM_FAMILIES:
            times = [s for (lang, prompt), s in self.seconds.items()
                     if lang == language and prompt.startswith(prompt_id(family, ""))]
            if times:
                out[family] = round(float(np.median(times)), 2)
        return out

    def spoken_end(self, play: cf.Play, index: int) -> float:
        """Where the last word of the play's `index`-th prompt ends, seconds into the play."""
        key = (play.language, play.prompts[index])
        return self.start_of(play, index) + self.spoken.get(key, self.seconds[key])


def _spoken_end(samples: np.ndarray) -> float:
    """The end of the last frame within 30 dB of the prompt's loudest: its trailing quiet left out."""
    count = len(samples) // vad.FRAME
    levels = [vad.frame_level_db(samples[i * vad.FRAME:(i + 1) * vad.FRAME]) for i in range(count)]
    if not levels:
        return 0.0
    loud = [i for i, level in enumerate(levels) if level > max(levels) - 30.0]
    return (loud[-1] + 1) * vad.FRAME / vad.RATE


def words_start(clip: np.ndarray) -> float:
    """Where a caller's clip begins to speak (seconds into it): its lead-in left out, as the
    recogniser finds the speech in a clip (`vad.whole_clip`, unpadded)."""
    span = vad.whole_clip(clip, pad=0).span
    return span[0] / vad.RATE if span else 0.0


def _item_ends(items: list[str], total: float) -> tuple[float, ...]:
    """Each menu item's end, in proportion to its text (the menu is spoken as one file)."""
    sizes = np.cumsum([len(item) + 1 for item in items], dtype=np.float64)
    return tuple(float(s) for s in sizes / sizes[-1] * total)


@dataclass(frozen=True)
class _Heard:
    """What the endpointer made of a clip: when speech started and when the answer is ready."""

    started: float | None  # seconds into the clip where it took the turn; None: no speech was heard
    ended: float
    early: float | None  # the pause at which the whole utterance was already there
    utterance: vad.Spoken
    words_ended: float  # the end of the speech itself: `ended` less the endpointer's wait for quiet
    cut_off: bool = False  # ended at the endpointer's cut-off (`max_frames`), not at quiet: its last seconds


def _hiss(clip: np.ndarray, *seconds: float) -> list[np.ndarray]:
    """The line without the caller, for each of `seconds`: hiss at the level of the clip's
    lead-in (its first 100 ms, before anyone speaks). Hiss, not that lead-in repeated: a loop of
    100 ms of background talk is periodic, and the endpointer would rightly take it for a
    voice. A clip whose words begin sooner (people's recordings are cut close to the words) has
    no lead-in: its first 100 ms are speech, and as hiss they made a line 20 dB too loud for the
    caller's softer words; the quieter of its two ends is the line then."""
    ends = [clip[: vad.FRAME * 5]]
    if words_start(clip) < 5 * vad.FRAME / vad.RATE:
        ends.append(clip[-vad.FRAME * 5:])
    level = min(float(np.sqrt(np.mean(end.astype(np.float64) ** 2))) for end in ends)
    hiss = np.random.default_rng(len(clip)).standard_normal
    return [np.clip(hiss(int(s * vad.RATE) // vad.FRAME * vad.FRAME) * level, -32768, 32767).astype(np.int16)
            for s in seconds]


def endpoint(clip: np.ndarray, listened_s: float = 2.0, settings: vad.Settings = vad.Settings(),
             playing_s: float = 0.0, line: tuple[np.ndarray, np.ndarray] | None = None,
             endpointer: vad.Endpointer | None = None) -> _Heard:
    """Feed a clip to the production endpointer as the ARI adapter does: the caller's line is
    heard from the moment the flow listens, so the endpointer has learnt the line's noise
    while the question played (`listened_s` of it, before the clip), and after the clip the
    line stays as quiet as it was until the endpointer decides; a caller in noise brings the
    `line` before and after the clip instead. Times are into the clip.

    `endpointer`: the call's own, which has heard the call's earlier turns (what it learnt of
    the line is kept, as the adapter's is across a call's questions); else a fresh one.

    A prompt that still plays for `playing_s` into the clip is stopped only by speech that
    takes the turn (`speech.bargein.Turn`); an utterance that does not is no answer, and the
    endpointer listens on, as the adapter does."""
    endpointer = endpointer or vad.Endpointer(settings)
    endpointer.reset()  # a new question: the adapter's `listen`
    settings = endpointer.settings
    turn = Turn(endpointer)
    before, after = line or _hiss(clip, listened_s, settings.end_frames * 2 * vad.FRAME / vad.RATE)
    before = before[len(before) % vad.FRAME:]
    frames = len(clip) // vad.FRAME
    audio = np.concatenate([before, clip[: frames * vad.FRAME], after])
    offset = len(before) / vad.RATE
    quiet = settings.end_frames * vad.FRAME / vad.RATE
    started = None
    early = Early[float]()  # the moment of the pause whose recognition is still the answer
    for index in range(len(audio) // vad.FRAME):
        event = endpointer.feed(audio[index * vad.FRAME : (index + 1) * vad.FRAME])
        at = (index + 1) * vad.FRAME / vad.RATE - offset
        if turn.update(event, at < playing_s):
            started = at
        if not turn.taken:
            if event == vad.TurnEvent.END:
                endpointer.reset()
        elif event == vad.TurnEvent.PAUSE:
            # One caller: the recogniser is idle at every pause.
            early.paused(None, len(endpointer.utterance().samples), True, lambda: at)
        elif event == vad.TurnEvent.END:
            utterance = endpointer.utterance()
            answer, _ = early.ended(None, len(utterance.samples), endpointer.cut_off)
            return _Heard(started, at, answer, utterance, at - quiet, endpointer.cut_off)
    # Still speaking when the line went quiet for good: what was heard goes to recognition,
    # as the endpointer's cut-off would send it.
    ended = len(audio) / vad.RATE - offset
    return _Heard(started, ended, None,
                  endpointer.utterance() if started is not None else vad.Spoken(np.zeros(0, np.int16), None),
                  ended - quiet)


class Simulation:
    """One caller through one `CallFlow`: `run()` → `Outcome`.

    `speech` has `recognize_now(spoken, area_code) -> Recognition` and
    `reply_now(spoken, area_code, asked) -> speech.service.Answer` and
    `department_now(spoken, phrases) -> Recognition` (`spoken`: the endpointer's utterance,
    `speech.vad.Spoken`), and reports each one's compute in milliseconds
    through `last_ms`. `barge_in_s`: this caller talks over the prompts, starting their name
    that far into the question (None: they wait for the end of every prompt). `suggested`: the
    municipality this caller's history suggests (the configuration's `history:` on), known
    from the start as a quick store answers it. `endpointer`: its settings (default: the
    production endpointer's, cut off at the configuration's `listen.max_speech_ms`).
    """

    def __init__(self, flow: cf.CallFlow, caller: Caller, speech, audio: PromptAudio,
                 barge_in_s: float | None = None, suggested: str | None = None,
                 endpointer: vad.Settings | None = None):
        self.flow = flow
        self.suggested = suggested  # the caller's own history, as the session finds it at the start
        self.caller = caller
        self.speech = speech
        self.audio = audio
        self.barge_in_s = barge_in_s
        self.outcome = Outcome(caller.caller, caller.expected, caller.voice_family, None, None, 0.0,
                               expected_department=caller.department)
        self._queue: list[tuple[float, int, cf.Event, int]] = []
        self._order = itertools.count()
        self._turn = 0  # a caller's answer belongs to the turn it was given in
        self._mode: ListenMode | None = None  # what the flow listens for (None: nothing)
        self._asked: str | None = None  # the municipality of "Bedoelt u …?" while it listens for a reply
        self._phrases: tuple[tuple[str, str], ...] = ()  # the departments listened for
        self._playing: str | None = None
        self._cancelled: set[str] = set()  # timers and plays whose events are void
        self._ended: float | None = None  # when the flow transferred or hung up
        # The call's endpointer: the line it learnt carries over from one question to the next,
        # as the ARI adapter's does (one per call, reset at each Listen).
        self.endpointer = vad.Endpointer(endpointer or vad.Settings.cut_at(flow.service.listen.max_speech_ms))
        # A SpeechStarted's place in the queue → how long after the caller's first word it
        # took the turn (s; below 0: before the caller spoke, the line took it).
        self._onsets: dict[int, float] = {}

    def run(self) -> Outcome:
        now = 0.0
        self._apply(self.flow.start(), now)
        if self.suggested is not None:
            self._apply(self.flow.handle(cf.Suggested(self.suggested)), now)
        while self._queue and not self.flow.done and now < GIVE_UP_S:
            now, order, event, turn = heapq.heappop(self._queue)
            if turn >= 0 and turn != self._turn:
                continue  # an answer to a question that is no longer asked
            if isinstance(event, cf.Timeout) and event.timer_id in self._cancelled:
                continue
            if isinstance(event, cf.PromptDone) and event.play_id in self._cancelled:
                continue
            actions = self.flow.handle(event)
            if isinstance(event, cf.SpeechStarted) and cf.StopPlayback() in actions:
                self.outcome.prompts_stopped += 1
                after_words = self._onsets[order]
                if after_words < 0:
                    self.outcome.prompts_stopped_by_line += 1
                else:
                    self.outcome.barge_in_ms.append(round(after_words * 1000, 1))
            self._apply(actions, now)
        record = self.flow.record
        if self.flow.state == State.TRANSFERRED:
            self.outcome.municipality = record.municipality
            self.outcome.department = record.department
        self.outcome.path = record.path
        self.outcome.seconds = round(self._ended if self._ended is not None else now, 3)
        return self.outcome

    def _at(self, when: float, event: cf.Event, turn: int = -1) -> int:
        order = next(self._order)
        heapq.heappush(self._queue, (when, order, event, turn))
        return order

    def _apply(self, actions: list[cf.Action], now: float) -> None:
        for action in actions:
            if isinstance(action, cf.Listen):
                self._mode, self._asked, self._phrases = action.mode, action.asked, action.phrases
            elif isinstance(action, cf.StopListening):
                self._mode = None
            elif isinstance(action, cf.StartTimer):
                self._at(now + action.ms / 1000, cf.Timeout(action.timer_id))
            elif isinstance(action, cf.CancelTimer):
                self._cancelled.add(action.timer_id)
            elif isinstance(action, cf.StopPlayback):
                if self._playing:
                    self._cancelled.add(self._playing)
                self._playing = None
            elif isinstance(action, cf.Play):
                self._play(action, now)
            elif isinstance(action, (cf.Transfer, cf.Hangup, cf.Refuse)):
                self._ended = now

    def _play(self, play: cf.Play, now: float) -> None:
        self._playing = play.play_id
        self._at(now + self.audio.duration(play), cf.PromptDone(play.play_id))
        self._turn += 1
        menu = self.flow.plan.menu_prompt if self.flow.plan else None
        if menu in play.prompts:
            self._press_menu_key(play, play.prompts.index(menu), now)
            return
        municipality, department = self._question(play), self._department_question(play)
        asked = municipality or department
        if asked is not None:
            index, yes = asked
            if Prompt.REPLY_KEYS in play.prompts:
                self._press(now + self.audio.duration(play) + KEY_REACTION_S, "1" if yes else "2")
            else:
                if municipality:
                    self.outcome.questions += 1
                else:
                    self.outcome.department_questions += 1
                # After the name, as soon as it is heard, when the caller talks over prompts.
                start = self.audio.spoken_end(play, index) if self.barge_in_s is not None \
                    else self.audio.start_of(play, index + 1)
                self._speak("yes" if yes else "no", now + start, ListenMode.REPLY,
                            now + self.audio.duration(play))
            return
        if self._mode == ListenMode.DEPARTMENT and play.prompts[-1].startswith(prompt_id(PromptFamily.DEPARTMENT, "")):
            self.outcome.asked_department = True
            if self.caller.topic is not None:
                start = min(TOPIC_AFTER_S, self.audio.duration(play))
                self._speak("topic", now + start, ListenMode.DEPARTMENT, now + self.audio.duration(play))
            return
        if (self._mode == ListenMode.NAME and play.prompts
                and play.prompts[-1] in (Prompt.QUESTION, Prompt.AGAIN, Prompt.NO_NAME)):
            take = "first" if self.outcome.name_takes == 0 else "second"
            self.outcome.name_takes += 1
            # Over the question, not over "Dat verstond ik niet …": a caller told they were
            # not understood hears it out.
            start = self.barge_in_s if self.barge_in_s is not None and play.prompts == (Prompt.QUESTION,) \
                else self.audio.duration(play)
            self._speak(take, now + min(start, self.audio.duration(play)), ListenMode.NAME,
                        now + self.audio.duration(play))

    def _question(self, play: cf.Play) -> tuple[int, bool] | None:
        """Where in the play "Bedoelt u …?" asks about the municipality the flow listens for a
        reply on (`Listen.asked`), and whether it is the caller's; None when the play asks no
        such question."""
        if self._mode != ListenMode.REPLY or self._asked is None:
            return None
        slug = self.flow.service.directory.municipalities[self._asked].slug
        questions = {prompt_id(family, slug) for family in CONFIRM_FAMILIES}
        # confirm/<slug>, or on a national number confirm/<slug>/<place slug> ("… Bergen in Noord-Holland?")
        index = next((i for i, p in enumerate(play.prompts) if p in questions or p.rsplit("/", 1)[0] in questions), None)
        yes = self._asked == self.caller.expected and self.caller.expected is not None
        return None if index is None else (index, yes)

    def _department_question(self, play: cf.Play) -> tuple[int, bool] | None:
        """Where in the play "Over …?" asks about one of the departments of the municipality the
        flow listens for a reply on, and whether it is the caller's department."""
        if self._mode != ListenMode.REPLY or self._asked not in self.flow.service.connections:
            return None
        connection = self.flow.service.municipality(self._asked)
        asked = {connection.department_confirm(d): d.name for d in connection.departments}
        index = next((i for i, p in enumerate(play.prompts) if p in asked), None)
        return None if index is None else (index, asked[play.prompts[index]] == self.caller.department)

    def _press_menu_key(self, play: cf.Play, index: int, now: float) -> None:
        if self.caller.expected is None:
            return  # nothing to choose
        connected = self.flow.service.plan(self.caller.area_code).connected
        if self.caller.expected not in connected:
            return
        position = connected.index(self.caller.expected)
        ends = self.audio.menu_items[(play.language, play.prompts[index])]
        self._press(now + self.audio.start_of(play, index) + ends[position] + KEY_REACTION_S, str(position + 1))

    def _press(self, when: float, digit: str) -> None:
        self.outcome.keys += 1
        self._at(when, cf.Dtmf(digit), self._turn)

    def _speak(self, part: str, start: float, mode: ListenMode, prompt_ends: float) -> None:
        """The caller says their clip `part` ("first", …) from `start`, over the prompt that
        plays until `prompt_ends`."""
        clip = getattr(self.caller, part)
        heard = endpoint(clip, playing_s=prompt_ends - start, line=self.caller.line.get(part),
                         endpointer=self.endpointer)
        self.outcome.turns_cut_off += heard.cut_off
        if heard.started is None:
            return  # the endpointer heard nothing: the flow's no-input timer decides
        order = self._at(start + heard.started, cf.SpeechStarted(), self._turn)
        self._onsets[order] = heard.started - self.caller.words.get(part, words_start(clip))
        if mode == ListenMode.NAME:
            recognition = self.speech.recognize_now(heard.utterance, self.caller.area_code)
            event: cf.Event = cf.Utterance(recognition, heard.cut_off)
            if self.outcome.name_takes == 1:
                ranked = recognition.ranked
                self.outcome.first_take_rank = ranked.index(self.caller.expected) + 1 \
                    if self.caller.expected in ranked else 0
        elif mode == ListenMode.DEPARTMENT:
            event = cf.Utterance(self.speech.department_now(heard.utterance, self._phrases))
        else:
            answer = self.speech.reply_now(heard.utterance, self.caller.area_code, self._asked)
            event = cf.Reply(answer.yes, answer.correction, heard.cut_off)
        compute = self.speech.last_ms / 1000
        self.outcome.compute_ms.append(self.speech.last_ms)
        # Recognition starts at the first pause when the utterance there is the whole one.
        ready = max(heard.ended, heard.early + compute) if heard.early is not None else heard.ended + compute
        self.outcome.answer_waits_ms.setdefault(mode, []).append(round((ready - heard.words_ended) * 1000, 1))
        self._at(start + ready, event, self._turn)


def keypad_menu_seconds(caller: Caller, plan, audio: PromptAudio, language: str = "nl") -> float | None:
    """The anchor speech must beat: the same caller on a keypad-only line, where the area's
    menu plays at once and they press their municipality's key as soon as they hear it."""
    menu = (language, plan.menu_prompt)
    if caller.expected not in plan.connected or menu not in audio.menu_items:
        return None  # not connected, or no menu (a national number)
    ends = audio.menu_items[menu]
    return round(ends[plan.connected.index(caller.expected)] + KEY_REACTION_S, 3)
