"""When a node is open: `Calendar` from closures and daily operating hours, and work that pauses while closed."""

from __future__ import annotations

import math

import pytest
import simpy

from sim.model.calendar import Calendar


def finish_time(calendar: Calendar, start_h: float, duration_h: float) -> float:
    """Run `calendar.work(duration_h)` from `start_h` in a fresh environment; return when it ends."""
    env = simpy.Environment(initial_time=start_h)
    done = {}

    def job():
        yield from calendar.work(env, duration_h)
        done["t"] = env.now

    env.process(job())
    env.run()
    return done["t"]


def open_at(calendar: Calendar, start_h: float) -> float:
    env = simpy.Environment(initial_time=start_h)
    done = {}

    def job():
        yield from calendar.wait_open(env)
        done["t"] = env.now

    env.process(job())
    env.run()
    return done["t"]


# --- explicit closures -------------------------------------------------------------------------------


def test_always_open_calendar():
    cal = Calendar([])
    assert cal.always_open
    assert cal.next_open(17.3) == 17.3
    assert cal.next_close(17.3) == math.inf
    assert finish_time(cal, 5, 10) == pytest.approx(15)
    assert cal.open_hours(0, 48) == pytest.approx(48)


@pytest.mark.parametrize("t, expected", [(0, 0), (9.99, 9.99), (10, 20), (15, 20), (19.999, 20), (20, 20), (25, 25)])
def test_next_open_around_one_closure(t, expected):
    assert Calendar([(10, 20)]).next_open(t) == pytest.approx(expected)


def test_work_pauses_across_a_closure():
    cal = Calendar([(10, 20)])
    assert finish_time(cal, 0, 15) == pytest.approx(25)  # 10 h, closed 10 h, 5 h
    assert finish_time(cal, 12, 15) == pytest.approx(35)  # starts closed: waits to 20
    assert finish_time(cal, 0, 10) == pytest.approx(10)  # ends as it closes
    assert finish_time(cal, 20, 3) == pytest.approx(23)
    assert finish_time(cal, 0, 0) == pytest.approx(0)


def test_overlapping_and_touching_closures_merge():
    cal = Calendar([(30, 40), (10, 20), (15, 30), (50, 55), (55, 60)])
    assert cal.next_open(12) == pytest.approx(40)  # 10-20, 15-30 and 30-40 are one closure
    assert cal.next_open(52) == pytest.approx(60)
    assert cal.next_close(41) == pytest.approx(50)
    assert cal.open_hours(0, 100) == pytest.approx(100 - 30 - 10)
    # from 5 h: 5 h to 10, closed to 40, 10 h to 50 (15 h done as it closes), closed to 60, then 1 h more
    assert finish_time(cal, 5, 15) == pytest.approx(50)
    assert finish_time(cal, 5, 16) == pytest.approx(61)


def test_empty_or_reversed_intervals_are_ignored():
    cal = Calendar([(10, 10), (20, 15)])
    assert cal.always_open
    assert finish_time(cal, 0, 30) == pytest.approx(30)


def test_work_across_several_closures():
    cal = Calendar([(2, 3), (4, 6), (7, 10)])
    # open 0-2, 3-4, 6-7, 10-: 6 h of work end at 10 + 2 = 12
    assert finish_time(cal, 0, 6) == pytest.approx(12)
    assert cal.open_hours(0, 12) == pytest.approx(6)


# --- daily operating hours -------------------------------------------------------------------------------


def test_operating_hours_close_the_rest_of_each_day():
    cal = Calendar.for_node(operating_hours_per_day=12, opens_at_h=6, closures_h=[], horizon_h=96)
    assert not cal.always_open
    for day in range(4):
        base = 24 * day
        assert cal.next_open(base + 0) == pytest.approx(base + 6)  # night before opening
        assert cal.next_open(base + 6) == pytest.approx(base + 6)
        assert cal.next_open(base + 10) == pytest.approx(base + 10)
        assert cal.next_open(base + 18) == pytest.approx(base + 30)  # closes at 18:00
        assert cal.next_open(base + 23.5) == pytest.approx(base + 30)
    assert cal.open_hours(0, 96) == pytest.approx(4 * 12)


def test_work_spreads_over_operating_days():
    cal = Calendar.for_node(12, 6, [], horizon_h=24 * 5)
    # 30 h of work from 06:00 day 0: 12 h (to 18), 12 h on day 1 (30-42), 6 h on day 2 (54-60)
    assert finish_time(cal, 6, 30) == pytest.approx(60)
    # starting at night waits for 06:00
    assert finish_time(cal, 20, 3) == pytest.approx(33)
    assert open_at(cal, 20) == pytest.approx(30)
    assert open_at(cal, 8) == pytest.approx(8)


def test_operating_hours_over_midnight():
    cal = Calendar.for_node(10, 20, [], horizon_h=72)  # open 20:00 to 06:00
    assert cal.next_open(3) == pytest.approx(3)
    assert cal.next_open(6) == pytest.approx(20)
    assert cal.next_open(12) == pytest.approx(20)
    assert finish_time(cal, 4, 5) == pytest.approx(23)  # 2 h to 06:00, 3 h from 20:00
    assert cal.open_hours(0, 48) == pytest.approx(20)


def test_full_day_operation_adds_no_closures():
    cal = Calendar.for_node(24, 0, [], horizon_h=240)
    assert cal.always_open


def test_operating_hours_and_a_closure_combine():
    # open 00-16 each day, and closed all of day 1 (24-48) for weather
    cal = Calendar.for_node(16, 0, [(24, 48)], horizon_h=96)
    assert cal.next_open(16) == pytest.approx(48)
    assert cal.open_hours(0, 72) == pytest.approx(16 + 0 + 16)
    assert finish_time(cal, 10, 12) == pytest.approx(54)  # 6 h on day 0, then 6 h from 48
    assert finish_time(cal, 10, 30) == pytest.approx(72 + 8)  # 6 + 16 (day 2) + 8 (day 3)


def test_closure_inside_operating_hours():
    cal = Calendar.for_node(12, 0, [(4, 6)], horizon_h=48)
    # open 0-4, 6-12, 24-36: 12 h from 0 end at 24 + 2
    assert finish_time(cal, 0, 12) == pytest.approx(26)
    assert cal.open_hours(0, 24) == pytest.approx(10)
