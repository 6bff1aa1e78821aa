"""The gateway folders in tests/schemas are sound on their own: valid Draft 2020-12 schemas whose
refs resolve, an index that names existing files, and rules strict enough to refuse what the
contract refuses. The sandbox agrees with them on the task failure codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from _contract import EVOLINK, Gateway, gateway, gateways
from jsonschema import Draft202012Validator

from omni_widgets.sandbox._failures import FAILURE_MESSAGES

T2V = "gemini-omni-flash-text-to-video"
I2V = "gemini-omni-flash-image-to-video"
REF = "gemini-omni-flash-reference-to-video"
EDIT = "gemini-omni-flash-video-edit"
VIDEO = "https://a.example/v.mp4"


def refs(node: Any) -> Iterator[str]:
    """Every `$ref` value inside a schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def strings(node: Any) -> Iterator[str]:
    """Every string value inside a JSON document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict | list):
        for value in node.values() if isinstance(node, dict) else node:
            yield from strings(value)


def test_there_is_a_gateway_folder_for_evolink() -> None:
    assert "evolink" in gateways()
    assert EVOLINK.models == [T2V, I2V, REF, EDIT]


@pytest.mark.parametrize("name", gateways())
def test_every_schema_is_valid_and_every_ref_resolves(name: str) -> None:
    folder = gateway(name)
    assert folder.schemas, f"no schemas in {folder.folder}"
    for file, schema in folder.schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", file
        for ref in refs(schema):
            folder.registry.resolver().lookup(urljoin(file, ref))  # raises if unresolvable


@pytest.mark.parametrize("name", gateways())
def test_the_index_names_existing_schemas(name: str) -> None:
    folder = gateway(name)
    named = [
        value for value in strings(folder.index) if re.fullmatch(r"[\w.-]+\.json(#.*)?", value)
    ]
    assert all(
        operation["responses"]["default"] for operation in folder.index["operations"].values()
    )
    for ref in named:
        folder.registry.resolver().lookup(ref)  # raises if the file or the pointer is missing
    used = {ref.split("#")[0] for ref in named}
    used |= {ref.split("#")[0] for schema in folder.schemas.values() for ref in refs(schema)}
    assert used - {""} == set(folder.schemas), "every schema file is used, none is missing"


@pytest.mark.parametrize("operation", ["create", "query"])
def test_documented_errors_fit_the_error_schema(operation: str) -> None:
    for status in EVOLINK.operation(operation)["errors"]:
        body = EVOLINK.documented_error(operation, int(status), model=T2V)
        EVOLINK.response_validator(operation, int(status)).validate(body)
    assert "{model}" not in str(EVOLINK.documented_error("create", 403, model=T2V))


def test_the_sandbox_fails_tasks_with_exactly_the_documented_codes() -> None:
    codes = EVOLINK.schemas["query-response.json"]["$defs"]["failure_code"]["enum"]
    assert sorted(FAILURE_MESSAGES) == sorted(codes)


def test_operations_are_found_by_method_and_path() -> None:
    assert EVOLINK.operation_at("POST", "/v1/videos/generations") == "create"
    assert EVOLINK.operation_at("GET", "/v1/tasks/task-unified-1-abcdefgh") == "query"
    assert EVOLINK.operation_at("GET", "/v1/tasks/") == "query"  # an empty id still asks it
    assert EVOLINK.operation_at("GET", "/v1/videos/generations") is None
    assert EVOLINK.operation_at("GET", "/v1/tasks/a/b") is None


GOOD = [
    {"model": T2V, "prompt": "x", "duration": "auto", "aspect_ratio": "9:16"},
    {"model": T2V, "prompt": "x", "callback_url": "https://hooks.example.com/a?b=1"},
    {"model": I2V, "prompt": "x", "image_urls": ["data:image/webp;base64,UklGRg=="]},
    {"model": I2V, "prompt": "x", "image_urls": ["iVBORw0KGgo="]},
    {"model": REF, "prompt": "x", "image_urls": ["https://a.example/1.png"] * 6},
    {"model": EDIT, "prompt": "x", "video_urls": ["http://a.example/v.mp4"]},
]
BAD = [
    ({"model": T2V}, "'prompt' is a required property"),
    ({"model": T2V, "prompt": ""}, "should be non-empty"),
    ({"model": T2V, "prompt": "x", "duration": 2}, "is not valid under any of the given schemas"),
    ({"model": T2V, "prompt": "x", "duration": True}, "is not valid under any"),
    ({"model": T2V, "prompt": "x", "seed": 4}, "Additional properties are not allowed"),
    ({"model": T2V, "prompt": "x", "callback_url": "http://h.example.com"}, "does not match"),
    ({"model": T2V, "prompt": "x", "callback_url": "https://h.co/" + "a" * 2040}, "is too long"),
    ({"model": I2V, "prompt": "x"}, "'image_urls' is a required property"),
    ({"model": I2V, "prompt": "x", "image_urls": ["data:image/gif;base64,R0lG"]}, "any of"),
    ({"model": I2V, "prompt": "x", "image_urls": ["ftp://a.example/1.png"]}, "any of"),
    ({"model": REF, "prompt": "x", "image_urls": []}, "should be non-empty"),
    ({"model": REF, "prompt": "x", "image_urls": ["https://a.example/1.png"] * 7}, "too long"),
    ({"model": EDIT, "prompt": "x", "video_urls": [VIDEO], "duration": 5}, "Additional"),
    ({"model": EDIT, "prompt": "x", "video_urls": ["data:video/mp4;base64,AAAA"]}, "not match"),
]  # fmt: skip


@pytest.mark.parametrize("body", GOOD, ids=lambda body: str(sorted(body)))
def test_request_schemas_accept_what_the_contract_allows(body: dict[str, Any]) -> None:
    EVOLINK.request_validator(body["model"]).validate(body)


@pytest.mark.parametrize(("body", "message"), BAD)
def test_request_schemas_refuse_what_the_contract_refuses(
    body: dict[str, Any], message: str
) -> None:
    errors = [error.message for error in EVOLINK.request_validator(body["model"]).iter_errors(body)]
    assert any(message in error for error in errors), errors


QUERY_OK = {"id": "task-unified-1-abcdefgh", "status": "processing", "progress": 40}
QUERY_BAD = [
    ({**QUERY_OK, "status": "completed"}, "'results' is a required property"),
    ({**QUERY_OK, "results": ["http://x.example/a.mp4"]}, "should not be valid"),
    ({**QUERY_OK, "status": "failed"}, "'error' is a required property"),
    ({**QUERY_OK, "status": "failed", "error": {"code": "oops", "message": "m"}}, "is not one of"),
    ({**QUERY_OK, "status": "cancelled"}, "is not one of"),
    ({**QUERY_OK, "id": "abc"}, "does not match"),
    ({**QUERY_OK, "progress": 101}, "greater than the maximum"),
]


def test_query_schema_accepts_a_task_in_progress() -> None:
    EVOLINK.validator("query-response.json").validate(QUERY_OK)


@pytest.mark.parametrize(("body", "message"), QUERY_BAD)
def test_query_schema_ties_results_and_errors_to_the_status(
    body: dict[str, Any], message: str
) -> None:
    errors = [e.message for e in EVOLINK.validator("query-response.json").iter_errors(body)]
    assert any(message in error for error in errors), errors


def test_a_second_gateway_needs_only_a_folder(tmp_path: Any) -> None:
    """What adding ToAPIs takes: a folder with gateway.json and its schemas, nothing in code."""
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "gateway.json").write_text(
        '{"operations": {"query": {"method": "GET", "path": "/v1/videos/generations/{task_id}",'
        ' "responses": {"200": "query-response.json", "default": "query-response.json"},'
        ' "errors": {}}}}'
    )
    (folder / "query-response.json").write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",'
        ' "required": ["id"]}'
    )
    other = Gateway(folder)
    assert other.operation_at("GET", "/v1/videos/generations/video_01J") == "query"
    assert not other.response_validator("query", 200).is_valid({"status": "queued"})


TOAPIS_GOOD = [
    ("gemini_omni_flash", {"model": "gemini_omni_flash", "prompt": "x"}),
    ("gemini-omni-flash", {"model": "gemini-omni-flash", "prompt": "x", "image_urls": [VIDEO] * 3}),
    ("gemini_omni_flash", {"model": "gemini_omni_flash", "prompt": "x", "resolution": "1080p"}),
    (
        "gemini-omni-flash-preview-official",
        {
            "model": "gemini-omni-flash-preview-official",
            "prompt": "x",
            "video_list": [{"video_url": VIDEO}],
            "metadata": {"task": "edit", "temperature": 1.5},
        },
    ),
]
TOAPIS_BAD = [
    ("gemini_omni_flash", {"prompt": "x", "image_urls": [VIDEO] * 2}, "should not be valid"),
    ("gemini_omni_flash", {"prompt": "x", "image_urls": ["data:image/png;base64,AA"]}, "match"),
    ("gemini_omni_flash", {"prompt": "x", "duration": 4}, "is not one of"),
    (
        "gemini_omni_flash",
        {"prompt": "x", "resolution": "1080p", "aspect_ratio": "9:16"},
        "'16:9' was expected",
    ),
    ("gemini_omni", {"prompt": "x", "resolution": "1080p"}, "is not one of"),
    (
        "gemini-omni-flash-preview-official",
        {"prompt": "x", "image_urls": [VIDEO], "video_list": [{"video_url": VIDEO}]},
        "should not be valid",
    ),
    (
        "gemini-omni-flash-preview-official",
        {"prompt": "x", "metadata": {"task": "edit"}, "video_list": [{"video_url": VIDEO}]}
        | {"aspect_ratio": "16:9"},
        "should not be valid",
    ),
]


@pytest.mark.parametrize(("model", "body"), TOAPIS_GOOD)
def test_toapis_schemas_accept_the_reference_requests(model: str, body: dict[str, Any]) -> None:
    gateway("toapis").request_validator(model).validate(body)


@pytest.mark.parametrize(("model", "body", "message"), TOAPIS_BAD)
def test_toapis_schemas_refuse_what_its_reference_refuses(
    model: str, body: dict[str, Any], message: str
) -> None:
    validator = gateway("toapis").request_validator(model)
    errors = [error.message for error in validator.iter_errors({"model": model, **body})]
    assert any(message in error for error in errors), errors


def test_toapis_guide_requests_hold_to_the_intersection() -> None:
    validator = gateway("toapis").validator("guide-request.json")
    example = {"model": "gemini_omni_flash", "mode": "text-to-video", "input": {"prompt": "x"}}
    validator.validate(example)
    validator.validate({**example, "mode": "R2V"})
    assert not validator.is_valid({**example, "mode": "remix"})
    assert not validator.is_valid({**example, "input": {"prompt": "x", "duration": 5}})
