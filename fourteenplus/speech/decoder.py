"""whisper's decoder in numpy, teacher-forced over many texts on one encoded window.

`Whisper.align` scores a batch of texts with the encoded window repeated per text: it
projects the window to every layer's cross-attention keys and values once per text, and runs
the shared start tokens once per text too, so its cost grows with texts × window. Here the
keys and values are computed once per window (`memory`), and the texts are laid out as a tree
of their token prefixes (a text's start tokens and its first words are shared with its
neighbours: " Ik wil graag de gemeente …"), each node computed once, attending to its own
ancestors only. One float32 pass over all nodes; logits only where a text token is predicted.

It computes what `align` reports as `text_token_probs`: the probability of each text token
under a softmax over the text vocabulary (the tokens before end-of-text), after the start
tokens and a second no-timestamps token, which `align` inserts after the start sequence it
is given. The weights are the model's own, read from its model.bin (CTranslate2's format,
`python/ctranslate2/specs/model_spec.py`) in float32 where CTranslate2 runs them in int8, so
the two differ a little (bench/recognition.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# CTranslate2's DataType ids (include/ctranslate2/types.h).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_EPSILON = 1e-5  # CTranslate2's layer norm
_FLOOR = 1e-12  # a probability of 0 (end-of-text, outside the text vocabulary) counts as this


def read_variables(path: Path, prefix: str) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin whose names start with `prefix`, as stored
    (aliases resolved); the others are skipped unread."""
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as handle:
        def take(fmt: str):
            return struct.unpack(fmt, handle.read(struct.calcsize(fmt)))

        def text() -> str:
            (length,) = take("<H")
            return handle.read(length)[:-1].decode()

        (version,) = take("<I")
        if version < 4:  # older files store an item size, not a type: CTranslate2 ≥ 3 writes 6
            raise ValueError(f"{path}: CTranslate2 binary version {version} is not supported (reconvert the model)")
        text()  # the spec's name
        take("<I")  # its revision
        (count,) = take("<I")
        for _ in range(count):
            name = text()
            (rank,) = take("<B")
            shape = take(f"<{rank}I")
            type_id, size = take("<BI")
            if name.startswith(prefix):
                out[name] = np.frombuffer(handle.read(size), _DTYPES[type_id]).reshape(shape)
            else:
                handle.seek(size, 1)
        (aliases,) = take("<I")
        for _ in range(aliases):
            alias, name = text(), text()
            if alias.startswith(prefix) and name in out:
                out[alias] = out[name]
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (error < 1.5e-7, below float32's resolution of GELU's inputs):
    # numpy has no erf, and CTranslate2's whisper uses the exact GELU.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + _EPSILON) * gain + bias


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


@dataclass(frozen=True)
class _Layer:
    self_norm: tuple[np.ndarray, np.ndarray]
    qkv: tuple[np.ndarray, np.ndarray]  # weights (in, out) and bias
    self_out: tuple[np.ndarray, np.ndarray]
    cross_norm: tuple[np.ndarray, np.ndarray]
    query: tuple[np.ndarray, np.ndarray]
    memory: tuple[np.ndarray, np.ndarray]  # the encoded window → keys and values
    cross_out: tuple[np.ndarray, np.ndarray]
    ffn_norm: tuple[np.ndarray, np.ndarray]
    ffn_in: tuple[np.ndarray, np.ndarray]
    ffn_out: tuple[np.ndarray, np.ndarray]


class Decoder:
    """whisper's decoder from a CTranslate2 model.bin. Read-only after loading: any number of
    threads may score at once (numpy releases the GIL in its matrix products)."""

    def __init__(self, variables: dict[str, np.ndarray], text_vocabulary: int):
        def weight(name: str) -> np.ndarray:
            value = variables[name].astype(np.float32)
            scale = variables.get(name + "_scale")  # an int8 model: a scale per output row
            return value / scale.astype(np.float32)[:, None] if scale is not None else value

        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            return (np.ascontiguousarray(weight(f"{name}/weight").T),
                    variables[f"{name}/bias"].astype(np.float32))

        def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
            return variables[f"{name}/gamma"].astype(np.float32), variables[f"{name}/beta"].astype(np.float32)

        if int(variables["decoder/activation"]) != 3 or not int(variables["decoder/pre_norm"]):
            raise ValueError("not a whisper decoder (pre-norm, GELU)")
        self.heads = int(variables["decoder/num_heads"])
        self.embeddings = weight("decoder/embeddings/weight")
        self.text_embeddings = self.embeddings[:text_vocabulary]  # the logits' softmax runs over these
        self.positions = variables["decoder/position_encodings/encodings"].astype(np.float32)
        self.final_norm = norm("decoder/layer_norm")
        self.layers = []
        index = 0
        while f"decoder/layer_{index}/ffn/layer_norm/gamma" in variables:
            layer = f"decoder/layer_{index}"
            self.layers.append(_Layer(
                norm(f"{layer}/self_attention/layer_norm"), linear(f"{layer}/self_attention/linear_0"),
                linear(f"{layer}/self_attention/linear_1"), norm(f"{layer}/attention/layer_norm"),
                linear(f"{layer}/attention/linear_0"), linear(f"{layer}/attention/linear_1"),
                linear(f"{layer}/attention/linear_2"), norm(f"{layer}/ffn/layer_norm"),
                linear(f"{layer}/ffn/linear_0"), linear(f"{layer}/ffn/linear_1")))
            index += 1

    @classmethod
    def read(cls, model_dir: Path, text_vocabulary: int) -> Decoder:
        """`text_vocabulary`: the end-of-text token's id (the text tokens come before it)."""
        return cls(read_variables(Path(model_dir) / "model.bin", "decoder/"), text_vocabulary)

    def _split(self, x: np.ndarray) -> np.ndarray:
        """(rows, width) → (heads, rows, width / heads)."""
        return x.reshape(x.shape[0], self.heads, -1).transpose(1, 0, 2)

    def memory(self, encoded: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every layer's cross-attention keys (heads, depth, frames) and values (heads, frames,
        depth) for one encoded window (1, frames, width): what `logprobs` attends to."""
        window = np.asarray(encoded, dtype=np.float32)[0]
        out = []
        for layer in self.layers:
            keys, values = np.split(window @ layer.memory[0] + layer.memory[1], 2, axis=-1)
            out.append((np.ascontiguousarray(self._split(keys).transpose(0, 2, 1)),
                        np.ascontiguousarray(self._split(values))))
        return out

    def logprobs(self, memory: list[tuple[np.ndarray, np.ndarray]], start: list[int],
                 texts: list[list[int]]) -> np.ndarray:
        """For each text, the sum of its tokens' log-probabilities (each at least log 1e-12)
        after `start`, on the window `memory` was made from."""
        # The prefix tree: node i holds token[i] at position depth[i] after parent[i].
        token: list[int] = []
        parent: list[int] = []
        depth: list[int] = []
        children: dict[tuple[int, int], int] = {}
        paths = []
        for text in texts:
            at, path = -1, []
            for position, t in enumerate([*start, *text]):
                node = children.get((at, t))
                if node is None:
                    node = children[(at, t)] = len(token)
                    token.append(t)
                    parent.append(at)
                    depth.append(position)
                at = node
                path.append(node)
            paths.append(path)
        count = len(token)
        visible = np.zeros((count, count), bool)  # a node attends to itself and its ancestors
        for node in range(count):
            if parent[node] >= 0:
                visible[node] = visible[parent[node]]
            visible[node, node] = True
        mask = np.where(visible, 0.0, -np.inf).astype(np.float32)

        scale = np.float32(1.0 / np.sqrt(self.embeddings.shape[1] // self.heads))
        x = self.embeddings[token] + self.positions[depth]
        for layer, (keys, values) in zip(self.layers, memory):
            h = _norm(x, *layer.self_norm) @ layer.qkv[0] + layer.qkv[1]
            q, k, v = (self._split(part) for part in np.split(h, 3, axis=-1))
            attended = _softmax(q @ k.transpose(0, 2, 1) * scale + mask) @ v
            x = x + attended.transpose(1, 0, 2).reshape(count, -1) @ layer.self_out[0] + layer.self_out[1]
            q = self._split(_norm(x, *layer.cross_norm) @ layer.query[0] + layer.query[1])
            attended = _softmax(q @ keys * scale) @ values
            x = x + attended.transpose(1, 0, 2).reshape(count, -1) @ layer.cross_out[0] + layer.cross_out[1]
            h = _norm(x, *layer.ffn_norm) @ layer.ffn_in[0] + layer.ffn_in[1]
            h = 0.5 * h * (1.0 + _erf(h * np.float32(1 / np.sqrt(2))))
            x = x + h @ layer.ffn_out[0] + layer.ffn_out[1]

        # Logits only at the nodes that predict a text token of the text vocabulary; a token
        # outside it (end-of-text) has probability 0 there.
        vocabulary = len(self.text_embeddings)
        wanted = sorted({path[i - 1] for path in paths for i in range(len(start), len(path))
                         if token[path[i]] < vocabulary})
        row = {node: i for i, node in enumerate(wanted)}
        logits = _norm(x[wanted], *self.final_norm) @ self.text_embeddings.T
        top = logits.max(-1, keepdims=True)
        total = (top + np.log(np.exp(logits - top).sum(-1, keepdims=True)))[:, 0]
        floor = np.log(_FLOOR)
        out = np.empty(len(texts))
        for index, path in enumerate(paths):
            score = 0.0
            for i in range(len(start), len(path)):
                t = token[path[i]]
                if t < vocabulary:
                    r = row[path[i - 1]]
                    score += max(float(logits[r, t] - total[r]), floor)
                else:
                    score += floor
            out[index] = score
        return out
