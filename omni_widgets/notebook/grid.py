"""``omni_widgets.grid(...)``: one live widget for a grid of requests.

A compact table (each row's settings, status, progress, then "play" or its failure code) under a
line of totals (done, failed, credits, elapsed, ETA), with Stop and Resume, and one player: pick a
finished row and its saved video plays (sent as an ``ipywidgets.Video``, because a relative
``<video src>`` inside a widget's HTML resolves against the page, not the notebook's folder).
Row changes only mark the view dirty; a flusher redraws at most every ``FLUSH_S``, as one HTML
value, and refreshes the player's list at most once a second, so a 200-row grid sends at most
about ten widget messages a second however fast rows change. Over the budget, nothing is sent
until "Run anyway" is pressed.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from typing import Any

import ipywidgets as widgets

from ..core.batch import Plan, plan, product
from ..core.batch_run import DEFAULT_CONCURRENCY, GridRun, RowOutcome, RowState, run_async
from ..core.budget import BudgetExceededError
from ..core.errors import OmniError
from ..core.requests import Request
from .connection import Connection, connect

FLUSH_S = 0.125  # 8 redraws a second leave room for the picker and buttons within ~10 messages
PICKER_EVERY = 8  # flush ticks between refreshes of the player's list of finished rows (a second)
MAX_INLINE_VIDEO = 64 * 1024 * 1024  # as the card: bigger files would freeze the browser
PROMPT_CHARS = 60
STATUS_COLOURS = {"saved": "#1a7f37", "failed": "#cf222e", "unknown": "#cf222e", "lost": "#cf222e"}


class Grid(widgets.VBox):
    """A grid being run on the kernel's event loop, drawn as one table.

    ``rows`` is every row as a plain dict (index, mode, prompt, duration, aspect_ratio, images,
    status, progress, task_id, error_code, error, credits, path, seconds); ``results()`` each
    row's Result or error, in order; ``run`` the underlying :class:`GridRun`.
    """

    def __init__(
        self,
        planned: Plan,
        connection: Connection,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        budget: float | None = None,
        dest: str | None = None,
        budget_source: str = "the budget argument",
    ) -> None:
        self.plan = planned
        self.connection = connection
        self._options: dict[str, Any] = {"concurrency": concurrency, "dest": dest}
        self._budget = (budget, budget_source)
        self.run = self._new_run()
        self.view = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.renders = 0  # how many times the view was sent (one widget message each)
        self._row_cache: dict[int, tuple[tuple[Any, ...], str]] = {}
        self._dirty = True
        self._task: asyncio.Task[list[RowOutcome]] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.stop_button = widgets.Button(description="Stop", icon="stop", tooltip=STOP_TIP)
        self.resume_button = widgets.Button(description="Resume", icon="play", tooltip=RESUME_TIP)
        self.confirm_button = widgets.Button(description="Run anyway", button_style="warning")
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self.resume())
        self.confirm_button.on_click(lambda _: self.start(confirmed=True))
        self.picker = widgets.Dropdown(
            options=[(PICK_PROMPT, -1)], value=-1, layout=widgets.Layout(width="420px")
        )
        self.picker.observe(self._play, names="value")
        self.player = widgets.Video(format="mp4", autoplay=True, loop=True, controls=True)
        self.player.layout = widgets.Layout(max_height="360px", display="none")
        self.player_note = widgets.HTML()
        self._ticks = 0
        self._picked_rows: tuple[int, ...] = ()
        self.buttons = widgets.HBox([self.stop_button, self.resume_button, self.picker])
        super().__init__([self.buttons, self.view, self.player_note, self.player])
        self.add_class("omni-grid")
        self.problem: BudgetExceededError | None = None
        self._render()

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as plain data, in order."""
        return self.run.records()

    def results(self) -> list[RowOutcome]:
        return self.run.results()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, *, confirmed: bool = False) -> Grid:
        """Run the grid on the current event loop (the kernel's) and return at once.

        Over the budget (and not ``confirmed``), shows the estimate and a "Run anyway" button.
        """
        if self.running:
            return self
        self.problem = None
        if not confirmed:
            try:
                self.run.check_budget(*self._budget)
            except BudgetExceededError as exc:
                self.problem = exc
                self.children = tuple([widgets.HBox([self.confirm_button]), self.view])
                self._render()
                return self
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise OmniError(
                "omni_widgets.grid() runs on a notebook's event loop and there is none here; "
                "in a script, use OmniClient().generate_many(...)"
            ) from None
        self.children = tuple([self.buttons, self.view, self.player_note, self.player])
        self._task = loop.create_task(run_async(self.connection.client, self.run))
        self._task.add_done_callback(lambda _: self._mark())
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_loop())
        self._update_buttons()
        return self

    def stop(self) -> None:
        """Send no more rows; rows already created are still watched and saved."""
        self.run.stop()
        self._mark()

    def resume(self) -> Grid:
        """Run again: rows with a task are watched, rows not sent are sent (never twice)."""
        if self.running:
            return self
        self.run = self._new_run()
        self._mark()
        return self.start()

    async def wait(self) -> list[RowOutcome]:
        """Wait for the run to end (``await grid.wait()``); each row's Result or error."""
        if self._task is not None:
            await self._task
        if self._flusher is not None:
            await self._flusher
        return self.results()

    def _new_run(self) -> GridRun:
        return GridRun(
            self.connection.client,
            self.plan,
            concurrency=self._options["concurrency"],
            dest=self._options["dest"],
            on_change=self._changed,
        )

    def _changed(self, _: RowState) -> None:
        self._dirty = True

    def _mark(self) -> None:
        self._dirty = True
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.stop_button.disabled = not self.running or self.run.stopped
        self.resume_button.disabled = self.running

    async def _flush_loop(self) -> None:
        while True:
            await self._sleep(FLUSH_S)
            self._ticks += 1
            if self._dirty:
                self._render()
            if not self.running:
                self._update_buttons()
                self._refresh_picker()
                return
            if self._ticks % PICKER_EVERY == 0:
                self._refresh_picker()

    def _refresh_picker(self) -> None:
        """List the finished rows in the player's menu (one message, only when they changed)."""
        done = tuple(s.index for s in self.run.rows if s.result is not None)
        if done == self._picked_rows:
            return
        self._picked_rows = done
        options = [(PICK_PROMPT, -1)] + [(_pick_label(self.run.rows[i]), i) for i in done]
        with self.picker.hold_sync():  # new labels and the kept index as one message, not two
            self.picker.options = options
        self.renders += 1

    def play(self, index: int) -> None:
        """Play a finished row's video in the grid's player."""
        state = self.run.rows[index]
        if state.result is None:
            self.player_note.value = _esc(f"row {index} has no video ({state.status})")
            return
        path = state.result.path
        if not path.is_file() or path.stat().st_size > MAX_INLINE_VIDEO:
            self.player.layout.display = "none"
            self.player_note.value = _esc(f"row {index}: open {path} to play it")
            return
        self.player.value = path.read_bytes()
        self.player.layout.display = None
        self.player_note.value = _esc(f"row {index} · {state.task_id} · {path}")

    def _play(self, change: dict[str, Any]) -> None:
        if isinstance(change["new"], int) and change["new"] >= 0:
            self.play(change["new"])

    def _render(self) -> None:
        self._dirty = False
        value = self._html()
        if value != self.view.value:
            self.view.value = value
            self.renders += 1

    def _html(self) -> str:
        totals = self.run.totals()
        problem = (
            ""
            if self.problem is None
            else f"<div class='omni-grid-problem'>{_esc(self.problem)}</div>"
        )
        rows = "".join(self._row_html(state) for state in self.run.rows)
        return (
            f"{GRID_STYLE}<div class='omni-grid-totals'>{_totals_text(self.run, totals)}</div>"
            f"{problem}<table class='omni-grid-table'><thead><tr><th>#</th><th>mode</th>"
            "<th>prompt</th><th>s</th><th>aspect</th><th>status</th><th>video</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )

    def _row_html(self, state: RowState) -> str:
        """A row's HTML, made again only when the row changed (a redraw of 200 rows stays cheap)."""
        key = (id(state), state.status, state.progress, state.task_id, state.error is None)
        cached = self._row_cache.get(state.index)
        if cached is None or cached[0] != key:
            cached = (key, _row_html(state))
            self._row_cache[state.index] = cached
        return cached[1]

    def __repr__(self) -> str:
        return f"Grid({self.plan.summary()}, {_totals_text(self.run, self.run.totals())})"


PICK_PROMPT = "Play a finished row…"
STOP_TIP = "Send no more rows; rows already created are still watched and saved"
RESUME_TIP = "Send the rows not sent yet and watch the rest (nothing is created twice)"
GRID_STYLE = (
    "<style>.omni-grid-table{border-collapse:collapse;font-size:12px}"
    ".omni-grid-table td,.omni-grid-table th{padding:2px 6px;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:middle}.omni-grid-problem{color:#cf222e;margin:4px 0}"
    ".omni-grid-totals{font-size:13px;margin:4px 0}</style>"
)


def _esc(value: object) -> str:
    return html.escape(str(value))


def _totals_text(run: GridRun, totals: dict[str, Any]) -> str:
    eta = "" if totals["eta"] is None else f" · ETA {totals['eta']:.0f} s"
    stopped = " · stopped" if run.stopped else ""
    return _esc(
        f"{run.grid_id} · {totals['done']}/{totals['rows']} done · {totals['failed']} failed · "
        f"{totals['running']} running · {totals['not_sent']} not sent · "
        f"{totals['credits']:,.2f} of {totals['estimate']:,.2f} credits · "
        f"{totals['elapsed']:.0f} s elapsed{eta} · up to {totals['limit']} at once{stopped}"
    )


def _row_html(state: RowState) -> str:
    settings = state.row.settings()
    prompt = settings["prompt"]
    short = prompt if len(prompt) <= PROMPT_CHARS else prompt[: PROMPT_CHARS - 1] + "…"
    colour = STATUS_COLOURS.get(state.status, "inherit")
    status = state.status
    if state.status not in ("saved", "queued", "not sent") and state.error is None:
        status += f" {state.progress}%"
    if state.error_code:
        status += f" ({state.error_code})"
    if state.result is not None:
        video = f"<span title='{_esc(state.result.path)}'>▶ play #{state.index}</span>"
    elif state.error is not None:
        video = f"<span title='{_esc(state.error)}'>{_esc(state.task_id or '')}</span>"
    else:
        video = _esc(state.task_id or "")
    return (
        f"<tr><td>{state.index}</td><td>{_esc(settings['mode'])}</td>"
        f"<td title='{_esc(prompt)}'>{_esc(short)}</td><td>{_esc(settings.get('duration', ''))}"
        f"</td><td>{_esc(settings.get('aspect_ratio', ''))}</td>"
        f"<td style='color:{colour}'>{_esc(status)}</td><td>{video}</td></tr>"
    )


def _pick_label(state: RowState) -> str:
    settings = state.row.settings()
    prompt = settings["prompt"][:40]
    shape = " ".join(str(settings[k]) for k in ("duration", "aspect_ratio") if k in settings)
    return f"#{state.index} · {prompt} · {shape}".strip(" ·")


def grid(
    requests: Any = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    budget: float | None = None,
    grid_id: str | None = None,
    dest: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    start: bool = True,
    **axes: Any,
) -> Grid:
    """Run a grid in the notebook and show it live; returns the widget at once.

    ``requests`` is a list of requests or dicts, a DataFrame, a Plan, or a base request whose
    ``axes`` (prompts=, durations=, aspect_ratios=, images=, modes=) are multiplied out. Every row
    is validated and priced first; above the budget nothing is sent until you confirm. With no
    key set, it runs on the local sandbox. The same grid run again (e.g. after a kernel restart)
    picks up its rows from the ledger instead of creating them twice.
    """
    if axes or requests is None or isinstance(requests, (Request, dict)):
        requests = product(requests, **axes)
    connection = connect(api_key, base_url)
    planned = plan(requests, grid_id=grid_id, gateway=getattr(connection.client, "gateway", None))
    connection.client.settings.require_key()
    view = Grid(planned, connection, concurrency=concurrency, budget=budget, dest=dest)
    return view.start() if start else view
