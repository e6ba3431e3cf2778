"""A wheel install works: the SQL ships inside the package and nothing is read from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from bridged_auth0_pipeline_tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow


def _clean_copy(destination):
    """The files a clone would have (tracked, or new and not ignored), as they are now: setuptools
    builds in the source tree's build/, where a file renamed since the last build would linger."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, destination / name)
    return destination


def test_the_wheel_carries_the_sql_and_migrates_a_warehouse_from_outside_the_checkout(tmp_path):
    source = _clean_copy(tmp_path / "source")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("bridged_auth0_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = {name.split("bridged_auth0_pipeline/sql/", 1)[1] for name in names if "bridged_auth0_pipeline/sql/" in name}
    in_checkout = {str(path.relative_to(REPO_ROOT / "bridged_auth0_pipeline" / "sql"))
                   for path in (REPO_ROOT / "bridged_auth0_pipeline" / "sql").rglob("*") if path.is_file()}
    assert packaged == in_checkout and any(name.startswith("views/") for name in packaged)
    assert not any(name.startswith("bridged_auth0_pipeline_tests") for name in names)

    # The unpacked wheel first on the path, run from a folder far from the checkout: the migrations,
    # the seed and the views come from the package.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import duckdb, bridged_auth0_pipeline as package\n"
        "from bridged_auth0_pipeline.store.migrations import apply_migrations\n"
        "from bridged_auth0_pipeline.views.assets import VIEW_FILES\n"
        "con = duckdb.connect('w.duckdb'); applied = apply_migrations(con)\n"
        "print(package.__file__); print(len(applied), len(VIEW_FILES),"
        " con.execute('SELECT count(*) FROM auth0.log_event_types').fetchone()[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    location, counts = run.stdout.strip().splitlines()
    assert location.startswith(str(site)), "the package came from the wheel, not the checkout"
    migrations, views, event_types = map(int, counts.split())
    assert migrations >= 3 and views >= 5 and event_types > 100
