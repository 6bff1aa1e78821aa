"""Our schemas of EvoLink (tests/schemas/evolink) against the vendor's own documents in
../shared/api/evolink, where a checkout has them beside it.

This is the one test allowed to skip: a plain clone has no vendor documents, and every other test
uses our schemas. Where they exist, it checks that every property, type, required field, enum,
default and limit the vendor states is in ours with the same value, that every example of the
vendor's (requests, property values, error bodies) validates against ours, that the documented
error bodies match ours word for word, and that the task failure codes are the same.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from _contract import EVOLINK, Gateway

VENDOR_DIR = Path(__file__).resolve().parents[2] / "shared" / "api" / "evolink"
QUERY_DOC = "get-task-detail.json"
ERROR_CODES = "error-codes.mdx"
LIMITS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minItems", "maxItems", "minLength", "maxLength", "default", "format",
)  # fmt: skip


@pytest.mark.may_skip
def test_our_schemas_cover_the_vendor_documents(tmp_path: Path) -> None:
    if not VENDOR_DIR.is_dir():
        pytest.skip(
            f"no vendor documents to cross-check against: {VENDOR_DIR} does not exist (a plain "
            "clone has none; every other test uses tests/schemas/evolink instead)"
        )
    problems = list(cross_check(VENDOR_DIR, EVOLINK))
    assert problems == [], "\n".join(problems)

    # The check itself can fail: a copy of our folder with four facts wrong shows four problems.
    shutil.copytree(EVOLINK.folder, tmp_path / "evolink")
    edit(tmp_path / "evolink/common.json", ["$defs", "aspect_ratio", "enum"], ["16:9", "9:16"])
    edit(tmp_path / f"evolink/create-request-{REF}.json", [*IMAGES, "maxItems"], 5)
    edit(tmp_path / "evolink/gateway.json", [*QUERY_ERRORS, "404", "error", "message"], "gone")
    edit(tmp_path / "evolink/query-response.json", [*FAILURE_CODES], ["service_error"])
    report = "\n".join(cross_check(VENDOR_DIR, Gateway(tmp_path / "evolink")))
    assert "enum ['16:9', '9:16', 'auto'] in the vendor's, ['16:9', '9:16'] in ours" in report
    assert "maxItems 6 in the vendor's, 5 in ours" in report
    assert "'The requested task could not be found'" in report
    assert "failure codes: the vendor's alone ['content_policy_violation'" in report


REF = "gemini-omni-flash-reference-to-video"
IMAGES = ["properties", "image_urls"]
QUERY_ERRORS = ["operations", "query", "errors"]
FAILURE_CODES = ["$defs", "failure_code", "enum"]


def edit(path: Path, keys: list[str], value: Any) -> None:
    """Set one value deep inside a JSON file."""
    doc = _load(path)
    node = doc
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(json.dumps(doc), encoding="utf-8")


def cross_check(vendor_dir: Path, ours: Gateway) -> Iterator[str]:
    """Every disagreement between the vendor's documents and our gateway folder, as a sentence."""
    model_docs = sorted(vendor_dir.glob("gemini-omni-flash-*.json"))
    vendor_models = [path.stem for path in model_docs]
    if sorted(vendor_models) != sorted(ours.models):
        yield f"models: vendor documents {vendor_models}, ours {ours.models}"
    for path in model_docs:
        model = path.stem
        if model in ours.models:
            yield from _check_create(_load(path), model, ours)
    yield from _check_query(_load(vendor_dir / QUERY_DOC), ours)
    yield from _check_failure_codes((vendor_dir / ERROR_CODES).read_text(encoding="utf-8"), ours)


def _check_create(doc: dict[str, Any], model: str, ours: Gateway) -> Iterator[str]:
    operation = ours.operation("create")
    yield from _check_path(doc, operation, model)
    post = doc["paths"][operation["path"]][operation["method"].lower()]
    body = post["requestBody"]["content"]["application/json"]
    request_file = operation["request"]["schemas"][model]
    yield from _compare(doc, body["schema"], ours, f"{request_file}#", f"{model} request")
    for name, example in body.get("examples", {}).items():
        for error in ours.request_validator(model).iter_errors(example["value"]):
            yield f"{model} request example {name!r} fails ours: {error.message}"
    yield from _check_responses(doc, post, "create", ours, model)


def _check_query(doc: dict[str, Any], ours: Gateway) -> Iterator[str]:
    operation = ours.operation("query")
    yield from _check_path(doc, operation, QUERY_DOC)
    get = doc["paths"][operation["path"]][operation["method"].lower()]
    for parameter in get.get("parameters", []):
        ref = operation.get("parameters", {}).get(parameter["name"])
        if ref is None:
            yield f"query: parameter {parameter['name']!r} is not in ours"
            continue
        yield from _compare(doc, parameter["schema"], ours, ref, f"query {parameter['name']}")
        yield from _example_fits(parameter.get("example"), ours, ref, f"query {parameter['name']}")
    yield from _check_responses(doc, get, "query", ours, "")


def _check_path(doc: dict[str, Any], operation: dict[str, Any], where: str) -> Iterator[str]:
    vendor = sorted(
        (method.upper(), path) for path, item in doc["paths"].items() for method in item
    )
    if vendor != [(operation["method"], operation["path"])]:
        yield f"{where}: vendor operations {vendor}, ours {operation['method']} {operation['path']}"


def _check_responses(
    doc: dict[str, Any], operation: dict[str, Any], name: str, ours: Gateway, model: str
) -> Iterator[str]:
    where = f"{model or name} responses"
    statuses = sorted(operation["responses"])
    documented = sorted(["200", *ours.operation(name)["errors"]])
    if statuses != documented:
        yield f"{where}: vendor documents statuses {statuses}, ours {documented}"
    for status, response in operation["responses"].items():
        content = response["content"]["application/json"]
        responses = ours.operation(name)["responses"]
        ours_file = responses.get(status, responses["default"])
        yield from _compare(doc, content["schema"], ours, f"{ours_file}#", f"{where} {status}")
        example = content.get("example")
        if example is None:
            continue
        yield from _example_fits(example, ours, f"{ours_file}#", f"{where} {status} example")
        if status in ours.operation(name)["errors"]:
            mine = ours.documented_error(name, int(status), model=model)
            if mine != example:
                yield f"{where} {status}: vendor's body {example}, ours {mine}"


def _check_failure_codes(page: str, ours: Gateway) -> Iterator[str]:
    vendor = set(re.findall(r"^\| `([a-z_]+)` \|", page, re.M))
    mine = set(_failure_codes(ours))
    if vendor != mine:
        yield (
            f"failure codes: the vendor's alone {sorted(vendor - mine)}, "
            f"ours alone {sorted(mine - vendor)}"
        )
    for block in re.findall(r"```json\n(.*?)```", page, re.S):
        yield from _example_fits(json.loads(block), ours, "query-response.json#", ERROR_CODES)


def _failure_codes(ours: Gateway) -> list[str]:
    codes: list[str] = ours.schemas["query-response.json"]["$defs"]["failure_code"]["enum"]
    return codes


def _compare(
    doc: dict[str, Any], vendor: dict[str, Any], ours: Gateway, loc: str, where: str
) -> Iterator[str]:
    """What the vendor's schema node states that ours (at location `loc`) does not."""
    vendor = _vendor_node(doc, vendor)
    loc, mine = _our_node(ours, loc)
    vendor_types = _types(vendor.get("type"))
    if vendor.get("nullable"):
        vendor_types.add("null")
    if vendor_types and vendor_types != _types(mine.get("type")):
        yield f"{where}: type {sorted(vendor_types)} in the vendor's, {mine.get('type')} in ours"
    if "enum" in vendor and sorted(map(str, vendor["enum"])) != sorted(
        map(str, mine.get("enum", []))
    ):
        yield f"{where}: enum {vendor['enum']} in the vendor's, {mine.get('enum')} in ours"
    missing = set(vendor.get("required", [])) - set(mine.get("required", []))
    if missing:
        yield f"{where}: required {sorted(missing)} in the vendor's, not in ours"
    for keyword in LIMITS:
        if keyword in vendor and mine.get(keyword) != vendor[keyword]:
            yield (
                f"{where}: {keyword} {vendor[keyword]!r} in the vendor's, "
                f"{mine.get(keyword)!r} in ours"
            )
    if "example" in vendor:
        yield from _example_fits(vendor["example"], ours, loc, f"{where} example")
    for name, child in vendor.get("properties", {}).items():
        if name not in mine.get("properties", {}):
            yield f"{where}: property {name!r} is missing in ours"
            continue
        yield from _compare(doc, child, ours, f"{loc}/properties/{name}", f"{where}.{name}")
    if "items" in vendor:
        yield from _compare(doc, vendor["items"], ours, f"{loc}/items", f"{where}[]")
    for keyword in ("oneOf", "anyOf", "allOf"):
        if keyword not in vendor:
            continue
        if len(mine.get(keyword, [])) != len(vendor[keyword]):
            yield f"{where}: {keyword} of {len(vendor[keyword])} in the vendor's, not in ours"
            continue
        for index, child in enumerate(vendor[keyword]):
            yield from _compare(doc, child, ours, f"{loc}/{keyword}/{index}", f"{where}/{index}")


def _example_fits(example: Any, ours: Gateway, loc: str, where: str) -> Iterator[str]:
    if example is None:
        return
    for error in ours.validator(loc).iter_errors(example):
        yield f"{where}: the vendor's example {example!r} fails ours: {error.message}"


def _vendor_node(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow the vendor's local refs (`#/components/schemas/X`); siblings of a ref are prose."""
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _our_node(ours: Gateway, loc: str) -> tuple[str, dict[str, Any]]:
    """Our schema node at `loc` (`file.json#/pointer`), following refs; returns where it ends."""
    node: dict[str, Any] = ours.registry.resolver().lookup(loc).contents
    while "$ref" in node:
        loc = urljoin(loc, node["$ref"])
        node = ours.registry.resolver().lookup(loc).contents
    return loc, node


def _types(value: Any) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc
