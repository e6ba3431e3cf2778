"""Several extraction streams failing in one run: each stream's cause reaches the run's log, and the
step's error names how many failed and which, ending with the first one's cause."""

from __future__ import annotations

import dagster as dg
from dagster._core.events import DagsterEventType

from bridged_auth0_pipeline.orchestration.sensors import failure_cause

GRANTS = "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications"


def failed_sync(run_sync) -> tuple[str, list[str], int]:
    """The failed run's cause as `bridged-auth0 sync` prints it, the extraction step's error lines, and
    how many steps failed."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_sync(instance=instance, raise_on_error=False)
        assert not result.success
        failures = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.STEP_FAILURE).records
        logged = [entry.user_message for entry in instance.all_logs(result.run_id)
                  if entry.level >= 40 and entry.step_key == "staged_extraction" and entry.dagster_event is None]
        return failure_cause(instance, result.run_id), logged, len(failures)


def test_every_failed_streams_cause_is_logged_and_the_error_names_them_all(sandbox_factory, pipeline_env, run_sync):
    pipeline_env(sandbox_factory(scopes=("read:users",)))  # no read:logs, no read:roles: two streams fail
    cause, logged, failed_steps = failed_sync(run_sync)

    assert failed_steps == 1
    assert len(logged) == 2, logged
    assert logged[0].startswith("login_events extraction failed: Auth0ScopeError: No data returned (403 insufficient "
                                "scope on GET /api/v2/logs): the token lacks read:logs."), logged
    assert logged[1].startswith("roles extraction failed: Auth0ScopeError: No data returned (403 insufficient "
                                "scope on GET /api/v2/roles): the token lacks read:roles."), logged
    assert cause.startswith("2 extraction streams failed (login_events, roles; "), cause
    # The first stream's cause, with its fix, is the last thing a person reads.
    assert cause.endswith("The first, login_events: Auth0ScopeError: No data returned (403 insufficient scope on "
                          f"GET /api/v2/logs): the token lacks read:logs. Fix: grant read:logs to the application "
                          f"in {GRANTS}, then re-run."), cause


def test_a_stream_that_waits_for_failed_login_events_is_logged_as_stopped_not_as_a_second_cause(
        sandbox_factory, pipeline_env, run_sync):
    pipeline_env(sandbox_factory(scopes=("read:users", "read:roles")))  # login events fail; roles wait for them
    cause, logged, _ = failed_sync(run_sync)

    assert cause.startswith("Auth0ScopeError: No data returned (403 insufficient scope on GET /api/v2/logs)"), cause
    assert any(line.startswith("login_events extraction failed: Auth0ScopeError:") for line in logged), logged
    assert "roles extraction stopped: it waits for login_events, which failed." in logged, logged


def test_one_failed_stream_raises_its_own_error_unchanged(sandbox_factory, pipeline_env, run_sync):
    pipeline_env(sandbox_factory(scopes=("read:users", "read:logs")))  # only roles fail
    cause, logged, _ = failed_sync(run_sync)
    assert cause == ("Auth0ScopeError: No data returned (403 insufficient scope on GET /api/v2/roles): the token "
                     f"lacks read:roles. Fix: grant read:roles to the application in {GRANTS}, then re-run."), cause
    assert logged == []  # the step's failure carries the one cause
