"""The national number's first stage (`speech.trie`, `Recognizer.search`): the phrases' tokens
as a trie searched a level at a time. A fake level (and a fake whisper for the recogniser's
part) stands in for the model; the real clips are in tests/unit/test_speech_real_model.py."""

import threading

import numpy as np

from fourteenplus.speech.recognizer import Clip, Recognizer, Tuning
from fourteenplus.speech.trie import Trie

TOKENS = {"Hoorn": (1, 2), "Hoogkarspel": (1, 3, 4), "Hoog": (1, 3), "Epe": (5,)}


def level_from(heard: dict[tuple[int, ...], dict[int, float]], calls: list):
    def level(nodes):
        calls.append([path for path, _ in nodes])
        return [{t: heard.get(path, {}).get(t, -10.0) for t in tokens} for path, tokens in nodes]
    return level


def test_the_trie_shares_prefixes_and_knows_where_phrases_end():
    trie = Trie.of(TOKENS)
    assert len(trie.paths) == 6  # the root, 1, 1-2, 1-3, 1-3-4, 5
    assert trie.ends[trie.children[trie.children[0][1]][3]] == ["Hoog"]


def test_the_search_ranks_phrases_by_their_tokens_summed_and_extends_only_the_beam():
    calls: list = []
    heard = {(): {1: -1.0, 5: -4.5}, (1,): {3: -0.5, 2: -3.0}, (1, 3): {4: 0.5}}
    ranked = Trie.of(TOKENS).search(level_from(heard, calls), beam=1)
    # A calibrated score may rise with a token the audio supports (Hoogkarspel over Hoog);
    # a phrase that goes on keeps the score it ended with; Epe, off the
    # beam at the first level, still counts with its one token.
    assert ranked == ["Hoogkarspel", "Hoog", "Hoorn", "Epe"]
    assert calls == [[()], [(1,)], [(1, 3)]]  # one node per level: the beam


def test_a_wider_beam_extends_more_prefixes_per_level():
    calls: list = []
    heard = {(): {1: -1.0, 5: -4.0}, (1,): {2: -0.1, 3: -5.0}}
    ranked = Trie.of(TOKENS).search(level_from(heard, calls), beam=2)
    assert ranked[0] == "Hoorn" and calls[1] == [(1,)]  # Epe has nothing to extend


class FakeTokenizer:
    eot = 0

    def encode(self, text):
        return [ord(c) for c in text]


class FakeResult:
    def __init__(self, logits):
        self.logits = [logits]


class FakeWhisper:
    """Returns, per prompt, the distribution before each forced token and one more: the audio
    window (marked by its first value) favours the letters of `said`, the null window none."""

    def __init__(self, said):
        self.said = said
        self.batches = []

    def generate(self, features, prompts, **_):
        windows = np.asarray(features)
        self.batches.append(len(prompts))
        out = []
        for window, prompt in zip(windows, prompts):
            steps = []
            for i in range(4, len(prompt) + 1):
                logits = np.zeros(128, np.float32)
                if window[0, 0] == 1.0:  # the clip's window, not the null one
                    text = "".join(chr(t) for t in prompt[4:i])
                    for phrase in self.said:
                        if phrase.startswith(text) and len(phrase) > len(text):
                            logits[ord(phrase[len(text)])] = 5.0
                steps.append(logits)
            out.append(FakeResult(steps))
        return out


def test_the_recogniser_searches_after_the_lead_and_calibrates_by_the_null_window(monkeypatch):
    import ctranslate2

    monkeypatch.setattr(ctranslate2.StorageView, "from_array", staticmethod(lambda a: a))
    recognizer = Recognizer.__new__(Recognizer)
    recognizer.tuning = Tuning(search_beam=2)
    recognizer.whisper = FakeWhisper([" ik wil Epe", " Epe"])
    recognizer.tokenizer = FakeTokenizer()
    recognizer._start = [1, 2, 3, 4]
    recognizer._null = {200: np.zeros((1, 2, 2), np.float32)}
    recognizer._tries, recognizer._next_priors, recognizer._cached = {}, {}, threading.Lock()
    clip = Clip(0.0, {}, 1.0, np.ones((1, 2, 2), np.float32), 100, 200)
    recognizer.search(clip, ("Ede", "Epe", "Hoorn"), "ik wil")
    assert clip.searched[0] == "Epe" and "search_ms" in clip.timings
    # The null window's next tokens are kept: a second clip in the window asks only the audio's.
    first = list(recognizer.whisper.batches)
    recognizer.search(clip, ("Ede", "Epe", "Hoorn"), "")
    assert clip.searched[0] == "Epe"
    assert sum(recognizer.whisper.batches[len(first):]) < sum(first)


def test_past_its_depth_the_search_scores_a_longer_phrase_as_its_prefix():
    calls: list = []
    heard = {(): {1: -1.0, 5: -4.5}}
    ranked = Trie.of(TOKENS).search(level_from(heard, calls), beam=1, depth=1)
    assert ranked == ["Hoorn", "Hoog", "Hoogkarspel", "Epe"] and calls == [[()]]
