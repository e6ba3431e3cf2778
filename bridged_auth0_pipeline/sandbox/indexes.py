"""Lazy secondary indexes over the tenant's users and logs.

Search on a million users must not scan them all for every 100-row page: these indexes answer the
selective parts of a query (a date range, an email, a user id) and the query is then checked only
against those candidates. Each index is built on first use and then kept up to date by the tenant's
mutations, so generating a tenant stays cheap.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from operator import itemgetter

from .gcpause import paused_gc

DATE_FIELDS = ("created_at", "updated_at", "last_login")
_first = itemgetter(0)


class SortedFieldIndex:
    """(value, user_id) pairs sorted by value then user_id, for one timestamp field."""

    def __init__(self, field: str, users: dict[str, dict]):
        self.field = field
        with paused_gc():
            self.entries = sorted(
                (u[field], uid) for uid, u in users.items() if isinstance(u.get(field), str))

    def _remove(self, value, uid: str) -> None:
        i = bisect_left(self.entries, (value, uid))
        if i < len(self.entries) and self.entries[i] == (value, uid):
            del self.entries[i]

    def change(self, uid: str, old: dict | None, new: dict | None) -> None:
        before = old.get(self.field) if old else None
        after = new.get(self.field) if new else None
        if before == after:
            return
        if isinstance(before, str):
            self._remove(before, uid)
        if isinstance(after, str):
            insort(self.entries, (after, uid))

    def range(self, lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool) -> list[str]:
        e = self.entries
        start = 0 if lo is None else (
            bisect_left(e, lo, key=_first) if lo_incl else bisect_right(e, lo, key=_first))
        end = len(e) if hi is None else (
            bisect_right(e, hi, key=_first) if hi_incl else bisect_left(e, hi, key=_first))
        return [uid for _, uid in e[start:end]]


class UserIndexes:
    """Answers `range`/`exact` lookups for search.Query.candidates() with user dicts."""

    def __init__(self) -> None:
        self._users: dict[str, dict] = {}
        self._sorted: dict[str, SortedFieldIndex] = {}
        self._email: dict[str, str | list[str]] | None = None

    def bind(self, users: dict[str, dict]) -> None:
        """Point at a (new) users dict and forget everything built from the old one."""
        self._users = users
        self._sorted.clear()
        self._email = None

    def change(self, uid: str, old: dict | None, new: dict | None) -> None:
        for index in self._sorted.values():
            index.change(uid, old, new)
        if self._email is not None:
            before = (old or {}).get("email")
            after = (new or {}).get("email")
            if isinstance(before, str):
                self._email_remove(before.casefold(), uid)
            if isinstance(after, str):
                self._email_add(after.casefold(), uid)

    # Most addresses belong to one user: store a bare user id, a list only for shared addresses
    # (a set per user would cost ~200 bytes each at a million users).
    def _email_add(self, key: str, uid: str) -> None:
        found = self._email.get(key)
        if found is None:
            self._email[key] = uid
        elif isinstance(found, str):
            if found != uid:
                self._email[key] = [found, uid]
        elif uid not in found:
            found.append(uid)

    def _email_remove(self, key: str, uid: str) -> None:
        found = self._email.get(key)
        if found == uid:
            del self._email[key]
        elif isinstance(found, list) and uid in found:
            found.remove(uid)
            if len(found) == 1:
                self._email[key] = found[0]

    def by_email(self, email: str) -> list[str]:
        """The ids of the users whose email equals `email` ignoring case (as search v3's `email:`
        term matches); /users-by-email, which is case-sensitive, keeps the exact ones of these."""
        if self._email is None:
            self._email = {}
            with paused_gc():
                for uid, u in self._users.items():
                    e = u.get("email")
                    if isinstance(e, str):
                        self._email_add(e.casefold(), uid)
        found = self._email.get(email.casefold())
        if found is None:
            return []
        return [found] if isinstance(found, str) else list(found)

    # -- the interface search.Query uses -------------------------------------------------------
    def range(self, field: str, lo, lo_incl: bool, hi, hi_incl: bool) -> list[dict] | None:
        if field not in DATE_FIELDS:
            return None
        index = self._sorted.get(field)
        if index is None:
            index = self._sorted[field] = SortedFieldIndex(field, self._users)
        users = self._users
        return [users[uid] for uid in index.range(lo, lo_incl, hi, hi_incl)]

    def exact(self, field: str, value: str) -> list[dict] | None:
        users = self._users
        if field == "user_id":
            return [users[value]] if value in users else []
        if field == "email":
            return [users[uid] for uid in self.by_email(value)]
        return None


class LogIndexes:
    """Per-user event lists for /users/{id}/logs and `user_id:` log searches, and `date:` ranges
    by bisection while the events' dates are in log order (an event added with an older date
    turns that off)."""

    def __init__(self) -> None:
        self._logs: list[dict] = []
        self._by_user: dict[str, list[dict]] | None = None
        self._dates: list[str] | None = None
        self._dates_in_order = True

    def bind(self, logs: list[dict]) -> None:
        self._logs = logs
        self._by_user = None
        self._dates = None

    def appended(self, event: dict) -> None:
        if self._by_user is not None and "user_id" in event:
            self._by_user.setdefault(event["user_id"], []).append(event)
        if self._dates is not None:
            date = _date_key(event)
            self._dates_in_order = self._dates_in_order and (not self._dates or self._dates[-1] <= date)
            self._dates.append(date)

    def _date_list(self) -> list[str]:
        if self._dates is None:
            self._dates = [_date_key(event) for event in self._logs]
            self._dates_in_order = all(a <= b for a, b in zip(self._dates, self._dates[1:]))
        return self._dates

    def for_user(self, user_id: str) -> list[dict]:
        if self._by_user is None:
            by_user: dict[str, list[dict]] = {}
            with paused_gc():
                for event in self._logs:
                    uid = event.get("user_id")
                    if uid is not None:
                        by_user.setdefault(uid, []).append(event)
            self._by_user = by_user
        return list(self._by_user.get(user_id, ()))

    def range(self, field, lo, lo_incl, hi, hi_incl):
        if field != "date" or not isinstance(lo, (str, type(None))) or not isinstance(hi, (str, type(None))):
            return None
        dates = self._date_list()
        if not self._dates_in_order:
            return None
        start = 0 if lo is None else (bisect_left if lo_incl else bisect_right)(dates, lo)
        end = len(dates) if hi is None else (bisect_right if hi_incl else bisect_left)(dates, hi)
        return self._logs[start:end]

    def exact(self, field: str, value: str) -> list[dict] | None:
        return self.for_user(value) if field == "user_id" else None


def _date_key(event: dict) -> str:
    date = event.get("date")
    return date if isinstance(date, str) else ""
