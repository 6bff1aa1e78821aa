"""The task card: one job's live status, progress, retry notices, and finally its video.

Shared by the panel and the magics. A card only reads its job; buttons ask the job to act.
The finished video is sent from the saved file as an ``ipywidgets.Video`` (binary comm buffer,
no base64 in the notebook): it plays in JupyterLab and Notebook 7, and is kept on reopening when
the front end saves widget state. A card shown on its own (``show_card``) also leaves a static twin
(``saved.py``): the video by relative path, prompt and settings, for notebooks opened without a
kernel.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, TypeVar, cast

import ipywidgets as widgets
from IPython.display import display
from ipywidgets.widgets.widget_string import HTMLStyle

from ..core.errors import OutcomeUnknownError
from ..core.gateway import GATEWAYS
from .codeview import CodeToggle
from .jobs import Job
from .keys import sandbox_badge
from .saved import SavedVideo, StaticTwin, note_html, video_card_html

PROMPT_EXCERPT = 80
#: Where the parts made on first use go, between the status lines and "Copy as code".
_PART_ORDER = ("notice", "problem", "buttons", "media")
# Larger files are not pushed through the comm: big widget buffers freeze the browser
# (ipywidgets#3036). The card then shows the saved path only.
MAX_INLINE_VIDEO = 64 * 1024 * 1024

CONFIRM_RESUBMIT = "Yes, create another task (may bill twice)"

MODE_LABELS = {
    "TextToVideo": "Text → video",
    "ImageToVideo": "Image → video",
    "ReferenceToVideo": "References → video",
    "VideoEdit": "Video edit",
}
STATUS_WORDS = {
    "submitting": "Submitting…",
    "pending": "Queued",
    "processing": "Generating",
    "downloading": "Downloading video…",
    "completed": "Completed",
    "failed": "Failed",
    "error": "Stopped",
}
STATUS_COLOURS = {
    "completed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#cf222e",
}


class TaskCard(widgets.VBox):
    """A live view of one :class:`Job`; it plays the saved video once the job completes."""

    def __init__(self, job: Job, on_resubmit: Callable[[Job], Any] | None = None) -> None:
        self.job = job
        self._on_resubmit = on_resubmit
        self._header = _line(_header_html(job))
        self._status = _with_class(_line(), "omni-status")
        self._bar = _with_class(
            widgets.IntProgress(
                min=0, max=100, layout=widgets.Layout(width="260px", margin="0 8px")
            ),
            "omni-progress",
        )
        self._percent = _with_class(_line(), "omni-percent")
        self._meta = _with_class(_line(), "omni-meta")
        # The notice, problem, buttons and media are made when first needed (most cards of a
        # large run never show a notice or a problem): fewer widgets, fewer objects for each
        # full garbage collection to walk.
        self._parts: dict[str, Any] = {}
        self.copy_code = CodeToggle(lambda: _code_source(job))
        self._confirming = False
        self._shown_video = False
        # What each part of the card last showed: a part is rebuilt only when its inputs change.
        self._shown: dict[str, object] = {}
        self.twin = StaticTwin()
        self._header.value = self.twin.live_style() + self._header.value
        self._top = [
            self._header,
            widgets.HBox(
                [self._status, self._bar, self._percent],
                layout=widgets.Layout(align_items="center"),
            ),
            self._meta,
        ]
        super().__init__(
            [*self._top, self.copy_code],
            layout=widgets.Layout(
                border="1px solid #d0d7de", padding="6px 12px", margin="6px 0", max_width="760px"
            ),
        )
        self.add_class("omni-card")
        job.subscribe(self._render)

    @property
    def _notice(self) -> widgets.HTML:
        """The retry notice line."""
        return self._part("notice")

    @property
    def _problem(self) -> widgets.HTML:
        """Why the job failed or stopped."""
        return self._part("problem")

    @property
    def _action(self) -> widgets.Button:
        """Resume / Resubmit."""
        return self._part("buttons").children[0]

    @property
    def _cancel(self) -> widgets.Button:
        """Cancel a resubmit that asked for confirmation."""
        return self._part("buttons").children[1]

    @property
    def _media(self) -> widgets.VBox:
        """The finished video and where it was saved."""
        return self._part("media")

    def _part(self, name: str) -> widgets.Widget:
        """The part ``name``, made and placed in the card on first use."""
        part = self._parts.get(name)
        if part is None:
            part = self._parts[name] = self._make_part(name)
            self.children = [
                *self._top,
                *(self._parts[n] for n in _PART_ORDER if n in self._parts),
                self.copy_code,
            ]
        return part

    def _make_part(self, name: str) -> widgets.Widget:
        if name == "buttons":
            action = _with_class(
                widgets.Button(layout=widgets.Layout(display="none", width="auto")), "omni-action"
            )
            action.on_click(self._act)
            cancel = _with_class(
                widgets.Button(
                    description="Cancel",
                    tooltip="Keep this card as it is; create nothing",
                    layout=widgets.Layout(display="none", width="auto"),
                ),
                "omni-cancel",
            )
            cancel.on_click(self._cancel_confirm)
            return widgets.HBox([action, cancel])
        if name == "media":
            return _with_class(widgets.VBox(layout=_shared_layout("media")), "omni-media")
        return _with_class(widgets.HTML(), "omni-notice" if name == "notice" else "omni-error")

    @property
    def status_text(self) -> str:
        """The status word the card shows, e.g. 'Completed'."""
        return STATUS_WORDS.get(self.job.phase, self.job.phase)

    def _render(self, job: Job) -> None:
        """Update the parts whose inputs changed since the last render, and only those."""
        percent = 100 if job.phase == "completed" else (job.task.progress if job.task else 0)
        if self._differs("status", job.phase):
            colour = STATUS_COLOURS.get(job.phase, "#0969da")
            self._status.value = (
                f"<span style='font-weight:bold;color:{colour};min-width:9em;"
                f"display:inline-block'>{html.escape(self.status_text)}</span>"
            )
            self._bar.bar_style = {
                "completed": "success",
                "failed": "danger",
                "error": "danger",
            }.get(job.phase, "info")
            self.copy_code.refresh()
        if self._differs("percent", percent):
            self._bar.value = percent
            self._percent.value = (
                f"<span style='font-variant-numeric:tabular-nums'>{percent}%</span>"
            )
        if self._differs("meta", _meta_key(job)):
            self._meta.value = _meta_html(job)
        if self._differs("notice", job.notice) and (job.notice or "notice" in self._parts):
            self._notice.value = (
                f"<span style='color:#9a6700'>⟳ {html.escape(job.notice)}</span>"
                if job.notice
                else ""
            )
        if self._differs("problem", (job.phase, job.error, job.task and job.task.error)):
            self._render_problem(job)
        if job.phase == "completed" and job.path and not self._shown_video:
            self._shown_video = True
            self._media.children = _video_children(job)

    def _differs(self, part: str, key: object) -> bool:
        """True (and remembered) when ``key`` differs from what ``part`` last showed."""
        if part in self._shown and self._shown[part] == key:
            return False
        self._shown[part] = key
        return True

    def _render_problem(self, job: Job) -> None:
        if job.phase == "failed" and job.task and job.task.error:
            error = job.task.error
            message = error.message.replace("\n", " ").strip()
            self._problem.value = (
                f"<div style='color:#cf222e'><b class='omni-error-code'>"
                f"{html.escape(error.code or 'failed')}</b>: {html.escape(message)}<br>"
                f"<span class='omni-advice'>What to do: {html.escape(error.advice)}.</span></div>"
            )
            self._show_action("Resubmit", "Create a new task with the same request (billed again)")
        elif job.phase == "error" and isinstance(job.error, OutcomeUnknownError):
            self._problem.value = _unknown_outcome_html(job.error)
            if not self._confirming:
                self._show_action(
                    "Resubmit…",
                    "The first task may exist and may be billed: asks before creating another",
                )
        elif job.phase in ("failed", "error"):
            self._problem.value = (
                f"<div style='color:#cf222e'>{html.escape(job.error_message)}</div>"
            )
            if job.task is not None:
                self._show_action("Resume", "Watch and download this task again (no new task)")
            elif job.request is not None:
                self._show_action("Resubmit", "Try creating the task again")
        else:
            if "problem" in self._parts:
                self._problem.value = ""
            if "buttons" in self._parts:
                self._action.layout.display = "none"
                self._cancel.layout.display = "none"
            self._confirming = False

    def _show_action(self, label: str, tooltip: str) -> None:
        self._action.description = label
        self._action.tooltip = tooltip
        self._action.icon = "play" if label == "Resume" else "redo"
        self._action.button_style = {"Resume": "info", CONFIRM_RESUBMIT: "danger"}.get(
            label, "warning"
        )
        self._action.layout.display = ""
        self._cancel.layout.display = "" if label == CONFIRM_RESUBMIT else "none"

    def _act(self, _: Any) -> None:
        label = self._action.description
        if label == "Resubmit…":
            # After an unknown outcome the first task may exist: resubmitting takes a second,
            # deliberate click on a button that says what it costs.
            self._confirming = True
            self._show_action(
                CONFIRM_RESUBMIT, "Creates and bills a new task even if the first one exists"
            )
            return
        self._confirming = False
        self._action.layout.display = "none"
        self._cancel.layout.display = "none"
        if label == "Resume":
            self.job.resume()
            return
        new_job = self.job.resubmit()
        if self._on_resubmit is not None:
            self._on_resubmit(new_job)
        else:
            show_card(new_job)

    def _cancel_confirm(self, _: Any) -> None:
        self._confirming = False
        self._shown.pop("problem", None)
        self._render(self.job)

    def static_html(self) -> str:
        """The card as static HTML: the finished video by relative path, or a line of text."""
        job = self.job
        if job.phase == "completed" and job.path is not None and job.task_id:
            payload = job.request.describe() if job.request else {"model": job.model}
            return video_card_html(SavedVideo.from_request(job.path, job.task_id, payload))
        if job.phase == "failed" and job.task and job.task.error:
            error = job.task.error
            return note_html(
                f"{MODE_LABELS.get(job.mode, job.mode)} · {_excerpt(job)} · Failed "
                f"({error.code or 'failed'}: {error.message.strip()}) · task id {job.task_id}"
            )
        text = self.static_text()
        if not job.done and job.task_id:
            text += f"; to follow it again: %omni resume {job.task_id}"
        return note_html(text)

    def leave_static_form(self) -> None:
        """Display the static twin below the card; it follows the job to its end."""
        self.twin.show(self.static_html())
        self.job.subscribe(lambda job: self.twin.update(self.static_html()) if job.done else None)

    def static_text(self) -> str:
        """The card as one line of text, for front ends that cannot show widgets."""
        job = self.job
        parts = [f"omni-widgets task ({MODE_LABELS.get(job.mode, job.mode)})", _excerpt(job)]
        parts.append(f"status when shown: {self.status_text}")
        if job.task_id:
            parts.append(f"task id {job.task_id}")
        parts.append("live status needs a running kernel; videos are saved under omni_outputs/")
        return " · ".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.static_text()
        return bundle


def show_card(job: Job) -> TaskCard:
    """Display a new card for a job in the current cell and return it."""
    card = TaskCard(job)
    display(card)  # type: ignore[no-untyped-call]
    card.leave_static_form()
    return card


def _code_source(job: Job) -> tuple[Any, str, str] | None:
    """The job's request, service address and gateway, for "Copy as code"."""
    if job.request is None:
        return None
    gateway = getattr(getattr(job.connection.client, "gateway", None), "name", "evolink")
    return job.request, job.connection.base_url, str(gateway)


def _excerpt(job: Job) -> str:
    prompt = " ".join(job.prompt.split())
    return prompt if len(prompt) <= PROMPT_EXCERPT else prompt[: PROMPT_EXCERPT - 1] + "…"


def _header_html(job: Job) -> str:
    badge = sandbox_badge(job.connection.gateway) if job.connection.sandbox else ""
    mode = MODE_LABELS.get(job.mode, job.mode)
    return (
        f"<div style='margin:2px 0 4px 0'>{badge}"
        f"<span class='omni-mode' style='font-weight:bold;margin-right:8px'>{html.escape(mode)}"
        f"</span><span class='omni-prompt' title='{html.escape(job.prompt)}'>"
        f"{html.escape(_excerpt(job))}</span></div>"
    )


def _unknown_outcome_html(error: OutcomeUnknownError) -> str:
    which = (
        f"Task <code class='omni-task-id'>{html.escape(error.task_id)}</code>"
        if error.task_id
        else "A task"
    )
    return (
        f"<div style='color:#cf222e'><b class='omni-unknown'>Outcome unknown.</b> {which} may "
        "exist and may be billed: the request reached the service but no clear answer came "
        "back, so nothing was sent again.<br><span class='omni-advice'>What to do: check your "
        "dashboard (or wait a minute) before resubmitting; a resubmit creates another task.</span>"
        f"<div style='color:#57606a;font-size:12px'>{html.escape(str(error))}</div></div>"
    )


def _meta_key(job: Job) -> tuple[object, ...]:
    """What the meta line shows, in the units it shows it (whole seconds)."""
    eta = None if job.eta is None else round(job.eta)
    credits = job.task.credits_reserved if job.task else None
    return (round(job.elapsed), eta, credits, job.task_id, job.origin)


def _meta_html(job: Job) -> str:
    parts = [f"elapsed {job.elapsed:.0f} s"]
    gateway = GATEWAYS.get(job.connection.gateway)
    title = gateway.title if gateway else job.connection.gateway
    parts.insert(0, f"<span class='omni-gateway'>{html.escape(title)}</span>")
    if job.origin:
        parts.insert(0, f"<span class='omni-origin'>{html.escape(job.origin)}</span>")
    if job.eta is not None:
        parts.append(f"ETA ~{job.eta:.0f} s")
    if job.task and job.task.credits_reserved is not None:
        parts.append(f"{job.task.credits_reserved:g} credits reserved")
    if job.task_id:
        parts.append(
            f"id <code class='omni-task-id' style='user-select:all' title='click to select'>"
            f"{html.escape(job.task_id)}</code>"
        )
    return f"<div style='color:#57606a;font-size:12px'>{' · '.join(parts)}</div>"


def _video_children(job: Job) -> tuple[widgets.Widget, ...]:
    assert job.path is not None
    size = job.path.stat().st_size
    saved = _with_class(
        _line(
            f"<div style='font-size:12px'>Saved to <code class='omni-path' "
            f"style='user-select:all'>{html.escape(str(job.path))}</code></div>"
        ),
        "omni-saved",
    )
    if size > MAX_INLINE_VIDEO:
        note = widgets.HTML(
            f"The video is {size / 1e6:.0f} MB, too large to send to the browser: open the file, "
            f"or show it with IPython.display.Video({str(job.path)!r})."
        )
        return note, saved
    video = _with_class(
        widgets.Video(
            value=job.path.read_bytes(),
            format="mp4",
            autoplay=True,
            loop=True,
            controls=True,
            # Portrait videos too: at most 480 px tall, the width follows the aspect ratio.
            layout=_shared_layout(
                "video", max_width="480px", max_height="480px", width="auto", margin="6px 0 2px 0"
            ),
        ),
        "omni-video",
    )
    return video, saved


W = TypeVar("W", bound=widgets.Widget)
_SHARED: dict[str, Any] = {}


def _shared(name: str, make: Callable[[], W]) -> W:
    """One widget of a kind, shared by every card and never changed once made (a layout, a
    style): a thousand cards' worth of widgets fewer. Made again once closed (by close_all())."""
    widget = _SHARED.get(name)
    if widget is None or widget.comm is None:
        widget = _SHARED[name] = make()
    return cast(W, widget)


def _line(value: str = "") -> widgets.HTML:
    """An HTML line sharing one default layout and style with every card's other lines."""
    return widgets.HTML(
        value, layout=_shared("line layout", widgets.Layout), style=_shared("line style", HTMLStyle)
    )


def _shared_layout(name: str, **style: str) -> widgets.Layout:
    """A layout of one kind of part (the video, the media box), shared by every card."""
    return _shared(name, lambda: widgets.Layout(**style))


def _with_class(widget: Any, name: str) -> Any:
    widget.add_class(name)
    return widget
