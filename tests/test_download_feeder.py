"""Downloads hand their chunks to a small shared pool of writer threads: no thread per download
(starting one blocks the event loop until it runs), chunks written in order, and the temporary
file made by the first write, off the loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from omni_widgets.core import download
from omni_widgets.core.download import FEED_BATCH, SinkFeeder, VideoSink
from omni_widgets.core.task import Task
from omni_widgets.core.workers import WRITER_THREADS


def test_many_downloads_share_a_few_writer_threads_and_keep_chunk_order(tmp_path: Path) -> None:
    sinks = [VideoSink(Task(id=f"task-unified-1-f{i}"), tmp_path / f"{i}.mp4") for i in range(40)]
    feeders = []
    for sink in sinks:
        sink.start()
        feeders.append(SinkFeeder(sink))
    for n in range(50):
        for index, feeder in enumerate(feeders):
            feeder.put(f"{index}:{n};".encode())
    for feeder in feeders:
        feeder.finish()
        assert not feeder.writing and feeder.backlog == 0
    writers = [t for t in threading.enumerate() if t.name.startswith("omni-download")]
    assert 1 <= len(writers) <= WRITER_THREADS
    for index, sink in enumerate(sinks):
        assert sink._file is not None
        sink._file.flush()
        assert sink._part is not None
        assert sink._part.read_bytes() == b"".join(f"{index}:{n};".encode() for n in range(50))
        sink.discard()


def test_the_temporary_file_is_made_by_the_first_write(tmp_path: Path) -> None:
    sink = VideoSink(Task(id="task-unified-1-lazy"), tmp_path / "deep" / "v.mp4")
    sink.start()
    assert not (tmp_path / "deep").exists()
    made_by: list[str] = []
    feeder = SinkFeeder(sink)
    original = sink._open

    def spy() -> None:
        made_by.append(threading.current_thread().name)
        original()

    sink._open = spy  # type: ignore[method-assign]
    feeder.put(b"data")
    feeder.finish()
    assert made_by and made_by[0].startswith("omni-download")
    assert [p.name.endswith(".part") for p in (tmp_path / "deep").iterdir()] == [True]
    sink.discard()
    assert list((tmp_path / "deep").iterdir()) == []


def test_small_chunks_are_written_in_batches_not_a_pool_job_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[object] = []
    pool = download._writers()

    class Counting:
        def submit(self, work: Callable[[], None]) -> object:
            jobs.append(work)
            return pool.submit(work)

    monkeypatch.setattr(download, "_writers", lambda: Counting())
    sink = VideoSink(Task(id="task-unified-1-batch"), tmp_path / "v.mp4")
    sink.start()
    feeder = SinkFeeder(sink)
    chunk = bytes(range(256)) * 64  # 16 KB, a typical network read
    count = 4 * FEED_BATCH // len(chunk)
    for _ in range(count):
        feeder.put(chunk)
    feeder.finish()
    assert not feeder.writing and feeder.backlog == 0
    assert 1 <= len(jobs) <= 5  # one per megabyte at most, not one per chunk (256)
    assert sink._file is not None and sink._part is not None
    sink._file.flush()
    assert sink._part.read_bytes() == chunk * count
    sink.discard()


def test_what_waits_below_a_batch_is_written_by_finish(tmp_path: Path) -> None:
    sink = VideoSink(Task(id="task-unified-1-tail"), tmp_path / "v.mp4")
    sink.start()
    feeder = SinkFeeder(sink)
    feeder.put(b"tail")
    assert feeder.writing  # still to be written
    feeder.finish()
    assert not feeder.writing and sink._file is not None and sink._part is not None
    sink._file.flush()
    assert sink._part.read_bytes() == b"tail"
    sink.discard()
