"""The ``%omni`` / ``%%omni`` magics: generation at the speed of typing, and task housekeeping.

``%load_ext omni_widgets`` registers :class:`OmniMagics`. A generation line creates its task
synchronously (a quick POST), so a bad key, a refused request or no credits fail right in the cell
with one line, the cell counts as failed (Run All stops there), and ``-o`` can store the task at
once. Watching and downloading then go on as a :class:`Job` on the kernel's event loop, shown by
the shared task card, so the kernel stays free; ``--wait`` follows the job with the job's own
plain, interruptible loop instead.
"""

from __future__ import annotations

import argparse
import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.core.magic_arguments import argument, kwds, magic_arguments
from IPython.display import display
from traitlets import Bool, Float, Int, TraitError, Unicode, Union, validate
from traitlets.config import Config

# Only what registering the magics needs (the traits, options and help) is imported here; the
# gateways, and with them the requests, are loaded already by ``import omni_widgets``. The notebook
# layer and the rest of the core are imported by the methods that use them, on first use.
from ..core.defaults import DEFAULT_ASPECT_RATIO, DEFAULT_DURATION
from ..core.errors import OmniError, ValidationError
from ..core.gateway import GATEWAYS, get_gateway
from ..core.requests import ASPECT_RATIOS, MAX_REFERENCES
from .request import (
    ASPECT_VALUES,
    DURATION_VALUES,
    Choice,
    build_request,
    parse_aspect,
    parse_duration,
    usage_error,
)
from .text import Word, fill_placeholders, split_line

if TYPE_CHECKING:
    from ..core.gateway import Gateway
    from ..core.ledger import Ledger, LedgerRecord
    from ..core.task import Task
    from ..notebook.card import TaskCard
    from ..notebook.connection import Connection
    from ..notebook.jobs import Job

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
HELP_FLAGS = ("-h", "--help")
#: What ``%omni list --failed`` shows: tasks that ended without a video.
FAILED_STATUSES = ("failed", "cancelled", "rejected", "expired", "not found")
LIST_OPTIONS = ("unfinished", "failed", "today")
MAX_OPTIONS = 32  # a line needs at most about 15 (--ref up to 6 times)


def _option(*names: str, **settings: Any) -> Callable[[F], F]:
    """IPython's ``@argument`` (argparse ``add_argument``), typed for mypy."""
    return cast(Callable[[F], F], argument(*names, **settings))  # type: ignore[no-untyped-call]


def _parsed_options() -> Callable[[F], F]:
    """IPython's ``@magic_arguments()``: builds the parser and help from the ``@_option`` list."""
    return cast(Callable[[F], F], magic_arguments())  # type: ignore[no-untyped-call]


def _usage(text: str) -> Callable[[F], F]:
    """IPython's ``@kwds(usage=...)``: the usage lines at the top of the help."""
    return cast(Callable[[F], F], kwds(usage=text))  # type: ignore[no-untyped-call]


class _Sub:
    """A subcommand's shape: how many words follow it and which options it takes."""

    def __init__(self, least: int, most: int, options: tuple[str, ...] = (), usage: str = ""):
        self.least, self.most, self.options, self.usage = least, most, options, usage


SUBCOMMANDS: dict[str, _Sub] = {
    "panel": _Sub(0, 0, ("gateway",), usage="%omni panel [--gateway NAME]"),
    "gallery": _Sub(0, 0, usage="%omni gallery"),
    "status": _Sub(0, 1, ("gateway",), usage="%omni status [ID] [--gateway NAME]"),
    "list": _Sub(0, 0, LIST_OPTIONS, "%omni list [--unfinished] [--failed] [--today]"),
    "wait": _Sub(1, 1, ("out", "name", "gateway"), "%omni wait ID [--out DIR] [-o NAME]"),
    "resume": _Sub(
        0,
        1,
        ("out", "name", "wait", "gateway"),
        "%omni resume [ID] [--wait] [--out DIR] [-o NAME]",
    ),
    "config": _Sub(0, 0, usage="%omni config"),
    "sandbox": _Sub(1, 1, usage="%omni sandbox start|stop"),
    "help": _Sub(0, 0, usage="%omni help"),
}
#: Options a subcommand does not take, by their argparse ``dest``, as the user would type them.
OPTION_NAMES = {
    "duration": "--duration",
    "aspect": "--aspect",
    "image": "--image",
    "ref": "--ref",
    "video": "--video",
    "callback": "--callback",
    "resolution": "--resolution",
    "gateway": "--gateway",
    "json": "--json",
    "out": "--out",
    "wait": "--wait/--no-wait",
    "name": "-o",
    "unfinished": "--unfinished",
    "failed": "--failed",
    "today": "--today",
}


@magics_class
class OmniMagics(Magics):
    """``%omni`` and ``%%omni``; the traits are the defaults a line's options override.

    Set them with ``%config OmniMagics.duration = 6`` or ``c.OmniMagics.duration = 6`` in
    ``ipython_config.py``.
    """

    duration = Union(
        [Int(), Unicode()],
        default_value=DEFAULT_DURATION,
        help=f"Seconds of video when --duration is not given: {DURATION_VALUES}.",
    ).tag(config=True)
    aspect_ratio = Unicode(
        DEFAULT_ASPECT_RATIO,
        help=f"Aspect ratio when --aspect is not given: one of {ASPECT_VALUES}.",
    ).tag(config=True)
    out = Unicode(
        None,
        allow_none=True,
        help="Folder for saved videos when --out is not given (None: ./omni_outputs).",
    ).tag(config=True)
    wait = Bool(
        False, help="Block each generation cell until its video plays (as --wait does)."
    ).tag(config=True)
    budget = Float(
        None,
        allow_none=True,
        help="Credits a %%omni grid may be estimated at before it asks to confirm (None: the "
        "session's omni_widgets.set_budget or OMNI_BUDGET).",
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._connection_cache: tuple[tuple[str, ...], Connection] | None = None
        self._gateway: str | None = None  # this line's --gateway

    @property
    def _user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "OmniMagics needs a shell"
        ns: dict[str, Any] = self.shell.user_ns
        return ns

    @validate("duration")
    def _check_duration(self, proposal: Any) -> Any:
        try:
            return parse_duration(str(proposal["value"]))
        except argparse.ArgumentTypeError:
            raise TraitError(
                f"OmniMagics.duration = {proposal['value']!r}: not a duration; allowed: "
                f"{DURATION_VALUES}"
            ) from None

    @validate("aspect_ratio")
    def _check_aspect_ratio(self, proposal: Any) -> Any:
        if proposal["value"] not in ASPECT_RATIOS:
            raise TraitError(
                f"OmniMagics.aspect_ratio = {proposal['value']!r}: not an aspect ratio; "
                f"allowed: {ASPECT_VALUES}"
            )
        return proposal["value"]

    def update_config(self, config: Any) -> None:
        """Apply ``%config OmniMagics...``; a bad value is one readable line and changes nothing.

        IPython's ``%config`` logs an exception from here as "ERROR:root:..." (a log record, not
        a message meant for people), so the error is printed here instead.
        """
        section = type(self).__name__
        if section not in config:
            super().update_config(config)
            return
        for key, value in list(config[section].items()):
            try:
                super().update_config(Config({section: {key: value}}))
            except TraitError as exc:
                # The shell's other configurables merge the same Config into their configs (the
                # shell's among them): drop the bad value from it, and put back the value in
                # force where one merged it already, so a later OmniMagics (%reload_ext) works.
                del config[section][key]
                shared = [self.config] + [
                    c.config for c in getattr(self.shell, "configurables", [])
                ]
                for merged in shared:
                    if section in merged and key in merged[section]:
                        merged[section][key] = getattr(self, key)
                print(f"UsageError: {exc} (the setting is unchanged)", file=sys.stderr)
        others = Config({name: value for name, value in config.items() if name != section})
        if others:
            super().update_config(others)

    # --- the magic -----------------------------------------------------------------------

    @_parsed_options()
    @_usage(
        "omni [options] PROMPT...\n"
        "  %%%%omni [options]        (the cell body is the prompt)\n"
        "  %%%%omni --json [options] (the cell body is a request's JSON)\n"
        "  %%omni panel | status [ID] | list [--unfinished|--failed|--today] | wait ID\n"
        "  %%omni resume [ID] | gallery | config\n"
        "  %%omni sandbox start|stop | help | --help\n\n"
        "options: [--duration SECONDS] [--aspect RATIO] [--image PATH|URL]\n"
        "         [--ref PATH|URL]... [--video URL] [--callback URL] [--out DIR]\n"
        "         [--gateway NAME] [--resolution RES]\n"
        "         [--wait | --no-wait] [-o NAME]"
    )
    @_option(
        "--duration",
        type=parse_duration,
        metavar="SECONDS",
        help=f"length of the video; allowed: {DURATION_VALUES} (default {DEFAULT_DURATION}; "
        "%%config OmniMagics.duration). Not with --video.",
    )
    @_option(
        "--aspect",
        "--aspect-ratio",
        dest="aspect",
        type=parse_aspect,
        choices=ASPECT_RATIOS,
        metavar="RATIO",
        help=f"shape of the video; allowed: {ASPECT_VALUES} (default {DEFAULT_ASPECT_RATIO}; "
        "%%config OmniMagics.aspect_ratio). Not with --video.",
    )
    @_option(
        "--image",
        action="append",
        metavar="PATH|URL",
        help="image-to-video: animate this one image; allowed: a png, jpeg or webp file (at "
        "most 10 MB, 240-7680 px a side) or an http(s) URL.",
    )
    @_option(
        "--ref",
        action="append",
        metavar="PATH|URL",
        help=f"reference-to-video: the video's subjects or style follow these images; allowed: "
        f"1 to {MAX_REFERENCES} of them (repeat --ref), each as for --image.",
    )
    @_option(
        "--video",
        metavar="URL",
        help="video edit: the result keeps the input's length and shape; allowed: an http(s) "
        "URL of an MP4 of 3-10 s.",
    )
    @_option(
        "--callback",
        metavar="URL",
        help="the service POSTs the task there when it ends; allowed: a public https URL of at "
        "most 2048 characters.",
    )
    @_option(
        "--gateway",
        choices=list(GATEWAYS),
        metavar="NAME",
        help="the service that sells the model; allowed: "
        + ", ".join(GATEWAYS)
        + " (default: $OMNI_GATEWAY, else evolink). Its key variable and limits apply.",
    )
    @_option(
        "--resolution",
        metavar="RES",
        help="output resolution, on gateways that have one (toapis: 720P, or 1080p with 16:9).",
    )
    @_option(
        "--json",
        action="store_true",
        help="%%%%omni only: the cell body is a request's JSON: the ToAPIs guide's {model, mode, "
        "input} or a gateway's create body (a body that is a JSON object is read so anyway).",
    )
    @_option(
        "--out",
        metavar="DIR",
        help="where the video and its JSON sidecar go; allowed: a folder (default "
        "./omni_outputs; %%config OmniMagics.out) or a path ending in .mp4.",
    )
    @_option(
        "--wait",
        dest="wait",
        action="store_const",
        const=True,
        help="block the cell until the video plays; the stop button ends the waiting, never "
        "the task, which its card keeps watching (default: %%config OmniMagics.wait).",
    )
    @_option(
        "--no-wait",
        dest="wait",
        action="store_const",
        const=False,
        help="return as soon as the task exists, even if OmniMagics.wait is True.",
    )
    @_option(
        "-o",
        dest="name",
        metavar="NAME",
        help="store the task in this variable; allowed: a Python name. It holds a live "
        "TaskHandle (.status, .progress, .path, .result, .wait(); always the latest state), or "
        "with --wait (and for wait) the Result (.task, .path; it shows the video).",
    )
    @_option(
        "--unfinished",
        action="store_true",
        help="list only: tasks that may still give a video not saved yet.",
    )
    @_option(
        "--failed",
        action="store_true",
        help="list only: tasks that ended without a video (failed, cancelled, rejected, "
        "expired, not found).",
    )
    @_option("--today", action="store_true", help="list only: tasks created today.")
    @_option(
        "prompt",
        nargs="*",
        help="what the video shows; {name} placeholders are filled from your variables.",
    )
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def omni(
        self, line: str, cell: str | None = None, local_ns: Mapping[str, Any] | None = None
    ) -> None:
        """Make videos with Gemini Omni Flash, and follow this session's video tasks.

        Generate (the magic returns as soon as the task exists; a live card shows status,
        progress and ETA, then plays the video, saved in ./omni_outputs/ with a JSON sidecar):

          %omni a red kite over the sea --duration 6 --aspect 9:16
          %omni she turns and smiles --image portrait.png -o task
          %omni a kitten plays --ref cat.png --ref yarn.webp
          %omni make it snow --video https://example.com/clip.mp4
          %omni "a cat on a skateboard" --wait -o result

          %%omni --duration 6
          A slow pan over {city} at dawn,
          mist rising from the river.

        The kind follows the options (at most one of them): no image is text-to-video, one
        --image is image-to-video, 1 to 6 --ref is reference-to-video, --video is a video edit.
        In %%omni the whole cell body is the prompt and the first line takes options only.

        Placeholders, in the line and in the cell body alike: {name} is replaced by the value
        of that variable ({obj.attr}, {items[0]} and {x:.1f} work too); write {{ and }} for
        literal braces. An unknown name is an error and creates no task. $name and {expr} are
        not expanded (unlike other magics), so prices like $5 stay as typed.

        Quoting: a word that starts with ' or " runs to the matching quote, so
        "a prompt with --dashes" is one word; apostrophes inside words (a cat's hat) need no
        quotes.

        Subcommands run only when the line begins with one of these words, unquoted:

          %omni panel               open the panel
          %omni status [ID]         one task's state (default: this session's newest)
          %omni list                every recorded task of every session, newest first
                                    (--unfinished, --failed, --today filter it)
          %omni wait ID             block until the task's video is saved and plays
                                    (takes --out, -o NAME: stores the Result)
          %omni resume ID           watch and download a task created elsewhere or before a
                                    kernel restart (takes --wait, --out, -o)
          %omni resume              the same, with a live card each, for every unfinished
                                    task in the task ledger (takes --out)
          %omni gallery             every recorded result: filter, page, compare 2 to 4
                                    side by side, copy a result as code
          %omni config              the effective settings (the API key stays masked)
          %omni sandbox start|stop  start or stop the shared local sandbox
          %omni help, %omni --help, %omni?   this help

        A grid: %%omni grid --duration 5 6 --aspect 16:9 9:16 with one prompt per line below
        makes every combination, validated and priced first, shown in one live table (also
        --image A B, --ref A B, --concurrency N, --budget CREDITS, --out DIR, -o NAME).

        To make a video of a prompt that begins with one of these words, quote the prompt,
        %omni "list of birds flying", or use %%omni.

        Without --wait the kernel stays free; --wait blocks the cell until the video plays,
        and the notebook's stop button ends the waiting, never the task: the card keeps
        watching it, and %omni wait ID waits again. Bad options or values are reported in one
        line naming the option, and create no task.

        Service: OMNI_API_KEY (or EVOLINK_API_KEY) and OMNI_BASE_URL choose it. With no key,
        the shared local sandbox (one process for all your kernels, kept until 2 h idle)
        makes free local videos and each card says SANDBOX.

        Defaults: %config OmniMagics.duration = 6 (also aspect_ratio, out, wait), or
        c.OmniMagics.duration = 6 in ipython_config.py. Options on the line win.
        """
        words = split_line(line)
        if cell is None and _asks_for_help(words):
            print(self.help_text())
            return
        namespace: Mapping[str, Any] = ChainMap(dict(local_ns or {}), self._user_ns)
        words = [Word(fill_placeholders(w.text, namespace), w.quoted) for w in words]
        if cell is not None and words and not words[0].quoted and words[0].text == "grid":
            self._grid([w.text for w in words[1:]], fill_placeholders(cell, namespace))
            return
        if cell is None and words and not words[0].quoted and words[0].text in SUBCOMMANDS:
            self._subcommand(words[0].text, [w.text for w in words[1:]])
            return
        args = self._parse([w.text for w in words])
        self._gateway = args.gateway
        if cell is not None and (args.json or _json_object(cell)):
            if args.prompt:
                raise UsageError("%%omni --json takes options only: the cell body is the JSON")
            self._generate_json(args, cell)  # no {placeholders}: braces are JSON's own
            return
        if args.json:
            raise UsageError("--json applies to %%omni only: put the JSON in the cell body")
        if cell is not None:
            if args.prompt:
                raise UsageError(
                    f"%%omni takes options only on its first line (got {' '.join(args.prompt)!r}):"
                    " the cell body is the prompt"
                )
            prompt = fill_placeholders(cell, namespace).strip()
        else:
            prompt = " ".join(args.prompt)
        self._generate(args, prompt)

    def help_text(self) -> str:
        """The argparse help of ``%omni``: every option, its allowed values, the subcommands."""
        return _without_rest_marker(str(_parser().format_help()))

    # --- generating ----------------------------------------------------------------------

    def _generate(self, args: argparse.Namespace, prompt: str) -> None:
        stray = [OPTION_NAMES[name] for name in LIST_OPTIONS if getattr(args, name)]
        if stray:
            raise UsageError(f"{', '.join(stray)} applies only to %omni list")
        choice = Choice(
            prompt=prompt,
            duration=self.duration if args.duration is None else args.duration,
            aspect_ratio=self.aspect_ratio if args.aspect is None else args.aspect,
            explicit_shape=args.duration is not None or args.aspect is not None,
            image=args.image or [],
            refs=args.ref or [],
            video=args.video,
            callback=args.callback,
            resolution=args.resolution,
        )
        gateway = get_gateway(args.gateway)
        if args.duration is None and self.duration == DEFAULT_DURATION:
            choice = replace(choice, duration=gateway.defaults.duration)
        request = build_request(choice)
        try:
            gateway.check(request)
        except ValidationError as exc:
            raise usage_error(exc) from None
        self._submit(args, request)

    def _generate_json(self, args: argparse.Namespace, body: str) -> None:
        """``%%omni --json``: the cell body is the request (the guide's JSON or a create body)."""
        shaped = ("duration", "aspect", "image", "ref", "video", "callback", "resolution")
        stray = [OPTION_NAMES[dest] for dest in shaped if getattr(args, dest)]
        if stray:
            raise UsageError(f"{', '.join(stray)} cannot be combined with JSON: write it there")
        from ..gateways.json_input import parse_json

        try:
            request, _ = parse_json(body, get_gateway(args.gateway))
        except ValidationError as exc:
            raise usage_error(exc) from None
        self._submit(args, request)

    def _submit(self, args: argparse.Namespace, request: Any) -> None:
        from ..core.budget import BudgetExceededError, check_budget
        from ..core.pricing import estimate_credits
        from ..notebook.jobs import Job

        gateway = get_gateway(args.gateway)
        try:
            credits = estimate_credits(request, gateway)
            check_budget(credits, self.budget, "this video", "OmniMagics.budget")
        except BudgetExceededError as exc:
            raise UsageError(f"{exc} (no task was created)") from None
        name = _variable_name(args.name)
        connection = self._connection()
        task = _one_line(connection.sync_client.submit, request)
        job = Job(connection, request, task=task, dest=args.out or self.out)
        self._follow(job, wait=self.wait if args.wait is None else args.wait, name=name)

    def _follow(self, job: Job, *, wait: bool, name: str | None, fresh: bool = True) -> None:
        """Watch a job: in the background with a live card, or here with --wait."""
        from ..core.result import Result
        from ..notebook.handle import TaskHandle
        from ..notebook.jobs import loop_running

        if wait:
            show_card(job)
            _wait_here(job)
            if name:
                assert job.task is not None and job.path is not None
                self._user_ns[name] = Result(job.task, job.path)
            return
        if name:
            self._user_ns[name] = TaskHandle(job)
        if not loop_running():
            print(
                f"Task {job.task_id} exists, but nothing can watch it here: this shell has no "
                f"running event loop (not a Jupyter kernel?). Wait for it with: "
                f"%omni wait {job.task_id}",
                file=sys.stderr,
            )
            return
        if fresh:
            job.start()
        else:
            job.resume()
        show_card(job)

    def _grid(self, words: list[str], body: str) -> None:
        """``%%omni grid``: validate and price every row, then show the live grid."""
        from ..core.batch import plan
        from ..notebook.grid import Grid
        from .grid import grid_rows, parse_grid_line

        options = parse_grid_line(words)
        rows = grid_rows(options, body, self.duration, self.aspect_ratio)
        try:
            planned = plan(rows, grid_id=options.grid_id)
        except ValidationError as exc:
            raise UsageError(f"{exc} (no task was created)") from None
        view = Grid(
            planned,
            self._connection(),
            concurrency=options.concurrency,
            budget=options.budget if options.budget is not None else self.budget,
            dest=options.out or self.out,
            budget_source="--budget" if options.budget is not None else "OmniMagics.budget",
        )
        if options.name:
            self._user_ns[_variable_name(options.name) or options.name] = view
        print(planned.summary())
        view.start()
        display(view)  # type: ignore[no-untyped-call]

    # --- subcommands ---------------------------------------------------------------------

    def _subcommand(self, command: str, rest: list[str]) -> None:
        _refuse_dollar_names(command, rest)
        args = self._parse(rest)
        self._gateway = args.gateway
        shape = SUBCOMMANDS[command]
        words = args.prompt
        if not shape.least <= len(words) <= shape.most:
            quoted = " ".join([command, *words])
            raise UsageError(
                f"usage: {shape.usage} (got {len(words)} argument"
                f"{'' if len(words) == 1 else 's'}); to make a video of a prompt that starts "
                f'with {command!r}, quote it: %omni "{quoted}"'
            )
        given = [dest for dest, value in vars(args).items() if dest != "prompt" and value]
        stray = [OPTION_NAMES[dest] for dest in given if dest not in shape.options]
        if stray:
            raise UsageError(f"{', '.join(stray)} does not apply to {shape.usage}")
        handler: Callable[[list[str], argparse.Namespace], None] = getattr(self, f"_do_{command}")
        handler(words, args)

    def _do_help(self, words: list[str], args: argparse.Namespace) -> None:
        print(self.help_text())

    def _do_panel(self, words: list[str], args: argparse.Namespace) -> None:
        from ..notebook.panel import panel

        # Displays itself (and returns the Panel, which a magic need not echo).
        panel() if args.gateway is None else panel(gateway=args.gateway)

    def _do_gallery(self, words: list[str], args: argparse.Namespace) -> None:
        from IPython.display import display

        from ..core.ledger import Ledger
        from ..core.settings import resolve_ledger
        from ..notebook.gallery import gallery

        path, _ = resolve_ledger()
        if path is None:
            print("The task ledger is off (OMNI_LEDGER), so there are no recorded results to show.")
            return
        display(gallery(Ledger(path)))  # type: ignore[no-untyped-call]

    def _do_status(self, words: list[str], args: argparse.Namespace) -> None:
        from ..notebook.jobs import find_job, session_jobs
        from .report import job_status, jobs_table, task_status

        if not words:
            jobs = session_jobs()
            print(job_status(jobs[0]) if jobs else jobs_table([]))
            return
        job = find_job(words[0])
        if job is not None:
            print(job_status(job))
        else:
            print(task_status(_one_line(self._connection().sync_client.get, words[0])))

    def _do_list(self, words: list[str], args: argparse.Namespace) -> None:
        import sqlite3

        from ..core.ledger import Ledger
        from ..core.settings import resolve_ledger
        from ..notebook.jobs import session_jobs
        from .report import jobs_table, ledger_table

        path, _ = resolve_ledger()
        if path is None:
            print("The task ledger is off (OMNI_LEDGER); this session's tasks:")
            print(jobs_table(session_jobs()))
            return
        try:
            records = _listed(Ledger(path), args)
        except (OmniError, sqlite3.Error, OSError) as exc:
            print(f"Cannot read the task ledger {path}: {type(exc).__name__}: {exc}")
            return
        print(ledger_table(records, what=_listed_what(args)))

    def _do_wait(self, words: list[str], args: argparse.Namespace) -> None:
        from ..core.result import Result

        job = self._job_for(words[0], args.out)
        if job.phase == "completed" and job.path is not None and job.path.is_file():
            show_card(job)  # already saved: show it playing
        else:
            self._follow(job, wait=True, name=None)
        name = _variable_name(args.name)
        if name:
            assert job.task is not None and job.path is not None
            self._user_ns[name] = Result(job.task, job.path)

    def _do_resume(self, words: list[str], args: argparse.Namespace) -> None:
        if not words:
            self._resume_all(args)
            return
        from ..notebook.handle import TaskHandle
        from ..notebook.jobs import find_job

        name = _variable_name(args.name)
        known = find_job(words[0])
        job = self._job_for(words[0], args.out)
        wait = self.wait if args.wait is None else args.wait
        if job.running and not wait:
            print(f"Task {job.task_id} is already being watched; here is its card.")
            show_card(job)
            if name:
                self._user_ns[name] = TaskHandle(job)
            return
        self._follow(job, wait=wait, name=name, fresh=known is None)

    def _resume_all(self, args: argparse.Namespace) -> None:
        """A live card for every unfinished task in the ledger; a line for each that cannot be."""
        from ..notebook.jobs import loop_running
        from ..notebook.resumed import unfinished_jobs
        from .report import resume_report

        if args.wait or args.name:
            raise UsageError("--wait and -o need a task id: %omni resume ID --wait -o NAME")
        connection = self._connection()
        ledger = connection.client.ledger
        if ledger is None:
            print("The task ledger is off (OMNI_LEDGER), so there is nothing recorded to resume.")
            return
        jobs, settled = unfinished_jobs(connection, args.out or self.out)
        for outcome in settled:
            print(resume_report(outcome))
        if not jobs:
            if not settled:
                print(f"No unfinished tasks of {connection.base_url} in {ledger.path}.")
            return
        if not loop_running():
            ids = " ".join(job.task_id or "" for job in jobs)
            print(
                f"{len(jobs)} unfinished task(s), but nothing can watch them here: this shell has "
                f"no running event loop. Wait for each with %omni wait ID: {ids}",
                file=sys.stderr,
            )
            return
        print(f"Resuming {len(jobs)} unfinished task(s) from the task ledger.")
        for job in jobs:
            job.resume()
            show_card(job)

    def _do_config(self, words: list[str], args: argparse.Namespace) -> None:
        from ..core.settings import settings_for
        from ..notebook.connection import running_sandbox
        from .report import config_report

        settings = settings_for(get_gateway(self._gateway))
        sandbox = running_sandbox()
        sandbox_url = sandbox.base_url if sandbox is not None else None
        print(
            config_report(
                settings,
                sandbox_url,
                duration=self.duration,
                aspect_ratio=self.aspect_ratio,
                out=self.out,
                wait=self.wait,
            )
        )

    def _do_sandbox(self, words: list[str], args: argparse.Namespace) -> None:
        from ..core.settings import settings_for
        from ..notebook.connection import shared_sandbox, stop_shared_sandbox
        from ..notebook.jobs import session_jobs

        action = words[0]
        if action == "start":
            from ..sandbox import DEFAULT_IDLE_EXIT

            sandbox = shared_sandbox()
            print(
                f"The sandbox runs at {sandbox.base_url}: one process (pid {sandbox.pid}) for all "
                f"your kernels, so its tasks outlive this one. It exits after "
                f"{DEFAULT_IDLE_EXIT / 3600:g} h without requests, or with %omni sandbox stop."
            )
            settings = settings_for(get_gateway(self._gateway))
            if settings.api_key is not None:
                print(
                    f"Note: an API key is set ({settings.key_source}), so %omni uses "
                    f"{settings.base_url}; the sandbox is used when no key is set."
                )
        elif action == "stop":
            old = self._connection_cache[1] if self._connection_cache else None
            if not stop_shared_sandbox():
                print("The sandbox was not running.")
                return
            self._connection_cache = None
            watched = [
                j for j in session_jobs() if j.running and old is not None and j.connection is old
            ]
            print(
                "The sandbox stopped (for all your kernels); it starts again when a task needs "
                "it, and still knows its earlier tasks."
            )
            if watched:
                print(f"{len(watched)} sandbox task(s) still running will end with an error.")
        else:
            raise UsageError(f"usage: {SUBCOMMANDS['sandbox'].usage} (got {action!r})")

    # --- helpers -------------------------------------------------------------------------

    def _parse(self, argv: list[str]) -> argparse.Namespace:
        """Options anywhere among the prompt's words; errors name the option (UsageError)."""
        options = sum(1 for word in argv if word.startswith("-"))
        if options > MAX_OPTIONS:  # argparse's time grows with the square of their number
            raise UsageError(
                f"options: {options} words start with '-'; allowed: at most {MAX_OPTIONS} "
                "(each option once, --ref up to 6 times; quote a prompt word that starts with -)"
            )
        try:
            namespace: argparse.Namespace = _parser().parse_intermixed_args(argv)
        except UsageError as exc:
            # argparse says "argument --duration: ..."; the option first reads as our messages.
            text = str(exc).removeprefix("argument ")
            raise UsageError(f"{text} (see %omni --help)") from None
        return namespace

    def _job_for(self, task_id: str, out: str | None) -> Job:
        """This session's job for the task, or a new one for a task created elsewhere."""
        from ..notebook.jobs import Job, find_job

        job = find_job(task_id)
        if job is not None:
            if out:
                job.dest = out
            return job
        connection = self._connection()
        task: Task = _one_line(connection.sync_client.get, task_id)
        return Job(connection, task=task, dest=out or self.out)

    def _connection(self) -> Connection:
        """One connection while the settings and the gateway stay the same (a new one after
        they change)."""
        import hashlib

        from ..core.settings import settings_for
        from ..notebook.connection import shared_sandbox

        gateway = get_gateway(self._gateway)
        settings = settings_for(gateway)
        if settings.api_key is None:
            sandbox = shared_sandbox() if self._gateway is None else shared_sandbox(gateway.name)
            fingerprint: tuple[str, ...] = ("sandbox", sandbox.base_url, gateway.name)
        else:
            digest = hashlib.sha256(settings.api_key.reveal().encode()).hexdigest()
            fingerprint = (digest, settings.base_url, gateway.name)
        if self._connection_cache is None or self._connection_cache[0] != fingerprint:
            made = connect() if self._gateway is None else connect(gateway=gateway)
            self._connection_cache = (fingerprint, made)
        return self._connection_cache[1]


def _json_object(body: str) -> bool:
    """True when a cell body is a JSON object (a request), not a prompt."""
    import json

    text = body.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _parser() -> Any:
    """The argparse parser IPython built for ``omni`` (a MagicArgumentParser: errors raise
    UsageError)."""
    return vars(OmniMagics)["omni"].parser


def _listed(ledger: Ledger, args: argparse.Namespace) -> list[LedgerRecord]:
    """The records ``%omni list`` shows for its filters, newest first."""
    import datetime as dt

    since = None
    if args.today:
        since = dt.datetime.combine(dt.date.today(), dt.time()).timestamp()
    status = list(FAILED_STATUSES) if args.failed else None
    if args.failed and args.unfinished:
        return []  # nothing is both
    return ledger.records(status=status, unfinished=args.unfinished, since=since)


def _listed_what(args: argparse.Namespace) -> str:
    words = [w for w in ("unfinished", "failed") if getattr(args, w)]
    return " ".join([*words, "tasks", *(["from today"] if args.today else [])])


def _asks_for_help(words: list[Word]) -> bool:
    if not words:
        return True
    return any(not w.quoted and w.text in HELP_FLAGS for w in words)


def _without_rest_marker(text: str) -> str:
    """IPython writes magic help as a reST literal block ("::" first); people see noise."""
    stripped = text.lstrip()
    return stripped[2:].lstrip("\n") if stripped.startswith("::") else text


def _refuse_dollar_names(command: str, words: list[str]) -> None:
    """``%omni status $tid`` would send "$tid": %omni fills {name}, never $name."""
    for word in words:
        name = word[1:]
        if word.startswith("$") and name.isidentifier():
            raise UsageError(
                f"%omni {command} {word}: $name is not filled in by %omni (it would be sent as "
                f"typed); write {{{name}}} to use the variable {name}"
            )


def _variable_name(name: str | None) -> str | None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"-o {name!r}: a Python variable name (letters, digits, _) is needed")
    return name


def _one_line(call: Callable[..., T], *args: Any) -> T:
    """Call the service; its errors show as one line in the cell (their messages say it all)."""
    try:
        return call(*args)
    except ValidationError as exc:
        raise usage_error(exc) from None
    except OmniError as exc:
        _render_as_one_line(exc, f"{type(exc).__name__}: {exc}")
        raise


def _wait_here(job: Job) -> None:
    """Follow the job in this cell; on interrupt, say that the task goes on, then stop the cell."""
    try:
        job.wait_blocking()
    except KeyboardInterrupt as exc:
        going_on = "its card keeps watching" if job.running else "it goes on"
        _render_as_one_line(
            exc,
            f"KeyboardInterrupt: stopped waiting for task {job.task_id}; {going_on}. "
            f"Wait again with: %omni wait {job.task_id}",
        )
        raise
    if job.phase != "completed":
        error = job.error or OmniError(f"task {job.task_id} ended as {job.phase}")
        _render_as_one_line(error, f"{type(error).__name__}: {error}")
        raise error


def _render_as_one_line(exc: BaseException, text: str) -> None:
    """IPython shows an exception with ``_render_traceback_`` as those lines, not a traceback."""
    setattr(exc, "_render_traceback_", lambda: [text])  # noqa: B010


def connect(gateway: str | Gateway | None = None) -> Connection:
    """``notebook.connection.connect``, imported on first use (a name of this module, so tests
    can wrap it)."""
    from ..notebook.connection import connect as connect_now

    return connect_now() if gateway is None else connect_now(gateway=gateway)


def show_card(job: Job) -> TaskCard:
    """``notebook.card.show_card``, imported on first use (a name of this module, so tests can
    wrap it)."""
    from ..notebook.card import show_card as show_now

    return show_now(job)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext omni_widgets``: register ``%omni`` / ``%%omni`` (configurable OmniMagics)."""
    ipython.register_magics(OmniMagics(ipython))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext omni_widgets``: remove the magics; tasks already started go on."""
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("omni", None)
    manager.registry.pop(OmniMagics.__name__, None)
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, OmniMagics)]


# %omni? shows the function's docstring, which IPython also starts with "::".
_omni_function = vars(OmniMagics)["omni"]
_omni_function.__doc__ = _without_rest_marker(_omni_function.__doc__ or "")
