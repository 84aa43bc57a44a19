"""Opening hours of a contact centre, in Dutch time, with Dutch public holidays.

Pure: `is_open(when)` takes the moment from the caller, so tests run on fixed clocks
across DST changes and holidays.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Europe/Amsterdam")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_INTERVAL = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)$")


class HoursError(ValueError):
    pass


Interval = tuple[dt.time, dt.time]


@dataclass(frozen=True)
class OpeningHours:
    week: tuple[tuple[Interval, ...], ...]  # Monday first; an empty tuple is a closed day
    closed_days: frozenset[dt.date]
    public_holidays: bool                   # closed on Dutch public holidays

    def is_open(self, when: dt.datetime) -> bool:
        local = when.astimezone(TZ)
        day = local.date()
        if day in self.closed_days or (self.public_holidays and day in _dutch_holidays(day.year)):
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.week[local.weekday()])

    def describe(self, language: str = "nl") -> str:
        """Spoken form: 'maandag tot en met vrijdag van 8.30 tot 17 uur, zaterdag van 9 tot 12 uur'."""
        names = DAY_NAMES[language]
        nl = language == "nl"
        parts, index = [], 0
        while index < 7:
            end = index
            while end + 1 < 7 and self.week[end + 1] == self.week[index]:
                end += 1
            if self.week[index]:
                days = names[index] if end == index else f"{names[index]} {'tot en met' if nl else 'to'} {names[end]}"
                spans = (" en " if nl else " and ").join(
                    f"van {_spoken(a)} tot {_spoken(b)}" if nl else f"from {a:%H:%M} to {b:%H:%M}"
                    for a, b in self.week[index])
                parts.append(f"{days} {spans}{' uur' if nl else ''}")
            index = end + 1
        return ", ".join(parts)


def _spoken(t: dt.time) -> str:
    return f"{t.hour}.{t.minute:02d}" if t.minute else f"{t.hour}"


@lru_cache(maxsize=16)
def _dutch_holidays(year: int):
    # As the holidays package defines them: Liberation Day only in lustrum years.
    return holidays.NL(years=year)


def parse_week(spec: dict) -> tuple[tuple[Interval, ...], ...]:
    """{'mon-fri': '08:30-17:00', 'sat': '09:00-12:00, 13:00-15:00', 'sun': 'closed'} → a week."""
    week: list[tuple[Interval, ...] | None] = [None] * 7
    for key, value in spec.items():
        days = _days(str(key))
        intervals = _intervals(value)
        for day in days:
            if week[day] is not None:
                raise HoursError(f"{DAYS[day]} is given twice")
            week[day] = intervals
    return tuple(w or () for w in week)


def _days(key: str) -> list[int]:
    first, _, last = key.strip().lower().partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise HoursError(f"{key!r} is not a day or a range of days such as mon-fri")
    start, end = DAYS.index(first), DAYS.index(last or first)
    if end < start:
        raise HoursError(f"{key!r} runs backwards")
    return list(range(start, end + 1))


def _intervals(value) -> tuple[Interval, ...]:
    if value in ("closed", None, False):
        return ()
    out = []
    for part in str(value).split(","):
        m = _INTERVAL.match(part.strip())
        if not m:
            raise HoursError(f"{part.strip()!r} is not a time range such as 08:30-17:00")
        h1, m1, h2, m2 = map(int, m.groups())
        start = dt.time(h1 % 24, m1)
        end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2, m2)
        if h1 == 24 or (h2 == 24 and m2) or end <= start:
            raise HoursError(f"{part.strip()!r} does not run forward within one day")
        out.append((start, end))
    out.sort()
    for (a1, b1), (a2, b2) in zip(out, out[1:]):
        if a2 < b1:
            raise HoursError(f"time ranges overlap in {value!r}")
    return tuple(out)
