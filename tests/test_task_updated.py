"""A newer view of a task keeps what only an earlier answer told, and is the newer answer itself
when there is nothing to keep."""

from __future__ import annotations

import dataclasses
from typing import Any

from omni_widgets import TextToVideo
from omni_widgets.core.task import Task, TaskError

TID = "task-unified-1-abc"
REQUEST = TextToVideo("a cat")


def created() -> Task:
    return Task(
        id=TID,
        model="gemini-omni-flash",
        status="pending",
        created=1757169743,
        estimated_time=60,
        credits_reserved=12.5,
        request=REQUEST,
        expires_at=2e9,
    )


def test_what_only_the_create_told_is_kept() -> None:
    first = created()
    query = Task(id=TID, status="processing", progress=40)
    merged = first.updated(query)
    assert (merged.status, merged.progress) == ("processing", 40)
    assert merged.model == "gemini-omni-flash" and merged.created == 1757169743
    assert merged.estimated_time == 60 and merged.credits_reserved == 12.5
    assert merged.request is REQUEST and merged.expires_at == 2e9


def test_newer_facts_win_and_the_first_completion_time_stays() -> None:
    first = Task(id=TID, status="completed", completed_at=100.0, estimated_time=60)
    later = Task(
        id=TID,
        status="failed",
        completed_at=200.0,
        estimated_time=0,
        credits_reserved=0.0,
        error=TaskError("service_error", "x"),
    )
    merged = first.updated(later)
    assert merged.completed_at == 100.0  # when it was first seen complete
    assert merged.estimated_time == 0 and merged.credits_reserved == 0.0  # zero is a value
    assert merged.status == "failed" and merged.error == later.error


def test_a_view_that_already_holds_everything_is_returned_as_it_is() -> None:
    known = created().updated(Task(id=TID, status="processing", progress=10))
    newer = known.updated(Task(id=TID, status="processing", progress=20))
    assert known.updated(newer) is newer
    assert newer.updated(newer) is newer
    assert created().updated(newer) is newer


def test_every_field_of_the_newer_view_carries_over() -> None:
    # A field added to Task must reach the merged view: each gets a value of its own here.
    values: dict[str, Any] = {}
    for number, item in enumerate(dataclasses.fields(Task)):
        values[item.name] = TID if item.name == "id" else _Marker(number)
    newer = Task(**values)
    merged = Task(id=TID).updated(newer)
    assert merged is newer  # nothing to keep from a view that knew less
    older = Task(id=TID, request=REQUEST)
    merged = older.updated(dataclasses.replace(newer, request=None))
    for item in dataclasses.fields(Task):
        expected = REQUEST if item.name == "request" else values[item.name]
        assert getattr(merged, item.name) is expected, item.name


class _Marker:
    """A value no field has by default, and that is true (kept over an older view's)."""

    def __init__(self, number: int) -> None:
        self.number = number
