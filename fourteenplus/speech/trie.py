"""A national number's phrases as a trie of whisper tokens, searched against the audio a level
at a time: the first stage that does not rest on how whisper spells a name it does not know.

Whisper base writes "Kutlingbord" for Culemborg, so comparing its transcript with the
country's 1,556 phrases finds the caller's municipality for about one caller in five
(bench/dialogue.md). Scoring every phrase against the audio finds it far more often, but each
scored text costs a pass over the encoded window. Here the phrases share their prefixes: at
each depth the `beam` likeliest prefixes are extended together, each by the decoder's
distribution over its next token, so a clip costs about depth × beam decoder passes instead
of one per phrase.

Pure: `search` takes the scoring of a level as a function (`Recognizer.search` gives the
model's, tests a fake), so the search itself needs no model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# The scores of a level: for each node's path of tokens and the tokens the trie continues it
# with, a log-score per such token.
Level = Callable[[list[tuple[tuple[int, ...], tuple[int, ...]]]], Sequence[Mapping[int, float]]]


@dataclass
class Trie:
    """Nodes by number, the root 0: each node's path of tokens, its children by token, and the
    phrases that end at it."""

    paths: list[tuple[int, ...]] = field(default_factory=lambda: [()])
    children: list[dict[int, int]] = field(default_factory=lambda: [{}])
    ends: list[list[str]] = field(default_factory=lambda: [[]])

    @classmethod
    def of(cls, tokens: Mapping[str, Sequence[int]]) -> Trie:
        """The trie of phrases → their tokens."""
        trie = cls()
        for phrase, path in tokens.items():
            node = 0
            for token in path:
                if token not in trie.children[node]:
                    trie.children[node][token] = len(trie.paths)
                    trie.paths.append((*trie.paths[node], token))
                    trie.children.append({})
                    trie.ends.append([])
                node = trie.children[node][token]
            trie.ends[node].append(phrase)
        return trie

    def below(self, node: int) -> list[str]:
        """The phrases that end at `node` or further down."""
        return [*self.ends[node], *(p for child in self.children[node].values() for p in self.below(child))]

    def search(self, level: Level, beam: int, depth: int | None = None) -> list[str]:
        """The phrases met on the way, best first by the summed score of their tokens.

        Only nodes of one depth compete for the beam, so a phrase of more tokens is not
        pruned for being longer; a finished phrase keeps the score it ended with. Past
        `depth` tokens nothing is extended: a phrase not finished by then scores as the
        prefix the beam holds of it."""
        frontier = [(0.0, 0)]
        found: dict[str, float] = {}
        for _ in range(depth if depth is not None else len(max(self.paths, key=len))):
            nodes = [(score, node) for score, node in frontier if self.children[node]]
            if not nodes:
                break
            scored = level([(self.paths[node], tuple(self.children[node])) for _, node in nodes])
            extended = []
            for (score, node), next_scores in zip(nodes, scored):
                for token, child in self.children[node].items():
                    total = score + next_scores.get(token, float("-inf"))
                    extended.append((total, child))
                    for phrase in self.ends[child]:
                        found[phrase] = max(total, found.get(phrase, float("-inf")))
            extended.sort(key=lambda pair: -pair[0])
            frontier = extended[:beam]
        for score, node in frontier:
            for phrase in self.below(node):
                found.setdefault(phrase, score)
        return sorted(found, key=lambda phrase: -found[phrase])
