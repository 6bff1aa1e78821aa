"""Results as data: the ledger's records as rows of plain values, a DataFrame when pandas is there.

One row per task: its id, gateway, mode, prompt and parameters, status, error code, estimated
credits, times, latency and saved path, so a sweep can be sorted, filtered and joined like any
other table.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .catalog import MODES, Filters, page
from .ledger import Ledger, LedgerRecord
from .pricing import credits_for, estimated_tokens
from .settings import resolve_ledger

COLUMNS = (
    "id",
    "gateway",
    "mode",
    "prompt",
    "duration",
    "aspect_ratio",
    "resolution",
    "images",
    "video_url_in",
    "callback_url",
    "status",
    "error_code",
    "error",
    "credits",
    "created_at",
    "completed_at",
    "latency_s",
    "path",
    "model",
    "base_url",
    "row_id",
)
ALL = 1_000_000_000


def results(
    source: Ledger | Iterable[LedgerRecord] | str | os.PathLike[str] | None = None,
    *,
    text: str = "",
    mode: str | None = None,
    status: str | None = None,
    gateway: str | None = None,
    since: float | str | None = None,
    until: float | str | None = None,
    limit: int | None = None,
) -> Any:
    """Every recorded task (or the given records) as a pandas DataFrame, or a list of dicts.

    ``source`` is a Ledger, a ledger file, or records (``client.history()``); by default the
    ledger the client would use (``OMNI_LEDGER``). The filters are those of the gallery.
    """
    records = _records(source, Filters(text, mode, status, gateway, since, until), limit)
    rows = [result_row(record) for record in records]
    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        return rows
    frame = pandas.DataFrame(rows, columns=list(COLUMNS))
    for column in ("created_at", "completed_at"):
        frame[column] = pandas.to_datetime(frame[column], utc=True)
    return frame


def result_row(record: LedgerRecord) -> dict[str, Any]:
    """One record as plain values (times as timezone-aware datetimes, UTC)."""
    request = record.request or {}
    images = request.get("image_urls") or []
    videos = request.get("video_urls") or []
    code, message = split_error(record.error)
    latency = None
    if record.completed_at is not None:
        latency = round(max(0.0, record.completed_at - record.created_at), 3)
    return {
        "id": record.task_id,
        "gateway": record.gateway,
        "mode": MODES.get(record.model or "", record.model),
        "prompt": record.prompt,
        "duration": request.get("duration"),
        "aspect_ratio": request.get("aspect_ratio"),
        "resolution": request.get("resolution"),
        "images": len(images),
        "video_url_in": videos[0] if videos else None,
        "callback_url": request.get("callback_url"),
        "status": record.status,
        "error_code": code,
        "error": message,
        "credits": estimated_credits(record),
        "created_at": _utc(record.created_at),
        "completed_at": _utc(record.completed_at),
        "latency_s": latency,
        "path": str(record.path) if record.path else None,
        "model": record.model,
        "base_url": record.base_url,
        "row_id": record.row_id,
    }


def estimated_credits(record: LedgerRecord) -> float | None:
    """Credits the task is expected to cost (None for a create the service refused), by the
    same pricing as ``Request.estimated_credits`` (core/pricing.py)."""
    if record.status == "rejected" or record.request is None:
        return None
    edit = record.model == "gemini-omni-flash-video-edit"
    return credits_for(estimated_tokens(record.request.get("duration"), edit=edit))


def split_error(error: str | None) -> tuple[str | None, str | None]:
    """The ledger's "code: message" error text as its code and message."""
    if not error:
        return None, None
    head, sep, rest = error.partition(": ")
    if sep and head and " " not in head:
        return head, rest
    return None, error


def _records(
    source: Ledger | Iterable[LedgerRecord] | str | os.PathLike[str] | None,
    filters: Filters,
    limit: int | None,
) -> list[LedgerRecord]:
    if source is None:
        path, _ = resolve_ledger()
        if path is None:
            return []
        source = Ledger(path)
    elif isinstance(source, (str, os.PathLike)):
        source = Ledger(Path(source))
    if isinstance(source, Ledger):
        records: list[LedgerRecord] = []
        wanted = ALL if limit is None else limit
        while len(records) < wanted:
            batch = page(source, filters, len(records), min(500, wanted - len(records)))
            records.extend(batch.records)
            if len(batch.records) < 500 or len(records) >= batch.total:
                break
        return records
    chosen = list(source)
    return chosen if limit is None else chosen[:limit]


def _utc(when: float | None) -> dt.datetime | None:
    return None if when is None else dt.datetime.fromtimestamp(when, dt.UTC)
