"""The vendor's OpenAPI documents in ../shared/api/evolink, as JSON-schema validators."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

VENDOR_DIR = Path(__file__).resolve().parents[2] / "shared" / "api" / "evolink"


def require_vendor_docs() -> Path:
    """The vendor folder, or a visible skip where this checkout has no ../shared beside it."""
    if not VENDOR_DIR.is_dir():
        pytest.skip(f"vendor OpenAPI documents not found at {VENDOR_DIR}")
    return VENDOR_DIR


@cache
def document(name: str) -> dict[str, Any]:
    return json.loads((require_vendor_docs() / f"{name}.json").read_text())  # type: ignore[no-any-return]


def validator(doc_name: str, schema_name: str) -> Draft202012Validator:
    """A validator for one component schema, with the document's other components resolvable."""
    doc = document(doc_name)
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    return Draft202012Validator(schema)


def request_validator(model: str) -> Draft202012Validator:
    doc = document(model)
    ref = doc["paths"]["/v1/videos/generations"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    return validator(model, ref.rsplit("/", 1)[1])
