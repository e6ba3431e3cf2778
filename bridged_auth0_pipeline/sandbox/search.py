"""The subset of Lucene query syntax that Auth0 user search (v3) and log search accept.

Supported: `field:value`, `field:"quoted value"`, wildcards `field:jo*`, `field:*` and
`_exists_:field`, ranges `[a TO b]`, `{a TO b}`, mixed `[a TO b}` with `*` open ends, one-sided
`field:>a` / `>=` / `<` / `<=`, `AND`/`&&`,
`OR`/`||`, `NOT`/`!`/`-`, parentheses and value lists `field:("a" OR "b")`. Dotted paths reach into
nested objects and arrays (`identities.connection`, `app_metadata.plan`).

Anything else raises QueryError (a 400 invalid_query_string). Two terms side by side without an
operator are rejected rather than guessed: Lucene's implicit operator differs between engines, so a
client must spell AND/OR out.

Matching rules: strings compare case-insensitively, booleans as `true`/`false`, numbers
numerically, and timestamps as instants (bounds are normalised to the canonical `...sssZ` form,
with missing parts filled in like Elasticsearch does). A missing field never matches a term, so
`blocked:false` does not match a user without `blocked`.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Callable, Iterable, Protocol

from .clock import normalize_iso

DATE_FIELDS = frozenset({"created_at", "updated_at", "last_login", "last_password_reset",
                         "multifactor_last_modified", "date"})

_FIELD_RE = re.compile(r"[A-Za-z_$][\w.$@-]*(?=:)")
_MISSING = object()


class QueryError(ValueError):
    """The query uses syntax outside the supported subset or is malformed."""


class Index(Protocol):
    def range(self, field: str, lo, lo_incl: bool, hi, hi_incl: bool) -> list[dict] | None: ...
    def exact(self, field: str, value: str) -> list[dict] | None: ...


def field_values(doc: dict, path: str) -> list:
    """All values at a dotted path, fanning out over arrays."""
    if "." not in path:
        value = doc.get(path, _MISSING)
        if value is _MISSING:
            return []
        return list(value) if isinstance(value, list) else [value]
    current = [doc]
    for part in path.split("."):
        nxt = []
        for item in current:
            if isinstance(item, dict) and part in item:
                value = item[part]
                if isinstance(value, list):
                    nxt.extend(value)
                else:
                    nxt.append(value)
        current = nxt
    return current


# -- nodes ---------------------------------------------------------------------------------------
class Node:
    def match(self, doc: dict) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def candidates(self, index: Index) -> list[dict] | None:
        return None


class Term(Node):
    def __init__(self, field: str, text: str, quoted: bool):
        self.field = field
        self.text = text
        self.wildcard = None
        if field in DATE_FIELDS and not quoted and ("*" in text or "?" in text):
            raise QueryError(f"wildcards are not supported on date field {field}")
        if field in DATE_FIELDS:
            try:
                self.text = normalize_iso(text)
            except ValueError as exc:
                raise QueryError(str(exc)) from None
        elif not quoted and ("*" in text or "?" in text):
            pattern = "".join(
                ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)
            self.wildcard = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        self.folded = self.text.casefold()
        try:
            self.number = float(text)
        except ValueError:
            self.number = None

    def _value_matches(self, value) -> bool:
        if isinstance(value, bool):
            return self.folded == ("true" if value else "false")
        if isinstance(value, (int, float)):
            return self.number is not None and float(value) == self.number
        if isinstance(value, str):
            if self.wildcard is not None:
                return self.wildcard.fullmatch(value) is not None
            return value.casefold() == self.folded
        return False

    def match(self, doc: dict) -> bool:
        return any(self._value_matches(v) for v in field_values(doc, self.field))

    def candidates(self, index: Index):
        if self.wildcard is not None:
            return None
        return index.exact(self.field, self.text)


class Exists(Node):
    def __init__(self, field: str):
        self.field = field

    def match(self, doc: dict) -> bool:
        return any(v is not None for v in field_values(doc, self.field))


class Range(Node):
    def __init__(self, field: str, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool):
        self.field, self.lo_incl, self.hi_incl = field, lo_incl, hi_incl
        self.numeric = False
        if field in DATE_FIELDS:
            try:
                # An exclusive lower / inclusive upper bound rounds up missing parts.
                self.lo = None if lo is None else normalize_iso(lo, round_up=not lo_incl)
                self.hi = None if hi is None else normalize_iso(hi, round_up=hi_incl)
            except ValueError as exc:
                raise QueryError(str(exc)) from None
        else:
            self.lo, self.hi = lo, hi
            try:
                self.nlo = None if lo is None else float(lo)
                self.nhi = None if hi is None else float(hi)
                self.numeric = True
            except ValueError:
                pass

    def _in_range(self, value) -> bool:
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, (int, float)):
            if not self.numeric:
                return False
            lo, hi = self.nlo, self.nhi
        elif isinstance(value, str):
            lo, hi = self.lo, self.hi
        else:
            return False
        if lo is not None and (value < lo if self.lo_incl else value <= lo):
            return False
        if hi is not None and (value > hi if self.hi_incl else value >= hi):
            return False
        return True

    def match(self, doc: dict) -> bool:
        return any(self._in_range(v) for v in field_values(doc, self.field))

    def candidates(self, index: Index):
        return index.range(self.field, self.lo, self.lo_incl, self.hi, self.hi_incl)


class And(Node):
    def __init__(self, parts: list[Node]):
        self.parts = parts

    def match(self, doc: dict) -> bool:
        return all(p.match(doc) for p in self.parts)

    def candidates(self, index: Index):
        best = None
        for part in self.parts:
            found = part.candidates(index)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best


class Or(Node):
    def __init__(self, parts: list[Node]):
        self.parts = parts

    def match(self, doc: dict) -> bool:
        return any(p.match(doc) for p in self.parts)

    def candidates(self, index: Index):
        merged: dict[int, dict] = {}
        for part in self.parts:
            found = part.candidates(index)
            if found is None:
                return None
            for doc in found:
                merged[id(doc)] = doc
        return list(merged.values())


class Not(Node):
    def __init__(self, inner: Node):
        self.inner = inner

    def match(self, doc: dict) -> bool:
        return not self.inner.match(doc)


class MatchAll(Node):
    def match(self, doc: dict) -> bool:
        return True


# -- parser --------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0

    def fail(self, what: str):
        raise QueryError(f"{what} at position {self.i} of {self.s!r}")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def at_end(self) -> bool:
        self.ws()
        return self.i >= len(self.s)

    def op(self, *words: str) -> bool:
        """Consume an operator keyword/symbol if one starts here."""
        self.ws()
        for word in words:
            if self.s.startswith(word, self.i):
                after = self.i + len(word)
                if word.isalpha() and after < len(self.s) and not (
                        self.s[after].isspace() or self.s[after] == "("):
                    continue
                self.i = after
                return True
        return False

    def parse(self) -> Node:
        if self.at_end():
            return MatchAll()
        node = self.parse_or()
        if not self.at_end():
            self.fail("unexpected input")
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.op("OR", "||"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(parts)

    def parse_and(self) -> Node:
        parts = [self.parse_unary()]
        while True:
            if self.op("AND", "&&"):
                parts.append(self.parse_unary())
                continue
            self.ws()
            if self.i < len(self.s) and self.s[self.i] != ")" and not self.s.startswith(
                    ("OR", "||"), self.i):
                self.fail("terms must be joined with AND or OR (implicit operators are "
                          "not supported)")
            break
        return parts[0] if len(parts) == 1 else And(parts)

    def parse_unary(self) -> Node:
        if self.op("NOT", "!"):
            return Not(self.parse_unary())
        self.ws()
        if self.s.startswith("-", self.i):
            self.i += 1
            return Not(self.parse_unary())
        if self.s.startswith("+", self.i):
            self.i += 1
        return self.parse_primary()

    def parse_primary(self) -> Node:
        self.ws()
        if self.i >= len(self.s):
            self.fail("unexpected end of query")
        if self.s[self.i] == "(":
            self.i += 1
            node = self.parse_or()
            self.ws()
            if not self.s.startswith(")", self.i):
                self.fail("missing ')'")
            self.i += 1
            return node
        m = _FIELD_RE.match(self.s, self.i)
        if not m:
            self.fail("expected field:value")
        field = m.group(0)
        self.i = m.end() + 1
        if field == "_exists_":
            return Exists(self.read_word())
        return self.parse_value(field)

    def parse_value(self, field: str) -> Node:
        if self.i >= len(self.s) or self.s[self.i].isspace():
            self.fail(f"missing value for {field}")
        ch = self.s[self.i]
        if ch == '"':
            return Term(field, self.read_quoted(), quoted=True)
        if ch in "[{":
            return self.parse_range(field)
        if ch in "<>":  # Elasticsearch's one-sided ranges: field:>=2026-01-01
            op = ">=" if self.s.startswith(">=", self.i) else "<=" if self.s.startswith(
                "<=", self.i) else ch
            self.i += len(op)
            bound = self.read_word()
            if op[0] == ">":
                return Range(field, bound, op == ">=", None, True)
            return Range(field, None, True, bound, op == "<=")
        if ch == "(":
            self.i += 1
            parts = [self.parse_list_value(field)]
            while True:
                if self.op("OR", "||"):
                    parts.append(self.parse_list_value(field))
                elif self.op("AND", "&&"):
                    parts = [And([parts.pop(), self.parse_list_value(field)])] + parts
                else:
                    break
            self.ws()
            if not self.s.startswith(")", self.i):
                self.fail("missing ')' after value list")
            self.i += 1
            return parts[0] if len(parts) == 1 else Or(parts)
        word = self.read_word()
        if word == "*":
            return Exists(field)
        return Term(field, word, quoted=False)

    def parse_list_value(self, field: str) -> Node:
        self.ws()
        if self.s.startswith('"', self.i):
            return Term(field, self.read_quoted(), quoted=True)
        return Term(field, self.read_word(), quoted=False)

    def parse_range(self, field: str) -> Node:
        lo_incl = self.s[self.i] == "["
        self.i += 1
        self.ws()
        lo = self.read_bound()
        if not self.op("TO"):
            self.fail("expected TO in range")
        self.ws()
        hi = self.read_bound()
        self.ws()
        if self.i >= len(self.s) or self.s[self.i] not in "]}":
            self.fail("missing ']' or '}' closing the range")
        hi_incl = self.s[self.i] == "]"
        self.i += 1
        return Range(field, lo, lo_incl, hi, hi_incl)

    def read_bound(self) -> str | None:
        if self.s.startswith('"', self.i):
            return self.read_quoted()
        start = self.i
        while self.i < len(self.s) and not self.s[self.i].isspace() and self.s[self.i] not in "]}":
            self.i += 1
        word = self.s[start:self.i]
        if not word:
            self.fail("empty range bound")
        return None if word == "*" else word

    def read_quoted(self) -> str:
        self.i += 1
        out = []
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if ch == '"':
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1
        self.fail("unterminated quoted value")

    def read_word(self) -> str:
        out = []
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch.isspace() or ch in "()":
                break
            if ch in '"[]{}^~':
                self.fail(f"unsupported character {ch!r}")
            if ch == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            out.append(ch)
            self.i += 1
        if not out:
            self.fail("expected a value")
        return "".join(out)


def parse_query(text: str | None) -> Node:
    """Parse `q`; an empty or absent query matches everything."""
    return _Parser(text or "").parse()


def run_query(query: Node, docs: Iterable[dict], index: Index | None = None, *,
              limit: int | None = None, from_end: bool = False) -> list[dict]:
    """Documents matching `query`, using `index` to avoid a full scan where it can.

    With `limit`, only the first (or, `from_end`, the last) `limit` matches in `docs` order; an
    index's candidates keep that order.
    """
    candidates = query.candidates(index) if index is not None else None
    source = docs if candidates is None else candidates
    if from_end:
        source = reversed(source)
    if not isinstance(query, MatchAll):
        match: Callable[[dict], bool] = query.match
        source = (doc for doc in source if match(doc))
    found = list(islice(source, limit))
    return found[::-1] if from_end else found
