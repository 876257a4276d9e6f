"""Business hours: open or closed, the next opening and seconds inside hours, DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.config import ConfigError, Schedule, load_config
from frontdesk.config.read_hours import parse_ranges
from frontdesk.desk.automation.hours import Hours, opening_text

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_SIX = ((540, 1080),)


def week(weekdays=NINE_TO_SIX, sat=(), sun=()) -> tuple:
    return (weekdays,) * 5 + (sat, sun)


def tokyo(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


TOKYO_HOURS = Hours(Schedule("Asia/Tokyo", week(sat=((600, 840),)), frozenset({date(2027, 1, 1)})))


def test_tokyo_is_open_on_a_weekday_in_hours_and_closed_outside_them() -> None:
    # 2027-01-04 is a Monday
    assert TOKYO_HOURS.is_open(tokyo(2027, 1, 4, 9, 0))
    assert TOKYO_HOURS.is_open(tokyo(2027, 1, 4, 17, 59))
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 4, 18, 0))
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 4, 8, 59))
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 4, 20, 0))


def test_an_instant_in_another_timezone_is_judged_in_the_schedule_s() -> None:
    # 01:00 UTC on Monday is 10:00 in Tokyo
    assert TOKYO_HOURS.is_open(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    assert not TOKYO_HOURS.is_open(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))


def test_the_weekend_has_its_own_hours_and_sunday_none() -> None:
    assert TOKYO_HOURS.is_open(tokyo(2027, 1, 9, 11, 0))  # Saturday 10-14
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 9, 15, 0))
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 10, 11, 0))  # Sunday
    assert TOKYO_HOURS.next_open(tokyo(2027, 1, 9, 15, 0)) == tokyo(2027, 1, 11, 9, 0)


def test_a_holiday_is_closed_all_day_and_the_next_opening_skips_it() -> None:
    # 2027-01-01 is a Friday, a holiday; Saturday opens at 10:00
    assert not TOKYO_HOURS.is_open(tokyo(2027, 1, 1, 11, 0))
    assert TOKYO_HOURS.next_open(tokyo(2026, 12, 31, 20, 0)) == tokyo(2027, 1, 2, 10, 0)
    assert (
        opening_text(TOKYO_HOURS, tokyo(2027, 1, 1, 11, 0)) == "a holiday, open again Sat 10:00 JST"
    )


def test_next_open_is_the_instant_itself_when_open() -> None:
    at = tokyo(2027, 1, 4, 10, 30)
    assert TOKYO_HOURS.next_open(at) == at


def test_the_thread_line_says_when_it_opens_in_local_time() -> None:
    friday_evening = tokyo(2027, 1, 8, 20, 0)
    assert opening_text(TOKYO_HOURS, friday_evening) == (
        "outside business hours, open again Sat 10:00 JST"
    )
    never = Hours(Schedule("Asia/Tokyo"))
    assert never.next_open(friday_evening) is None
    assert opening_text(never, friday_evening) == "outside business hours, no opening hours ahead"


def test_business_seconds_count_only_the_hours_inside_the_schedule() -> None:
    monday_8, monday_10 = tokyo(2027, 1, 4, 8, 0), tokyo(2027, 1, 4, 10, 0)
    assert TOKYO_HOURS.business_seconds(monday_8, monday_10) == 3600
    # Friday 17:00 to Monday 10:00: 1 h Friday, 4 h Saturday, 1 h Monday
    assert TOKYO_HOURS.business_seconds(tokyo(2027, 1, 8, 17), monday_10 + timedelta(7)) == (
        6 * 3600
    )
    assert TOKYO_HOURS.business_seconds(monday_10, monday_8) == 0
    # a whole week with a holiday: four 9-hour days and a 4-hour Saturday
    assert (
        TOKYO_HOURS.business_seconds(tokyo(2026, 12, 28), tokyo(2027, 1, 4)) == (4 * 9 + 4) * 3600
    )


def test_a_day_that_loses_an_hour_to_dst_counts_23_hours_in_berlin() -> None:
    always = Hours(Schedule("Europe/Berlin", (((0, 1440),),) * 7))
    # clocks went forward on Sunday 2026-03-29 at 02:00, back on Sunday 2026-10-25 at 03:00
    assert always.business_seconds(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * 3600
    assert always.business_seconds(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * 3600


def test_office_hours_keep_their_local_clock_across_a_dst_change() -> None:
    hours = Hours(Schedule("Europe/Berlin", week()))
    # Friday 27 March 09:00 is 08:00 UTC (CET); Monday 30 March 09:00 is 07:00 UTC (CEST)
    assert hours.next_open(berlin(2026, 3, 27, 20)) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert opening_text(hours, berlin(2026, 3, 27, 20)) == (
        "outside business hours, open again Mon 09:00 CEST"
    )
    assert hours.is_open(datetime(2026, 3, 30, 7, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 27, 7, 30, tzinfo=UTC))
    # Friday to Monday noon across the change: 9 h Friday (it was 09:00-18:00 then too) + 3 h
    assert hours.business_seconds(berlin(2026, 3, 27), berlin(2026, 3, 30, 12)) == 12 * 3600


def test_a_range_ending_at_midnight_reaches_the_next_day() -> None:
    late = Hours(Schedule("Asia/Tokyo", (((1320, 1440),),) + ((),) * 6))
    assert late.is_open(tokyo(2027, 1, 4, 23, 59))
    assert not late.is_open(tokyo(2027, 1, 5, 0, 0))
    assert late.business_seconds(tokyo(2027, 1, 4), tokyo(2027, 1, 6)) == 2 * 3600


def test_ranges_are_parsed_and_a_range_crossing_midnight_is_refused_with_the_fix() -> None:
    assert parse_ranges("09:00-12:00, 13:00-18:00") == ((540, 720), (780, 1080))
    assert parse_ranges("closed") == ()
    assert "two ranges" in parse_ranges("22:00-02:00")
    assert "overlap" in parse_ranges("09:00-12:00,11:00-13:00")
    assert "not a time of day" in parse_ranges("09:00-24:30")
    assert "not a range" in parse_ranges("9-5")


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(datetime(2026, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 20 * 86400),
    st.integers(0, 20 * 86400),
)
def test_business_seconds_add_up_and_agree_with_is_open(start, first, second) -> None:
    hours = Hours(
        Schedule(
            "Europe/Berlin",
            week(((480, 720), (780, 1020)), sat=((600, 1440),)),
            frozenset({date(2026, 12, 25)}),
        )
    )
    middle, end = start + timedelta(seconds=first), start + timedelta(seconds=first + second)
    total = hours.business_seconds(start, end)
    parts = hours.business_seconds(start, middle) + hours.business_seconds(middle, end)
    assert total == pytest.approx(parts, abs=1e-6)
    assert 0 <= total <= (end - start).total_seconds()
    opens = hours.next_open(start)
    assert opens is not None and hours.is_open(opens)
    assert hours.business_seconds(start, opens) == 0


def test_after_counts_a_span_forward_in_business_hours_only() -> None:
    friday_5pm = tokyo(2027, 1, 8, 17, 0)
    assert TOKYO_HOURS.after(friday_5pm, timedelta(minutes=30)) == tokyo(2027, 1, 8, 17, 30)
    # 1 h Friday, 4 h Saturday, 1 h Monday
    assert TOKYO_HOURS.after(friday_5pm, timedelta(hours=6)) == tokyo(2027, 1, 11, 10, 0)
    # from a closed evening: the clock starts when it opens, the holiday skipped
    assert TOKYO_HOURS.after(tokyo(2026, 12, 31, 20), timedelta(hours=1)) == tokyo(2027, 1, 2, 11)
    assert TOKYO_HOURS.after(friday_5pm, timedelta(0)) == friday_5pm
    assert Hours(Schedule("Asia/Tokyo")).after(friday_5pm, timedelta(hours=1)) is None


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(datetime(2026, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
    st.integers(1, 40 * 3600),
)
def test_after_is_the_inverse_of_business_seconds_across_dst(start, seconds) -> None:
    hours = Hours(
        Schedule("Europe/Berlin", week(sat=((600, 1440),)), frozenset({date(2026, 12, 25)}))
    )
    due = hours.after(start, timedelta(seconds=seconds))
    assert due is not None and hours.business_seconds(start, due) == pytest.approx(
        seconds, abs=1e-6
    )
    assert hours.is_open(due - timedelta(microseconds=1))


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_issue_s_hours_section_reads(tmp_path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[hours]
timezone = "Asia/Tokyo"
mon-fri = "09:00-18:00"
sat = "10:00-14:00"
holidays = ["2027-01-01", "2027-01-02"]
away_reply = "away"
""",
        )
    )
    hours = cfg.hours.for_channel("whatsapp")
    assert hours.schedule == Schedule(
        "Asia/Tokyo", week(sat=((600, 840),)), frozenset({date(2027, 1, 1), date(2027, 1, 2)})
    )
    assert [(c.language, c.shortcode) for c in hours.away_reply] == [("", "away")]
    assert hours.enabled and hours.greeting == ()


def test_a_channel_overrides_key_by_key_and_its_day_keys_replace_the_week(tmp_path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[hours]
timezone = "Asia/Tokyo"
mon-fri = "09:00-18:00"
away_reply = {en = "away", ja = "away-ja"}
greeting = "hi"

[hours.channels.line]
sat-sun = "10:00-12:00"

[hours.channels.sms]
enabled = false
""",
        )
    )
    line = cfg.hours.for_channel("line")
    assert line.schedule.week == ((),) * 5 + (((600, 720),),) * 2
    assert line.schedule.timezone == "Asia/Tokyo"
    assert [(c.language, c.shortcode) for c in line.away_reply] == [
        ("en", "away"),
        ("ja", "away-ja"),
    ]
    assert not cfg.hours.for_channel("sms").enabled
    assert cfg.hours.for_channel("email") is cfg.hours.default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('mon = "09:00-18:00"', r"config\.toml:2: hours has no timezone"),
        (
            'timezone = "Mars/Olympus"',
            r":3: hours\.timezone \"Mars/Olympus\" is not a known timezone",
        ),
        ('timezone = "UTC"\nfri = "22:00-02:00"', r":4: hours\.fri .*two ranges"),
        (
            'timezone = "UTC"\nmon-fri = "09:00-18:00"\nmon = "10:00-11:00"',
            r":5: .*which mon-fri sets",
        ),
        ('timezone = "UTC"\nholidays = ["tomorrow"]', r":4: hours\.holidays .*not a date"),
        ('timezone = "UTC"\nholidays = [2027-01-01T10:00:00]', r":4: hours\.holidays .*not a date"),
        ('timezone = "UTC"\naway_reply = "two words"', r":4: hours\.away_reply .*shortcode"),
        ('timezone = "UTC"\nmonday = "09:00-18:00"', r":4: hours\.monday is not a known key"),
        ('timezone = "UTC"\ngreeting_when = "never"', r":4: hours\.greeting_when must be one of"),
    ],
)
def test_a_bad_hours_value_is_one_line_naming_file_line_and_key(tmp_path, text, message) -> None:
    path = write(tmp_path, f"\n[hours]\n{text}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
