"""docs/data-dictionary.md documents exactly the columns (names, order and types) of every table in
sql/tables/ and every view in sql/views/: a column added to the DDL without a line in the
dictionary, or a dictionary line for a column that is gone, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from bridged_auth0_pipeline.store.sql_files import SQL_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SQL_ROOT = Path(str(SQL_DIR))  # the SQL ships inside the package
DICTIONARY = REPO_ROOT / "docs" / "data-dictionary.md"
# bookkeeping of the migration runner, described in a sentence rather than a table
UNDOCUMENTED = {"auth0._schema_migrations"}
TYPE_NAMES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}


def schema_and_views() -> duckdb.DuckDBPyConnection:
    """An in-memory database with every table DDL and every view applied, in file order."""
    con = duckdb.connect()
    for path in sorted((SQL_ROOT / "tables").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    views = sorted((SQL_ROOT / "views").glob("*.sql"), key=lambda p: (int(p.name.split("_", 1)[0]), p.name))
    for path in views:
        con.execute(path.read_text(encoding="utf-8"))
    return con


def warehouse_columns() -> dict[str, list[tuple[str, str]]]:
    con = schema_and_views()
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN ('auth0', 'auth0_staging', 'playbooks') "
            "ORDER BY table_schema, table_name, ordinal_position").fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, TYPE_NAMES.get(data_type, data_type)))
    return {name: cols for name, cols in columns.items() if name not in UNDOCUMENTED}


def dictionary_columns() -> dict[str, list[tuple[str, str, str]]]:
    """(column, type, meaning) from the column tables (header `| column | type | meaning |`) under each `## `schema.name`` heading;
    the `auth0_staging.*` section has one table for many (`| table | column | type | meaning |`)."""
    documented: dict[str, list[tuple[str, str]]] = {}
    section = header = current_table = None
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#+ (?:`([\w.*]+)`)?", line)
        if heading:
            section, header, current_table = heading.group(1), None, None
            continue
        if not line.startswith("|"):
            header = None
            continue
        # a '|' inside a cell is written '\\|' (GitHub splits cells on any other '|', even in backticks)
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        if header is None:
            header = cells
            continue
        if section is None or all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            continue
        if header[:3] == ["column", "type", "meaning"]:
            documented.setdefault(section, []).append((cells[0], cells[1], cells[2]))
        elif header[:4] == ["table", "column", "type", "meaning"]:   # the table cell is blank when repeated
            current_table = f"{section.removesuffix('.*')}.{cells[0].strip('`')}" if cells[0] else current_table
            documented.setdefault(current_table, []).append((cells[1], cells[2], cells[3]))
    return documented


def test_data_dictionary_matches_the_ddl_and_the_views():
    documented, actual = dictionary_columns(), warehouse_columns()
    assert sorted(documented) == sorted(actual)
    for name in actual:
        assert [(column, kind) for column, kind, _ in documented[name]] == actual[name], name


def test_every_example_query_runs():
    """The ```sql blocks of the dictionary and of the README bind against the real DDL and views."""
    con = schema_and_views()
    blocks = [block for doc in (DICTIONARY, REPO_ROOT / "README.md")
              for block in re.findall(r"```sql\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)]
    assert len(blocks) >= 6
    for block in blocks:
        for statement in con.extract_statements(block):
            con.execute(statement).fetchall()
