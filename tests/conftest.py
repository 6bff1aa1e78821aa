"""Shared fixtures: a real kernel (``kernel``) and JupyterLab in Chromium (``lab_server``,
``lab_servers``, ``chromium``, ``lab_page``). Helpers live in ``_kernel.py`` and ``_lab.py``.

Browser tests: mark them ``@pytest.mark.browser`` and keep them in their own modules (the
``chromium`` fixture is module-scoped, see ``_lab.py``). Write notebooks into
``lab_server.root_dir`` (a temp dir) or ``lab_server.copy_in(...)`` repo notebooks, then::

    lab_page.open_notebook("demo.ipynb")
    lab_page.run_all_cells()
    lab_page.find(".omni-card")

Tests do not skip: a skip fails unless the test is marked ``may_skip`` (``_skip_gate.py``).

Need other env for the kernels (e.g. a sandbox)? ``server = lab_servers(env={"OMNI_BASE_URL":
sb.base_url, "OMNI_API_KEY": sb.api_key})`` and ``with LabPage.new(chromium, server) as page:``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import _groups
import _tiers
import pytest
from _kernel import Kernel
from _lab import CHROMIUM_PATH, LabPage, LabServer, launch_chromium
from _render_cache import RenderCache, lasting_directory, session_directory
from _skip_gate import SkipGate
from playwright.sync_api import Browser, sync_playwright

from omni_widgets import set_budget
from omni_widgets.sandbox import _files as sandbox_files
from omni_widgets.sandbox import stop_shared
from omni_widgets.sandbox._shared import HOME_ENV

LabServerFactory = Callable[..., LabServer]
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_RENDERS = pytest.StashKey[Path]()
_MADE_RENDERS = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Only tests marked ``may_skip`` may skip; any other skip fails (see ``_skip_gate.py``).
    Hypothesis tries fewer examples in the quick loop (see ``_tiers.py``)."""
    config.pluginmanager.register(SkipGate(), "omni-skip-gate")
    # jsonschema imports rfc3987_syntax (installed with Jupyter) only to check the "iri" format,
    # and that import builds 38 grammars: 4 s in every test process. No test checks formats (none
    # passes a format checker), so test modules, imported after this, go without it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    _tiers.load_profile(_markexpr(config), config.getoption("hypothesis_profile"))
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    if _tiers.deselects_slow(_markexpr(config)) and cache is not None:
        config.stash[_RENDERS] = lasting_directory(cache.mkdir("omni-renders"))
    else:
        config.stash[_RENDERS], config.stash[_MADE_RENDERS] = session_directory()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the full run's render cache (see ``_render_cache.py``) once its run is over."""
    if config.stash.get(_MADE_RENDERS, False):
        shutil.rmtree(config.stash[_RENDERS], ignore_errors=True)


#: Modules whose every test is slow and whose collection alone costs seconds (schemathesis
#: generates its cases while collecting): a run that deselects slow tests does not import them.
SLOW_ONLY_MODULES = frozenset({"test_sandbox_fuzz.py"})


def _markexpr(config: pytest.Config) -> str:
    return str(config.getoption("markexpr") or "")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip importing ``SLOW_ONLY_MODULES`` when slow tests are deselected anyway."""
    if collection_path.name in SLOW_ONLY_MODULES and _tiers.deselects_slow(_markexpr(config)):
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a kernel takes seconds: it is ``slow`` too, out of the quick loop.

    Browser tests must live in modules that ``_groups.py`` puts in a group, so that under
    ``pytest -n N --dist loadgroup`` (``./dev test``) each group shares one worker's Lab servers.
    """
    for item in items:
        if item.path.name in SLOW_ONLY_MODULES and not item.get_closest_marker("slow"):
            raise pytest.UsageError(
                f"{item.nodeid} is not marked slow, but the quick loop never collects"
                f" {item.path.name} (SLOW_ONLY_MODULES in conftest.py): mark it slow or move it"
            )
        if item.get_closest_marker("kernel"):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("browser") and _groups.group_of(item.nodeid) is None:
            raise pytest.UsageError(
                f"{item.nodeid} is a browser test outside the modules of _groups.py:"
                " put it in a tests/test_browser_*.py module"
            )


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` keeps each group of ``_groups.py`` on one worker."""
    if config.getvalue("dist") == "loadgroup":
        return _groups.GroupScheduling(config, log)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report so fixtures can tell whether their test failed."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def _isolated_ledger(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test records its tasks in a ledger of its own, in a temp dir, never in the repo."""
    path = tmp_path_factory.mktemp("ledger") / "omni-tasks.sqlite3"
    monkeypatch.setenv("OMNI_LEDGER", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_session_budget() -> Iterator[None]:
    """A session budget a test sets (``set_budget``) ends with it: tests share their process, in
    an order that differs from run to run under xdist."""
    yield
    set_budget(None)


@pytest.fixture(scope="session", autouse=True)
def render_cache(pytestconfig: pytest.Config) -> Iterator[RenderCache]:
    """In-process sandboxes render each distinct clip once (see ``_render_cache.py``)."""
    cache = RenderCache(pytestconfig.stash[_RENDERS])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox_files, "render_mp4", cache.render)
        yield cache


@pytest.fixture(scope="session", autouse=True)
def shared_sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private home for the shared sandbox process (``OMNI_SANDBOX_HOME``) for this session, so
    tests never use or stop the developer's own; the process is stopped at the end."""
    home = tmp_path_factory.mktemp("sandbox-home")
    previous = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)
    try:
        yield home
    finally:
        stop_shared(home)
        if previous is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous


@pytest.fixture
def kernel(_isolated_ledger: Path) -> Iterator[Kernel]:
    """A started ipykernel (scrubbed env, see ``sanitized_env``; the test's own task ledger),
    shut down after the test."""
    with Kernel(env={"OMNI_LEDGER": str(_isolated_ledger)}) as k:
        yield k


@pytest.fixture(scope="session")
def lab_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServerFactory]:
    """Factory ``(env=None, root_dir=None) -> LabServer``; one server per distinct pair, reused
    for the whole session and stopped at its end. ``env`` values of None unset a variable."""
    servers: dict[tuple[object, ...], LabServer] = {}

    def get(env: Mapping[str, str | None] | None = None, root_dir: Path | None = None) -> LabServer:
        key = (tuple(sorted((env or {}).items())), root_dir)
        if key not in servers:
            state = tmp_path_factory.mktemp("lab-state")
            root = root_dir or tmp_path_factory.mktemp("lab-root")
            servers[key] = LabServer.start(root, state, env=env)
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def lab_server(lab_servers: LabServerFactory) -> LabServer:
    """The default Lab server: temp root dir, no ``OMNI_*`` variables or API keys in its env."""
    return lab_servers()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium via Playwright (module-scoped: see ``_lab.py`` on asyncio).

    Fails when /usr/bin/chromium is missing: tests do not skip (see ``_skip_gate.py``).
    """
    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(
            f"{CHROMIUM_PATH} missing: apt-get install chromium chromium-driver (./dev test does),"
            ' or deselect the browser tests with -m "not browser"'
        )
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def lab_page(
    chromium: Browser, lab_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[LabPage]:
    """A fresh tab on ``lab_server``; on failure saves ``test-artifacts/<test>-failure.png``."""
    with LabPage.new(chromium, lab_server) as page:
        yield page
        reports = request.node.stash.get(_REPORTS, {})
        if any(r.failed for r in reports.values()):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            try:
                page.screenshot(f"{name}-failure")
            except Exception as exc:  # a broken page must not hide the test's own error
                print(f"failure screenshot not saved: {exc}")
            if page.console_errors:
                print("browser console errors:\n" + "\n".join(page.console_errors))
