"""The SQL lives in the repository's top-level sql/ folder, beside the package (editable install)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@cache
def read_sql(relative_path: str) -> str:
    path = SQL_DIR / relative_path
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. The pipeline reads its SQL from the repository's sql/ folder: "
            "install the project from its checkout (`pip install -e .`)."
        )
    return path.read_text(encoding="utf-8")


def sql_files(folder: str) -> list[str]:
    """The .sql files of a folder in name order (numeric prefixes give the order)."""
    return [f"{folder}/{path.name}" for path in sorted((SQL_DIR / folder).glob("*.sql"))]
