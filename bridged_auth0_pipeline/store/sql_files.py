"""The SQL ships inside the package (bridged_auth0_pipeline/sql), read with importlib.resources, so a
wheel install works as well as a checkout."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

SQL_DIR = files("bridged_auth0_pipeline") / "sql"


@cache
def read_sql(relative_path: str) -> str:
    return (SQL_DIR / relative_path).read_text(encoding="utf-8")


def sql_files(folder: str) -> list[str]:
    """The .sql files of a folder in name order (numeric prefixes give the order)."""
    return sorted(f"{folder}/{entry.name}" for entry in (SQL_DIR / folder).iterdir() if entry.name.endswith(".sql"))
