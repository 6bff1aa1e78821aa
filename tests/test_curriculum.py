"""The course in notebooks/: its shape, its solutions, and the checks that tell a learner
whether an exercise is right (omni_widgets.teaching)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _notebooks import NOTEBOOK_DIR, SOLUTION_DIR, errors, execute, read, tagged, text

from omni_widgets import (
    ImageToVideo,
    OmniClient,
    ReferenceToVideo,
    Result,
    TaskFailedError,
    TextToVideo,
    VideoEdit,
    copy_as_code,
    from_json,
    product,
    report,
    results,
    teaching,
)
from omni_widgets.sandbox import Sandbox

COURSE = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if p.name != "01_quickstart.ipynb")
PNG = Path(__file__).parents[1] / "docs" / "panel.png"


def test_the_course_has_notebooks_02_to_09_each_with_a_solutions_twin() -> None:
    assert [p.name[:2] for p in COURSE] == ["02", "03", "04", "05", "06", "07", "08", "09"]
    assert [p.name for p in sorted(SOLUTION_DIR.glob("*.ipynb"))] == [p.name for p in COURSE]


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_notebook_opens_with_goals_and_cost_and_ends_with_a_summary(path: Path) -> None:
    cells = read(path).cells
    assert cells[0].cell_type == "markdown" and "you will be able to" in cells[0].source.lower()
    first_code = next(c for c in cells if c.cell_type == "code")
    assert "teaching.start(" in first_code.source or "teaching.preview(" in first_code.source
    summaries = [c for c in cells if c.cell_type == "markdown" and "## Summary" in c.source]
    assert summaries and cells.index(summaries[-1]) >= len(cells) - 2


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_two_to_four_exercises_each_checked_by_a_later_check_cell(path: Path) -> None:
    notebook = read(path)
    exercises, checks = tagged(notebook, "exercise"), tagged(notebook, "check")
    assert 2 <= len(exercises) <= 4
    assert len(checks) == len(exercises)
    cells = notebook.cells
    for exercise, check in zip(exercises, checks, strict=True):
        assert cells.index(exercise) < cells.index(check)
        assert "teaching.check_" in check.source and "assert" not in check.source


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_solutions_differ_from_the_notebook_only_in_exercise_cells(path: Path) -> None:
    lesson = read(path).cells
    solved = read(SOLUTION_DIR / path.name).cells
    assert len(lesson) == len(solved)
    for mine, theirs in zip(lesson, solved, strict=True):
        assert mine.metadata.get("tags") == theirs.metadata.get("tags")
        if "exercise" in mine.metadata.get("tags", []):
            assert mine.source != theirs.source
        else:
            assert mine.source == theirs.source


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_solutions_run_and_every_check_says_right(path: Path, tmp_path: Path) -> None:
    notebook = execute(SOLUTION_DIR / path.name, tmp_path)
    assert errors(notebook) == []
    for cell in tagged(notebook, "check"):
        assert text(cell).startswith("Right:"), text(cell)


# --- the teaching module, without a kernel ------------------------------------------------------


def test_too_many_references_are_reported_in_plain_words() -> None:
    seven = [PNG.read_bytes()] * 7
    verdict = teaching.check_request(lambda: ReferenceToVideo("shapes dance", seven, duration=4))
    assert not verdict
    assert repr(verdict) == (
        "Not yet: the ReferenceToVideo would be refused: images: 7 images given; "
        "it should be 1 to 6 images."
    )


def test_a_check_names_each_field_that_differs_from_the_exercise() -> None:
    request = TextToVideo("a kite", duration=6, aspect_ratio="16:9")
    verdict = teaching.check_request(
        request, kind=ImageToVideo, duration=4, aspect_ratio="16:9", mentions=["sea"]
    )
    assert repr(verdict) == (
        "Not yet: it is a TextToVideo; the exercise asks for a ImageToVideo; duration is 6; "
        "the exercise asks for 4; the prompt does not mention 'sea'."
    )
    assert teaching.check_request(request, kind=TextToVideo, duration=6)
    assert repr(teaching.check_request(...)).startswith("Not yet: still the placeholder")


def test_check_prompt_says_which_part_is_missing() -> None:
    verdict = teaching.check_prompt("wide shot of a cat on a sofa, purring; no music, no people")
    assert repr(verdict) == "Not yet: your prompt: it has 13 words; give the model at least 15."
    assert "nothing about sound" in repr(teaching.check_prompt("a slow pan over " + "hills " * 15))


def test_estimated_credits_match_what_the_sandbox_reserves() -> None:
    requests = [
        TextToVideo("a", duration=3),
        TextToVideo("a", duration="auto"),
        ImageToVideo("a", PNG.read_bytes(), duration=7),
        VideoEdit("a", "https://example.com/clip.mp4"),
    ]
    with Sandbox(speed=float("inf")) as sb, OmniClient(sb.api_key, sb.base_url) as client:
        reserved = [client.submit(r).credits_reserved for r in requests]
    assert reserved == [r.estimated_credits for r in requests] == [17.38, 57.92, 40.54, 115.84]


def test_the_cost_line_counts_videos_edits_and_tokens() -> None:
    line = teaching.cost_line([4, 6], edits=1, free=True)
    assert line == (
        "Expected cost: 3 videos (1 of them edit), 173,760 tokens, about 173.76 credits; "
        "free here: nothing is billed."
    )


def test_with_a_key_a_lesson_uses_it_and_says_so_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-real-secret-123")
    monkeypatch.delenv("OMNI_BASE_URL", raising=False)
    lesson = teaching.start(seconds=[4])
    out = capsys.readouterr().out
    assert lesson.sandbox is None and not lesson.is_sandbox
    assert "the real service at https://api.evolink.ai (key from OMNI_API_KEY)" in out
    assert "billed to your key" in out
    assert "sk-real-secret-123" not in out + repr(lesson)


def test_a_faults_lesson_uses_a_private_sandbox_even_with_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-real-secret-123")
    lesson = teaching.start(seconds=[4], sandbox_only=True, speed=float("inf"))
    try:
        assert lesson.sandbox is not None and lesson.is_sandbox
        assert "private sandbox" in capsys.readouterr().out
        with lesson.client() as client:
            request = TextToVideo("x [[fail:content_policy_violation]]", duration=3)
            with pytest.raises(TaskFailedError) as caught:
                client.generate(request)
        verdict = teaching.check_error(caught.value, TaskFailedError, about="content_policy")
        assert verdict and repr(verdict).startswith("Right: TaskFailedError: task ")
    finally:
        lesson.close()
    assert not lesson.sandbox.running


def test_check_script_reports_a_failing_script_by_its_last_error_line(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit('no prompt given')\n")
    assert repr(teaching.check_script(script)) == (
        f"Not yet: {script} stopped with exit code 1: no prompt given"
    )
    assert "there is no" in repr(teaching.check_script(tmp_path / "missing.py"))


def test_a_class_sandbox_server_is_named_as_such_and_free(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-sandbox-demo")
    monkeypatch.setenv("OMNI_BASE_URL", "http://10.0.0.5:8765")
    teaching.preview(seconds=[4, 4])
    lesson = teaching.start(seconds=[4])
    out = capsys.readouterr().out
    assert lesson.is_sandbox and lesson.sandbox is None
    assert out.count("a sandbox server at http://10.0.0.5:8765 (key from OMNI_API_KEY)") == 2
    assert out.count("free here: nothing is billed") == 2


# --- the checks of notebooks 08 and 09 ----------------------------------------------------------


def test_check_grid_counts_rows_and_names_the_axis_values_that_differ() -> None:
    kite = TextToVideo("a kite", duration=3)
    four = product(kite, prompts=["a kite", "a boat"], aspect_ratios=["16:9", "9:16"])
    assert repr(teaching.check_grid(four, count=4, duration=[3], aspect_ratio=["16:9", "9:16"]))
    verdict = teaching.check_grid(
        product(kite, durations=[3, 4]), count=4, duration=[3], aspect_ratio=["16:9", "9:16"]
    )
    assert repr(verdict) == (
        "Not yet: it has 2 rows; the exercise wants 4; its duration values are [3, 4]; the "
        "exercise asks for [3]; its aspect_ratio values are ['16:9']; the exercise asks for "
        "['16:9', '9:16']."
    )
    refused = teaching.check_grid([{"prompt": "a kite", "duration": 12}], count=1)
    assert repr(refused).startswith("Not yet: the grid would be refused: rows[0].duration: ")
    assert "placeholder" in repr(teaching.check_grid(..., count=4))


def test_check_request_on_a_gateway_names_its_limits() -> None:
    portrait = TextToVideo("a boat", duration=4, aspect_ratio="9:16", resolution="1080p")
    verdict = teaching.check_request(portrait, gateway="toapis")
    assert repr(verdict) == (
        "Not yet: on toapis, duration: 4 is not accepted; it should be 6 or 10 on toapis; "
        "on toapis, resolution: with 9:16; it should be 1080p only with 16:9 on toapis."
    )
    guide = {"model": "gemini_omni_flash", "mode": "text-to-video", "input": {"prompt": "a boat"}}
    guide["input"].update(duration=10, aspect_ratio="16:9", resolution="1080p")
    assert teaching.check_request(from_json(guide), kind=TextToVideo, gateway="toapis")


def test_check_code_wants_the_key_from_the_environment() -> None:
    request = TextToVideo("a boat", duration=4, aspect_ratio="9:16")
    curl = copy_as_code(request, "curl")
    assert teaching.check_code(curl, kind="curl", mentions=["9:16"])
    leaked = curl.replace("$OMNI_API_KEY", "sk-pasted-key")
    assert repr(teaching.check_code(leaked, kind="curl", mentions=["16:9"])) == (
        "Not yet: your curl code: it does not read the key from $OMNI_API_KEY; "
        "it does not mention '16:9'."
    )
    assert not teaching.check_code(copy_as_code(request, "json"), kind="curl")
    assert teaching.check_code(copy_as_code(request, "json"), kind="json")


def test_check_report_counts_videos_and_finds_their_files(tmp_path: Path) -> None:
    ledger = tmp_path / "tasks.sqlite3"
    with Sandbox(speed=float("inf")) as sb, OmniClient(sb.api_key, sb.base_url, ledger=ledger) as c:
        saved = c.generate_many(
            [TextToVideo("a kite", duration=3), TextToVideo("a boat", duration=3)],
            dest=tmp_path / "videos",
        )
        rows = results(c.history())
    assert all(isinstance(r, Result) for r in saved)
    page = report(rows, tmp_path / "two.html")
    assert repr(teaching.check_report(page, videos=2)).startswith("Right: two.html shows 2 videos")
    assert repr(teaching.check_report(page, videos=1)) == (
        "Not yet: two.html shows 2 videos; the exercise wants 1."
    )
    moved = tmp_path / "elsewhere" / "two.html"
    moved.parent.mkdir()
    page.rename(moved)
    assert repr(teaching.check_report(moved, videos=2)) == (
        "Not yet: two.html links to 2 video(s) that are not beside it."
    )


def test_the_second_gateway_is_a_private_sandbox_unless_its_own_key_is_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-evolink-secret-1")  # never sent to ToAPIs
    monkeypatch.delenv("TOAPIS_API_KEY", raising=False)
    monkeypatch.setenv("OMNI_LEDGER", str(tmp_path / "tasks.sqlite3"))
    lesson = teaching.start(seconds=[4], sandbox_only=True, speed=float("inf"))
    try:
        with lesson.gateway_client("toapis", seconds=[6]) as toapis:
            result = toapis.generate(TextToVideo("a boat", duration=6), dest=tmp_path)
        out = capsys.readouterr().out
        assert "The toapis gateway: a private toapis sandbox in this kernel" in out
        assert "Expected cost: 1 video, 34,752 tokens" in out and "free here" in out
        assert teaching.check_result(result, duration=6)
        monkeypatch.setenv("TOAPIS_API_KEY", "sk-toapis-secret-2")
        with lesson.gateway_client("toapis", seconds=[6]) as real:
            assert real.settings.base_url == "https://toapis.com"
        out = capsys.readouterr().out
        assert "the real toapis at https://toapis.com (key from TOAPIS_API_KEY)" in out
        assert "billed to your key" in out
        assert "secret" not in out
    finally:
        lesson.close()
    assert not any(sb.running for sb in lesson.others.values())


def test_check_script_runs_with_the_environment_it_is_given(tmp_path: Path) -> None:
    script = tmp_path / "needs_key.py"
    script.write_text("import os\nprint(os.environ['OMNI_API_KEY'])\n")
    verdict = teaching.check_script(script, env={"OMNI_API_KEY": "sk-x", "PATH": ""})
    assert repr(verdict) == (
        f"Not yet: {script} ran, but printed no path of a saved .mp4: print result.path."
    )
    assert "KeyError" in repr(teaching.check_script(script, env={"PATH": ""}))
