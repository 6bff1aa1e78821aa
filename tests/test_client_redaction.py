"""The client cuts its API key out of any text a server echoes back: error bodies, reason phrases,
unreadable bodies and task failure messages never carry it into an exception, a repr or a log."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from _mock import KEY, Script, client, task_body

from omni_widgets import OmniError, TextToVideo

REQUEST = TextToVideo("a red kite over the sea", duration=6)
TID = "task-unified-1-abc"


def echo(status: int, make: Callable[[str], Any]) -> Callable[[httpx.Request], httpx.Response]:
    """A responder that quotes the request's Authorization header back, as a careless proxy
    or debugging server does; `make` turns the header into the body (text or JSON)."""

    def respond(request: httpx.Request) -> httpx.Response:
        quoted = make(request.headers["authorization"])
        if isinstance(quoted, bytes):
            return httpx.Response(status, content=quoted)
        return httpx.Response(status, json=quoted)

    return respond


def everything_shown(exc: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Every way the failure can reach a person: message, repr, args, attributes, the whole
    traceback with its chain, and every log record."""
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    parts += [repr(value) for value in vars(exc).values()]
    parts += [record.getMessage() for record in caplog.records]
    return "\n".join(parts)


def assert_no_key(text: str) -> None:
    assert KEY not in text
    assert quote(KEY, safe="") not in text
    assert KEY[:12] not in text  # not even a cut-off piece of it


CREATE_FAILURES = {
    "400 JSON message": echo(
        400,
        lambda auth: {
            "error": {
                "code": "invalid_request",
                "message": f"bad header 'Authorization: {auth}'",
                "type": "invalid_request_error",
            }
        },
    ),
    "401 error as a string": echo(401, lambda auth: {"error": f"token {auth} is not valid"}),
    "403 percent-encoded": echo(
        403, lambda auth: {"error": {"code": "x", "message": f"key={quote(auth[7:], safe='')}"}}
    ),
    "402 key in the code and type": echo(
        402, lambda auth: {"error": {"code": auth, "message": "", "type": auth}}
    ),
    "400 text body": echo(400, lambda auth: f"<html>{auth}</html>".encode()),
    "200 unreadable body": echo(200, lambda auth: f"oops {auth}".encode()),
    "200 not an object": echo(200, lambda auth: [auth]),
    "200 key cut by the snippet": echo(200, lambda auth: ("x" * 70 + auth).encode()),
    "reason phrase": lambda request: httpx.Response(
        418,
        content=b"",
        extensions={"reason_phrase": f"Teapot {request.headers['authorization']}".encode()},
    ),
}


@pytest.mark.parametrize("respond", CREATE_FAILURES.values(), ids=CREATE_FAILURES.keys())
def test_no_exception_or_log_line_carries_an_echoed_key_on_create(
    respond: Callable[[httpx.Request], httpx.Response], caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(posts=[respond])
    with caplog.at_level(logging.DEBUG), pytest.raises(OmniError) as caught:
        client(script, max_retries=0).submit(REQUEST)
    assert script.sent[0].headers["authorization"] == f"Bearer {KEY}"  # it really was sent
    shown = everything_shown(caught.value, caplog)
    assert_no_key(shown)


def test_a_query_error_echoing_the_key_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(gets=[echo(500, lambda auth: f"upstream said {auth}".encode())])
    with caplog.at_level(logging.DEBUG), pytest.raises(OmniError) as caught:
        client(script, max_retries=1).get(TID)
    assert script.count("GET") == 2
    shown = everything_shown(caught.value, caplog)
    assert_no_key(shown)
    assert TID in str(caught.value)


def test_a_failed_task_whose_message_quotes_the_key_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failed(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        body = task_body(TID, "failed", 40, error={"code": "service_error", "message": auth})
        body[f"debug {auth}"] = {"headers": [auth]}
        return httpx.Response(200, json=body)

    script = Script(gets=[failed])
    c = client(script)
    task = c.get(TID)
    with caplog.at_level(logging.DEBUG), pytest.raises(OmniError) as caught:
        c.wait(task)
    shown = everything_shown(caught.value, caplog) + repr(task) + repr(dict(task.raw))
    assert_no_key(shown)
    assert task.error is not None and task.error.message == "Bearer <redacted>"


def test_ordinary_answers_are_left_alone() -> None:
    script = Script(gets=[httpx.Response(200, json=task_body(TID, "processing", 30))])
    task = client(script).get(TID)
    assert dict(task.raw) == task_body(TID, "processing", 30)


def test_an_httpx_error_quoting_the_server_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """h11 quotes a garbled status line in its error; a server can put the key in it."""

    def garbled(request: httpx.Request) -> httpx.Response:
        line = f"HTTP/1.1 200 {request.headers['authorization']}"
        raise httpx.RemoteProtocolError(f"illegal status line: {line!r}", request=request)

    script = Script(gets=[garbled])
    with caplog.at_level(logging.DEBUG), pytest.raises(OmniError) as caught:
        client(script, max_retries=0).get(TID)
    assert "illegal status line" in str(caught.value)
    assert_no_key(everything_shown(caught.value, caplog))


def test_a_key_spelt_with_json_escapes_is_still_redacted() -> None:
    # Answers whose bytes cannot hold the key skip the scrub; an escaped key must not slip by.
    def escaped(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].partition(" ")[2]
        spelt = "".join(f"\\u{ord(ch):04x}" for ch in key)
        body = task_body(TID, "failed", 40, error={"code": "service_error", "message": "x"})
        text = httpx.Response(200, json=body).text.replace('"x"', f'"{spelt}"')
        return httpx.Response(200, content=text.encode())

    task = client(Script(gets=[escaped])).get(TID)
    assert task.error is not None and task.error.message == "<redacted>"
    assert_no_key(repr(dict(task.raw)))
