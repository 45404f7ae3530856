"""pwb serve's periodic jobs: each runs at its interval on an injected clock; a failure is logged, not fatal."""

from __future__ import annotations

import logging

import pytest

from privacy_waybill.scheduler import Job, PeriodicJobs


def test_jobs_run_at_their_intervals_and_a_failing_job_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("13812345678")  # a message that must not reach the log

    jobs = PeriodicJobs(
        [Job("purge", 60, lambda: ran.append("purge")), Job("tick", 10, lambda: ran.append("tick")),
         Job("broken", 10, broken)],
        monotonic=lambda: now[0],
    )  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="privacy_waybill.scheduler"):
        assert jobs.run_due() == ["purge", "tick", "broken"]
        now[0] = 9.0
        assert jobs.run_due() == []
        now[0] = 10.0
        assert jobs.run_due() == ["tick", "broken"]
        now[0] = 60.0
        assert jobs.run_due() == ["purge", "tick", "broken"]
    assert ran == ["purge", "tick", "tick", "purge", "tick"]
    assert [r.getMessage() for r in caplog.records] == ["job broken failed: RuntimeError"] * 3
