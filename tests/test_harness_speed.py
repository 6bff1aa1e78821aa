"""The pieces that keep the suite fast: the two tiers (``_tiers.py``), the render cache
(``_render_cache.py``) and the browser groups under xdist (``_groups.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import _render_cache
import _tiers
import pytest
from _groups import group_of
from _render_cache import RenderCache, spec_key

from omni_widgets.sandbox._render import RenderCancelled, VideoSpec

SPEC = VideoSpec(640, 360, 4, "a kite", "text-to-video")


@pytest.mark.parametrize(
    ("markexpr", "quick"),
    [
        ("not browser and not slow", True),
        ("not  slow", True),
        ("not slow and not kernel", True),
        ("", False),
        ("slow", False),
        ("not browser", False),
    ],
)
def test_the_quick_tier_is_the_run_without_slow_tests(markexpr: str, quick: bool) -> None:
    assert _tiers.deselects_slow(markexpr) is quick


@pytest.fixture
def profile(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    _tiers.load_profile(
        str(pytestconfig.getoption("markexpr") or ""), pytestconfig.getoption("hypothesis_profile")
    )


@pytest.mark.usefixtures("profile")
def test_the_quick_tier_tries_a_fifth_of_the_examples() -> None:
    assert _tiers.load_profile("") == _tiers.FULL
    assert (_tiers.examples(300), _tiers.examples(200)) == (300, 200)
    assert _tiers.load_profile("not browser and not slow") == _tiers.QUICK
    assert (_tiers.examples(300), _tiers.examples(200), _tiers.examples(20)) == (60, 40, 10)
    assert _tiers.load_profile("not slow", requested=_tiers.FULL) == _tiers.FULL
    assert _tiers.examples(300) == 300


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[VideoSpec]:
    """Stand in for the renderer: each call is recorded and writes the spec's text."""
    calls: list[VideoSpec] = []

    def fake(spec: VideoSpec, path: Path, cancel: threading.Event | None = None) -> None:
        calls.append(spec)
        path.write_bytes(f"clip of {spec.text} {len(calls)}".encode())

    monkeypatch.setattr(_render_cache, "render_mp4", fake)
    return calls


def test_a_clip_is_rendered_once_then_copied(tmp_path: Path, renders: list[VideoSpec]) -> None:
    cache = RenderCache(tmp_path / "cache")
    cache.directory.mkdir()
    cache.render(SPEC, tmp_path / "one.mp4")
    cache.render(replace(SPEC), tmp_path / "two.mp4")
    assert renders == [SPEC] and (cache.rendered, cache.copied) == (1, 1)
    assert (tmp_path / "one.mp4").read_bytes() == (tmp_path / "two.mp4").read_bytes()
    assert not list(tmp_path.glob("*.part"))
    for other in (replace(SPEC, image=b"\x89PNG"), replace(SPEC, references=(b"a", b"b"))):
        cache.render(other, tmp_path / "three.mp4")
    assert len(renders) == 3 and (tmp_path / "three.mp4").read_bytes() == b"clip of a kite 3"


def test_a_cancelled_render_writes_nothing(tmp_path: Path, renders: list[VideoSpec]) -> None:
    cache = RenderCache(tmp_path)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderCancelled):
        cache.render(SPEC, tmp_path / "clip.mp4", cancel)
    assert renders == [] and not (tmp_path / "clip.mp4").exists()


def test_every_field_and_the_renderer_change_the_key() -> None:
    identity = _render_cache.renderer_identity()
    keys = {
        spec_key(spec, identity)
        for spec in (
            SPEC,
            replace(SPEC, width=360, height=640),
            replace(SPEC, duration=6),
            replace(SPEC, text="a heron"),
            replace(SPEC, label="image-to-video"),
            replace(SPEC, image=b"x"),
            replace(SPEC, references=(b"x",)),
            replace(SPEC, references=(b"x", b"")),
        )
    }
    assert len(keys) == 8
    assert spec_key(SPEC, identity) == spec_key(replace(SPEC), identity)
    assert spec_key(SPEC, identity) != spec_key(SPEC, b"another renderer")


def test_the_lasting_cache_keeps_only_the_current_renderers_clips(tmp_path: Path) -> None:
    old = tmp_path / "0123456789abcdef"
    old.mkdir()
    (old / "clip.mp4").write_bytes(b"old")
    current = _render_cache.lasting_directory(tmp_path)
    assert current.is_dir() and not old.exists()
    assert _render_cache.lasting_directory(tmp_path) == current


@pytest.mark.parametrize(
    ("nodeid", "group"),
    [
        ("tests/test_browser_course.py::test_course[02_magics.ipynb]", "lab-course"),
        ("tests/test_browser_panel.py::test_quickstart_generates_and_plays", "lab"),
        ("tests/test_harness_browser.py::test_video_widget_plays_in_lab", "lab"),
        ("tests/test_magics.py::test_sandbox_subcommand", None),
        ("tests/test_harness_kernel.py::test_x", None),
    ],
)
def test_browser_modules_form_two_groups(nodeid: str, group: str | None) -> None:
    assert group_of(nodeid) == group
