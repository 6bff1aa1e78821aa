"""The notebook panel: build a request with live validation, generate, and keep a card per task.

Validation is the request classes' own: the panel builds the request from its fields, catches
``ValidationError`` and shows each problem beside its field. Generate starts a :class:`Job` on
the kernel's running event loop, so the notebook stays usable while tasks run. The videos already
in the output folder (from earlier runs) are listed below the cards, and a static twin
(``saved.py``) keeps the results visible in the saved notebook.
"""

from __future__ import annotations

import asyncio
import html
import logging
import warnings
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from ..core.budget import BudgetExceededError, check_budget
from ..core.defaults import (
    PROMPT_WARN_CHARS,
)
from ..core.errors import LongPromptWarning, ValidationError
from ..core.gateway import GATEWAYS, Gateway, get_gateway
from ..core.pricing import estimate_credits
from ..core.requests import (
    ImageToVideo,
    ReferenceToVideo,
    Request,
    TextToVideo,
    VideoEdit,
)
from ..core.result import Result
from ..core.settings import settings_for
from ..gateways.json_input import parse_json, read_json
from .card import TaskCard
from .connection import Connection, connect
from .earlier import earlier_box
from .fields import DESCRIPTION_STYLE, LABEL_WIDTH, FieldRow, strip_tags, summarize
from .jobs import Job, loop_running
from .keys import KeyBox
from .resumed import unfinished_jobs
from .saved import SavedVideo, StaticTwin, read_folder, video_card_html
from .uploads import ImageItem, ImagesField

logger = logging.getLogger("omni_widgets")

MODES: tuple[tuple[str, type[Request]], ...] = (
    ("Text → video", TextToVideo),
    ("Image → video", ImageToVideo),
    ("References → video", ReferenceToVideo),
    ("Edit a video", VideoEdit),
)
MODE_HINTS = {
    TextToVideo: "A video with sound from your words alone.",
    ImageToVideo: "Animates exactly one image, guided by the prompt.",
    ReferenceToVideo: "Subjects or style follow reference images.",
    VideoEdit: "Edits a 3-10 s MP4 given by URL; the result keeps its length and shape.",
}
DEFAULT_OUTPUT_DIR = "omni_outputs"
# After a click, Generate stays disabled at least this long, so a double click makes one task
# even when the service answers the first click faster than the second one arrives.
SUBMIT_HOLD_S = 1.0
# The static twin lists at most this many videos (by relative path: nothing is sent).
EARLIER_STATIC = 24


class Panel(widgets.VBox):
    """Build a Gemini Omni Flash request, generate it, and watch every task of the session.

    ``connection`` defaults to :func:`connect` (the real service when a key is configured, else
    the shared local sandbox); ``output_dir`` is where videos are saved. With ``resume`` (the
    default) the panel also shows and watches the tasks an earlier session left unfinished,
    found in the task ledger. ``gateway`` picks the service that sells the model (None:
    ``OMNI_GATEWAY`` or EvoLink); the form's fields and limits follow the picker.
    """

    def __init__(
        self,
        *,
        connection: Connection | None = None,
        output_dir: str | Path = DEFAULT_OUTPUT_DIR,
        resume: bool = True,
        gateway: str | Gateway | None = None,
    ) -> None:
        chosen = get_gateway(connection.gateway if connection else gateway)
        ask_for_key = connection is None and settings_for(chosen).api_key is None
        if connection is None:
            connection = connect() if gateway is None else connect(gateway=chosen)
        self.service = KeyBox(connection, self._on_connection, ask=ask_for_key)
        self._submitting: Job | None = None
        self._confirmed_over_budget: Request | None = None  # over the budget, clicked once
        self._hold: asyncio.TimerHandle | None = None
        self._touched: set[str] = set()
        self._problems: list[str] = []
        self.jobs: list[Job] = []
        self._shown_in: int | None = None
        self.twin = StaticTwin()
        self._build_form(str(output_dir))
        self.earlier_videos = read_folder(output_dir)
        self.earlier = earlier_box(self.earlier_videos, output_dir)
        super().__init__(
            [
                widgets.HTML(
                    self.twin.live_style()
                    + "<div style='font-size:15px;font-weight:bold;margin-bottom:4px'>"
                    "Gemini Omni Flash · video</div>"
                ),
                self.service,
                self.gateway_row,
                self.mode_row,
                self.prompt_row,
                self.images_row,
                self.video_row,
                self.duration_row,
                self.aspect_row,
                self.resolution_row,
                self.advanced,
                widgets.HBox(
                    [self.generate_button, self.reason],
                    layout=widgets.Layout(align_items="center", margin="4px 0"),
                ),
                self.message,
                self.cards,
                self.earlier,
            ],
            layout=widgets.Layout(max_width="800px", padding="4px"),
        )
        self.add_class("omni-panel")
        self._apply_limits()
        self._on_mode(None)
        if resume:
            self.resume_unfinished()

    def resume_unfinished(self) -> list[Job]:
        """A card, watched to its saved video, for each task an earlier session left unfinished.

        Needs a running event loop (a notebook has one); tasks that can no longer be saved are
        named in the panel's message line.
        """
        if not loop_running():
            return []
        try:
            jobs, settled = unfinished_jobs(
                self.connection, self.output_dir.value.strip() or None, earlier_only=True
            )
        except Exception as exc:  # the panel must open even when the ledger cannot be read
            logger.warning("could not resume earlier tasks: %s: %s", type(exc).__name__, exc)
            return []
        for job in reversed(jobs):  # the newest ends on top
            self.add_job(job)
            job.resume()
            self._watch(job)
        if settled:
            self.show_message(
                f"{len(settled)} earlier task(s) cannot be saved any more: "
                + "; ".join(f"{o.task_id or '(no id)'}: {o.state}" for o in settled)
                + " (see %omni list --unfinished or --failed)"
            )
        return jobs

    # --- the form -----------------------------------------------------------------------------

    def _build_form(self, output_dir: str) -> None:
        self.gateway_picker = widgets.Dropdown(
            options=[(g.title, g.name) for g in GATEWAYS.values()],
            value=self.connection.gateway,
            description="Gateway",
            tooltip="The service that sells the model; fields and limits follow it",
            style=DESCRIPTION_STYLE,
        )
        self.gateway_picker.add_class("omni-gateway-picker")
        self.gateway_picker.observe(self._on_gateway, names="value")
        self.gateway_row = FieldRow("gateway", self.gateway_picker)
        self.mode = widgets.ToggleButtons(
            options=[(label, cls.model) for label, cls in MODES],
            value=TextToVideo.model,
            tooltips=[MODE_HINTS[cls] for _, cls in MODES],
            style={"button_width": "auto"},
        )
        self.mode.observe(self._on_mode, names="value")
        self.mode_row = FieldRow("mode", _labelled("Mode", self.mode))

        self.prompt = widgets.Textarea(
            description="Prompt",
            placeholder=(
                "Describe the video: subject, action, camera, light, sound. E.g. “A red kite "
                "dances over a windy beach at sunset, slow dolly shot, waves and gulls.”"
            ),
            rows=3,
            continuous_update=True,
            style=DESCRIPTION_STYLE,
            layout=widgets.Layout(width="100%"),
        )
        self.prompt.add_class("omni-prompt-input")
        self.prompt.observe(lambda _: self._changed("prompt"), names="value")
        self.prompt_row = FieldRow("prompt", self.prompt)

        self.images = ImagesField(lambda: self._changed("images"))
        self.images_row = FieldRow("images", _labelled("Images", self.images))

        self.video_url = widgets.Text(
            description="Video URL",
            placeholder="https://…/clip.mp4 (an MP4 of 3-10 s)",
            continuous_update=True,
            style=DESCRIPTION_STYLE,
            layout=widgets.Layout(width="100%"),
        )
        self.video_url.observe(lambda _: self._changed("video_url"), names="value")
        self.video_row = FieldRow("video_url", self.video_url)

        self.duration = widgets.Dropdown(
            options=[("5 s", 5)],
            value=5,
            description="Duration",
            style=DESCRIPTION_STYLE,
        )
        self.duration.observe(lambda _: self._changed("duration"), names="value")
        self.duration_row = FieldRow("duration", self.duration)

        self.aspect_ratio = widgets.ToggleButtons(
            options=[("16:9", "16:9")], value="16:9", style={"button_width": "64px"}
        )
        self.aspect_ratio.observe(lambda _: self._changed("aspect_ratio"), names="value")
        self.aspect_row = FieldRow("aspect_ratio", _labelled("Aspect ratio", self.aspect_ratio))

        self.resolution = widgets.Dropdown(description="Resolution", style=DESCRIPTION_STYLE)
        self.resolution.observe(lambda _: self._changed("resolution"), names="value")
        self.resolution_row = FieldRow("resolution", self.resolution)

        self.json_text = widgets.Textarea(
            placeholder='{"model": "gemini_omni_flash", "mode": "text-to-video", "input": '
            '{"prompt": "…", "duration": 6}}  (the ToAPIs guide\'s JSON, or a create body)',
            rows=4,
            layout=widgets.Layout(width="100%"),
        )
        self.json_text.add_class("omni-json-input")
        self.json_button = widgets.Button(
            description="Fill the form", tooltip="Read the JSON above into the form's fields"
        )
        self.json_button.add_class("omni-json-fill")
        self.json_button.on_click(lambda _: self.fill_from_json(self.json_text.value))
        self.paste_json = widgets.Accordion(
            children=[widgets.VBox([self.json_text, self.json_button])],
            titles=("Paste JSON",),
            selected_index=None,
            layout=widgets.Layout(margin="2px 0 6px 0"),
        )
        self.paste_json.add_class("omni-paste-json")

        self.callback_url = widgets.Text(
            description="Callback URL",
            placeholder="optional: https://your.server/hook (public HTTPS only)",
            continuous_update=False,
            style=DESCRIPTION_STYLE,
            layout=widgets.Layout(width="100%"),
        )
        self.callback_url.observe(lambda _: self._changed("callback_url"), names="value")
        self.callback_row = FieldRow(
            "callback_url",
            self.callback_url,
            hint="The service POSTs the finished task there; you need not set it in a notebook.",
        )
        self.output_dir = widgets.Text(
            value=output_dir,
            description="Save to",
            placeholder=DEFAULT_OUTPUT_DIR,
            style=DESCRIPTION_STYLE,
            layout=widgets.Layout(width="100%"),
        )
        self.output_row = FieldRow(
            "output_dir", self.output_dir, hint="Folder for the MP4s (relative to the notebook)."
        )
        self.advanced = widgets.Accordion(
            children=[widgets.VBox([self.paste_json, self.callback_row, self.output_row])],
            titles=("Advanced",),
            selected_index=None,
            layout=widgets.Layout(margin="2px 0 6px 0"),
        )
        self.advanced.add_class("omni-advanced")

        self.generate_button = widgets.Button(
            description="Generate",
            icon="play",
            button_style="primary",
            tooltip="Create the task; its card appears below",
            disabled=True,
        )
        self.generate_button.add_class("omni-generate")
        self.generate_button.on_click(self._on_generate)
        self.reason = widgets.HTML()
        self.reason.add_class("omni-reason")
        self.message = widgets.HTML()
        self.message.add_class("omni-message")
        self.cards = widgets.VBox()
        self.cards.add_class("omni-cards")

    @property
    def rows(self) -> dict[str, FieldRow]:
        """The request fields' rows, by request field name."""
        return {
            row.name: row
            for row in (
                self.prompt_row,
                self.images_row,
                self.video_row,
                self.duration_row,
                self.aspect_row,
                self.resolution_row,
                self.callback_row,
            )
        }

    @property
    def connection(self) -> Connection:
        """Where new tasks go: the sandbox, or the service of the configured or typed key."""
        return self.service.connection

    @property
    def gateway(self) -> Gateway:
        """The gateway the picker shows: new tasks go to its service and meet its limits."""
        return get_gateway(self.gateway_picker.value)

    @property
    def request_class(self) -> type[Request]:
        return next(cls for _, cls in MODES if cls.model == self.mode.value)

    def build_request(self) -> Request:
        """The request the fields describe, within the gateway's limits; raises ValidationError
        listing every problem."""
        request = self._fields_request()
        self.gateway.check(request)
        return request

    def _fields_request(self) -> Request:
        cls = self.request_class
        prompt = self.prompt.value
        callback = self.callback_url.value.strip() or None
        timing: dict[str, Any] = {
            "duration": self.duration.value,
            "aspect_ratio": self.aspect_ratio.value,
            "callback_url": callback,
            "resolution": self.resolution.value if self.resolution_row.visible else None,
        }
        images = self.images.values()
        if cls is TextToVideo:
            return TextToVideo(prompt, **timing)
        if cls is ImageToVideo:
            return ImageToVideo(prompt, images[0] if len(images) == 1 else images, **timing)
        if cls is ReferenceToVideo:
            return ReferenceToVideo(prompt, images, **timing)
        return VideoEdit(prompt, self.video_url.value.strip(), callback_url=callback)

    # --- the gateway and pasted JSON ---------------------------------------------------------

    def _on_gateway(self, _: Any) -> None:
        """Another gateway: its service (or its sandbox dialect) and its limits on the fields."""
        if self.connection.gateway != self.gateway.name:
            self.service.switch(connect(gateway=self.gateway))
        self._apply_limits()
        self._on_mode(None)

    def _apply_limits(self) -> None:
        """Offer what the gateway accepts, keeping each value it still allows."""
        gateway = self.gateway
        limits, defaults = gateway.limits, gateway.defaults
        durations: list[tuple[str, int | str]] = [(f"{n} s", n) for n in limits.durations]
        if limits.auto_duration:
            durations.insert(0, ("auto (the model decides)", "auto"))
        kept = self.duration.value
        self.duration.options = durations
        values = [v for _, v in durations]
        self.duration.value = kept if kept in values else defaults.duration
        self.duration_row.set_hint(f"{limits.durations_text()} on {gateway.title}")
        aspect = self.aspect_ratio.value
        self.aspect_ratio.options = [(ratio, ratio) for ratio in limits.aspect_ratios]
        self.aspect_ratio.value = (
            aspect if aspect in limits.aspect_ratios else defaults.aspect_ratio
        )
        if limits.resolutions:
            chosen = self.resolution.value
            self.resolution.options = list(limits.resolutions)
            self.resolution.value = (
                chosen if chosen in limits.resolutions else defaults.resolution
            ) or limits.resolutions[0]
            only = [f"{r} only with {' or '.join(a)}" for r, a in limits.resolution_aspects.items()]
            self.resolution_row.set_hint("; ".join(only))
        self.callback_row.show(limits.callback_url)

    def fill_from_json(self, text: str) -> Request | None:
        """Fill the form from pasted JSON (the ToAPIs guide's or a create body); the fields
        show what the gateway would refuse. Returns the request when it is valid here."""
        try:
            cls, values, written_for = read_json(text)
        except ValidationError as exc:
            self.show_message(f"The JSON cannot fill the form: {exc}")
            return None
        self.mode.value = cls.model
        self.prompt.value = str(values.get("prompt") or "")
        for name, widget in (
            ("duration", self.duration),
            ("aspect_ratio", self.aspect_ratio),
            ("resolution", self.resolution),
        ):
            given = values.get(name)
            if name == "resolution" and isinstance(given, str):
                given = self.gateway.limits.resolution(given) or given
            if given in [v for _, v in _pairs(widget.options)]:
                widget.value = given
        self.callback_url.value = str(values.get("callback_url") or "")
        self.video_url.value = str(values.get("video_url") or "")
        images = values.get("images", values.get("image"))
        self.images.clear()
        for url in images if isinstance(images, list) else [images] if images else []:
            self.images.add(ImageItem(name=str(url), url=str(url)))
        self._touched.update(self.rows)
        try:
            request, _ = parse_json(text, self.gateway)
        except ValidationError as exc:
            self.show_message(f"Filled from the JSON (written for {written_for}); {exc}")
            self._validate()
            return None
        self.show_message("")
        self._validate()
        return request

    # --- live validation ----------------------------------------------------------------------

    def _on_mode(self, _: Any) -> None:
        cls = self.request_class
        limits = self.gateway.limits
        self.mode_row.set_hint(MODE_HINTS[cls])
        self.images_row.show(cls in (ImageToVideo, ReferenceToVideo))
        counts = " or ".join(str(n) for n in limits.reference_images)
        if len(limits.reference_images) > 2:
            counts = f"{limits.reference_images[0]} to {limits.reference_images[-1]}"
        urls = " (URLs only on this gateway)" if limits.urls_only else ""
        self.images_row.set_hint(
            ("Exactly 1 image" if cls is ImageToVideo else f"{counts} images, most important first")
            + urls
            + "."
        )
        self.video_row.show(cls is VideoEdit)
        self.duration_row.show(cls is not VideoEdit)
        self.aspect_row.show(cls is not VideoEdit)
        self.resolution_row.show(cls is not VideoEdit and bool(limits.resolutions))
        self._validate()

    def _changed(self, field: str) -> None:
        self._touched.add(field)
        self._validate()

    def _validate(self) -> Request | None:
        """Check the fields, show each problem beside its field; return the request if valid."""
        self.prompt_row.set_hint(prompt_hint(len(self.prompt.value)))
        names = self.images.upload_names()
        try:
            with warnings.catch_warnings():  # the hint above says it, on every keystroke
                warnings.simplefilter("ignore", LongPromptWarning)
                request: Request | None = self.build_request()
            problems = []
        except ValidationError as exc:
            request, problems = None, exc.problems
            for name, row in self.rows.items():
                # "image" (image-to-video) is shown in the images row.
                mine = exc.for_field(name) + (exc.for_field("image") if name == "images" else [])
                shown = mine if name in self._touched or name != "prompt" else []
                row.set_problems(shown, names)
        if request is not None:
            for row in self.rows.values():
                row.set_problems([])
        self._problems = [summarize([p], names) for p in problems]
        self._refresh_generate()
        return request

    def _refresh_generate(self) -> None:
        busy = self._submitting is not None
        valid = not self._problems
        self.generate_button.disabled = busy or not valid
        self.generate_button.description = "Submitting…" if busy else "Generate"
        if busy:
            reason = "Creating the task…"
        elif not valid:
            reason = "Can't generate yet. " + " · ".join(self._problems)
        else:
            reason = ""
        colour = "#57606a" if busy or valid else "#9a6700"
        self.reason.value = (
            f"<span style='color:{colour};font-size:12px;margin-left:8px'>"
            f"{html.escape(reason)}</span>"
            if reason
            else ""
        )

    @property
    def reason_text(self) -> str:
        """Why Generate is disabled, as plain text (empty when it is enabled)."""
        return html.unescape(strip_tags(self.reason.value))

    # --- generating ---------------------------------------------------------------------------

    def _on_generate(self, _: Any) -> None:
        try:
            self.generate()
        except Exception as exc:  # a click handler's error would otherwise go to a log only
            logger.exception("Generate failed")
            self.show_message(f"Generate failed: {exc}")

    def generate(self) -> Job | None:
        """What Generate does: start a job for the current request, unless one is submitting.

        Must be called on a running event loop (a notebook cell or widget callback is).
        """
        if self._submitting is not None:
            return None
        request = self._validate()
        if request is None or not self._within_budget(request):
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.show_message(
                "Generate needs a running event loop: use the panel in a Jupyter notebook "
                "(or call it from async code)."
            )
            return None
        self.show_message("")
        job = Job(self.connection, request, dest=self.output_dir.value.strip() or None)
        self._submitting = job
        self._refresh_generate()
        self._hold = loop.call_later(SUBMIT_HOLD_S, self._release)
        job.subscribe(lambda j: self._release() if j.phase != "submitting" else None)
        self.add_job(job)
        try:
            job.start()
        finally:
            if not job.running:
                self._submitting = None
                self._refresh_generate()
        self._watch(job)
        return job

    def _within_budget(self, request: Request) -> bool:
        """The session's budget (``set_budget`` / ``OMNI_BUDGET``): over it, the first click
        shows the estimate and a second click on the same request confirms."""
        try:
            check_budget(estimate_credits(request), what="this video")
        except BudgetExceededError as exc:
            if self._confirmed_over_budget == request:
                return True
            self._confirmed_over_budget = request
            self.show_message(f"{exc}. Press Generate again to go ahead.")
            return False
        return True

    def add_job(self, job: Job) -> TaskCard:
        """Put a card for ``job`` at the top of the panel (newest first)."""
        card = TaskCard(job, on_resubmit=self._on_resubmit)
        self.jobs.insert(0, job)
        job.subscribe(lambda j: self.twin.update(self.static_html()) if j.done else None)
        self.cards.children = (card, *self.cards.children)
        return card

    def _on_resubmit(self, job: Job) -> None:
        self.add_job(job)
        self._watch(job)

    def _watch(self, job: Job) -> None:
        """Show in the panel anything that escapes a job's task (nothing may be lost)."""
        # Job keeps a strong reference to its asyncio task; the panel only observes it.
        future: asyncio.Task[None] | None = job._future
        if future is not None:
            future.add_done_callback(lambda f: self._job_ended(job, f))

    def _job_ended(self, job: Job, future: asyncio.Task[None]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.show_message(f"The task runner for {job!r} stopped: {type(exc).__name__}: {exc}")
            if self._submitting is job:
                self._submitting = None
                self._refresh_generate()

    def _release(self) -> None:
        """Re-enable Generate once the submit finished and the double-click hold is over."""
        job = self._submitting
        if job is None or job.phase == "submitting":
            return
        if self._hold is not None and self._hold.when() > self._hold_loop_time():
            return
        self._submitting = None
        self._hold = None
        self._refresh_generate()

    def _hold_loop_time(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return float("inf")

    def show_message(self, text: str) -> None:
        """A line under Generate for things that are about the panel, not one task."""
        self.message.value = (
            f"<div role='alert' style='color:#cf222e'>{html.escape(text)}</div>" if text else ""
        )

    @property
    def message_text(self) -> str:
        return html.unescape(strip_tags(self.message.value))

    @property
    def results(self) -> list[Result]:
        """Completed videos of this panel, newest first; each displays as an embedded video."""
        return [
            Result(job.task, job.path)
            for job in self.jobs
            if job.phase == "completed" and job.task and job.path
        ]

    def static_html(self) -> str:
        """The panel for a notebook without a kernel: its finished videos and the folder's."""
        session = [
            SavedVideo.from_request(job.path, job.task.id, job.request.describe())
            for job in self.jobs
            if job.phase == "completed" and job.task and job.path and job.request
        ]
        known = {saved.task_id for saved in session}
        earlier = [saved for saved in self.earlier_videos if saved.task_id not in known]
        shown = (session + earlier)[:EARLIER_STATIC]
        folder = html.escape(self.output_dir.value or DEFAULT_OUTPUT_DIR)
        total = len(session) + len(earlier)
        lines = [
            "<div style='font-weight:bold'>Gemini Omni Flash · video (omni-widgets panel)</div>",
            "<div style='color:#57606a;font-size:12px'>Saved view: run this cell with a kernel "
            f"to generate. {total} video(s) in {folder}/"
            + (f", the newest {len(shown)} below" if len(shown) < total else "")
            + ".</div>",
        ]
        lines += [video_card_html(saved) for saved in shown]
        return "".join(lines)

    def show_static_form(self) -> None:
        """Display the static twin below the panel (kept up to date as videos finish)."""
        self.twin.show(self.static_html())

    # --- keys and display ---------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self.show_message("")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = (
                "omni-widgets panel: generate Gemini Omni Flash videos. It is interactive: run "
                "this cell with a live kernel to use it. Videos are saved under "
                f"{self.output_dir.value or DEFAULT_OUTPUT_DIR}/ next to the notebook."
            )
        return bundle

    def _ipython_display_(self) -> None:
        # `omni_widgets.panel()` as a cell's last line would show the panel a second time as
        # the cell's result: skip that one display in the cell that panel() displayed it in.
        if self._shown_in is not None and self._shown_in == _execution_count():
            self._shown_in = None
            return
        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        self.show_static_form()

    def __repr__(self) -> str:
        return f"<omni_widgets.Panel: {len(self.jobs)} tasks, {self.connection!r}>"


def prompt_hint(count: int) -> str:
    """The prompt's length, with a notice once it passes the length the service may refuse."""
    text = f"{count:,} character{'s' if count != 1 else ''}"
    if count > PROMPT_WARN_CHARS:
        text += (
            f": more than {PROMPT_WARN_CHARS:,}, the service may fail the task as "
            "'prompt is too long'"
        )
    return text


def _pairs(options: Any) -> list[tuple[Any, Any]]:
    """A selection widget's options as (label, value) pairs."""
    return [o if isinstance(o, tuple) else (o, o) for o in options]


def _labelled(text: str, control: widgets.Widget) -> widgets.HBox:
    """A control with a label in the same column as the ``description`` labels of the others."""
    label = widgets.HTML(
        f"<div style='text-align:right;padding-right:8px'>{html.escape(text)}</div>",
        layout=widgets.Layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH),
    )
    return widgets.HBox([label, control], layout=widgets.Layout(align_items="center"))


def panel(**kwargs: Any) -> Panel:
    """Display a new :class:`Panel` and return it (as a cell's last line it is shown once)."""
    new = Panel(**kwargs)
    display(new)  # type: ignore[no-untyped-call]
    new._shown_in = _execution_count()
    return new


def _execution_count() -> int | None:
    from IPython import get_ipython

    shell = get_ipython()
    return None if shell is None else int(shell.execution_count)
