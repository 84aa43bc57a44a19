"""The figures municipalities asked for, computed the way the 2020 national evaluation counted.

The evaluation ("Landelijke evaluatie 14+ netnummer", I&O Research for VNG Realisatie, 2020)
asked callers who met speech recognition how often they had to say the name: 85 % once, 10 %
twice, 3 % more often; VNG Realisatie's own data showed 5 % of callers hanging up during the
transfer. So:

- *asked*: calls that heard the question (a shared area code): the denominator of the
  recognition shares, as "callers who met speech recognition" was the evaluation's.
- each asked call has one *route*: recognised at the first time the caller said a name
  (`first`; a confirmation answered "ja" counts, the name was recognised), after one repeat,
  after more; or the keypad menu, the default municipality, a hang-up during the question
  (asking or confirming) or the menu, a name that is not connected, no choice at all. The
  routes of the asked calls add up to 100 %.
- counted by what the caller *said*: a silence before the first name is not a repeat.
- *hung up during the transfer*: the trunk (or its overflow) was ringing when the caller gave
  up (DIALSTATUS CANCEL), as a share of the calls handed to a trunk.
- *departments*: of the calls that heard a municipality's department question, how many
  reached each department and how many the municipality's general line; of those put through
  to a department, how many after a ja to "Over …?" (`confirmed`).
- *time to transfer*: answer → INVITE to the trunk (`Timing.ANSWER_TO_INVITE`), median; the
  other timings a session writes (`vocabulary.Timing`) are given as medians too.

Per municipality the figures cover the calls that reached it; a call abandoned before any
municipality was chosen belongs to its area only. On a cluster the figures are also given
per node that took the calls, so a node that routes worse than its twin stands out.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Iterable
from zoneinfo import ZoneInfo

from .records import CallRecord
from .vocabulary import GENERAL_LINE, SPOKEN_PATHS, AttemptKind, CallPath, Decision, Ending, Outcome, Route, State, Timing

TZ = ZoneInfo("Europe/Amsterdam")  # a municipality's day, not UTC's

# The 2020 figures, for comparison in every format; None where the evaluation gave none.
NATIONAL_2020 = {Route.FIRST: 0.85, Route.ONE_REPEAT: 0.10, Route.MORE_REPEATS: 0.03, Ending.HUNG_UP_TRANSFER: 0.05}
NATIONAL_2020_SOURCE = ("Landelijke evaluatie 14+ netnummer 2020 (I&O Research voor VNG Realisatie): "
                        "callers who met speech recognition; hang-ups during the transfer from VNG Realisatie data")

ROUTES = tuple(Route)
NO_AREA = "-"  # the area key of a rejected number
NO_NODE = "-"  # the node key of a call stored before records named their node
LATENCIES = tuple(Timing)  # medians of what the session measured


def route(record: CallRecord) -> Route | None:
    """How an asked call went (see the module docstring); None for a call that was never asked."""
    if record.path in SPOKEN_PATHS:
        said = sum(1 for a in record.attempts if a.kind == AttemptKind.NAME)
        return Route.FIRST if said <= 1 else Route.ONE_REPEAT if said == 2 else Route.MORE_REPEATS
    if record.path in (CallPath.KEYPAD, CallPath.DEFAULT):
        return Route(record.path)
    if record.outcome == Outcome.ABANDONED:
        left: dict[str, Route] = {State.ASKING: Route.HUNG_UP_QUESTION, State.CONFIRMING: Route.HUNG_UP_QUESTION,
                                  State.MENU: Route.HUNG_UP_MENU}
        return left.get(record.abandoned_at or "")
    if record.outcome in (Outcome.NOT_CONNECTED, Outcome.NO_CHOICE):
        return Route(record.outcome)
    return None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)
    asked: int = 0
    routes: Counter = field(default_factory=Counter)
    confirmations: int = 0
    confirmations_no: int = 0
    transfers: int = 0
    department_asked: int = 0  # calls that heard the department question
    departments: Counter = field(default_factory=Counter)  # department (or cf.GENERAL) → calls
    departments_confirmed: Counter = field(default_factory=Counter)  # department → calls put through after "Over …?"
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LATENCIES})

    def add(self, record: CallRecord) -> None:
        self.calls += 1
        end = record.ending
        self.outcomes[end] += 1
        way = route(record)
        if way is not None:
            self.asked += 1
            self.routes[way] += 1
        self.confirmations += sum(1 for a in record.attempts if a.kind == AttemptKind.NAME and a.decision == Decision.CONFIRM)
        # "nee" said or keyed (2) to "Bedoelt u …?"
        self.confirmations_no += sum(1 for a in record.attempts
                                     if a.kind in (AttemptKind.REPLY, AttemptKind.KEYPAD) and a.decision == Decision.NO)
        if record.outcome == Outcome.TRANSFERRED:
            self.transfers += 1
        if any(a.kind == AttemptKind.DEPARTMENT for a in record.attempts) or record.department:
            self.department_asked += 1
            self.departments[record.department or GENERAL_LINE] += 1
            if any(a.kind == AttemptKind.DEPARTMENT and a.decision == Decision.YES for a in record.attempts):
                self.departments_confirmed[record.department] += 1
        for key in LATENCIES:
            value = record.timings.get(key)
            if value is not None and (key != Timing.ANSWER_TO_INVITE or record.outcome == Outcome.TRANSFERRED):
                self.latencies[key].append(float(value))

    def summary(self) -> dict:
        """Counts, shares (0..1, None when there is nothing to divide by) and medians in ms."""
        return {
            "calls": self.calls,
            "outcomes": dict(sorted(self.outcomes.items())),
            "asked": self.asked,
            "routes": {r: self.routes[r] for r in ROUTES},
            "route_shares": {r: _share(self.routes[r], self.asked) for r in ROUTES},
            "confirmations": self.confirmations,
            "confirmations_no": self.confirmations_no,
            "confirmations_no_share": _share(self.confirmations_no, self.confirmations),
            "transfers": self.transfers,
            Ending.HUNG_UP_TRANSFER: self.outcomes[Ending.HUNG_UP_TRANSFER],
            "hung_up_transfer_share": _share(self.outcomes[Ending.HUNG_UP_TRANSFER], self.transfers),
            "median_ms": {k: _median(v) for k, v in self.latencies.items()},
            "department_asked": self.department_asked,
            "departments": dict(sorted(self.departments.items())),
            "departments_confirmed": dict(sorted(self.departments_confirmed.items())),
        }


@dataclass
class Report:
    since: dt.date | None
    until: dt.date | None  # inclusive
    areas: tuple[str, ...]
    total: Figures = field(default_factory=Figures)
    by_area: dict[str, Figures] = field(default_factory=dict)
    by_municipality: dict[str, Figures] = field(default_factory=dict)
    by_node: dict[str, Figures] = field(default_factory=dict)
    days: dict[str, Counter] = field(default_factory=dict)  # ISO date → {"calls", "reached"}

    def add(self, record: CallRecord, node: str | None = None) -> None:
        self.total.add(record)
        self.by_node.setdefault(node or NO_NODE, Figures()).add(record)
        self.by_area.setdefault(record.area_code or NO_AREA, Figures()).add(record)
        if record.municipality and record.outcome == Outcome.TRANSFERRED:
            self.by_municipality.setdefault(record.municipality, Figures()).add(record)
        if record.started_at is None:  # a record the session never started: no day to count it on
            return
        day = dt.datetime.fromtimestamp(record.started_at, TZ).date().isoformat()
        counts = self.days.setdefault(day, Counter())
        counts["calls"] += 1
        counts["reached"] += record.ending in (Outcome.TRANSFERRED, Ending.OVERFLOW)

    def to_dict(self) -> dict:
        return {
            "period": {"since": self.since and self.since.isoformat(), "until": self.until and self.until.isoformat()},
            "areas": list(self.areas),
            "national_2020": {"figures": NATIONAL_2020, "source": NATIONAL_2020_SOURCE},
            "total": self.total.summary(),
            "by_area": {k: f.summary() for k, f in sorted(self.by_area.items())},
            "by_municipality": {k: f.summary() for k, f in sorted(self.by_municipality.items())},
            "by_node": {k: f.summary() for k, f in sorted(self.by_node.items())},
            "days": {k: dict(v) for k, v in sorted(self.days.items())},
        }


def build(records: Iterable[CallRecord], since: dt.date | None = None, until: dt.date | None = None,
          areas: tuple[str, ...] = (), nodes: Iterable[str | None] = ()) -> Report:
    """The report of `records`; `nodes`, when given, names the node of each record in turn."""
    report = Report(since, until, areas)
    for record, node in zip_longest(records, nodes):
        report.add(record, node)
    return report


def period(since: dt.date | None, until: dt.date | None) -> tuple[float | None, float | None]:
    """Local calendar days [since, until] as epoch seconds [start, end)."""
    def midnight(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), TZ).timestamp()
    return (midnight(since) if since else None,
            midnight(until + dt.timedelta(days=1)) if until else None)


# ---- text and JSON ----

def area_label(code: str) -> str:
    return "no area code" if code == NO_AREA else f"area {code}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f} %"


def seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f} s"


COLUMNS = ("calls", "asked", "1st", "1 repeat", "more", "keypad", "default", "hung up Q", "nee",
           "hung up T", "overflow", "failed", "to transfer")


def row(f: dict) -> list[str]:
    shares = f["route_shares"]
    return [str(f["calls"]), str(f["asked"]), percent(shares[Route.FIRST]), percent(shares[Route.ONE_REPEAT]),
            percent(shares[Route.MORE_REPEATS]), percent(shares[Route.KEYPAD]), percent(shares[Route.DEFAULT]),
            percent(shares[Route.HUNG_UP_QUESTION]), percent(f["confirmations_no_share"]),
            percent(f["hung_up_transfer_share"]), str(f["outcomes"].get(Ending.OVERFLOW, 0)),
            str(f["outcomes"].get(Ending.FAILED, 0)), seconds(f["median_ms"][Timing.ANSWER_TO_INVITE])]


def national_row() -> list[str]:
    n = NATIONAL_2020
    return ["", "", percent(n[Route.FIRST]), percent(n[Route.ONE_REPEAT]), percent(n[Route.MORE_REPEATS]), "", "", "", "",
            percent(n[Ending.HUNG_UP_TRANSFER]), "", "", ""]


def as_table(report: Report) -> str:
    data = report.to_dict()
    lines = [["", *COLUMNS], ["all calls", *row(data["total"])]]
    if len(data["by_node"]) > 1:  # one node: its line would repeat "all calls"
        lines += [[f"  node {name}", *row(f)] for name, f in data["by_node"].items()]
    lines += [[area_label(code), *row(f)] for code, f in data["by_area"].items()]
    lines += [[f"  {name}", *row(f)] for name, f in data["by_municipality"].items()]
    lines.append(["national 2020", *national_row()])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    since, until = data["period"]["since"] or "the first call", data["period"]["until"] or "the last call"
    head = f"fourteenplus report: {since} to {until}" + (f", areas {', '.join(report.areas)}" if report.areas else "")
    lines_of_departments = [f"  {name}: {department_line(f)}" for name, f in data["by_municipality"].items()
                            if f["department_asked"]]
    if lines_of_departments:
        text += ["", "departments (calls that heard the department question):", *lines_of_departments]
    notes = ["shares of 1st/1 repeat/more/keypad/default/hung up Q: of the calls asked for a name; "
             "nee: of confirmations; hung up T: of transfers; to transfer: median answer → INVITE",
             f"national 2020: {NATIONAL_2020_SOURCE}"]
    return "\n".join([head, "", *text, "", *notes]) + "\n"


def department_line(f: dict) -> str:
    """"asked 12: Afval 3 (1 confirmed), Burgerzaken 5, general line 4"."""
    confirmed = f["departments_confirmed"]
    counts = [f"{'general line' if name == GENERAL_LINE else name} {n}"
              + (f" ({confirmed[name]} confirmed)" if confirmed.get(name) else "") for name, n in f["departments"].items()]
    return f"asked {f['department_asked']}: {', '.join(counts)}"


def as_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
