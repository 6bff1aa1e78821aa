"""The gallery's kernel side, results as data and HTML reports, over a real ledger.

Pages and filters run on synthetic records; posters, contact sheets and compared videos on real
MP4s made by the sandbox.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import sqlite3
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omni_widgets import (
    ImageToVideo,
    Ledger,
    LedgerRecord,
    OmniClient,
    Task,
    TaskError,
    TextToVideo,
    ValidationError,
    VideoEdit,
    report,
    results,
)
from omni_widgets.core.catalog import Filters, by_row_ids, page
from omni_widgets.core.frames import poster, poster_path
from omni_widgets.core.results import COLUMNS
from omni_widgets.notebook.gallery import FileLinks, Gallery, gallery
from omni_widgets.sandbox import Sandbox

BASE = "https://api.evolink.ai"
DAY = 86400.0
START = dt.datetime(2026, 11, 1, 12, 0).timestamp()


def add(
    ledger: Ledger,
    n: int,
    request: Any,
    *,
    status: str = "completed",
    gateway: str = "evolink",
    error: TaskError | None = None,
    created: float | None = None,
) -> int:
    """A record of task n created at ``created`` (default: n days after START)."""
    row = ledger.record_submitting(BASE, request, gateway=gateway)
    ledger.record_created(row, Task(id=f"task-unified-{n}-abc", status=status, error=error))
    with sqlite3.connect(ledger.path) as db:
        when = START + n * DAY if created is None else created
        db.execute("UPDATE tasks SET created_at = ? WHERE row_id = ?", (when, row))
    return row


@pytest.fixture
def many(tmp_path: Path) -> Ledger:
    """30 records: prompts 'scene 0'..'scene 29', every third an image mode, every fifth failed,
    the last three on ToAPIs, one day apart."""
    ledger = Ledger(tmp_path / "many.sqlite3")
    for n in range(30):
        request = (
            ImageToVideo(f"scene {n}", "https://example.com/a.png")
            if n % 3 == 0
            else TextToVideo(f"scene {n}")
        )
        failed = n % 5 == 0
        add(
            ledger, n, request,
            status="failed" if failed else "completed",
            gateway="toapis" if n >= 27 else "evolink",
            error=TaskError("content_policy_violation", "no") if failed else None,
        )  # fmt: skip
    return ledger


def prompts(records: list[LedgerRecord]) -> list[str]:
    return [r.prompt for r in records]


def test_pages_are_newest_first_with_the_total(many: Ledger) -> None:
    first = page(many, limit=10)
    assert first.total == 30 and prompts(first.records) == [f"scene {n}" for n in range(29, 19, -1)]
    last = page(many, offset=25, limit=10)
    assert prompts(last.records) == [f"scene {n}" for n in range(4, -1, -1)]
    assert page(many, offset=40, limit=10).records == []


def test_filters_combine(many: Ledger) -> None:
    assert page(many, Filters(mode="ImageToVideo")).total == 10
    assert page(many, Filters(status="failed")).total == 6
    assert page(many, Filters(mode="ImageToVideo", status="failed")).total == 2  # 0 and 15
    assert prompts(page(many, Filters(gateway="toapis")).records) == [
        "scene 29",
        "scene 28",
        "scene 27",
    ]
    assert page(many, Filters(text="SCENE 1")).total == 11  # 1, 10..19: case-insensitive
    since = dt.date.fromtimestamp(START + 10 * DAY).isoformat()
    until = dt.date.fromtimestamp(START + 12 * DAY).isoformat()
    assert prompts(page(many, Filters(since=since, until=until)).records) == [
        "scene 11",
        "scene 10",
    ]


def test_text_filter_takes_percent_and_underscore_literally(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    add(ledger, 1, TextToVideo("100% orange"))
    add(ledger, 2, TextToVideo("1000 oranges"))
    add(ledger, 3, TextToVideo("snake_case kite"))
    add(ledger, 4, TextToVideo("snakeXcase kite"))
    assert prompts(page(ledger, Filters(text="100%")).records) == ["100% orange"]
    assert prompts(page(ledger, Filters(text="e_c")).records) == ["snake_case kite"]


def test_bad_filters_and_limits_fail_with_the_field(many: Ledger) -> None:
    with pytest.raises(ValidationError, match=r"since: .*not a time; allowed: a Unix time"):
        page(many, Filters(since="last tuesday"))
    with pytest.raises(ValidationError, match=r"limit: .*out of range; allowed: 1..500"):
        page(many, limit=0)


def test_filtered_pages_use_the_indexes(many: Ledger) -> None:
    many.records()  # opens (and migrates) the file
    with sqlite3.connect(many.path) as db:
        names = {row[1] for row in db.execute("PRAGMA index_list(tasks)")}
        assert {"tasks_by_model", "tasks_by_gateway", "tasks_by_status_created"} <= names
        where, args = Filters(mode="ImageToVideo").where()
        plan = " ".join(
            str(row[3])
            for row in db.execute(
                f"EXPLAIN QUERY PLAN SELECT row_id FROM tasks{where}"
                " ORDER BY created_at DESC LIMIT 24",
                args,
            )
        )
    assert re.search(r"USING (COVERING )?INDEX tasks_by_model", plan)


def test_results_rows(many: Ledger) -> None:
    frame = results(many, status="failed")
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 6
    row = frame.iloc[0]
    assert (row["id"], row["mode"], row["error_code"]) == (
        "task-unified-25-abc", "TextToVideo", "content_policy_violation"
    )  # fmt: skip
    assert row["credits"] == pytest.approx(5 * 5.792)  # the default 5 s
    assert str(row["created_at"].tz) == "UTC"
    assert len(results(many, limit=7)) == 7


def test_results_without_pandas_are_dicts(many: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    rows = results(many, mode="ImageToVideo")
    assert isinstance(rows, list) and len(rows) == 10
    assert set(rows[0]) == set(COLUMNS) and rows[0]["images"] == 1
    assert results(many.records()[:2]) == results(many, limit=2)  # records given, or read


def test_edit_credits_count_ten_seconds_in_and_out(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    add(ledger, 1, VideoEdit("night", "https://example.com/v.mp4"))
    assert results(ledger)["credits"].tolist() == [pytest.approx(20 * 5.792)]


# --- real videos -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, list[Path]]]:
    """A ledger with two saved sandbox videos (4 s 16:9 and 6 s 9:16) and one failed task."""
    folder = tmp_path_factory.mktemp("made")
    ledger = Ledger(folder / "ledger.sqlite3")
    with Sandbox(speed=float("inf"), seed=11) as sb:
        client = OmniClient(sb.api_key, sb.base_url, ledger=ledger, poll_interval=0.01)
        paths = [
            client.generate(TextToVideo("a kite", duration=4), dest=folder / "out").path,
            client.generate(
                TextToVideo("a kite at dusk", duration=6, aspect_ratio="9:16"),
                dest=folder / "out",
            ).path,
        ]
    add(ledger, 99, TextToVideo("a failed kite"), status="failed", created=START)
    yield ledger, paths


def test_poster_is_made_once_beside_the_video(made: tuple[Ledger, list[Path]]) -> None:
    _, [video, _] = made
    image = poster(video)
    assert image == poster_path(video) and image.read_bytes()[:3] == b"\xff\xd8\xff"
    stamp = image.stat().st_mtime_ns
    assert poster(video) == image and image.stat().st_mtime_ns == stamp


def test_report_embeds_frames_and_links_videos_relatively(
    made: tuple[Ledger, list[Path]], tmp_path: Path
) -> None:
    ledger, paths = made
    written = report(results(ledger), tmp_path / "sub" / "report.html", title="Kites")
    text = written.read_text()
    assert "<title>Kites</title>" in text
    assert len(re.findall(r"src='data:image/jpeg;base64,", text)) == 8  # 4 frames x 2 videos
    links = re.findall(r"<video controls preload='metadata' src='([^']+)'", text)
    assert len(links) == 2
    resolved = {
        (written.parent / urllib.parse.unquote(html.unescape(link))).resolve() for link in links
    }
    assert resolved == {p.resolve() for p in paths}
    assert "no saved video" in text  # the failed one
    assert "<td class=differs>4</td>" in text  # durations differ
    with pytest.raises(ValidationError, match=r"path: .*allowed: a file name ending in .html"):
        report(results(ledger), tmp_path / "report.pdf")


def test_gallery_pages_filters_and_compares(made: tuple[Ledger, list[Path]]) -> None:
    ledger, _ = made
    view = gallery(ledger, page_size=2)
    assert view.total == 3 and [i["prompt"] for i in view.items] == ["a kite at dusk", "a kite"]
    assert all(i["poster"] and i["has_video"] for i in view.items)
    view.page = 1
    assert [i["prompt"] for i in view.items] == ["a failed kite"]
    view.text = "dusk"  # a new filter goes back to the first page
    assert view.page == 0 and view.total == 1
    view.text = ""
    view.status = "failed"
    assert [i["status"] for i in view.items] == ["failed"]
    view.status = ""
    ids = [r.row_id for r in ledger.records()]
    view.selected = [*ids, ids[0]]  # four at most, no repeats
    assert view.selected == ids
    assert [c["row_id"] for c in view.compared] == ids
    assert set(view.compared[0]["differs"]) == {"prompt", "duration", "aspect_ratio"}
    first = view.compared[0]
    assert first["path"].endswith(".mp4") and first["credits"] == pytest.approx(34.75, abs=0.01)
    assert '"duration": 6' in first["request"] and "OMNI_API_KEY" in first["code"]["curl"]
    view.focus = ids[1]
    assert view.detail["prompt"] == "a kite" and "TextToVideo(" in view.detail["code"]["python"]


def test_gallery_sends_a_video_it_cannot_link(
    made: tuple[Ledger, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, paths = made
    view = Gallery(ledger)
    assert view.items[0]["src"] == ""  # no Jupyter server here
    sent: list[tuple[Any, Any]] = []
    monkeypatch.setattr(view, "send", lambda content, buffers=None: sent.append((content, buffers)))
    row = ledger.records()[0].row_id
    view._message(view, {"type": "video", "row_id": row}, [])
    [(content, buffers)] = sent
    assert content == {"type": "video", "row_id": row} and buffers == [paths[1].read_bytes()]


def test_file_links_through_the_server_root(tmp_path: Path) -> None:
    video = tmp_path / "nb" / "omni_outputs" / "a b.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"x")
    links = FileLinks([(tmp_path, "/base/")])
    assert links.url(video) == "/base/files/nb/omni_outputs/a%20b.mp4"
    hidden = tmp_path / ".cache" / "v.mp4"
    assert links.url(hidden) == "" and FileLinks([]).url(video) == ""


def test_by_row_ids_keeps_the_order(many: Ledger) -> None:
    ids = [r.row_id for r in many.records(limit=3)]
    assert [r.row_id for r in by_row_ids(many, [*ids[::-1], 9999])] == ids[::-1]


def test_refresh_shows_results_recorded_since(many: Ledger) -> None:
    view = Gallery(many)
    assert view.total == 30
    add(many, 30, TextToVideo("scene 30"))
    view._message(view, {"type": "refresh"}, [])
    assert view.total == 31 and view.items[0]["prompt"] == "scene 30"
