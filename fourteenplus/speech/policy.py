"""How sure are we? A tiny logistic model from a clip's evidence to P(the top municipality is right).

The matcher's evidence (the best name's calibrated score, how far it beats the runner-up,
how close whisper's own transcript comes to it or to another area's name, whisper's
no-speech probability, whether the transcript primed with the area's phrases names it,
another municipality or several) is on scales that mean nothing to an operator. Fitted
on the tune split with the clip's truth as label (a negative clip is never right), the model
turns them into one number with a meaning: the probability that routing to the top
municipality is correct. The operator's thresholds (`service.thresholds.accept/confirm`) are
compared with that probability.

The coefficients live in `policy.yaml` beside this file with the corpus they came from (the
package ships it), or in the file `$FOURTEENPLUS_POLICY` names; `fourteenplus bench fit DIR
--out FILE` (the development package) writes a policy file with the model its corpus is for
refitted, to be shipped here or pointed at, never the installed package's. Fitting is plain Newton
iterations in numpy. The file holds four models:
- `names`: a municipality's name, with the primed transcription's evidence;
- `unprimed`: the same clips heard without the primed transcription (the service's
  recognition under load: others queued behind a name, or its deadline near);
- `reply`: ja or nee to "Bedoelt u Hoorn?", with no prompt (nothing to prime whisper with)
  and no other area's names. Judged by the names model, about half the held-out replies were
  not understood (bench/recognition.md, third pass, "The reply got a model of its own"):
  one short word says less than a name;
- `gate`: the no-name gate in front of the names models, where a name is first heard (the
  unprimed matcher): speech it is sure names nothing is asked for a name again (reason
  `no_name`) whatever the names models would say. It weighs
  name-ness only, so people cannot teach it that a clear voice is no name
  (bench/recognition.md, ninth pass).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .. import resources

PATH = resources.POLICY  # the policy the package ships
# The evidence each model weighs, in this order (the matcher computes it, `fit` learns a weight for each).
# The names models also weigh how much of what was heard is a name (`Matcher.name_share`,
# content words, seconds of speech, how clearly the words that are no name were heard): fitted on synthetic voices alone they learned what a
# robot sounds like when it says no name, and asked people about a town for anything they said.
FEATURES = {
    "names": ("margin", "score", "text_top", "text_elsewhere", "no_speech", "prompt_agree", "prompt_other", "prompt_copy",
              "name_share", "words", "seconds", "clear_other"),
    # The names without the primed transcription (its three flags): the speech service's
    # recognition under load.
    "unprimed": ("margin", "score", "text_top", "text_elsewhere", "no_speech", "name_share", "words", "seconds",
                 "clear_other"),
    "reply": ("margin", "score", "text_top", "no_speech"),
    # The no-name gate in front of the names models (`Matcher.no_name_evidence`): P(the caller
    # said no name at all) from name-ness alone (how many different words, how much of them a
    # name covers, how long, how well the best name explains the audio), never from how the
    # voice sounds. Its bias puts the bar at 0.5: just above every synthetic tune name but the
    # 1.5 % that look least like one (`fitting.GATE_NAMES_ASKED`).
    "gate": ("different_words", "name_share", "seconds", "score"),
}


@dataclass(frozen=True)
class Policy:
    weights: tuple[float, ...]  # one per feature, on the raw (unscaled) features
    bias: float
    features: tuple[str, ...] = FEATURES["names"]

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(w * features[name] for w, name in zip(self.weights, self.features))

    def probability(self, features: dict[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(min(self.logit(features), 40.0), -40.0)))

    @classmethod
    def neutral(cls, kind: str = "names") -> "Policy":
        """Every weight zero: for gathering evidence before a model is fitted."""
        return cls((0.0,) * len(FEATURES[kind]), 0.0, FEATURES[kind])

    @classmethod
    def load(cls, kind: str = "names", path: Path | None = None) -> "Policy":
        path = path or policy_path()
        data = (yaml.safe_load(path.read_text()) or {}).get(kind) or {}
        if not data and kind == "gate" and path != PATH:
            # An operator's policy from before the gate: the gate weighs what the recogniser
            # hears, not what the names models were fitted on, so the shipped one serves it
            # (a refit with `bench fit --model gate` writes one of its own).
            return cls.load(kind, PATH)
        if tuple(data.get("features", ())) != FEATURES[kind]:
            raise ValueError(f"{path}: {kind}: features {data.get('features')} do not match the matcher's "
                             f"{list(FEATURES[kind])}; refit with `fourteenplus bench fit`")
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]), FEATURES[kind])


class PolicyError(ValueError):
    """A policy file that cannot be put in force; the message names the file and why."""


def check(path: Path | None = None) -> None:
    """Every model of the policy file loads (a reload checks this before it takes a call,
    rather than a caller's recognition failing on it)."""
    path = path or policy_path()
    for kind in FEATURES:
        try:
            Policy.load(kind, path)
        except PolicyError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
            raise PolicyError(f"{path}: {kind}: {exc}") from exc


def policy_path() -> Path:
    """The policy in force: the file $FOURTEENPLUS_POLICY names, else the shipped one."""
    return Path(os.environ.get("FOURTEENPLUS_POLICY") or PATH)


def fit(rows: list[dict[str, float]], labels: list[bool], l2: float = 1.0, iterations: int = 30,
        features: tuple[str, ...] = FEATURES["names"]) -> Policy:
    """L2-regularised logistic regression (Newton's method) on standardised features.

    Standardising keeps the penalty fair across features of different scales; the weights
    are mapped back so `Policy` applies them to raw features.
    """
    x = np.array([[row[name] for name in features] for row in rows], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.eye(len(w)) * l2
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, z.T @ (p - y) + penalty @ w)
    weights = w[:-1] / scale
    return Policy(tuple(float(v) for v in weights), float(w[-1] - np.sum(weights * mean)), tuple(features))


def save(kind: str, policy: Policy, provenance: dict, path: Path) -> None:
    """Write one model (with where it came from); the other model in the file is kept."""
    data = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    data[kind] = {"features": list(policy.features), "weights": [round(w, 6) for w in policy.weights],
                  "bias": round(policy.bias, 6), "provenance": provenance}
    header = "# Written by `fourteenplus bench fit` (fourteenplus/speech/policy.py): do not edit by hand.\n"
    path.write_text(header + yaml.safe_dump({k: data[k] for k in FEATURES if k in data}, sort_keys=False,
                                            allow_unicode=True))
