"""``--gateway``, ``--resolution`` and the JSON cell form of ``%%omni``, against a scripted ToAPIs
service (httpx.MockTransport): limits and JSON paths are refused before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _contract import gateway as schemas
from _mock import BASE, KEY, Script
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from omni_widgets import OmniClient
from omni_widgets.core.gateway import get_gateway
from omni_widgets.magics import magics as _magics
from omni_widgets.notebook.connection import Connection

TID = "video_01JABCDEF0123456789XYZ"
CREATED = {"id": TID, "object": "generation.task", "status": "queued", "created_at": 1779247407}
GUIDE = {
    "model": "gemini_omni_flash",
    "mode": "text-to-video",
    "input": {"prompt": "A cinematic city sunrise", "duration": 10},
}


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Script:
    """The service each connection the magics make talks to; records which gateway it was for."""
    for name in ("OMNI_GATEWAY", "OMNI_BASE_URL", "EVOLINK_API_KEY", "TOAPIS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMNI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    answers = Script(posts=[httpx.Response(200, json=CREATED)])

    def connect(
        api_key: str | None = None, base_url: str | None = None, gateway: Any = None
    ) -> Connection:
        chosen = get_gateway(gateway)
        connection = Connection(KEY, BASE, False, "OMNI_API_KEY", 1.0, chosen.name)
        connection._sync = OmniClient(
            KEY, BASE, transport=httpx.MockTransport(answers), gateway=chosen, ledger=False
        )
        return connection

    monkeypatch.setattr(_magics, "connect", connect)
    return answers


@pytest.fixture
def ip(script: Script) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "omni_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "omni_widgets")


def sent(script: Script) -> dict[str, Any]:
    (body,) = script.payloads()
    return body


def test_gateway_option_sends_a_toapis_body_with_its_default_duration(
    ip: InteractiveShell, script: Script
) -> None:
    ip.run_line_magic("omni", "--gateway toapis --resolution 1080p a red kite")
    body = sent(script)
    schemas("toapis").request_validator(body["model"]).validate(body)
    assert body["duration"] == 6 and body["resolution"] == "1080p"
    assert script.sent[0].url.path == "/v1/videos/generations"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--gateway toapis --duration 5 a kite", "--duration: 5 is not accepted; allowed: 6 or 10"),
        ("--gateway toapis --resolution 1080p --aspect 9:16 a kite", "--resolution: with 9:16"),
        ("--resolution 720P a kite", "--resolution: '720P' is not accepted; allowed: not offered"),
        ("--gateway nope a kite", "--gateway: invalid choice: 'nope'"),
        ("--json a kite", "--json applies to %%omni only"),
    ],
)
def test_refused_lines_send_nothing(
    ip: InteractiveShell, script: Script, line: str, message: str
) -> None:
    with pytest.raises(UsageError) as exc:
        ip.run_line_magic("omni", line)
    assert message in str(exc.value)
    assert script.sent == []


@pytest.mark.parametrize("line", ["--gateway toapis --json", "--gateway toapis"])
def test_a_cell_of_the_guides_json_is_the_request(
    ip: InteractiveShell, script: Script, line: str
) -> None:
    ip.run_cell_magic("omni", line, json.dumps(GUIDE, indent=2))
    body = sent(script)
    assert body["prompt"] == "A cinematic city sunrise" and body["duration"] == 10
    schemas("toapis").request_validator(body["model"]).validate(body)


def test_json_the_gateway_refuses_names_its_path(ip: InteractiveShell, script: Script) -> None:
    example = {**GUIDE, "input": {"prompt": "x", "duration": 5}}
    with pytest.raises(UsageError) as exc:
        ip.run_cell_magic("omni", "--gateway toapis", json.dumps(example))
    assert "input.duration: 5 is not accepted; allowed: 6 or 10 on toapis" in str(exc.value)
    assert script.sent == []


def test_json_and_shape_options_do_not_mix(ip: InteractiveShell, script: Script) -> None:
    with pytest.raises(UsageError, match="--duration cannot be combined with JSON"):
        ip.run_cell_magic("omni", "--json --duration 6", json.dumps(GUIDE))
    with pytest.raises(UsageError, match="JSON: not JSON"):
        ip.run_cell_magic("omni", "--json", "{oops")
    assert script.sent == []


def test_a_prompt_cell_is_still_a_prompt(ip: InteractiveShell, script: Script) -> None:
    ip.run_cell_magic("omni", "--gateway toapis", "{{a kite}}\nover the sea")
    assert sent(script)["prompt"] == "{a kite}\nover the sea"


def test_panel_subcommand_opens_on_the_chosen_gateway(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, Any]] = []
    monkeypatch.setattr("omni_widgets.notebook.panel.panel", lambda **kw: opened.append(kw))
    ip.run_line_magic("omni", "panel --gateway toapis")
    ip.run_line_magic("omni", "panel")
    assert opened == [{"gateway": "toapis"}, {}]
