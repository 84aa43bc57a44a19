"""How long a caller waits for what they said to be understood: one policy, read by the call
flow (`callflow`) and the speech service (`speech.service`).

Time an utterance spends queued behind other callers' is not the caller's doing, so it never
counts against them: the caller waits, and is heard late rather than asked again (asking
again would cost them a turn and the recogniser a second utterance, in the very burst that
made the queue). From the moment a worker takes an utterance its recognition has
`recognition_ms`. What happens as time runs out:

0. Admission: when the recognisers cannot keep up (an utterance submitted now would wait
   longer than `busy_wait_ms`), a new caller is not asked the question but sent to the
   keypad menu with a word of apology (`admits`); those already talking are still heard.
1. Too little left for a slow full recognition (`slow` × the workers' moving average, about
   its p95) once the queue is counted in, or others waiting behind it for a worker: it gets the
   unprimed recognition, a little less often sure but sooner (`primed_fits`).
2. Past the deadline: the service gives up waiting and answers a rejected recognition
   (reason "timeout"): a name counts as not understood (the question again), a reply as
   unclear (the question again, with its keys named). Its worker stops it at its next stage.
3. The call flow's backstop (`speech_ms` from the start of speech: the longest utterance,
   the longest wait a caller is admitted with, the recognition and `slack_ms`): no answer
   came at all, the recogniser or the adapter is stuck, so the flow stops relying on speech
   (`RecognitionFailed("deadline")`, the keypad menu). A caller who never stops, or a line
   whose noise the endpointer cannot tell from them, is cut off at `max_speech_ms` by the
   endpointer and the last seconds of what was heard are recognised (the flow decides: a name
   as any, nothing the keypad menu); the slack is what lets that answer, or its timeout,
   arrive before the backstop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    recognition_ms: int  # end of an utterance → its recognition (`listen.recognition_deadline_ms`)
    max_speech_ms: int   # an utterance is cut off here (`listen.max_speech_ms`)
    slow: float = 1.5    # a slow full recognition, in multiples of the measured average
    # New callers go to the keypad beyond this expected wait (`listen.busy_wait_ms`); None:
    # everyone is heard (the CLI and the benches).
    busy_wait_ms: int | None = None
    # The adapter's part: frames arrive in packets, the flow starts its timer a moment after
    # the endpointer's start, the service's timeout answers a moment after its deadline.
    slack_ms: int = 500

    @property
    def seconds(self) -> float:
        return self.recognition_ms / 1000

    @property
    def speech_ms(self) -> int:
        """The call flow's backstop, from the start of speech."""
        return self.max_speech_ms + (self.busy_wait_ms or 0) + self.recognition_ms + self.slack_ms

    def admits(self, wait_s: float) -> bool:
        """Whether a new caller is asked to speak while an utterance would wait `wait_s` for
        the recognisers."""
        return self.busy_wait_ms is None or wait_s * 1000 <= self.busy_wait_ms

    def primed_fits(self, queued_s: float, full_s: float) -> bool:
        """Whether what is left after `queued_s` in the queue covers a slow full recognition,
        where a full one takes `full_s` on average."""
        return self.seconds - queued_s >= self.slow * full_s
