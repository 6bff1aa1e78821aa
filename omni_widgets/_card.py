"""The task card: one job's live status, progress, retry notices, and finally its video.

Shared by the panel and the magics. A card only reads its job; buttons ask the job to act.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from ._connection import REAL_SERVICE_HINT
from ._jobs import Job

PROMPT_EXCERPT = 80


class TaskCard(widgets.VBox):
    """A live view of one :class:`Job`; it plays the saved video once the job completes."""

    def __init__(self, job: Job, on_resubmit: Any = None) -> None:
        self.job = job
        self._on_resubmit = on_resubmit
        self._header = widgets.HTML(_header_html(job))
        self._status = _with_class(widgets.HTML(), "omni-status")
        self._bar = _with_class(
            widgets.IntProgress(min=0, max=100, description=""), "omni-progress"
        )
        self._meta = _with_class(widgets.HTML(), "omni-meta")
        self._notice = _with_class(widgets.HTML(), "omni-notice")
        self._media = _with_class(widgets.VBox(), "omni-media")
        self._problem = _with_class(widgets.HTML(), "omni-error")
        self._action = _with_class(
            widgets.Button(layout=widgets.Layout(display="none")), "omni-action"
        )
        self._action.on_click(self._act)
        self._shown_video = False
        super().__init__(
            [
                self._header,
                self._status,
                self._bar,
                self._meta,
                self._notice,
                self._problem,
                self._action,
                self._media,
            ],
            layout=widgets.Layout(border="1px solid #d0d7de", padding="6px 10px", margin="4px 0"),
        )
        self.add_class("omni-card")
        job.subscribe(self._render)

    def _render(self, job: Job) -> None:
        percent = job.task.progress if job.task else 0
        self._status.value = f"<b>{html.escape(job.phase)}</b> · {percent}%"
        self._bar.value = 100 if job.phase == "completed" else percent
        self._bar.bar_style = {"completed": "success", "failed": "danger", "error": "danger"}.get(
            job.phase, "info"
        )
        self._meta.value = _meta_html(job)
        self._notice.value = (
            f"<span style='color:#9a6700'>⟳ {html.escape(job.notice)}</span>" if job.notice else ""
        )
        self._render_problem(job)
        if job.phase == "completed" and job.path and not self._shown_video:
            self._shown_video = True
            self._media.children = _video_children(job)

    def _render_problem(self, job: Job) -> None:
        if job.phase == "failed" and job.task and job.task.error:
            error = job.task.error
            self._problem.value = (
                f"<div style='color:#cf222e'><b>{html.escape(error.code or 'failed')}</b>: "
                f"{html.escape(error.message)}<br><i>Advice: {html.escape(error.advice)}.</i></div>"
            )
            self._show_action("Resubmit", "a new task with the same request (billed again)")
        elif job.phase == "failed" or job.phase == "error":
            self._problem.value = (
                f"<div style='color:#cf222e'>{html.escape(job.error_message)}</div>"
            )
            if job.task is not None:
                self._show_action("Resume", "watch and download this task again (no new task)")
            elif job.request is not None:
                self._show_action("Resubmit", "try creating the task again")
        else:
            self._problem.value = ""
            self._action.layout.display = "none"

    def _show_action(self, label: str, tooltip: str) -> None:
        self._action.description = label
        self._action.tooltip = tooltip
        self._action.button_style = "warning" if label == "Resubmit" else "info"
        self._action.layout.display = ""

    def _act(self, _: Any) -> None:
        self._action.layout.display = "none"
        if self._action.description == "Resume":
            self.job.resume()
            return
        new_job = self.job.resubmit()
        if self._on_resubmit is not None:
            self._on_resubmit(new_job)
        else:
            show_card(new_job)


def show_card(job: Job) -> TaskCard:
    """Display a new card for a job in the current cell and return it."""
    card = TaskCard(job)
    display(card)  # type: ignore[no-untyped-call]
    return card


def _header_html(job: Job) -> str:
    prompt = job.prompt if len(job.prompt) <= PROMPT_EXCERPT else job.prompt[:PROMPT_EXCERPT] + "…"
    badge = ""
    if job.connection.sandbox:
        badge = (
            "<span class='omni-sandbox-badge' style='background:#bf8700;color:white;"
            "padding:1px 6px;border-radius:4px;font-weight:bold;margin-right:6px' "
            f"title='{html.escape(REAL_SERVICE_HINT)}'>SANDBOX</span>"
        )
    return (
        f"{badge}<span style='font-weight:bold;margin-right:6px'>{html.escape(job.mode)}"
        f"</span><span>{html.escape(prompt)}</span>"
    )


def _meta_html(job: Job) -> str:
    parts = [f"elapsed {job.elapsed:.0f} s"]
    if job.eta is not None:
        parts.append(f"ETA ~{job.eta:.0f} s")
    if job.task and job.task.credits_reserved is not None:
        parts.append(f"{job.task.credits_reserved:g} credits reserved")
    if job.task_id:
        parts.append(
            f"id <code class='omni-task-id' style='user-select:all'>"
            f"{html.escape(job.task_id)}</code>"
        )
    return " · ".join(parts)


def _video_children(job: Job) -> tuple[widgets.Widget, ...]:
    assert job.path is not None
    video = _with_class(
        widgets.Video(
            value=job.path.read_bytes(),
            format="mp4",
            autoplay=True,
            loop=True,
            controls=True,
            layout=widgets.Layout(max_width="480px"),
        ),
        "omni-video",
    )
    saved = widgets.HTML(f"Saved to <code class='omni-path'>{html.escape(str(job.path))}</code>")
    return video, saved


def _with_class(widget: Any, name: str) -> Any:
    widget.add_class(name)
    return widget
