"""The early-recognition rule (`speech.early`), as the session and the simulation both use it."""

from fourteenplus.speech.early import Early

LISTEN, OTHER = object(), object()


def test_a_recognition_started_at_the_last_pause_is_the_answer_when_the_utterance_did_not_grow():
    early = Early[str]()
    assert early.paused(LISTEN, 4000, True, lambda: "at 4000") is None
    assert early.ended(LISTEN, 4000) == ("at 4000", None)
    assert early.ended(LISTEN, 4000) == (None, None)  # cleared for the next utterance


def test_speaking_on_voids_the_earlier_pause_and_a_grown_utterance_voids_the_last():
    early = Early[str]()
    early.paused(LISTEN, 3000, True, lambda: "at 3000")
    assert early.paused(LISTEN, 5000, True, lambda: "at 5000") == "at 3000"
    assert early.ended(LISTEN, 6000) == (None, "at 5000")


def test_a_busy_recogniser_starts_nothing_early_and_still_voids_the_earlier_one():
    early = Early[str]()
    early.paused(LISTEN, 3000, True, lambda: "at 3000")
    started = []
    assert early.paused(LISTEN, 5000, False, lambda: started.append(1) or "never") == "at 3000"
    assert started == [] and early.ended(LISTEN, 5000) == (None, None)


def test_an_utterance_heard_under_another_listen_is_recognised_anew():
    early = Early[str]()
    early.paused(LISTEN, 4000, True, lambda: "at 4000")
    assert early.ended(OTHER, 4000) == (None, "at 4000")
