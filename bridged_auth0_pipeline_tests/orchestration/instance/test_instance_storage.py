"""./dagster.yaml's SQLite event log keeps one connection per file: the same events, far fewer connects."""

from __future__ import annotations

import sqlite3

import dagster as dg
import pytest
from dagster._core.storage.event_log import SqliteEventLogStorage

from bridged_auth0_pipeline.orchestration.instance import sqlite as pooled
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT
from bridged_auth0_pipeline_tests.orchestration.partitioned_assets import CHECK, loaded, planned_events, staged


@dg.op
def emit(context):
    for i in range(20):
        context.log.info(f"line {i}")
    return 1


@dg.job
def chatty():
    emit()


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def sqlite_connects(monkeypatch):
    """Counts SQLite connections opened (SQLAlchemy's pysqlite dialect calls sqlite3.dbapi2.connect)."""
    opened = []
    real = sqlite3.dbapi2.connect

    def counting(*args, **kwargs):
        opened.append(args[0] if args else kwargs.get("database"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3.dbapi2, "connect", counting)
    return opened


def test_root_dagster_yaml_uses_the_pooled_event_log_in_dagster_home_storage(home):
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, pooled.PooledSqliteEventLogStorage)
        assert storage._base_dir == str(home / "storage")  # Dagster's default place: existing history stays visible


def test_a_run_connects_a_few_times_not_once_per_statement(home, sqlite_connects):
    with dg.DagsterInstance.get() as instance:
        sqlite_connects.clear()
        result = chatty.execute_in_process(instance=instance)
        event_log_connects = [path for path in sqlite_connects if "/storage/" in str(path)]
    assert result.success
    # Dagster's own class opens one connection per statement: over 30 for these ~30 events.
    assert 1 <= len(event_log_connects) <= 4, event_log_connects
    # Another instance (Dagster's own class, as an older process would use) reads every event back.
    reader = SqliteEventLogStorage(str(home / "storage"))
    logs = reader.get_logs_for_run(result.run_id)
    assert sum(1 for entry in logs if entry.user_message.startswith("line ")) == 20
    assert any(entry.dagster_event and entry.dagster_event.event_type == dg.DagsterEventType.RUN_SUCCESS for entry in logs)


def test_a_long_lived_process_keeps_only_a_few_files_open(tmp_path):
    storage = pooled.PooledSqliteEventLogStorage(str(tmp_path / "storage"))
    for i in range(3 * pooled.OPEN_FILES_KEPT):
        with storage.run_connection(f"run-{i}") as conn:
            conn.exec_driver_sql("SELECT 1")
    assert len(storage._engines) == pooled.OPEN_FILES_KEPT
    storage.dispose()
    assert not storage._engines


def test_wipe_closes_the_files_it_deletes(home):
    with dg.DagsterInstance.get() as instance:
        first = chatty.execute_in_process(instance=instance)
        instance.event_log_storage.wipe()
        assert set(instance.event_log_storage._engines) <= {"index"}  # wipe empties the index again
        assert instance.all_logs(first.run_id) == []
        second = chatty.execute_in_process(instance=instance)
    # Written to a file that exists (a kept connection to a deleted file would lose these).
    assert (home / "storage" / f"{second.run_id}.db").exists()
    assert SqliteEventLogStorage(str(home / "storage")).get_logs_for_run(second.run_id)


def test_without_a_base_dir_or_dagster_home_the_error_says_the_fix(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(RuntimeError, match="set DAGSTER_HOME"):
        pooled.PooledSqliteEventLogStorage.from_config_value(None, {})


def test_asset_runs_look_up_the_schema_once_per_process(home, sqlite_connects):
    """Dagster's class asks whether a table exists before asset events, each time on a new connection."""
    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([staged, loaded], instance=instance, partition_key="acme").success
        sqlite_connects.clear()
        assert dg.materialize([staged, loaded], instance=instance, partition_key="beta").success
        event_log_connects = [path for path in sqlite_connects if "/storage/" in str(path)]
    # The second run opens only its own file; Dagster's has_table opened 4 more.
    assert len(event_log_connects) == 1, event_log_connects


def test_a_new_runs_planned_events_are_stored_as_one_batch(home, monkeypatch):
    batches = []
    real = pooled.PooledSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(pooled.PooledSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (batches.append(len(events)), real(self, events))[1])
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([staged, loaded], instance=instance, partition_key="acme")
        assert result.success
        assert batches == [3]  # two assets and one check, planned
        assert sorted(planned_events(instance, result.run_id)) == sorted([dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED] * 2
                                                                   + [dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED])
        # Indexed as well: the check's planned execution is what the UI shows while the run is on.
        assert instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=5)


def test_a_batch_that_fails_midway_stores_nothing_so_dagsters_retry_stores_each_event_once(home, monkeypatch):
    """Dagster stores a failed batch again event by event: a batch stored in part would be stored twice."""
    failures = []
    real = pooled.PooledSqliteEventLogStorage.store_asset_check_event

    def fails_once(self, event, event_id):
        if not failures:  # the first check event: its planned one, in the batch
            failures.append(event.dagster_event_type)
            raise RuntimeError("disk full")
        return real(self, event, event_id)

    monkeypatch.setattr(pooled.PooledSqliteEventLogStorage, "store_asset_check_event", fails_once)
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([staged, loaded], instance=instance, partition_key="beta")
        assert result.success and failures
        assert len(planned_events(instance, result.run_id)) == 3  # 6 when a failed batch kept what it had stored
        history = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=5)
        assert len(history) == 1
