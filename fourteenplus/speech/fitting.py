"""Fitting the policy's models on labelled clips: what `bench fit` (synthetic tune corpora) and
`fourteenplus tune` (the operator's own kept calls) share.

A clip's evidence is its top candidate's features under a neutral matcher (one whose policy
weighs nothing), labelled right when that candidate is the clip's truth; a negative clip
(a caller who named no municipality) is never right. `fit_model` fits one model of
`policy.FEATURES` on such rows and suggests thresholds from 5-fold held-out predictions, so
they are not read off the fit's own training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import policy
from .policy import Policy

NEGATIVE = "none"  # the expected value of a clip that names no municipality (a manifest's, a tune label's)


@dataclass(frozen=True)
class Labelled:
    """One clip's top candidate's evidence and what it is: right to route there, a negative."""
    evidence: dict[str, float]
    right: bool
    negative: bool


def labelled(features: dict[str, dict[str, float]], expected: str) -> Labelled | None:
    """The evidence a matcher found (`Matcher.evidence`) for a clip whose truth is `expected`;
    None when there is nothing to decide (no speech, nothing scored: rejected before any policy)."""
    if not features:
        return None
    top = max(features, key=lambda m: features[m]["margin"])
    return Labelled(features[top], expected == top, expected == NEGATIVE)


def fit_model(kind: str, rows: list[Labelled], folds: int = 5) -> tuple[Policy, dict]:
    """The `kind` model fitted on every row, and the thresholds its held-out predictions suggest."""
    names = policy.FEATURES[kind]
    labels = [row.right for row in rows]
    held_out = np.zeros(len(rows))
    order = np.random.default_rng(0).permutation(len(rows))
    for fold in range(folds):
        test = set(order[fold::folds].tolist())
        train = [i for i in range(len(rows)) if i not in test]
        model = policy.fit([rows[i].evidence for i in train], [labels[i] for i in train], features=names)
        for i in test:
            held_out[i] = model.probability(rows[i].evidence)
    suggested = suggest_thresholds(held_out, np.array(labels), np.array([row.negative for row in rows]))
    return policy.fit([row.evidence for row in rows], labels, features=names), suggested


def suggest_thresholds(p: np.ndarray, right: np.ndarray, negative: np.ndarray) -> dict:
    """Accept: the lowest probability at which held-out accepts are still ≥ 99.5 % right.
    Confirm: just above every held-out negative, so none would have been routed."""
    accept = 1.0
    for t in np.sort(np.unique(p))[::-1]:
        if np.mean(right[p >= t]) < 0.995:
            break
        accept = float(t)
    confirm = min(float(p[negative].max()) + 0.005 if negative.any() else 0.5, accept)
    # What lower confirm thresholds would trade: names routed right against negatives routed.
    trade = {f"{t:.2f}": {"right": int(np.sum(right & (p >= t))), "negatives": int(np.sum(negative & (p >= t)))}
             for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97)}
    return {"accept": round(accept, 3), "confirm": round(confirm, 3),
            "right_above_confirm": int(np.sum(right & (p >= confirm))), "accepted": int(np.sum(p >= accept)),
            "trade_off": trade}


# The share of the tune names the no-name gate's bar may lie below (`fit_gate`): those whose
# words and scores look least like a name, the names a robot garbled into a sentence ("ik bel
# over mijn paspoort, gemeente Opmeer graag" heard "Ik melon er m'n pas"). With the bar above
# every name, 509 of 574 people's tune sentences were still asked about a town; at 1.5 %, 350
# (held out 500 → 363), for 1 tune name of 199 routed right asked for again (held out, the
# same names right as above every name): bench/recognition.md, tenth pass.
GATE_NAMES_ASKED = 0.015


def fit_gate(rows: list[Labelled], margin: float = 0.5, names_asked: float = GATE_NAMES_ASKED) -> tuple[Policy, dict]:
    """The no-name gate (`policy.FEATURES["gate"]`): P(no name was said), fitted on clips that
    name no municipality (`negative`) against clips that name one, its bias then moved so that
    0.5 lies `margin` (in log-odds) above the likeliest-looking name but the `names_asked`
    share of them that look least like one (0: above every name of the tune corpora). What it
    stops is speech that looks less like a name than all the names it spares."""
    names = policy.FEATURES["gate"]
    fitted = policy.fit([row.evidence for row in rows], [row.negative for row in rows], features=names)
    looks = sorted((fitted.logit(row.evidence) for row in rows if not row.negative), reverse=True)
    nearest = looks[min(int(names_asked * len(looks)), len(looks) - 1)] if looks else 0.0
    gate = Policy(fitted.weights, fitted.bias - nearest - margin, names)
    stopped = sum(row.negative and gate.probability(row.evidence) > 0.5 for row in rows)
    return gate, {"negatives_stopped": int(stopped), "negatives": sum(row.negative for row in rows),
                  "names": len(looks), "names_stopped": sum(gate.probability(row.evidence) > 0.5
                                                            for row in rows if not row.negative)}
