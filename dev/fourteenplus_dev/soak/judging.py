"""Where each call must end under a configuration (`expect`), and whether it did (`judge`):
a call that ends anywhere else is lost."""

from __future__ import annotations

from dataclasses import dataclass

from fourteenplus import numberplan, sipp

from .mix import Scenario


# A number nobody here answers: why, as early media, then 404, never answered (issue 27).
REFUSED = "not answered: SIP/2.0 404 Not Found"


@dataclass(frozen=True)
class Expected:
    users: tuple[str, ...]   # the trunk users the trunk endpoint must see, in order
    ended: str               # CallResult.ended
    municipality: str | None = None
    default: Expected | None = None  # the end at the area's default, announced (a caller asked, not heard)
    either: Expected | None = None   # another end that is as right (a hang-up just as the trunk was dialled)

    def describe(self) -> str:
        where = f"{self.municipality} via {' then '.join(self.users)}" if self.municipality else (
            f"no trunk answered ({', '.join(self.users) or 'none dialled'})")
        return f"{where}; {self.ended}"


def trunk_user(dial: str) -> str:
    """PJSIP/busy-rotterdam@fourteenplus-trunks → busy-rotterdam (the trunk endpoint's Request-URI user)."""
    return dial.split("/", 1)[1].split("@", 1)[0]


def _dialled(service, municipality: str) -> tuple[str, ...]:
    """The trunk, then its overflow if the trunk endpoint refuses that user."""
    connection = service.municipality(municipality)
    first = trunk_user(connection.trunk)
    if first.startswith(sipp.REFUSING) and connection.overflow:
        return first, trunk_user(connection.overflow)
    return (first,)


def expect(scenario: Scenario, service) -> Expected | None:
    """Where the call must end under this configuration; None when the configuration cannot
    give this scenario (its municipality not connected, or its "unserved" area served)."""
    needs = scenario.to or scenario.rings
    if needs and needs not in service.connections:
        return None
    if scenario.ends == "message":
        try:
            code = numberplan.parse(scenario.number, service.directory.areas)
        except numberplan.NumberRejected:
            return Expected((), REFUSED)
        return None if service.plan(code).connected else Expected((), REFUSED)
    if scenario.ends == "hung up":
        either = Expected(_dialled(service, scenario.to), "caller hung up") if scenario.to else None
        return Expected(_dialled(service, scenario.rings) if scenario.rings else (), "caller hung up", either=either)
    if scenario.to is None:
        raise ValueError(f"scenario {scenario.name} ends {scenario.ends!r} but names no municipality")
    plan = service.plan(numberplan.parse(scenario.number, service.directory.areas))
    default = plan.default if len(plan.connected) > 1 and plan.default != scenario.to else None
    return Expected(_dialled(service, scenario.to), "Asterisk hung up", scenario.to,
                    Expected(_dialled(service, default), "Asterisk hung up", default) if default else None)


def mismatch(expected: Expected, result: sipp.CallResult) -> str | None:
    """Why the call did not end where it had to, or None."""
    users = tuple(invite.user for invite in result.invites)
    if users != expected.users or result.ended != expected.ended:
        return f"got {result.describe()} (trunks {', '.join(users) or 'none'}; {result.ended})"
    if expected.municipality and (result.reached is None or result.reached.municipality != expected.municipality):
        return f"got {result.describe()}"
    if not expected.users and expected.ended in ("Asterisk hung up", REFUSED) and result.first_audio_at is None:
        return "hung up without a word: the caller never heard why"
    return None


# The default's announcement ends right before its INVITE (the transfer follows the prompt);
# a default reached without a word came a whole menu timeout (5 s here) after the menu.
ANNOUNCED_WITHIN_S = 2.0


def announced(result: sipp.CallResult) -> bool:
    """Whether the caller heard a prompt end just before the first INVITE."""
    at = result.invites[0].at if result.invites else None
    return at is not None and any(at - ANNOUNCED_WITHIN_S <= end <= at for _, end in result.loud)


def judge(expected: Expected, result: sipp.CallResult) -> tuple[str | None, bool]:
    """(why the call is lost, or None; whether it went to the area's default, announced)."""
    problem = mismatch(expected, result)
    if problem and expected.either and mismatch(expected.either, result) is None:
        return None, False
    if problem and expected.default and mismatch(expected.default, result) is None:
        if announced(result):
            return None, True
        problem += ": the area's default, reached without a word"
    return problem, False
