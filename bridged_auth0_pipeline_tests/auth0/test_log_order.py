"""Auth0 gives log ids in the order events are written, not by their date ("the order by date is not
guaranteed", Auth0's checkpoint pagination docs): a delayed event has an id after events dated later.
The first sync reads the oldest events by date, then walks ids; no event may fall between the two."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bridged_auth0_pipeline.auth0.client import Auth0Client
from bridged_auth0_pipeline.sandbox import SandboxServer, SandboxTenant
from bridged_auth0_pipeline.sandbox.faults import Faults
from bridged_auth0_pipeline_tests.helpers import SECRET
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.sandbox_fixtures import management_client


def _tenant_with_a_delayed_event() -> SandboxTenant:
    """A signup, then 250 events a second apart; the 100th by date is written last (delayed): highest id."""
    tenant = SandboxTenant()
    start = tenant.now() - timedelta(days=1)
    real_clock, tenant.clock = tenant.clock, lambda: start  # the signup event comes first
    user = tenant.add_user({"email": "ada@example.com"})
    tenant.clock = real_clock
    for second in range(1, 251):
        if second != 99:
            tenant.add_log("s", user_id=user["user_id"], date=start + timedelta(seconds=second))
    tenant.add_log("s", user_id=user["user_id"], date=start + timedelta(seconds=99))
    return tenant


def test_the_sandbox_sorts_log_search_by_date_and_checkpoints_by_id():
    tenant = _tenant_with_a_delayed_event()
    delayed = tenant.logs[-1]
    with SandboxServer(tenant) as server, management_client(server) as api:
        by_date = api.get("/api/v2/logs", params={"sort": "date:1", "per_page": 100, "page": 0}).json()
        assert by_date[99]["log_id"] == delayed["log_id"], "the delayed event is 100th by date"
        assert [e["date"] for e in by_date] == sorted(e["date"] for e in by_date)
        # ... and last by id: walking on from it finds nothing.
        assert api.get("/api/v2/logs", params={"from": delayed["log_id"], "take": 100}).json() == []
        # A checkpoint read ignores every parameter but from and take, fields included.
        oldest = by_date[0]
        page = api.get("/api/v2/logs", params={"from": oldest["log_id"], "take": 1, "fields": "log_id"}).json()
        assert set(page[0]) > {"log_id", "date", "type"}


def test_a_delayed_event_on_the_first_page_does_not_hide_the_events_after_it(
    sandbox_factory, pipeline_env, run_sync, warehouse_path
):
    tenant = _tenant_with_a_delayed_event()
    pipeline_env(sandbox_factory(tenant))
    assert run_sync().success
    landed = [row[0] for row in query(warehouse_path, "SELECT log_id FROM auth0.login_events")]
    assert sorted(landed) == sorted(e["log_id"] for e in tenant.logs), "every event lands, once"


def test_short_checkpoint_pages_do_not_end_a_lane_early(sandbox_factory):
    """Auth0 documents checkpoint pages of 0-100 logs. A lane that stops before the next lane's
    start leaves a gap the cursor (the highest id of all lanes) never returns to."""
    tenant = SandboxTenant.generate(users=3000, seed=11, logs_per_user=5, anchor=datetime.now(timezone.utc))
    tenant.short_log_pages = True
    server = sandbox_factory(tenant, faults=Faults(latency_seconds=(0.05, 0.05)))
    with Auth0Client.connect(server.base_url, server.client_id, SECRET) as client:
        log_ids = [event["log_id"] for page in client.log_pages(None) for event in page]
    assert any(r.query.get("q", "").startswith("date:[") for r in server.requests), "read in lanes"
    # The last lane may end on a short page (a busy tenant's head never gives an empty one): the
    # next sync resumes from the cursor. Below the cursor, nothing may be missing.
    cursor = max(log_ids)
    assert sorted(log_ids) == sorted(e["log_id"] for e in tenant.logs if e["log_id"] <= cursor)
    assert len(log_ids) > len(tenant.logs) / 2, "most of the backlog: every lane but the last is whole"
