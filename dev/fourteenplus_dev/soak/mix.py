"""The soak's callers: each kind of caller (`Scenario`), the mix of them (`MIX`), and a
phase's calls drawn from it in proportion (`plan`)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from fourteenplus.sipp import PressKeys, Say, Silence, WaitPrompt

# Phases: the configuration the app runs with. "sure" transfers a clearly spoken name at
# once; "unsure" (accept 1.0, as the integration tests' unsure_yaml) asks "Bedoelt u …?".
SURE, UNSURE = "sure", "unsure"


@dataclass(frozen=True)
class Scenario:
    """One kind of caller and where the call must end.

    `ends`: "transfer" (at `to`'s trunk, and its overflow when the trunk refuses), "message"
    (no trunk; the call is never answered: Asterisk plays why as early media, then refuses it
    with 404) or "hung up" (the caller, before any trunk answered; `rings` names a
    municipality whose trunk was ringing then; `to`, one whose trunk may have been dialled by
    then or not: either end is right).
    `latency`: "voice" or "reply" when end of speech → INVITE of this call counts toward that
    figure (the name, when the app's record says it was put through on it; or the "ja" to
    "Bedoelt u …?").
    Timings of the hang-ups are from the answer and fit the test configuration's prompts:
    the question is heard until 1.6 s (1.9 s with its quiet tail), "again" after 3 s of
    silence (4.9–8.3 s), the 0229 menu 10.3 s, a confirmation 4.6 s. The caller speaks 0.8 s
    after the last loud frame of a prompt (~2.4 s); "Koggenland" is loud for 0.6 s, so its end
    of speech is at ~3.0 s (how long its INVITE takes after that is measured: bench/soak.md)."""
    name: str
    number: str
    weight: int
    ends: str = "transfer"
    to: str | None = None
    script: tuple = ()
    hangup_after_ms: int = 0
    rings: str | None = None
    latency: str | None = None
    phases: tuple[str, ...] = (SURE, UNSURE)


IF_ASKED = (WaitPrompt(), Say("ja"))

MIX: tuple[Scenario, ...] = (
    # areas with one municipality: no question
    Scenario("direct", "14020", 12, to="Amsterdam"),
    Scenario("direct, trunk busy → overflow", "14010", 4, to="Rotterdam"),
    Scenario("direct, trunk 503 → overflow", "140111", 4, to="Schouwen-Duiveland"),
    # a name, alone or in a sentence (0229: Hoorn, Medemblik, Drechterland, Opmeer, Koggenland);
    # asked "Bedoelt u …?" instead of being put through (the recogniser less sure under load),
    # the caller says ja, as a caller would: the call still ends at the right trunk, and the
    # app's record says it was confirmed, which the figures count apart
    Scenario("name", "140229", 8, to="Koggenland", script=(WaitPrompt(), Say("Koggenland"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name", "140229", 6, to="Medemblik", script=(WaitPrompt(), Say("Medemblik"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name", "140229", 6, to="Drechterland", script=(WaitPrompt(), Say("Drechterland"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name in a sentence", "140229", 6, to="Hoorn",
             script=(WaitPrompt(), Say("ik wil graag de gemeente Hoorn bellen"), *IF_ASKED), latency="voice",
             phases=(SURE,)),
    # keys: any key at the question opens the menu (Hoorn 1, Medemblik 2, Drechterland 3, Opmeer 4)
    Scenario("key during the menu", "140229", 6, to="Drechterland",
             script=(WaitPrompt(), PressKeys("0"), Silence(1000), PressKeys("3"))),
    Scenario("key after the menu", "140229", 3, to="Opmeer",
             script=(WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("4"))),
    Scenario("silent twice, then a key", "140229", 2, to="Medemblik",
             script=(WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("2"))),
    # confirmations ("Bedoelt u Koggenland?"), by voice and by key 1
    Scenario("name, then ja", "140229", 8, to="Koggenland",
             script=(WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")), latency="reply", phases=(UNSURE,)),
    Scenario("name in a sentence, then ja", "140229", 5, to="Hoorn",
             script=(WaitPrompt(), Say("ik wil graag de gemeente Hoorn bellen"), WaitPrompt(), Say("ja")),
             latency="reply", phases=(UNSURE,)),
    Scenario("name, then key 1", "140229", 6, to="Drechterland",
             script=(WaitPrompt(), Say("Drechterland"), WaitPrompt(), PressKeys("1")), phases=(UNSURE,)),
    # numbers that reach no municipality: the caller hears why
    Scenario("unknown area", "140000", 4, ends="message"),
    Scenario("area not served", "140113", 2, ends="message"),
    # hang-ups at every step of a conversation (a refused number's message is early media
    # before any answer, and the test caller hangs up only an answered call)
    Scenario("hangs up during the question", "140229", 3, ends="hung up", hangup_after_ms=800),
    Scenario("hangs up while speaking", "140229", 2, ends="hung up", hangup_after_ms=4000,
             script=(WaitPrompt(), Say("ik wil graag de gemeente Koggenland bellen")), phases=(SURE,)),
    # Right after the name: the app may be waiting for quiet, recognising, or already have
    # dialled the trunk the caller asked for (`to`: that end is right too; the prompts and the
    # recogniser got quicker than a fixed time from the answer can tell apart)
    Scenario("hangs up right after the name", "140229", 2, ends="hung up", to="Koggenland",
             hangup_after_ms=3300, script=(WaitPrompt(), Say("Koggenland")), phases=(SURE,)),
    Scenario("hangs up during 'again'", "140229", 2, ends="hung up", hangup_after_ms=6500),
    Scenario("hangs up during the menu", "140229", 2, ends="hung up", hangup_after_ms=8000,
             script=(WaitPrompt(), PressKeys("0"))),
    Scenario("hangs up during 'Bedoelt u'", "140229", 4, ends="hung up", hangup_after_ms=6500,
             script=(WaitPrompt(), Say("Koggenland")), phases=(UNSURE,)),
    Scenario("hangs up while the trunk rings", "140114", 2, ends="hung up", hangup_after_ms=3000, rings="Hulst"),
)


def plan(mix: tuple[Scenario, ...], phase: str, calls: int, seed: int = 14) -> list[Scenario]:
    """`calls` scenarios of this phase in the mix's proportions (largest remainder), shuffled
    with a fixed seed so two runs place the same calls."""
    eligible = [s for s in mix if phase in s.phases]
    total = sum(s.weight for s in eligible)
    shares = [calls * s.weight / total for s in eligible]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(eligible)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[:calls - sum(counts)]:
        counts[i] += 1
    out = [s for s, n in zip(eligible, counts) for _ in range(n)]
    random.Random(seed).shuffle(out)
    return out


def describe_script(scenario: Scenario) -> str:
    steps = []
    for step in scenario.script:
        if isinstance(step, WaitPrompt):
            steps.append("wait for the prompt")
        elif isinstance(step, Say):
            steps.append(f"say {step.text!r}")
        elif isinstance(step, PressKeys):
            steps.append(f"key {step.digits}")
        elif isinstance(step, Silence):
            steps.append(f"{step.ms} ms silence")
    if scenario.hangup_after_ms:
        steps.append(f"hang up {scenario.hangup_after_ms} ms after the answer")
    return ", ".join(steps) or "nothing"
