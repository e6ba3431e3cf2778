"""The extraction's progress model: counts, the log backlog's ETA, the export job's state, the lines."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bridged_auth0_pipeline.auth0 import exports
from bridged_auth0_pipeline.extraction.progress import (
    LogCoverage, Progress, StreamProgress, duration,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def events(*dates: datetime) -> list[dict]:
    return [{"log_id": str(i), "date": d.isoformat().replace("+00:00", "Z")} for i, d in enumerate(dates)]


@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (40.4, "40 s"), (60, "1 min"), (725, "12 min 5 s"), (3600 * 5 + 720, "5 h 12 min"),
    (86400 * 3 + 3600 * 4 + 59, "3 d 4 h"), (-3, "0 s"),
])
def test_durations_read_in_their_two_largest_units(seconds, text):
    assert duration(seconds) == text


def test_one_walk_the_backlog_is_the_time_after_the_newest_event_and_the_eta_its_pace():
    coverage = LogCoverage()
    start = NOW - timedelta(days=10)
    coverage.add(events(start, start + timedelta(days=1)))
    coverage.add(events(start + timedelta(days=1, seconds=1), start + timedelta(days=2)))
    assert coverage.backlog(NOW) == timedelta(days=8, seconds=1)
    assert coverage.fraction(NOW) == pytest.approx(0.2, abs=1e-5)
    # 2 days of log read in 10 wall seconds: 8 days more take 40 s
    assert coverage.eta_seconds(NOW, 10.0) == pytest.approx(40.0, abs=0.01)


def test_lanes_add_up_the_stretches_they_cover_whatever_the_order_of_their_pages():
    coverage = LogCoverage()
    start = NOW - timedelta(days=10)
    lane_starts = [start, start + timedelta(days=5)]  # two lanes, pages interleaved
    for day in range(2):
        for lane in lane_starts:
            coverage.add(events(lane + timedelta(days=day), lane + timedelta(days=day + 1)))
    assert coverage.start == start and coverage.newest == start + timedelta(days=7)
    assert coverage.fraction(NOW) == pytest.approx(0.4)
    assert coverage.backlog(NOW) == timedelta(days=6)
    assert coverage.eta_seconds(NOW, 4.0) == pytest.approx(6.0)


def test_no_pace_no_eta_and_events_in_the_future_leave_no_negative_backlog():
    coverage = LogCoverage()
    assert coverage.fraction(NOW) is None and coverage.eta_seconds(NOW, 5.0) is None
    coverage.add(events(NOW + timedelta(hours=1), NOW + timedelta(hours=2)))
    assert coverage.backlog(NOW) == timedelta(0) and coverage.fraction(NOW) is None
    coverage.add([{"log_id": "x"}])  # an event without a date changes nothing
    assert coverage.covered == timedelta(hours=1)


def test_the_log_stream_line_has_events_pages_pace_backlog_fraction_and_eta():
    clock = Clock()
    stream = StreamProgress("login_events", clock)
    start = NOW - timedelta(days=4)
    pages = [events(*(start + timedelta(hours=h + m / 100) for m in range(100))) for h in range(24)]
    consumed = list(stream.pages_of(iter(pages), "events", dated=True))
    assert consumed == pages
    clock.now += 10
    line = stream.line(NOW)
    # 24 pages of 0.99 h each: 23.76 h of a 96 h span read in 10 s; 72.24 h left at 2.376 h/s
    assert line == "login_events 2,400 events, 24 pages, 2.4 pages/s, backlog 3 d (25% read), ETA ~30 s"


def test_users_show_the_export_job_until_its_records_flow_then_the_records():
    clock = Clock()
    stream = StreamProgress("users", clock)
    stream.job_state("processing", 45)
    assert stream.line(NOW) == "users export job processing 45%"
    stream.job_state("completed", 100)
    assert stream.line(NOW) == "users export job completed"  # the file downloads next: no bar at 100%
    lines = stream.records_of(iter([b"{}"] * 5200), "records", then="reading them into DuckDB")
    for _ in range(1001):
        next(lines)
    clock.now += 2
    assert stream.line(NOW) == "users 1,000 records, 500 records/s"  # counted a hundred at a time
    for _ in lines:
        pass
    assert stream.line(NOW) == "users 5,200 records, reading them into DuckDB"
    clock.now += 1
    stream.finish()
    assert stream.line(NOW) == "users done: 5,200 records in 3 s"


def test_member_pages_count_pages_and_members_beside_the_list():
    stream = StreamProgress("roles", Clock())
    assert list(stream.records_of(iter([{"id": "r1"}, {"id": "r2"}]), "roles")) == [{"id": "r1"}, {"id": "r2"}]
    pages = [("r1", [{"user_id": "a"}] * 100), ("r2", [{"user_id": "b"}] * 3), ("r1", [{"user_id": "c"}] * 7)]
    assert list(stream.keyed_pages_of(iter(pages), "members")) == pages
    stream.finish("failed")
    assert stream.line(NOW) == "roles failed: 2 roles, 110 members, 3 pages in 0 s"


def test_the_export_job_reports_to_the_stream_listening_in_this_thread_only(monkeypatch):
    polls = iter([{"status": "pending"}, {"status": "processing", "percentage_done": 60},
                  {"status": "completed", "percentage_done": 100, "location": "https://files/x"}])

    class Session:
        def get_json(self, path):
            return next(polls), {}

    monkeypatch.setattr(exports.time, "sleep", lambda seconds: None)
    stream = StreamProgress("users", Clock())
    heard = []
    stream.job_state = lambda status, percent: heard.append((status, percent))
    elsewhere = []
    other = threading.Thread(target=lambda: elsewhere.append(exports.job_state_listener.get()))
    with stream.following_export_jobs():
        other.start()
        other.join()
        assert exports.wait_for_export(Session(), "job_1", 60) == "https://files/x"
    assert heard == [("pending", None), ("processing", 60), ("completed", 100)]
    assert elsewhere == [None] and exports.job_state_listener.get() is None


def test_a_report_has_the_streams_that_moved_and_a_finished_streams_line_once():
    clock = Clock()
    progress = Progress(clock)
    logs, users, roles = progress.stream("login_events"), progress.stream("users"), progress.stream("roles")
    assert progress.report(NOW) == []  # nothing moved yet
    list(logs.pages_of([events(NOW - timedelta(hours=2), NOW - timedelta(hours=1))], "events", dated=True))
    users.job_state("pending", None)
    clock.now += 1
    assert progress.report(NOW) == [
        "login_events 2 events, 1 page, 1.0 pages/s, backlog 1 h (50% read), ETA ~1 s",
        "users export job pending",
    ]
    assert progress.report(NOW) == []  # unchanged since
    logs.finish()
    assert progress.report(NOW) == ["login_events done: 2 events, 1 page in 1 s"]
    assert progress.report(NOW) == []
    assert roles.version == 0



def test_a_member_list_says_it_waits_for_the_log_events():
    roles = StreamProgress("roles", clock=lambda: 10.0)
    list(roles.records_of([{"id": "r1"}], "roles"))
    seen = []
    roles.while_doing("waiting for this run's log events", lambda: seen.append(roles.line(NOW)))()
    assert seen == ["roles 1 role, waiting for this run's log events"]
    assert "waiting" not in roles.line(NOW)
