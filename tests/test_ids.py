"""Task ids and the file names made from them, for any string (property tests with hypothesis)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from omni_widgets import Task, ValidationError
from omni_widgets.core.download import target_path
from omni_widgets.core.ids import (
    EVOLINK_TASK_ID,
    TASK_ID,
    check_task_id,
    file_stem,
    find_task_id,
    is_task_id,
    url_segment,
)

ALNUM = string.ascii_letters + string.digits
good_ids = st.builds(
    lambda digits, suffix: f"task-unified-{digits}-{suffix}",
    st.text("0123456789", min_size=1, max_size=20),
    st.text(ALNUM, min_size=1, max_size=64),
)
HOSTILE = [
    "../../_sandbox/log",
    "task-unified-1-abc/../../x",
    "task-unified-1-abc\n",
    "task-unified-1-abc\x00",
    "..",
    ".",
    "",
    "/etc/passwd",
    "C:\\Windows\\x",
    "task-unified-1-\u00e9t\u00e9",
    "\ud800",
    "a" * 5000,
]


def test_the_protocol_uses_evolinks_pattern() -> None:
    assert TASK_ID is EVOLINK_TASK_ID
    assert is_task_id("task-unified-1757169743-7cvnl5zw")


@given(good_ids)
def test_well_formed_ids_pass_unchanged(task_id: str) -> None:
    assert check_task_id(task_id) == task_id
    assert url_segment(task_id) == task_id
    assert file_stem(task_id) == task_id
    assert find_task_id(f'{{"id": "{task_id}", "x": 1}}') == task_id


@given(st.text(max_size=200))
@example("task-unified-1-abc\n")
@example("task-unified-\uff11-abc")
def test_any_other_string_is_refused_naming_it(value: str) -> None:
    well_formed = (
        value.startswith("task-unified-")
        and len(parts := value.split("-")) == 4
        and parts[2].isascii()
        and parts[2].isdigit()
        and 1 <= len(parts[2]) <= 20
        and parts[3].isascii()
        and parts[3].isalnum()
        and 1 <= len(parts[3]) <= 64
    )
    if well_formed:
        assert check_task_id(value) == value
        return
    with pytest.raises(ValidationError) as exc:
        check_task_id(value)
    assert "task_id: " in str(exc.value) and "task-unified-<digits>" in str(exc.value)


@given(st.one_of(st.integers(), st.none(), st.binary(), st.lists(st.text())))
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        check_task_id(value)


@given(st.text())
def test_a_checked_id_is_one_url_segment(value: str) -> None:
    if is_task_id(value):
        assert "/" not in url_segment(value) and "?" not in url_segment(value)


@given(st.one_of(st.text(), st.sampled_from(HOSTILE)))
@example("../../_sandbox/log")
@example("..")
def test_file_names_never_leave_the_folder(value: str) -> None:
    folder = Path("/tmp/omni-out")
    stem = file_stem(value)
    assert stem and not stem.startswith(".") and len(stem) <= 120
    assert set(stem) <= set(ALNUM + "-_")
    path = target_path(Task(id=value), folder)
    assert path.parent == folder and path.name == f"{stem}.mp4"
    assert (folder / path.name).resolve().parent == folder.resolve()


@given(st.text(), st.text())
def test_different_ids_get_different_files(a: str, b: str) -> None:
    if a != b:
        assert file_stem(a) != file_stem(b)


@given(good_ids, st.integers(min_value=1, max_value=len("task-unified-1-a") - 1))
def test_an_id_cut_short_at_the_end_of_an_answer_is_not_found(task_id: str, keep: int) -> None:
    assert find_task_id('{"id": "' + task_id[:keep]) is None
    assert find_task_id('{"id": "' + task_id) is None
    assert find_task_id('{"id": "' + task_id + '"') == task_id


@given(st.text(max_size=300))
def test_whatever_an_answer_says_only_a_whole_id_is_found(text: str) -> None:
    found = find_task_id(text)
    assert found is None or (is_task_id(found) and found in text)
