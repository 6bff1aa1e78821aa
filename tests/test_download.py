"""Saving videos: MP4 completeness, retried incomplete downloads, verified reuse, disk failures."""

from __future__ import annotations

import errno
import io
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from _mock import MP4, Script, client, completed
from hypothesis import given
from hypothesis import strategies as st

from omni_widgets import DownloadError, Task
from omni_widgets.core import download
from omni_widgets.core.mp4 import mp4_problem, verify_mp4

TID = "task-unified-1-abc"


def box(kind: bytes, payload: bytes = b"", *, large: bool = False, to_end: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 0 if to_end else 8 + len(payload), kind) + payload


FTYP = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2")


def problem(data: bytes) -> str | None:
    return mp4_problem(io.BytesIO(data), len(data))


def task() -> Task:
    return Task.from_json(completed().json())


# --- is the file whole? ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        MP4,
        FTYP + box(b"moov", b"x" * 10) + box(b"mdat", b"v" * 100),
        FTYP + box(b"mdat", b"v" * 100, large=True) + box(b"moov"),
        FTYP + box(b"moov", b"i" * 4) + box(b"mdat", b"v" * 50, to_end=True),
        FTYP + box(b"free") + box(b"moov") + box(b"mdat") + box(b"\xa9xyz", b"meta"),
    ],
)
def test_complete_files_pass(data: bytes) -> None:
    assert problem(data) is None


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Please sign in</body></html>", "not an MP4"),
        (MP4[:100], "cut short: the 'mdat' box at byte 40 needs 208 bytes but only 60 remain"),
        (MP4[:44], "cut inside a box header"),
        (FTYP + box(b"mdat", b"v" * 100), "no moov box"),
        (FTYP + box(b"moov", b"i" * 8), "no mdat box"),
        (FTYP + box(b"moov") + box(b"mdat", b"v" * 10)[:-1], "cut short"),
        (FTYP + box(b"moov") + struct.pack(">I4s", 1, b"mdat") + b"\x00\x00", "header"),
        (FTYP + box(b"moov") + b"\x00\x00\x00\x10\x00\x01\x02\x03" + b"z" * 8, "garbage"),
        (FTYP + box(b"moov") + struct.pack(">I4s", 4, b"mdat"), "impossible size 4"),
        (FTYP + struct.pack(">I4sQ", 1, b"moov", 2**63) + b"x", "cut short"),
    ],
)
def test_incomplete_or_foreign_files_fail(data: bytes, words: str) -> None:
    found = problem(data)
    assert found is not None and words in found


@given(st.binary(max_size=300))
def test_any_bytes_get_an_answer_not_an_exception(data: bytes) -> None:
    found = problem(data)
    assert found is None or isinstance(found, str)


@given(st.integers(min_value=0, max_value=len(MP4) - 1))
def test_every_cut_of_a_whole_file_is_caught(keep: int) -> None:
    assert problem(MP4[:keep]) is not None


def test_verify_mp4_reads_a_path(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.mp4", tmp_path / "bad.mp4"
    good.write_bytes(MP4)
    bad.write_bytes(MP4[:-1])
    assert verify_mp4(good) is None
    assert "cut short" in (verify_mp4(bad) or "")
    assert "cannot read" in (verify_mp4(tmp_path / "missing.mp4") or "")


# --- downloading: incomplete bodies are retried, never saved --------------------------------


def chunked(data: bytes) -> Any:
    """A 200 without Content-Length, as a streamed (chunked) answer arrives."""
    return lambda request: httpx.Response(200, content=iter([data]))


@pytest.mark.parametrize(
    "bad",
    [
        httpx.Response(200, content=MP4[:100]),  # Content-Length matches the cut
        chunked(MP4[:100]),  # no Content-Length at all
        httpx.Response(200, html="<html><body>Please sign in</body></html>"),
        httpx.Response(200, content=FTYP + box(b"mdat", b"v" * 100)),
    ],
)
def test_incomplete_download_is_retried_then_saved(tmp_path: Path, bad: Any) -> None:
    script = Script(downloads=[bad, httpx.Response(200, content=MP4)])
    notices: list[Any] = []
    c = client(script)
    path = c._run(c._download(task(), tmp_path), notices.append)
    assert path.read_bytes() == MP4 and script.count("GET", "cdn.test") == 2
    assert [n.attempt for n in notices] == [2] and "incomplete download" in notices[0].message
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{TID}.json", f"{TID}.mp4"]


def test_always_incomplete_download_gives_up_naming_the_task(tmp_path: Path) -> None:
    script = Script(downloads=[chunked(MP4[:100])])
    with pytest.raises(DownloadError, match="cut short") as exc:
        client(script).download(task(), tmp_path)
    assert TID in str(exc.value) and "tried 3 times" in str(exc.value)
    assert script.count("GET", "cdn.test") == 3
    assert list(tmp_path.iterdir()) == []


def test_sidecar_records_size_and_sha256(tmp_path: Path) -> None:
    import hashlib

    path = client(Script(downloads=[httpx.Response(200, content=MP4)])).download(task(), tmp_path)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["bytes"] == len(MP4) and record["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert record["gateway"] == "evolink"
    assert download.saved_problem(TID, path) is None


# --- a file already there is verified before it is reused -----------------------------------


def corrupt_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "spoil",
    [
        corrupt_byte,
        lambda p: p.write_bytes(p.read_bytes()[:100]),
        lambda p: p.with_suffix(".json").unlink(),
        lambda p: p.with_suffix(".json").write_text("{"),
        lambda p: p.with_suffix(".json").write_text(json.dumps({"task_id": "task-unified-9-x"})),
    ],
)
def test_a_spoilt_saved_file_is_downloaded_again(tmp_path: Path, spoil: Any) -> None:
    script = Script(downloads=[httpx.Response(200, content=MP4)])
    c = client(script)
    path = c.download(task(), tmp_path)
    assert c.download(task(), tmp_path) == path and script.count("GET", "cdn.test") == 1
    spoil(path)
    assert c.download(task(), tmp_path) == path
    assert script.count("GET", "cdn.test") == 2
    assert path.read_bytes() == MP4 and download.saved_problem(TID, path) is None


def test_a_sidecar_without_sha256_is_checked_on_size_and_boxes(tmp_path: Path) -> None:
    c = client(Script(downloads=[httpx.Response(200, content=MP4)]))
    path = c.download(task(), tmp_path)
    sidecar = path.with_suffix(".json")
    record = json.loads(sidecar.read_text())
    del record["sha256"]
    sidecar.write_text(json.dumps(record))
    assert download.saved_problem(TID, path) is None
    path.write_bytes(MP4[:-1])
    assert "bytes but its sidecar says" in (download.saved_problem(TID, path) or "")


def test_a_spoilt_file_of_an_unfinished_task_is_not_passed_off(tmp_path: Path) -> None:
    c = client(Script(downloads=[httpx.Response(200, content=MP4)]))
    path = c.download(task(), tmp_path)
    corrupt_byte(path)
    with pytest.raises(DownloadError, match="not a verified copy") as exc:
        c.download(Task(id=TID, status="unknown"), tmp_path)
    assert TID in str(exc.value)


# --- disk failures --------------------------------------------------------------------------


class FailingFile(io.RawIOBase):
    """A file that takes `room` bytes, then fails like a full disk."""

    def __init__(self, real: IO[bytes], room: int) -> None:
        self.real, self.room = real, room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.room < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def fileno(self) -> int:
        return self.real.fileno()

    def flush(self) -> None:
        self.real.flush()

    def close(self) -> None:
        super().close()
        self.real.close()


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Failures for the next temporary files: an OSError to raise, or bytes of room."""
    plan: list[Any] = []
    real = download._create_temp

    def create(target: Path) -> tuple[Path, IO[bytes]]:
        step = plan.pop(0) if plan else None
        if isinstance(step, OSError):
            raise step
        part, file = real(target)
        return (part, FailingFile(file, step)) if isinstance(step, int) else (part, file)  # type: ignore[return-value]

    monkeypatch.setattr(download, "_create_temp", create)
    yield plan


@pytest.mark.parametrize(
    "plan,cause",
    [
        ([10], "No space left on device (ENOSPC)"),
        ([OSError(errno.EROFS, "Read-only file system")], "Read-only file system (EROFS)"),
        ([None, OSError(errno.ENOSPC, "No space left on device")], "(ENOSPC)"),
        ([None, 5], "(ENOSPC)"),
    ],
    ids=["video-write", "read-only-folder", "sidecar-create", "sidecar-write"],
)
def test_disk_errors_name_path_and_cause_and_leave_nothing(
    tmp_path: Path, disk: list[Any], plan: list[Any], cause: str
) -> None:
    disk.extend(plan)
    script = Script(downloads=[httpx.Response(200, content=MP4)])
    with pytest.raises(DownloadError) as exc:
        client(script).download(task(), tmp_path)
    message = str(exc.value)
    assert TID in message and cause in message and str(tmp_path / f"{TID}.mp4") in message
    assert script.count("GET", "cdn.test") == 1, "a disk error is not a reason to download again"
    assert list(tmp_path.iterdir()) == []


def test_forbidden_folder_is_a_download_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(DownloadError, match=r"cannot write .*locked: Permission denied \(EACCES\)"):
        client(Script(downloads=[httpx.Response(200, content=MP4)])).download(
            task(), tmp_path / "locked"
        )


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_saved_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        path = client(Script(downloads=[httpx.Response(200, content=MP4)])).download(
            task(), tmp_path
        )
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode
    assert path.with_suffix(".json").stat().st_mode & 0o777 == mode
