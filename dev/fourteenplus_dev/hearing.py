"""The product's recogniser and matcher driven the way only the benches need: a clip heard in
one go (`hear`, for `bench fit`), and the plain baseline's decision on a free transcript
(`decide_text`), which the recognition bench sets beside ours.
"""

from __future__ import annotations

from fourteenplus.speech import Recognition
from fourteenplus.speech.matcher import Matcher, banded
from fourteenplus.speech.recognizer import Heard, Recognizer
from fourteenplus.speech.vad import Spoken
from fourteenplus.vocabulary import Reason


def hear(recognizer: Recognizer, spoken: Spoken, shortlist, prompt: str = "") -> Heard:
    """Every stage at once: `prompt` (the area's phrases) primes the second transcription;
    without one it is skipped."""
    clip = recognizer.clip(spoken)
    if prompt and clip.speech:
        recognizer.prime(clip, prompt)
    return recognizer.score(clip, shortlist)


def decide_text(matcher: Matcher, transcript: str, accept: float, confirm: float,
                timings: dict[str, float] | None = None) -> Recognition:
    """The plain pipeline's decision: rapidfuzz similarity alone, as its confidence, banded
    by the same rule as ours (`matcher.banded`)."""
    candidates, outside = matcher.text_match(transcript)
    if not candidates:
        return Recognition.rejected(Reason.OUT_OF_AREA if outside else Reason.NO_SPEECH, transcript, (), dict(timings or {}))
    return banded(transcript, candidates, outside, accept, confirm, Reason.LOW_CONFIDENCE, dict(timings or {}))
