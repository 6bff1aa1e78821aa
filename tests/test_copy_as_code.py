"""Copy as code: the Python call, curl command and JSON body of a request, and that they run.

The integration tests run the generated Python in a subprocess and the curl command in bash
(Debian's curl) against the sandbox, and find the task they created there.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _mock import KEY, png

from omni_widgets import (
    ImageToVideo,
    Ledger,
    OmniClient,
    ReferenceToVideo,
    Request,
    Task,
    TextToVideo,
    ValidationError,
    VideoEdit,
    copy_as_code,
)
from omni_widgets.core.code import code_source, request_body
from omni_widgets.sandbox import Sandbox

URL = "https://example.com/cat.png"
VIDEO = "https://example.com/clip.mp4"
REQUESTS: list[Request] = [
    TextToVideo("a kite 'over' the \"sea\"", duration=6, aspect_ratio="9:16"),
    ImageToVideo("the cat blinks", URL, duration="auto"),
    ReferenceToVideo("these two dance", [URL, URL.replace("cat", "dog")]),
    VideoEdit("make it night", VIDEO),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_python_code_compiles_and_rebuilds_the_same_request(request_: Request) -> None:
    code = copy_as_code(request_)
    compile(code, "<copied>", "exec")
    assert 'os.environ["OMNI_API_KEY"]' in code
    assert "base_url" not in code  # EvoLink's own address is the client's default
    # The request part alone, run, builds an equal request.
    namespace: dict[str, object] = {}
    start = code.index(f"request = {type(request_).__name__}(")
    end = code.index("result = ")
    exec("from omni_widgets import *\n" + code[start:end], namespace)
    assert namespace["request"] == request_


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_json_is_the_payload_and_curl_sends_it(request_: Request) -> None:
    body = json.loads(copy_as_code(request_, "json"))
    assert body == request_.to_payload()
    words = shlex.split(copy_as_code(request_, "curl", base_url="http://127.0.0.1:9"))
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:9/v1/videos/generations"]
    assert "Authorization: Bearer $OMNI_API_KEY" in words
    assert json.loads(words[words.index("-d") + 1]) == body


def test_local_images_are_named_by_path_never_sent_as_data(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png(320, 240))
    request = ImageToVideo("the cat blinks", image)
    python = copy_as_code(request)
    assert f"image={str(image)!r}" in python
    for kind in ("curl", "json"):
        text = copy_as_code(request, kind)
        assert "base64" not in text and str(image) in text
        assert "data: URL" in text  # the placeholder says what to put there


def test_toapis_gets_its_flat_body() -> None:
    timed = request_body(code_source(REQUESTS[1], gateway="toapis"))
    assert timed == {
        "model": "gemini_omni_flash",
        "prompt": "the cat blinks",
        "duration": "auto",
        "aspect_ratio": "16:9",
        "image_urls": [URL],
    }
    edit = request_body(code_source(REQUESTS[3], gateway="toapis"))
    assert edit["video_list"] == [{"video_url": VIDEO}]
    assert edit["metadata"] == {"task": "edit"}
    python = copy_as_code(REQUESTS[0], gateway="toapis")
    assert "gateway='toapis'" in python and "base_url" not in python
    assert "https://toapis.com/v1/videos/generations" in copy_as_code(
        REQUESTS[0], "curl", gateway="toapis"
    )


def test_bad_kind_and_a_task_without_its_request_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"kind: .*not offered; allowed: one of 'python'"):
        copy_as_code(REQUESTS[0], "ruby")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="task task-unified-9-zz carries no request"):
        copy_as_code(Task(id="task-unified-9-zz"))
    with pytest.raises(ValidationError, match=r"source: .*int is not one"):
        copy_as_code(42)  # type: ignore[arg-type]


# --- against the sandbox ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=3) as sb:
        yield sb


def _recorded(sandbox: Sandbox, ledger: Path) -> Ledger:
    client = OmniClient(sandbox.api_key, sandbox.base_url, ledger=ledger)
    client.submit(TextToVideo("a paper boat on a pond", duration=4))
    return Ledger(ledger)


def test_code_of_a_record_never_holds_the_key(sandbox: Sandbox, tmp_path: Path) -> None:
    [record] = _recorded(sandbox, tmp_path / "l.sqlite3").records()
    for kind in ("python", "curl", "json"):
        text = copy_as_code(record, kind)
        assert sandbox.api_key not in text and KEY not in text
        assert kind == "json" or "OMNI_API_KEY" in text
    assert f"base_url={sandbox.base_url!r}" in copy_as_code(record)


@pytest.mark.slow
def test_the_generated_python_runs_and_makes_a_task(sandbox: Sandbox, tmp_path: Path) -> None:
    [record] = _recorded(sandbox, tmp_path / "l.sqlite3").records()
    script = tmp_path / "copied.py"
    script.write_text(copy_as_code(record))
    env = {**os.environ, "OMNI_API_KEY": sandbox.api_key, "OMNI_LEDGER": str(tmp_path / "2.db")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    task_id, path = done.stdout.split()
    assert task_id in sandbox.created_task_ids and task_id != record.task_id
    assert (tmp_path / path).is_file() and path.endswith(".mp4")


def test_the_curl_command_runs_and_makes_a_task(sandbox: Sandbox, tmp_path: Path) -> None:
    assert shutil.which("curl"), "curl missing: apt-get install curl (./dev setup does)"
    [record] = _recorded(sandbox, tmp_path / "l.sqlite3").records()
    env = {**os.environ, "OMNI_API_KEY": sandbox.api_key}
    done = subprocess.run(
        ["bash", "-c", copy_as_code(record, "curl")], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["id"] in sandbox.created_task_ids and answer["id"] != record.task_id
    assert answer["model"] == "gemini-omni-flash-text-to-video"
