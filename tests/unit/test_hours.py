import datetime as dt

import pytest

from fourteenplus.hours import TZ, HoursError, OpeningHours, parse_week

WEEK = parse_week({"mon-thu": "08:30-17:00", "fri": "08:30-12:00, 13:00-16:00", "sat-sun": "closed"})
HOURS = OpeningHours(WEEK, frozenset({dt.date(2026, 12, 24)}), True)


def at(*args, tz=TZ):
    return dt.datetime(*args, tzinfo=tz)


@pytest.mark.parametrize("when, is_open", [
    (at(2026, 11, 23, 8, 29), False),   # Monday, a minute early
    (at(2026, 11, 23, 8, 30), True),
    (at(2026, 11, 23, 16, 59), True),
    (at(2026, 11, 23, 17, 0), False),   # closing time is closed
    (at(2026, 11, 27, 12, 30), False),  # Friday lunch
    (at(2026, 11, 27, 13, 0), True),
    (at(2026, 11, 28, 10, 0), False),   # Saturday
])
def test_hours_weekly(when, is_open):
    assert HOURS.is_open(when) is is_open


def test_hours_are_dutch_local_time_across_dst_changes():
    # 08:45 in Amsterdam is 07:45 UTC in winter and 06:45 UTC in summer.
    assert HOURS.is_open(at(2026, 3, 27, 7, 45, tz=dt.timezone.utc))      # Friday before DST starts
    assert not HOURS.is_open(at(2026, 3, 30, 6, 15, tz=dt.timezone.utc))  # Monday after: 08:15 local
    assert HOURS.is_open(at(2026, 3, 30, 6, 45, tz=dt.timezone.utc))      # 08:45 local
    assert HOURS.is_open(at(2026, 10, 26, 15, 30, tz=dt.timezone.utc))    # Monday after DST ends: 16:30
    assert not HOURS.is_open(at(2026, 10, 26, 16, 30, tz=dt.timezone.utc))


@pytest.mark.parametrize("day", [
    dt.date(2026, 4, 6),    # Easter Monday
    dt.date(2026, 4, 27),   # King's Day (a Monday)
    dt.date(2026, 5, 14),   # Ascension Day
    dt.date(2026, 5, 25),   # Whit Monday
    dt.date(2026, 12, 25),  # Christmas
    dt.date(2025, 5, 5),    # Liberation Day, a holiday in lustrum years as the package defines it
])
def test_holidays_are_closed(day):
    assert not HOURS.is_open(dt.datetime.combine(day, dt.time(10), TZ))


def test_liberation_day_outside_lustrum_years_is_an_ordinary_day_as_the_package_defines_it():
    assert HOURS.is_open(at(2026, 5, 5, 10, 0))  # a Tuesday


def test_holidays_can_be_ignored_and_special_days_closed():
    open_on_holidays = OpeningHours(WEEK, frozenset(), False)
    assert open_on_holidays.is_open(at(2026, 4, 6, 10, 0))
    assert not HOURS.is_open(at(2026, 12, 24, 10, 0))  # Thursday, a special closing day


def test_hours_spoken_in_dutch_and_english():
    assert HOURS.describe("nl") == ("maandag tot en met donderdag van 8.30 tot 17 uur, "
                                    "vrijdag van 8.30 tot 12 en van 13 tot 16 uur")
    assert HOURS.describe("en") == ("Monday to Thursday from 08:30 to 17:00, "
                                    "Friday from 08:30 to 12:00 and from 13:00 to 16:00")


@pytest.mark.parametrize("spec, message", [
    ({"mon-fri": "8-17"}, "not a time range"),
    ({"fri-mon": "08:00-17:00"}, "runs backwards"),
    ({"maandag": "08:00-17:00"}, "not a day"),
    ({"mon": "17:00-08:00"}, "does not run forward"),
    ({"mon-fri": "08:00-17:00", "fri": "closed"}, "fri is given twice"),
    ({"mon": "08:00-12:00, 11:00-17:00"}, "overlap"),
])
def test_bad_hours_are_explained(spec, message):
    with pytest.raises(HoursError, match=message):
        parse_week(spec)


def test_hours_until_midnight():
    late = OpeningHours(parse_week({"mon-sun": "20:00-24:00"}), frozenset(), False)
    assert late.is_open(at(2026, 11, 23, 23, 59))
