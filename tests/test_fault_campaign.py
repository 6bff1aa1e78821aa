"""A fault campaign: hundreds of tasks through a misbehaving sandbox, and nothing paid for is lost.

Every kind of fault the sandbox has strikes at random (seeded): 429s with and without Retry-After,
500s on queries and after creates, connections dropped before and after a create, truncated and
non-JSON bodies, truncated and HTML downloads, and business failures. The caller does what a
careful user would: it generates, and when told a task may exist with its id, follows that id
instead of resubmitting. Afterwards the sandbox's own record of created tasks is reconciled with
what the caller knows:

- no request was created twice (the client never re-sends a create that may have arrived);
- every created task was saved and verified, or is known to the caller by id with its state,
  or belongs to a request whose caller was told "a task may exist" without an id (the service
  never said which; that is the honest limit without a ledger);
- nothing but OmniError subclasses escaped;
- the ledger, written before each create was sent, holds one row per request, none left
  "submitting": every task the caller knows is there by id, every saved video with its sha256,
  and every unknown outcome without an id as "unknown", with its request.

Rendering is the sandbox's slowest part and not under test here, so one clip is rendered for real
and every task's file is a copy of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from omni_widgets import (
    AsyncOmniClient,
    DownloadError,
    Ledger,
    OmniError,
    OutcomeUnknownError,
    TaskFailedError,
    TextToVideo,
)
from omni_widgets.core.download import saved_problem
from omni_widgets.core.mp4 import verify_mp4
from omni_widgets.sandbox import Sandbox
from omni_widgets.sandbox import _files as sandbox_files
from omni_widgets.sandbox._render import render_mp4

pytestmark = pytest.mark.slow

TASKS = 220
CONCURRENCY = 16
SEED = 20261130
FAIL_CODES = ("content_policy_violation", "service_error", "generation_timeout")
PROMPT = re.compile(r"campaign #(\d+)")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omni_widgets.sandbox._render import VideoSpec

    path = tmp_path_factory.mktemp("template") / "clip.mp4"
    render_mp4(VideoSpec(640, 360, 3, "campaign", "text-to-video"), path)
    return path


@pytest.fixture
def sandbox(template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    def copy(spec: Any, path: Path, cancel: threading.Event | None = None) -> None:
        shutil.copyfile(template, path)

    monkeypatch.setattr(sandbox_files, "render_mp4", copy)
    with Sandbox(speed=float("inf"), seed=SEED) as sb:
        faults = sb.faults
        # Creates: ~30 % of them misbehave.
        faults.rate_limit(on="create", rate=0.06, retry_after=1)
        faults.rate_limit(on="create", rate=0.05)
        faults.server_error(on="create", rate=0.04)
        faults.server_error(on="create", rate=0.05, after=True)
        faults.drop(on="create", rate=0.03)
        faults.drop(on="create", rate=0.04, after=True)
        faults.malformed(on="create", rate=0.03)
        faults.malformed(on="create", rate=0.02, body="text")
        # Queries: ~20 %.
        faults.rate_limit(on="query", rate=0.05, retry_after=1)
        faults.rate_limit(on="query", rate=0.03)
        faults.server_error(on="query", rate=0.05)
        faults.drop(on="query", rate=0.02)
        faults.malformed(on="query", rate=0.03)
        faults.malformed(on="query", rate=0.02, body="text")
        # Downloads: ~25 %.
        faults.truncate(on="download", rate=0.07)
        faults.truncate(on="download", rate=0.05, content_length=False)
        faults.html(on="download", rate=0.06)
        faults.server_error(on="download", rate=0.04)
        faults.drop(on="download", rate=0.02)
        yield sb


@dataclass
class Outcome:
    """What the caller knows about one request at the end."""

    index: int
    saved: Path | None = None
    task_id: str | None = None
    state: str = ""
    unknown_without_id: bool = False
    errors: list[OmniError] = field(default_factory=list)


async def run_one(client: AsyncOmniClient, index: int, dest: Path, rng: random.Random) -> Outcome:
    outcome = Outcome(index)
    prompt = f"campaign #{index}: a paper boat on a pond"
    if rng.random() < 0.1:
        prompt += f" [[fail:{rng.choice(FAIL_CODES)}]]"
    try:
        result = await client.generate(TextToVideo(prompt, duration=3), dest=dest)
    except OutcomeUnknownError as exc:
        outcome.errors.append(exc)
        if exc.task_id is None:
            outcome.unknown_without_id = True
            return outcome
        outcome.task_id = exc.task_id  # follow the task the answer named; never resubmit
        try:
            task = await client.wait(exc.task_id)
            outcome.saved = await client.download(task, dest)
            outcome.state = "saved"
        except OmniError as later:
            outcome.errors.append(later)
            outcome.state = _state_of(later)
        return outcome
    except OmniError as exc:
        outcome.errors.append(exc)
        outcome.task_id = _id_of(exc)
        outcome.state = _state_of(exc)
        return outcome
    outcome.task_id, outcome.saved, outcome.state = result.task.id, result.path, "saved"
    return outcome


def _id_of(exc: OmniError) -> str | None:
    if isinstance(exc, TaskFailedError):
        return exc.task.id
    return getattr(exc, "task_id", None)


def _state_of(exc: OmniError) -> str:
    if isinstance(exc, TaskFailedError):
        return f"failed ({exc.code})"
    if isinstance(exc, DownloadError):
        return "completed, not saved"
    return type(exc).__name__


def test_fault_campaign(sandbox: Sandbox, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()

    async def campaign() -> tuple[list[Any], list[str]]:
        gate = asyncio.Semaphore(CONCURRENCY)
        client = AsyncOmniClient(sandbox.api_key, sandbox.base_url, timeout=10)

        async def tiny_sleep(seconds: float) -> None:  # retries and polls, without the waiting
            await asyncio.sleep(min(seconds, 0.002))

        client._sleep = tiny_sleep

        async def one(index: int) -> Outcome:
            async with gate:
                return await run_one(client, index, tmp_path, rng)

        async with client:
            results = await asyncio.gather(*(one(i) for i in range(TASKS)), return_exceptions=True)
            known = [task.id for task in client.tasks]
        return results, known

    results, client_tasks = asyncio.run(campaign())
    elapsed = time.monotonic() - started

    unhandled = [r for r in results if isinstance(r, BaseException)]
    assert unhandled == [], f"exceptions other than OmniError escaped: {unhandled[:3]!r}"
    outcomes: list[Outcome] = [r for r in results if isinstance(r, Outcome)]
    assert len(outcomes) == TASKS

    # The sandbox's record: every task it created, and which request (prompt) it came from.
    created = list(sandbox.created_task_ids)
    request_of: dict[str, int] = {}
    for task_id in created:
        stored = sandbox._state.tasks.get(task_id)
        assert stored is not None
        found = PROMPT.search(stored.request.prompt)
        assert found is not None
        request_of[task_id] = int(found.group(1))
    per_request = Counter(request_of.values())
    duplicates = {index: n for index, n in per_request.items() if n > 1}

    by_index = {o.index: o for o in outcomes}
    saved = [o for o in outcomes if o.saved is not None]
    for outcome in saved:
        assert outcome.saved is not None and outcome.task_id is not None
        assert verify_mp4(outcome.saved) is None
        assert saved_problem(outcome.task_id, outcome.saved) is None
    known_ids = {o.task_id for o in outcomes if o.task_id} | set(client_tasks)
    lost: list[str] = []
    told_may_exist = 0
    for task_id in created:
        outcome = by_index[request_of[task_id]]
        if task_id in known_ids:
            assert outcome.task_id in (task_id, None), (task_id, outcome)
            assert outcome.state or task_id in client_tasks, outcome
        elif outcome.unknown_without_id:
            told_may_exist += 1
        else:
            lost.append(task_id)
    parts = list(tmp_path.rglob("*.part"))

    kinds = Counter(type(e).__name__ for o in outcomes for e in o.errors)
    states = Counter(o.state or "unknown outcome, no id" for o in outcomes)
    fired = Counter()
    for rule in sandbox.faults.rules:
        fired[f"{rule.kind}/{rule.on}{'/after' if rule.after else ''}"] += rule.fired
    posts = sum(1 for r in sandbox.requests if r.method == "POST")
    print(
        f"\nfault campaign: {TASKS} requests, {posts} POSTs, {len(created)} tasks created, "
        f"{len(saved)} saved and verified, {len(duplicates)} duplicate creates, "
        f"{len(lost)} lost, {told_may_exist} created tasks known only as 'may exist' "
        f"(no id was ever sent), {len(unhandled)} unhandled exceptions, {elapsed:.1f} s"
    )
    print(f"  final states: {dict(sorted(states.items()))}")
    print(f"  errors seen by the caller: {dict(sorted(kinds.items()))}")
    print(f"  faults fired: {dict(sorted(fired.items()))}")

    ledger = Ledger(os.environ["OMNI_LEDGER"]).records()
    rows_by_id = {record.task_id: record for record in ledger if record.task_id}
    print(f"  ledger: {dict(sorted(Counter(r.status for r in ledger).items()))}")
    assert len(ledger) == TASKS, "one ledger row per request, written before its create"
    assert not [r for r in ledger if r.status == "submitting"]
    assert all(task_id in rows_by_id for task_id in created if task_id in known_ids)
    for outcome in saved:
        row = rows_by_id[outcome.task_id or ""]
        assert (row.status, row.path, row.sha256) == (
            "saved",
            outcome.saved,
            hashlib.sha256(outcome.saved.read_bytes()).hexdigest() if outcome.saved else None,
        )
    unknown_rows = [r for r in ledger if r.status == "unknown" and r.task_id is None]
    assert len(unknown_rows) == sum(o.unknown_without_id for o in outcomes)
    assert all(PROMPT.search(r.prompt) for r in unknown_rows)

    assert duplicates == {}, f"requests created twice: {duplicates}"
    assert lost == [], f"created tasks the caller knows nothing about: {lost}"
    assert parts == [], f"partial files left behind: {parts}"
    assert len(saved) >= TASKS // 2, "the campaign should mostly succeed"
    # The campaign exercised what it claims to.
    for kind in (
        "rate_limit/create",
        "server_error/create/after",
        "drop/create/after",
        "drop/create",
        "malformed/create",
        "server_error/query",
        "truncate/download",
        "html/download",
    ):
        assert fired[kind] > 0, f"{kind} never fired"
    assert (
        states.get("failed (content_policy_violation)", 0)
        + states.get("failed (service_error)", 0)
        + states.get("failed (generation_timeout)", 0)
        > 0
    )
