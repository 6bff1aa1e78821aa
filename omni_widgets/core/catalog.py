"""One page of the ledger's records, filtered: what the gallery and ``results()`` read.

Filtering, counting and paging happen in SQLite (LIMIT/OFFSET over indexed columns), so a page
costs the same over ten or ten thousand records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .errors import Problem, ValidationError
from .ledger import _COLUMNS, Ledger, LedgerRecord, _record
from .requests import MODELS

#: The gallery's mode names, by model.
MODES = {model: cls.__name__ for model, cls in MODELS.items()}
MODEL_OF_MODE = {mode: model for model, mode in MODES.items()}
MAX_PAGE = 500


@dataclass(frozen=True)
class Filters:
    """What to show: text in the prompt, mode, status, gateway and a creation-time window.

    ``since`` and ``until`` are Unix times or ISO dates ("2026-11-30"); ``until`` is exclusive.
    """

    text: str = ""
    mode: str | None = None
    status: str | None = None
    gateway: str | None = None
    since: float | str | None = None
    until: float | str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition (empty for none) and its arguments."""
        where: list[str] = []
        args: list[Any] = []
        if self.text.strip():
            where.append("json_extract(request, '$.prompt') LIKE ? ESCAPE '\\'")
            args.append("%" + _escape_like(self.text.strip()) + "%")
        if self.mode:
            where.append("model = ?")
            args.append(MODEL_OF_MODE.get(self.mode, self.mode))
        if self.status:
            where.append("status = ?")
            args.append(self.status)
        if self.gateway:
            where.append("gateway = ?")
            args.append(self.gateway)
        if self.since not in (None, ""):
            where.append("created_at >= ?")
            args.append(unix_time("since", self.since))
        if self.until not in (None, ""):
            where.append("created_at < ?")
            args.append(unix_time("until", self.until))
        return (" WHERE " + " AND ".join(where)) if where else "", args


@dataclass(frozen=True)
class Page:
    """Records ``offset`` to ``offset + len(records)`` of ``total`` matching ones, newest first."""

    records: list[LedgerRecord]
    total: int
    offset: int


def page(ledger: Ledger, filters: Filters | None = None, offset: int = 0, limit: int = 24) -> Page:
    """One page of matching records, newest first, and how many match in all."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(
            "page", [Problem("limit", limit, f"1..{MAX_PAGE} records", "out of range")]
        )
    offset = max(0, int(offset))
    if not ledger.path.exists():
        return Page([], 0, offset)
    where, args = (filters or Filters()).where()
    with ledger._connection() as db:
        total = int(db.execute(f"SELECT COUNT(*) FROM tasks{where}", args).fetchone()[0])
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM tasks{where} ORDER BY created_at DESC, row_id DESC"
            " LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
    return Page([_record(row) for row in rows], total, offset)


def choices(ledger: Ledger) -> dict[str, list[str]]:
    """The statuses and gateways present in the ledger, for the filters' menus."""
    if not ledger.path.exists():
        return {"status": [], "gateway": [], "mode": sorted(MODEL_OF_MODE)}
    with ledger._connection() as db:
        statuses = [r[0] for r in db.execute("SELECT DISTINCT status FROM tasks ORDER BY 1")]
        gateways = [r[0] for r in db.execute("SELECT DISTINCT gateway FROM tasks ORDER BY 1")]
    return {"status": statuses, "gateway": gateways, "mode": sorted(MODEL_OF_MODE)}


def by_row_ids(ledger: Ledger, row_ids: list[int]) -> list[LedgerRecord]:
    """The records with these row ids, in the order given (unknown ids are left out)."""
    if not row_ids or not ledger.path.exists():
        return []
    marks = ", ".join("?" * len(row_ids))
    with ledger._connection() as db:
        rows = db.execute(f"SELECT {_COLUMNS} FROM tasks WHERE row_id IN ({marks})", row_ids)
        found = {row[0]: _record(row) for row in rows.fetchall()}
    return [found[i] for i in row_ids if i in found]


def unix_time(name: str, value: float | str) -> float:
    """A Unix time from a number or an ISO date/time (local time when it names no zone)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).timestamp()
        except ValueError:
            pass
    raise ValidationError(
        "filters",
        [Problem(name, value, "a Unix time or an ISO date such as '2026-11-30'", "not a time")],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
