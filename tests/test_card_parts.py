"""A card makes its rarely shown parts (notice, problem, buttons, video, code picker) on first
use, so a thousand cards hold a third of the objects; the parts keep their order when made."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from _mock import KEY

from omni_widgets.core.retry import RetryNotice
from omni_widgets.core.task import Task
from omni_widgets.notebook import card as card_module
from omni_widgets.notebook.card import TaskCard
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.jobs import Job

ID = "task-unified-1-parts"


def card_for() -> TaskCard:
    connection = Connection(KEY, "http://127.0.0.1:9", True, "sandbox")
    job = Job(connection, task=Task(id=ID, status="processing", progress=3, estimated_time=60))
    return TaskCard(job)


def classes(card: TaskCard) -> list[str]:
    return [next(iter(c._dom_classes), type(c).__name__) for c in card.children]


def test_a_running_card_has_only_its_status_lines_and_the_code_toggle() -> None:
    card = card_for()
    assert card._parts == {}
    assert classes(card) == ["HTML", "HBox", "omni-meta", "CodeToggle"]
    assert card.copy_code._opened is None  # the code picker too waits for its first use


def test_a_notice_then_a_failure_add_their_parts_in_order() -> None:
    card = card_for()
    card.job.apply(RetryNotice("status check failed (HTTP 503)", 2.0, 1, 1, ID))
    card.job._tell()  # the coalesced update, now
    assert "HTTP 503" in card._notice.value
    assert classes(card) == ["HTML", "HBox", "omni-meta", "omni-notice", "CodeToggle"]
    card.job._finish("error", RuntimeError("the service went away"))
    assert "went away" in card._problem.value and card._action.description == "Resume"
    assert classes(card) == [
        "HTML", "HBox", "omni-meta", "omni-notice", "omni-error", "HBox", "CodeToggle",
    ]  # fmt: skip


def test_parts_share_one_layout_and_style_across_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = card_for(), card_for()
    assert first._meta.layout is second._status.layout
    assert first._meta.style is second._percent.style
    # Shared parts closed (say by Widget.close_all): the next card makes new ones. A fresh pair
    # stands in, so that the cards of other tests keep their open layout.
    closed = widgets.Layout()
    closed.close()
    monkeypatch.setitem(card_module._SHARED, "line layout", closed)
    third = card_for()
    assert third._meta.layout is not closed and third._meta.layout.comm is not None


def test_the_code_picker_is_made_when_the_toggle_opens() -> None:
    card = card_for()
    card.copy_code.button.value = True
    assert card.copy_code._opened is not None
    assert card.copy_code._panel.layout.display == ""
