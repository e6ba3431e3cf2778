"""The Dagster UI in a real browser: after a sandbox sync, `bridged-auth0 dev` serves the UI and
headless Chromium (Debian's chromium and chromium-driver, installed by .ci/run) opens the global
lineage and the `auth0/users` asset page. Screenshots land in bridged_auth0_pipeline_tests/artifacts/.

The lineage is checked twice. As Dagster first draws it (every group collapsed, the UI's default),
the group boxes must read left to right: extraction → warehouse → auth0_views → playbooks. With
every group expanded, every asset must be drawn; the boxes are not checked for order there: Dagster
(1.13) ranks each asset by the edges alone (dagre's tight-tree ranker), next to its nearest
consumer, and draws each group's box around its assets afterwards, so expanded groups share
columns whatever our keys or groups are (in this graph: the seeds beside the staging tables, the
tables only playbooks read beside auth0.user_auth_methods, the two auth0 views nothing reads
beside the playbooks)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridged_auth0_pipeline.warehouse.metadata import documented_columns
from bridged_auth0_pipeline_tests.helpers import REPO_ROOT, query
from bridged_auth0_pipeline_tests.orchestration.test_orchestration_cli import cli_env, graphql, serving

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                       reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"),
]

BRIDGED_AUTH0 = str(Path(sys.executable).with_name("bridged-auth0"))
ARTIFACTS = REPO_ROOT / "bridged_auth0_pipeline_tests" / "artifacts"
# A ceiling for the UI to fetch and draw on a loaded 2-core machine, not a speed target (it draws in ~3 s).
PAGE_WAIT_SECONDS = 90
# The graph draws only the nodes inside the viewport, and its first view fits the whole graph when it
# can: 4400x5200 CSS pixels hold the 2630x4631 layout of 22 assets at full detail (names not
# shortened). Scale 0.5 keeps the screenshot at 2200x2600 pixels.
LINEAGE_VIEWPORT = {"width": 4400, "height": 5200, "deviceScaleFactor": 0.5, "mobile": False}
# 1.3 on top of the viewport's 0.5: the graph at 0.65 of its size, 1581x2866 pixels, node names ~9 px high.
LINEAGE_PICTURE_SCALE = 1.3
# The groups as the lineage reads, left to right.
GROUPS_LEFT_TO_RIGHT = ["extraction", "warehouse", "auth0_views", "playbooks"]
GRAPH_BOX = """const boxes = Array.from(document.querySelectorAll('foreignObject'), e => e.getBoundingClientRect());
return [Math.min(...boxes.map(b => b.left)), Math.min(...boxes.map(b => b.top)),
        Math.max(...boxes.map(b => b.right)), Math.max(...boxes.map(b => b.bottom))];"""
# Each group box drawn (collapsed or expanded): its name and its left and right edges.
GROUP_BOXES = """return Array.from(document.querySelectorAll('foreignObject.group'), e => {
  const box = e.getBoundingClientRect();
  return [(e.firstElementChild?.innerText || '').split('\\n')[0], box.left, box.right];
})"""
ASSETS = "{ assetNodes { assetKey { path } groupName isAutoCreatedStub } }"
USERS_CHECKS = """{ assetNodeOrError(assetKey: {path: ["auth0", "users"]}) { ... on AssetNode {
  assetChecksOrError { ... on AssetChecks { checks { name } } } } } }"""
# One read of every drawn node's name and group header, so a re-render between reads cannot go stale.
DRAWN = """return {
  assets: Array.from(document.querySelectorAll("[class*='AssetNode_assetNodeContainer']"), e => e.innerText.split('\\n')[0]),
  groups: Array.from(document.querySelectorAll("[class*='ExpandedGroupNode_groupNodeHeaderBox']"), e => e.innerText.split('\\n')[0]),
}"""


@contextmanager
def chromium():
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=2200,1400"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def save_graph_picture(driver, path: Path, margin: int = 16) -> None:
    """Save only the drawn graph (the box around every node and group), which docs/lineage.png
    (groups collapsed) and docs/lineage-expanded.png are."""
    left, top, right, bottom = driver.execute_script(GRAPH_BOX)
    clip = {"x": left - margin, "y": top - margin, "width": right - left + 2 * margin,
            "height": bottom - top + 2 * margin, "scale": LINEAGE_PICTURE_SCALE}
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip})["data"]
    path.write_bytes(base64.b64decode(png))


def overlapping_columns(boxes: list[list], order: list[str]) -> list[str]:
    """Each pair of groups, in reading order, whose boxes share a column (the left one ends at or
    right of where the next one begins), as "a|b"; [] when the groups read left to right."""
    edges = {name: (left, right) for name, left, right in boxes}
    return [f"{a}|{b}" for a, b in zip(order, order[1:]) if edges[a][1] >= edges[b][0]]


def groups_drawn_and_still(groups: list[str]):
    """A wait condition: every group's box is drawn, where the previous poll found it (the first
    view zooms to fit the graph), with its assets' statuses (for the picture)."""
    previous: list = []

    def ready(driver) -> bool:
        boxes = driver.execute_script(GROUP_BOXES)
        still = previous == [boxes]
        previous[:] = [boxes]
        return (still and sorted(name for name, *_ in boxes) == groups
                and "fetching statuses" not in driver.find_element(By.TAG_NAME, "body").text)

    return ready


def wait_until(driver, ready) -> None:
    """Wait for `ready(driver)`; a timeout is left to the caller's assertion, which says what differs."""
    try:
        WebDriverWait(driver, PAGE_WAIT_SECONDS, poll_frequency=1).until(ready)
    except TimeoutException:
        pass


def page_text(driver, url: str, ready) -> str:
    """Load `url`, wait until `ready(body_text)` holds and return the text."""
    driver.get(url)
    wait_until(driver, lambda d: ready(d.find_element(By.TAG_NAME, "body").text))
    return driver.find_element(By.TAG_NAME, "body").text


def test_lineage_reads_left_to_right_draws_every_asset_and_auth0_users_shows_rows_descriptions_and_passing_checks(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    warehouse = tmp_path / "warehouse.duckdb"
    env = cli_env(tmp_path / "dagster_home", BRIDGED_CONNECTIONS_PATH=str(tmp_path / "connections.db"),
                  BRIDGED_DUCKDB_PATH=str(warehouse))
    sync = subprocess.run([BRIDGED_AUTH0, "sync"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    users = query(warehouse, "SELECT count(*) FROM auth0.users")[0][0]

    with serving([BRIDGED_AUTH0, "dev"], env, tmp_path / "dev.log") as base, chromium() as driver:
        # Auto-created stubs (a key only named as a dependency) are not drawn by the UI.
        nodes = [node for node in graphql(base, ASSETS)["assetNodes"] if not node["isAutoCreatedStub"]]
        groups = sorted({node["groupName"] for node in nodes})
        assert groups == sorted(GROUPS_LEFT_TO_RIGHT)
        # Before the first page: the community pop-up counts as seen (the UI keeps it in localStorage).
        driver.get(f"{base}/server_info")
        driver.execute_script("localStorage.setItem('communityNux', '\"1\"');")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", LINEAGE_VIEWPORT)

        # The lineage as Dagster first draws it: every group collapsed, reading left to right.
        driver.get(f"{base}/asset-groups")
        wait_until(driver, groups_drawn_and_still(groups))
        save_graph_picture(driver, ARTIFACTS / "lineage.png")
        boxes = driver.execute_script(GROUP_BOXES)
        assert sorted(name for name, *_ in boxes) == groups
        assert overlapping_columns(boxes, GROUPS_LEFT_TO_RIGHT) == [], boxes

        # Every group expanded (the UI keeps the expanded groups in localStorage): every asset drawn.
        driver.execute_script(
            "localStorage.setItem(arguments[0], arguments[1]);", "asset-graph-open-graph-nodes-global-__GLOBAL__",
            json.dumps({"expanded": ",".join(f"global@global:{group}" for group in groups)}))
        expected = Counter(node["assetKey"]["path"][-1] for node in nodes)
        driver.get(f"{base}/asset-groups")
        wait_until(driver, lambda d: Counter(d.execute_script(DRAWN)["assets"]) == expected)
        driver.save_screenshot(str(ARTIFACTS / "lineage_page.png"))
        save_graph_picture(driver, ARTIFACTS / "lineage_expanded.png")
        drawn = driver.execute_script(DRAWN)
        assert Counter(drawn["assets"]) == expected
        assert sorted(drawn["groups"]) == groups
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        text = page_text(driver, f"{base}/assets/auth0/users", lambda body: "Row count" in body and "Columns" in body)
        driver.save_screenshot(str(ARTIFACTS / "auth0_users.png"))
        assert f"Row count\n{users:,}" in text
        # The UI renders a description as Markdown: `code` spans lose their backticks.
        descriptions = [column.description.replace("`", "") for column in documented_columns()["auth0.users"]]
        assert descriptions and [meaning for meaning in descriptions if meaning not in text] == []

        checks = graphql(base, USERS_CHECKS)["assetNodeOrError"]["assetChecksOrError"]["checks"]
        assert checks
        text = page_text(driver, f"{base}/assets/auth0/users?view=checks",
                         lambda body: all(f"{check['name']}\nSucceeded" in body for check in checks))
        driver.save_screenshot(str(ARTIFACTS / "auth0_users_checks.png"))
        assert [check["name"] for check in checks if f"{check['name']}\nSucceeded" not in text] == []
