"""When the caller's speech takes the turn: the rule between the endpointer and the call flow.

The endpointer opens an utterance on a few voiced frames (its onset), early enough to keep
the first syllable, but a cough or a door can reach that. Over a prompt, speech takes the
turn (the flow hears `SpeechStarted` and stops the prompt) only once the utterance holds
`TAKE_FRAMES` frames of speech; with nothing playing the onset takes it at once, as there is
nothing to stop. An utterance that never took the turn (short noise over a prompt) is not
an answer: the adapter drops it and the prompt plays on. In a turn that opened before the line
was learnt (voices that began with the call open one, as a caller who speaks at once does),
only speech at a talker's level counts (`vad.Settings.talker_db`): the voices around the
caller, farther from the microphone, do not stop the question.

The ARI adapter and the dialogue bench's simulation feed it the same way, frame by frame.
"""

from __future__ import annotations

from .vad import Endpointer, TurnEvent

# Frames of voiced speech (20 ms each) before a prompt is stopped: more than a cough or a
# door holds, few enough that a word with unvoiced sounds in it (the k and the g of
# "Koggenland") still stops the prompt within about 300 ms of its first voiced frame
# (bench/dialogue.md has how often it does, and at other counts).
TAKE_FRAMES = 8


class Turn:
    """One endpointer's utterances, as the call flow is to hear of them."""

    def __init__(self, endpointer: Endpointer, take_frames: int = TAKE_FRAMES):
        self.endpointer = endpointer
        self.take_frames = take_frames
        self.taken = False  # this utterance has taken the turn (SpeechStarted was reported)

    def update(self, state: TurnEvent | None, playing: bool) -> bool:
        """After each `endpointer.feed` (its return value, and whether a prompt still plays):
        True once per utterance, at the frame where it takes the turn."""
        if state == TurnEvent.START:
            self.taken = False
        if self.taken or not self.endpointer.speaking:
            return False
        self.taken = not playing or self.endpointer.voiced_frames >= self.take_frames
        return self.taken
