"""Helpers for the course in notebooks/: which service a lesson uses, what it will cost, and checks
that tell a learner in plain words whether an exercise is right.

It lives in the package (not beside the notebooks) so that a notebook imports it the same way
wherever it runs: from notebooks/ in Jupyter, in a copy made by CI, or after `pip install`.

    from omni_widgets import teaching
    lesson = teaching.start(seconds=[4, 4, 6])   # says which service, prints the expected cost
    client = lesson.client()
    ...
    teaching.check_request(request, kind=TextToVideo, duration=6)   # as a cell's last line,
    # shows "Right: ..." or "Not yet: ..." with what is missing, in plain words
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .core.batch import plan
from .core.client import AsyncOmniClient, OmniClient
from .core.errors import Problem, ValidationError
from .core.gateway import get_gateway
from .core.pricing import credits_for, estimated_tokens
from .core.requests import ReferenceToVideo, Request
from .core.result import Result
from .core.settings import Settings, resolve
from .core.task import Task

SPEED_VARIABLE = "OMNI_TEACHING_SPEED"
"""Sandbox speed for lessons (vendor seconds per real second); CI sets `inf`."""
RIGHT, NOT_YET = "Right:", "Not yet:"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Lesson:
    """The service a lesson talks to: a key's, a shared sandbox server's, or a private sandbox."""

    api_key: str = field(repr=False)
    base_url: str
    description: str
    sandbox: Any = field(default=None, repr=False)
    """The private in-process `Sandbox`, when the lesson started one (its `.faults` work)."""
    others: dict[str, Any] = field(default_factory=dict, repr=False)
    """Private sandboxes of other gateways' dialects, started by :meth:`gateway_client`."""

    @property
    def is_sandbox(self) -> bool:
        """True when no real credits are spent: a private sandbox, or a sandbox server."""
        return self.sandbox is not None or _sandbox_url(self.base_url)

    def client(self, **options: Any) -> OmniClient:
        """A blocking client for this lesson's service (polls every second on a sandbox)."""
        options.setdefault("poll_interval", 1.0 if self.is_sandbox else 3.0)
        return OmniClient(self.api_key, self.base_url, **options)

    def async_client(self, **options: Any) -> AsyncOmniClient:
        """The async twin of :meth:`client`."""
        options.setdefault("poll_interval", 1.0 if self.is_sandbox else 3.0)
        return AsyncOmniClient(self.api_key, self.base_url, **options)

    def gateway_client(
        self, gateway: str, *, seconds: Sequence[int] = (), **options: Any
    ) -> OmniClient:
        """A blocking client for another gateway: the real one when its own key variable (e.g.
        TOAPIS_API_KEY) is set, else a private sandbox speaking its dialect; prints which, and
        the cost of the `seconds` of video the lesson makes there.

        Only the gateway's own variable counts here, so a lesson never sends an EvoLink key to
        another gateway just because it sits in OMNI_API_KEY.
        """
        chosen = get_gateway(gateway)
        variable = next((v for v in chosen.key_env if os.environ.get(v)), None)
        key = os.environ[variable] if variable else None
        if key is not None:
            where = f"the real {chosen.name} at {chosen.default_base_url} (key from {variable})"
            options.setdefault("poll_interval", chosen.poll_every_s)
            client = OmniClient(key, gateway=chosen.name, **options)
        else:
            from .sandbox import Sandbox

            sb = self.others.get(chosen.name)
            if sb is None:
                speed = float(os.environ.get(SPEED_VARIABLE, "40"))
                sb = self.others[chosen.name] = Sandbox(gateway=chosen.name, speed=speed).start()
            variables = " or ".join(chosen.key_env)
            where = f"a private {chosen.name} sandbox in this kernel (no {variables} is set)"
            options.setdefault("poll_interval", 1.0)
            client = OmniClient(sb.api_key, sb.base_url, gateway=chosen.name, **options)
        print(f"The {chosen.name} gateway: {where}.")
        print(cost_line(seconds, free=key is None))
        return client

    def close(self) -> None:
        """Stop the private sandboxes, if any."""
        if self.sandbox is not None:
            self.sandbox.stop()
        for sb in self.others.values():
            sb.stop()


def start(
    *, seconds: Sequence[int] = (), edits: int = 0, sandbox_only: bool = False, **sandbox: Any
) -> Lesson:
    """Pick the service (a key from the environment, else a private sandbox) and print the cost.

    `seconds` lists the length of every video the lesson makes and `edits` counts its video
    edits, so the learner sees the bill before anything is sent. `sandbox_only` always uses a
    private sandbox (for lessons that order faults, which only a sandbox takes); other keywords
    go to `Sandbox(...)`.
    """
    settings = resolve()
    if settings.api_key is not None and not sandbox_only:
        lesson = Lesson(settings.api_key.reveal(), settings.base_url, _configured(settings))
    else:
        from .sandbox import Sandbox

        sandbox.setdefault("speed", float(os.environ.get(SPEED_VARIABLE, "40")))
        sb = Sandbox(**sandbox).start()
        reason = "this lesson orders faults" if sandbox_only else "no OMNI_API_KEY is set"
        lesson = Lesson(sb.api_key, sb.base_url, f"a private sandbox in this kernel ({reason})", sb)
    print(f"This lesson uses {lesson.description}.")
    print(cost_line(seconds, edits, free=lesson.is_sandbox))
    return lesson


def preview(*, seconds: Sequence[int] = (), edits: int = 0) -> None:
    """Say which service the panel and magics will use, and print the cost; start nothing."""
    settings = resolve()
    if settings.api_key is None:
        print("This lesson uses the sandbox the magics start in this kernel (no OMNI_API_KEY).")
        print(cost_line(seconds, edits, free=True))
        return
    print(f"This lesson uses {_configured(settings)}.")
    print(cost_line(seconds, edits, free=_sandbox_url(settings.base_url)))


def _sandbox_url(url: str) -> bool:
    """A sandbox server: on this machine, or over plain http (the service is https only)."""
    parts = urlsplit(url)
    return parts.hostname in LOCAL_HOSTS or parts.scheme == "http"


def _configured(settings: Settings) -> str:
    where = "a sandbox server" if _sandbox_url(settings.base_url) else "the real service"
    return f"{where} at {settings.base_url} (key from {settings.key_source})"


def cost_line(seconds: Sequence[int], edits: int = 0, *, free: bool) -> str:
    """One sentence: how many videos, tokens and (estimated) credits; and whether it is free."""
    tokens = sum(estimated_tokens(s) for s in seconds) + edits * estimated_tokens(None, edit=True)
    count = len(seconds) + edits
    what = f"{count} video{'s' if count != 1 else ''}"
    if edits:
        what += f" ({edits} of them edit{'s' if edits != 1 else ''})"
    bill = (
        "free here: nothing is billed"
        if free
        else "billed to your key (credits are an estimate; tokens are the vendor's unit)"
    )
    return (
        f"Expected cost: {what}, {tokens:,} tokens, about {credits_for(tokens):.2f} credits; "
        f"{bill}."
    )


# --- checks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A check's answer: shown as one line, "Right: ..." or "Not yet: ...", and truthy if right."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"{RIGHT if self.ok else NOT_YET} {self.message}"

    def _repr_html_(self) -> str:
        colour, mark = ("#1a7f37", "✔") if self.ok else ("#b35900", "✘")
        return f'<div style="color:{colour};font-weight:600">{mark} {html.escape(repr(self))}</div>'


def say(ok: bool, message: str) -> Verdict:
    """The verdict a check cell shows (as its last line) for the learner, and for CI."""
    return Verdict(ok, message)


def plain(problem: Problem) -> str:
    """A validation problem in plain words, e.g. "images: 7 images given; it should be 1 to 6
    images" (what is wrong, as the project states it, then what is allowed)."""
    return f"{problem.field}: {problem.reason}; it should be {problem.allowed}"


def _missing(value: Any) -> bool:
    return value is None or value is Ellipsis


def check_request(
    request: Request | Callable[[], Request] | Any,
    *,
    kind: type[Request] | None = None,
    mentions: Iterable[str] = (),
    gateway: str | None = None,
    **expected: Any,
) -> Verdict:
    """Is `request` (or what the callable builds) valid, of `kind`, with the `expected` fields?

    Fields are compared with the request's attributes; `images=3` compares the number of
    reference images. `mentions` are words the prompt must contain. A callable is called here,
    so a ValidationError is reported with the project's own problems, in plain words. With
    `gateway`, the request must also keep within that gateway's limits.
    """
    if _missing(request):
        return say(
            False,
            f"still the placeholder `...`: build a {_kind_name(kind)} and run the cell again.",
        )
    if callable(request) and not isinstance(request, Request):
        try:
            request = request()
        except ValidationError as exc:
            listed = "; ".join(plain(p) for p in exc.problems)
            return say(False, f"the {exc.kind} would be refused: {listed}.")
    if not isinstance(request, Request):
        return say(False, f"this is a {type(request).__name__}, not a request.")
    wrong = []
    if kind is not None and not isinstance(request, kind):
        wrong.append(f"it is a {type(request).__name__}; the exercise asks for a {kind.__name__}")
    for name, want in expected.items():
        have = _field(request, name)
        if have != want:
            wrong.append(f"{name} is {have!r}; the exercise asks for {want!r}")
    prompt = request.prompt.lower()
    wrong += [f"the prompt does not mention {w!r}" for w in mentions if w.lower() not in prompt]
    if gateway is not None:
        limits = get_gateway(gateway).problems(request)
        wrong += [f"on {gateway}, {plain(p)}" for p in limits]
    if wrong:
        return say(False, "; ".join(wrong) + ".")
    where = f" on {gateway}" if gateway else ""
    return say(
        True, f"{request!r} is valid{where} (about {request.estimated_credits:.2f} credits)."
    )


def _field(request: Request, name: str) -> Any:
    if name == "images" and isinstance(request, ReferenceToVideo):
        return len(request.images)
    return getattr(request, name, None)


def _kind_name(kind: type[Request] | None) -> str:
    return kind.__name__ if kind else "request"


def check_result(result: Result | Any, **expected: Any) -> Verdict:
    """Is `result` a finished video saved as an MP4, whose request has the `expected` fields?"""
    if _missing(result):
        return say(False, "still the placeholder `...`: generate a video and store its Result.")
    if not isinstance(result, Result):
        return say(False, f"this is a {type(result).__name__}; the exercise wants a Result.")
    path = Path(result.path)
    if not path.is_file() or path.read_bytes()[4:8] != b"ftyp":
        return say(False, f"task {result.task.id} has no saved MP4 at {path}.")
    wrong = _differences(result.task, expected)
    if wrong:
        return say(False, f"task {result.task.id}: {wrong}.")
    size = path.stat().st_size // 1024
    return say(True, f"task {result.task.id} completed; its video is saved at {path} ({size} KB).")


def check_results(results: Sequence[Result] | Any, *, count: int, **expected: Any) -> Verdict:
    """Are `results` exactly `count` saved videos of distinct tasks, each as `expected`?"""
    if _missing(results) or not isinstance(results, (list, tuple)) or not results:
        return say(False, f"still the placeholder: collect {count} Results in a list.")
    if len(results) != count:
        return say(False, f"you have {len(results)} results; the exercise wants {count}.")
    ids = {getattr(getattr(r, "task", None), "id", None) for r in results}
    if len(ids) != count:
        return say(False, "some results are the same task; make one task per prompt.")
    for result in results:
        verdict = check_result(result, **expected)
        if not verdict:
            return verdict
    listed = ", ".join(sorted(str(i) for i in ids))
    return say(True, f"{count} video{'s' if count != 1 else ''} saved: {listed}.")


def check_task(task: Task | Any, *, mentions: Iterable[str] = (), **expected: Any) -> Verdict:
    """Is `task` a Task whose request has the `expected` fields and whose prompt `mentions`...?"""
    if _missing(task):
        return say(
            False, "still the placeholder `...`: create a task and store it (e.g. with `-o`)."
        )
    if not isinstance(task, Task) and isinstance(getattr(task, "task", None), Task):
        task = task.task  # what `-o NAME` stores: a live handle on the task
    if not isinstance(task, Task):
        return say(False, f"this is a {type(task).__name__}; the exercise wants a Task.")
    wrong = _differences(task, expected, mentions)
    if wrong:
        return say(False, f"task {task.id}: {wrong}.")
    return say(True, f"task {task.id} ({task.status}) has {_describe(expected) or 'a request'}.")


def _differences(task: Task, expected: Mapping[str, Any], mentions: Iterable[str] = ()) -> str:
    """What differs between the task's request and the exercise, in words ('' if nothing)."""
    request = task.request
    wrong = [
        f"{name} is {getattr(request, name, None)!r}; the exercise asks for {want!r}"
        for name, want in expected.items()
        if getattr(request, name, None) != want
    ]
    prompt = str(getattr(request, "prompt", "")).lower()
    wrong += [
        f"the prompt does not mention {w!r}" for w in mentions if str(w).lower() not in prompt
    ]
    return "; ".join(wrong)


def _describe(expected: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in expected.items())


def check_error(
    caught: BaseException | Any, expected: type[BaseException], *, about: str = ""
) -> Verdict:
    """Did the learner catch an error of the `expected` class (whose message names `about`)?"""
    if _missing(caught):
        return say(
            False, f"still the placeholder `...`: wrap the call in try/except {expected.__name__}."
        )
    if not isinstance(caught, BaseException):
        return say(False, f"this is a {type(caught).__name__}; store the exception itself.")
    if not isinstance(caught, expected):
        return say(
            False,
            f"you caught a {type(caught).__name__}; the exercise expects a {expected.__name__}.",
        )
    if about and about not in str(caught):
        return say(False, f"the {expected.__name__} does not mention {about!r}: {caught}")
    return say(True, f"{type(caught).__name__}: {caught}")


PROMPT_PARTS: dict[str, tuple[str, ...]] = {
    "the camera": (
        "camera",
        "pan",
        "dolly",
        "tracking",
        "close-up",
        "wide shot",
        "zoom",
        "crane",
        "handheld",
        "aerial",
        "static shot",
        "tilt",
        "orbit",
    ),
    "sound": ("sound", "hear", "audio", "music", "voice", "says", "silence", "ambient", "hum"),
    "what to leave out": ("no ", "without", "avoid", "never"),
}


def check_prompt(
    prompt: str | Any, *, parts: Iterable[str] = PROMPT_PARTS, words: int = 15
) -> Verdict:
    """Does the prompt have at least `words` words and a phrase for each of the `parts`?"""
    if _missing(prompt) or not isinstance(prompt, str) or not prompt.strip():
        return say(False, "still the placeholder `...`: write your prompt as a string.")
    text = f" {prompt.lower()} "
    wrong = []
    if len(prompt.split()) < words:
        wrong.append(f"it has {len(prompt.split())} words; give the model at least {words}")
    for part in parts:
        hints = PROMPT_PARTS[part]
        if not any(h in text for h in hints):
            examples = ", ".join(repr(h.strip()) for h in hints[:3])
            wrong.append(f"it says nothing about {part} (try {examples})")
    if wrong:
        return say(False, "your prompt: " + "; ".join(wrong) + ".")
    return say(True, f"your prompt has {len(prompt.split())} words and covers {', '.join(parts)}.")


def check_fault(rule: Any, *, kind: str, fired: int, tasks_created: int) -> Verdict:
    """Is `rule` a sandbox fault of `kind` that fired `fired` times while one video was made
    (`tasks_created` tasks), as it should when faults are refused before a task starts?"""
    if _missing(rule):
        return say(False, "still the placeholder `...`: store what sandbox.faults...(...) returns.")
    if getattr(rule, "kind", None) != kind:
        made = getattr(rule, "kind", type(rule).__name__)
        return say(False, f"this is {made!r}; the exercise asks for a {kind} rule.")
    if rule.fired != fired:
        return say(False, f"your rule fired {rule.fired} times; the exercise wants {fired}.")
    if tasks_created != 1:
        return say(False, f"{tasks_created} tasks were created for one video; expected 1.")
    return say(True, f"your {kind} rule fired {fired} times and exactly 1 task was created.")


def check_script(
    path: str | os.PathLike[str],
    *args: str,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
) -> Verdict:
    """Run a Python script as its own process (no Jupyter); right if it exits 0 and prints the
    path of an MP4 that exists. The environment (key, base URL) is passed on unchanged, or
    `env` is the script's whole environment."""
    script = Path(path)
    if not script.is_file():
        return say(False, f"there is no {script} yet: run the %%writefile cell first.")
    try:
        done = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else dict(env),
        )
    except subprocess.TimeoutExpired:
        return say(False, f"{script} still ran after {timeout:g} s; does it wait for something?")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return say(False, f"{script} stopped with exit code {done.returncode}: {last}")
    videos = [w for w in done.stdout.split() if w.endswith(".mp4") and Path(w).is_file()]
    if not videos:
        return say(False, f"{script} ran, but printed no path of a saved .mp4: print result.path.")
    return say(True, f"{script} ran outside Jupyter and saved {', '.join(videos)}.")


def check_grid(rows: Any, *, count: int, **axes: Iterable[Any]) -> Verdict:
    """Is `rows` (anything `plan` takes: `product(...)`, requests, dicts, a DataFrame) a valid grid
    of `count` rows that covers exactly the values of each axis, e.g. `duration=[3, 4]`?"""
    if _missing(rows):
        return say(False, "still the placeholder `...`: build the rows with product(...).")
    try:
        planned = plan(rows)
    except ValidationError as exc:
        return say(False, "the grid would be refused: " + "; ".join(plain(p) for p in exc.problems))
    except TypeError as exc:
        return say(False, f"this is not a grid plan() can read: {exc}")
    wrong = []
    if len(planned) != count:
        wrong.append(f"it has {len(planned)} rows; the exercise wants {count}")
    for name, values in axes.items():
        want = sorted(set(values), key=str)
        have = sorted({row.settings().get(name) for row in planned.rows}, key=str)
        if have != want:
            wrong.append(f"its {name} values are {have}; the exercise asks for {want}")
    if wrong:
        return say(False, "; ".join(wrong) + ".")
    return say(True, f"{planned.summary()}.")


def check_report(path: str | os.PathLike[str] | Any, *, videos: int) -> Verdict:
    """Is `path` an HTML report (from `report(...)`) that plays `videos` saved videos whose files
    are where its relative links point?"""
    if _missing(path):
        return say(False, "still the placeholder `...`: store what report(...) returns.")
    page = Path(path)
    if page.suffix.lower() not in (".html", ".htm") or not page.is_file():
        return say(False, f"there is no HTML file at {page}: call report(table, 'NAME.html').")
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"<video[^>]* src='([^']+)'", text)
    missing = [link for link in links if not (page.parent / unquote(link)).is_file()]
    if missing:
        return say(False, f"{page.name} links to {len(missing)} video(s) that are not beside it.")
    if len(links) != videos:
        return say(False, f"{page.name} shows {len(links)} videos; the exercise wants {videos}.")
    return say(True, f"{page.name} shows {videos} videos, with frames and settings; open it.")


def check_code(code: str | Any, *, kind: str, mentions: Iterable[str] = ()) -> Verdict:
    """Is `code` what `copy_as_code(..., kind)` gives (a curl command, JSON, or Python) that
    reads the key from $OMNI_API_KEY, and contains each of `mentions`?"""
    if _missing(code) or not isinstance(code, str) or not code.strip():
        return say(False, f"still the placeholder `...`: store copy_as_code(..., {kind!r}).")
    wrong = []
    if kind == "curl" and not code.lstrip().startswith("curl "):
        wrong.append("it does not start with `curl `")
    if kind == "json":
        try:
            json.loads(code)
        except ValueError:
            wrong.append("it is not JSON")
    if kind in ("curl", "python") and "OMNI_API_KEY" not in code:
        wrong.append("it does not read the key from $OMNI_API_KEY")
    wrong += [f"it does not mention {m!r}" for m in mentions if str(m) not in code]
    if wrong:
        return say(False, f"your {kind} code: " + "; ".join(wrong) + ".")
    lines = len(code.strip().splitlines())
    return say(True, f"{lines} lines of {kind}, the key read from the environment, never written.")
