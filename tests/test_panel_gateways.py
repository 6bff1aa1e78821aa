"""The panel's gateway picker, its limits on the fields, "Paste JSON", and cards naming the
gateway. No service is reached: connections are made by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from omni_widgets import ReferenceToVideo, TextToVideo
from omni_widgets.notebook.card import _header_html, _meta_html
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.jobs import Job
from omni_widgets.notebook.panel import Panel

URLS = [f"https://img.test/{i}.png" for i in range(3)]


def offline(gateway: str) -> Connection:
    return Connection("k-0000", f"https://{gateway}.test", False, "argument", 1.0, gateway)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the gateways the panel connects to, answering with offline connections."""
    asked: list[Any] = []

    def connect(
        api_key: str | None = None, base_url: str | None = None, gateway: Any = None
    ) -> Connection:
        asked.append(gateway)
        return offline(getattr(gateway, "name", gateway) or "evolink")

    monkeypatch.setattr("omni_widgets.notebook.panel.connect", connect)
    return asked


def toapis_panel(tmp_path: Path) -> Panel:
    return Panel(connection=offline("toapis"), output_dir=tmp_path, resume=False)


def values(options: Any) -> list[Any]:
    return [o[1] if isinstance(o, tuple) else o for o in options]


def test_the_fields_follow_the_gateways_limits(tmp_path: Path) -> None:
    panel = toapis_panel(tmp_path)
    assert panel.gateway_picker.value == "toapis"
    assert values(panel.duration.options) == [6, 10] and panel.duration.value == 6
    assert values(panel.aspect_ratio.options) == ["16:9", "9:16"]
    assert panel.resolution_row.visible and values(panel.resolution.options) == ["720P", "1080p"]
    assert not panel.callback_row.visible
    panel.prompt.value = "a kite"
    assert panel.build_request() == TextToVideo("a kite", duration=6, resolution="720P")


def test_a_resolution_the_gateway_refuses_blocks_generate_beside_its_field(tmp_path: Path) -> None:
    panel = toapis_panel(tmp_path)
    panel.prompt.value = "a kite"
    panel.resolution.value = "1080p"
    assert not panel.generate_button.disabled
    panel.aspect_ratio.value = "9:16"
    assert panel.generate_button.disabled
    assert "1080p only with 16:9 on toapis" in panel.resolution_row.problem_text
    assert "Resolution" in panel.reason_text


def test_switching_the_picker_reconnects_and_changes_the_fields(
    tmp_path: Path, connects: list[Any]
) -> None:
    panel = toapis_panel(tmp_path)
    panel.gateway_picker.value = "evolink"
    assert [getattr(g, "name", g) for g in connects] == ["evolink"]
    assert panel.connection.gateway == "evolink"
    assert values(panel.duration.options)[0] == "auto" and 3 in values(panel.duration.options)
    assert not panel.resolution_row.visible and panel.callback_row.visible
    panel.prompt.value = "a kite"
    assert panel.build_request().resolution is None  # type: ignore[attr-defined]


def test_pasting_the_guides_json_fills_the_form(tmp_path: Path) -> None:
    panel = toapis_panel(tmp_path)
    guide = {
        "model": "gemini_omni_flash",
        "mode": "r2v",
        "input": {"prompt": "three friends", "duration": 10, "image_urls": URLS},
    }
    request = panel.fill_from_json(json.dumps(guide))
    assert request == ReferenceToVideo("three friends", URLS, duration=10)
    assert panel.request_class is ReferenceToVideo and panel.duration.value == 10
    assert panel.images.values() == URLS
    assert not panel.generate_button.disabled and panel.message_text == ""


def test_pasted_json_the_gateway_refuses_says_where(tmp_path: Path) -> None:
    panel = toapis_panel(tmp_path)
    example = {
        "model": "gemini_omni_flash",
        "mode": "text-to-video",
        "input": {"prompt": "x", "duration": 5},
    }
    assert panel.fill_from_json(json.dumps(example)) is None
    assert "input.duration: 5 is not accepted; allowed: 6 or 10 on toapis" in panel.message_text
    assert panel.prompt.value == "x" and panel.duration.value == 6
    assert panel.fill_from_json("{not json") is None
    assert panel.message_text.startswith("The JSON cannot fill the form: JSON: not JSON")


def test_cards_name_the_gateway(tmp_path: Path) -> None:
    job = Job(offline("toapis"), TextToVideo("a kite", duration=6), dest=tmp_path)
    assert "<span class='omni-gateway'>ToAPIs</span>" in _meta_html(job)


def sandbox(gateway: str) -> Connection:
    return Connection("sb-key", "http://127.0.0.1:1", True, "sandbox", 1.0, gateway)


@pytest.mark.parametrize(
    ("start", "picked", "line"),
    [
        ("toapis", "evolink", "paste an EvoLink key below or set OMNI_API_KEY or EVOLINK_API_KEY"),
        ("evolink", "toapis", "paste a ToAPIs key below or set OMNI_API_KEY or TOAPIS_API_KEY"),
    ],
)
def test_the_sandbox_line_names_the_picked_gateways_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start: str, picked: str, line: str
) -> None:
    panel = Panel(connection=sandbox(start), output_dir=tmp_path, resume=False)
    assert line not in panel.service.status.value
    monkeypatch.setattr("omni_widgets.notebook.panel.connect", lambda **_: sandbox(picked))
    panel.gateway_picker.value = picked
    assert "SANDBOX" in panel.service.status.value
    assert line in panel.service.status.value


@pytest.mark.parametrize(
    ("gateway", "names", "other"),
    [("toapis", "TOAPIS_API_KEY", "EVOLINK_API_KEY"), ("evolink", "EVOLINK_API_KEY", "TOAPIS")],
)
def test_the_sandbox_badges_tooltip_names_its_gateway_on_panel_and_card(
    tmp_path: Path, gateway: str, names: str, other: str
) -> None:
    panel = Panel(connection=sandbox(gateway), output_dir=tmp_path, resume=False)
    card_header = _header_html(Job(sandbox(gateway), TextToVideo("a kite"), dest=tmp_path))
    for shown in (panel.service.status.value, card_header):
        title = re.search(r"class='omni-sandbox-badge'[^>]*title='([^']*)'", shown)
        assert title is not None, shown
        assert names in title.group(1) and other not in title.group(1)
        assert "evolink.ai" not in title.group(1)
