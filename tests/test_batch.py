"""Grid planning, cost and budget: every check happens before anything is sent (no network)."""

from __future__ import annotations

import pytest
from _mock import png

import omni_widgets
from omni_widgets import (
    BudgetExceededError,
    ImageToVideo,
    ReferenceToVideo,
    TextToVideo,
    ValidationError,
    VideoEdit,
    estimate_credits,
    plan,
    product,
    set_budget,
)
from omni_widgets.core.aimd import Aimd
from omni_widgets.core.batch import request_from_row
from omni_widgets.core.batch_run import Decision, decide
from omni_widgets.core.budget import check_budget, effective_budget

IMAGE = png(320, 240)


@pytest.fixture(autouse=True)
def _no_session_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNI_BUDGET", raising=False)
    set_budget(None)


def test_estimate_follows_the_sandbox_token_pricing() -> None:
    assert estimate_credits(TextToVideo("a", duration=5)) == 28.96
    assert estimate_credits(TextToVideo("a", duration="auto")) == 57.92
    assert estimate_credits(VideoEdit("a", "https://example.com/v.mp4")) == 115.84


def test_estimate_takes_a_gateways_own_pricing() -> None:
    class Priced:
        pricing = 2.0

    assert estimate_credits(TextToVideo("a", duration=4), Priced()) == 8.0


def test_product_is_every_combination_last_axis_fastest() -> None:
    rows = product(TextToVideo("a fox"), durations=[5, 6], aspect_ratios=["16:9", "9:16"])
    assert [(r["duration"], r["aspect_ratio"]) for r in rows] == [
        (5, "16:9"),
        (5, "9:16"),
        (6, "16:9"),
        (6, "9:16"),
    ]
    assert {r["prompt"] for r in rows} == {"a fox"}
    planned = plan(rows)
    assert len(planned) == 4
    assert all(isinstance(r, TextToVideo) for r in planned.requests)
    assert planned.estimate == round(2 * 28.96 + 2 * 5 * 5.792 * 1.2, 2)


def test_product_over_prompts_and_modes_infers_the_request_kind() -> None:
    rows = product(prompts=["a", "b"], image=IMAGE, duration=4)
    planned = plan(rows)
    assert [type(r) for r in planned.requests] == [ImageToVideo, ImageToVideo]
    refs = plan(product({"prompt": "p"}, images=[[IMAGE], [IMAGE, IMAGE]]))
    assert [len(r.images) for r in refs.requests if isinstance(r, ReferenceToVideo)] == [1, 2]


def test_an_unknown_axis_is_refused() -> None:
    with pytest.raises(ValidationError, match="seeds"):
        product(seeds=[1, 2])


def test_every_invalid_row_is_named_by_index_and_field() -> None:
    rows = [
        {"prompt": "ok"},
        {"prompt": "too long", "duration": 60},
        {"prompt": "", "aspect_ratio": "4:3"},
        {"prompt": "x", "mode": "audio"},
    ]
    with pytest.raises(ValidationError) as caught:
        plan(rows)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["rows[1].duration", "rows[2].prompt", "rows[2].aspect_ratio", "rows[3].mode"]
    assert "rows[1].duration:" in str(caught.value)


def test_a_field_the_mode_does_not_take_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"duration.*fields of mode 'edit'"):
        request_from_row(
            {"mode": "edit", "prompt": "p", "video_url": "https://e.com/a.mp4", "duration": 5}
        )


def test_a_table_of_dicts_with_gaps_and_explicit_requests_mix() -> None:
    nan = float("nan")
    planned = plan(
        [
            {"prompt": "a", "duration": 4, "image": nan},
            TextToVideo("b", duration=3),
            {"prompt": "c", "video_url": "https://example.com/in.mp4"},
        ]
    )
    assert [type(r) for r in planned.requests] == [TextToVideo, TextToVideo, VideoEdit]
    assert planned.rows[2].settings()["mode"] == "edit"


def test_a_dataframe_is_read_row_by_row() -> None:
    class Frame:  # the two things plan() uses of a pandas DataFrame
        columns = ("prompt", "duration")

        def to_dict(self, orient: str) -> list[dict[str, object]]:
            assert orient == "records"
            return [{"prompt": "a", "duration": 5}, {"prompt": "b", "duration": 99}]

    with pytest.raises(ValidationError, match=r"rows\[1\]\.duration"):
        plan(Frame())


def test_the_same_rows_give_the_same_grid_id() -> None:
    a = plan(product(prompts=["x", "y"], durations=[4]))
    b = plan(product(prompts=["x", "y"], durations=[4]))
    c = plan(product(prompts=["y", "x"], durations=[4]))
    assert a.grid_id == b.grid_id != c.grid_id
    assert plan([TextToVideo("x")], grid_id="mine").grid_id == "mine"


def test_a_string_or_empty_list_is_not_a_grid() -> None:
    with pytest.raises(ValidationError, match="requests"):
        plan("a fox")
    with pytest.raises(ValidationError, match="at least one row"):
        plan([])


def test_budget_argument_refuses_a_plan_over_it() -> None:
    planned = plan(product(prompts=["a", "b", "c"], duration=10))
    with pytest.raises(BudgetExceededError) as caught:
        planned.check_budget(100)
    message = str(caught.value)
    assert "173.76" in message and "100.00" in message and "budget argument" in message
    planned.check_budget(200)


def test_session_budget_and_environment_apply_when_no_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMNI_BUDGET", "50")
    assert effective_budget() == (50.0, "OMNI_BUDGET")
    with pytest.raises(BudgetExceededError, match="OMNI_BUDGET"):
        check_budget(57.92)
    omni_widgets.set_budget(60)
    check_budget(57.92)  # the session's cap wins over the environment
    assert effective_budget(10) == (10.0, "the budget argument")
    with pytest.raises(ValidationError, match="budget: -1"):
        omni_widgets.set_budget(-1)


def test_a_malformed_environment_budget_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMNI_BUDGET", "lots")
    with pytest.raises(ValidationError, match="OMNI_BUDGET"):
        check_budget(1.0)


def test_aimd_halves_once_per_burst_and_climbs_back_slowly() -> None:
    aimd = Aimd(4)
    aimd.rate_limited()
    aimd.rate_limited()  # the same burst
    assert aimd.limit == 2
    aimd.succeeded()
    assert aimd.limit == 2  # 2.5
    aimd.succeeded()
    assert aimd.limit == 2  # 2.9
    for _ in range(6):
        aimd.succeeded()
    assert aimd.limit == 4
    aimd.rate_limited()
    aimd.succeeded()
    aimd.rate_limited()
    aimd.succeeded()
    aimd.rate_limited()
    assert aimd.limit == 1
    assert aimd.history[:3] == [4, 2, 3]


def test_decide_never_resends_a_row_that_may_have_made_a_task() -> None:
    from dataclasses import replace

    from omni_widgets.core.ledger import LedgerRecord

    base = LedgerRecord(
        row_id=1,
        task_id=None,
        status="rejected",
        gateway="evolink",
        base_url="u",
        model=None,
        request=None,
        progress=0,
        video_url=None,
        completed_at=None,
        error=None,
        path=None,
        size=None,
        sha256=None,
        host="h",
        pid=1,
        kernel=None,
        created_at=0.0,
        updated_at=0.0,
    )
    assert decide([]) == Decision("send")
    assert decide([base]).kind == "send"
    assert decide([base, replace(base, status="unknown")]).kind == "unknown"
    assert decide([replace(base, status="submitting")]).kind == "unknown"
    assert decide([replace(base, status="processing", task_id="t")]).kind == "watch"
    assert decide([replace(base, status="failed", task_id="t")]).kind == "watch"
    assert decide([replace(base, status="expired", task_id="t")]).kind == "lost"


def test_a_sweep_over_modes_keeps_each_rows_own_fields() -> None:
    rows = product({"prompt": "a fox", "duration": 4, "image": IMAGE}, modes=["text", "image"])
    planned = plan(rows)
    assert [type(r) for r in planned.requests] == [TextToVideo, ImageToVideo]
    assert "image" not in rows[0]
