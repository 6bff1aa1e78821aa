"""The project's own description of each gateway (tests/schemas/<gateway>/), as JSON-schema
validators, so the contract tests need nothing beside the clone.

Each gateway folder holds a `gateway.json` index (operations, their schema files, the error bodies
the vendor documents) and Draft 2020-12 schemas that refer to each other by file name.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
INDEX = "gateway.json"


class Gateway:
    """One gateway's folder: its index, its schemas, and validators that resolve refs among them."""

    def __init__(self, folder: Path) -> None:
        self.name = folder.name
        self.folder = folder
        self.index: dict[str, Any] = _load(folder / INDEX)
        self.schemas: dict[str, Any] = {
            path.name: _load(path) for path in sorted(folder.glob("*.json")) if path.name != INDEX
        }
        resources: list[tuple[str, Resource[Any]]] = [
            (name, DRAFT202012.create_resource(schema)) for name, schema in self.schemas.items()
        ]
        self.registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, name: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.index["operations"][name]
        return operation

    @property
    def models(self) -> list[str]:
        """The models the create request is documented for, in the index's order."""
        return list(self.operation("create")["request"]["schemas"])

    def validator(self, ref: str) -> Draft202012Validator:
        """A validator for a schema file, or a part of one (`common.json#/$defs/task_id`)."""
        if ref not in self._validators:
            self._validators[ref] = Draft202012Validator({"$ref": ref}, registry=self.registry)
        return self._validators[ref]

    def request_validator(self, model: str) -> Draft202012Validator:
        """The create request's schema for `model`."""
        return self.validator(self.operation("create")["request"]["schemas"][model])

    def response_validator(self, operation: str, status: int) -> Draft202012Validator:
        """The schema of `operation`'s answer with HTTP `status` (error.json for most statuses)."""
        responses = self.operation(operation)["responses"]
        return self.validator(responses.get(str(status), responses["default"]))

    def documented_error(self, operation: str, status: int, *, model: str = "") -> dict[str, Any]:
        """The vendor's error body for `status` on `operation`, with `{model}` filled in."""
        body = self.operation(operation)["errors"][str(status)]
        error = {key: value.format(model=model) for key, value in body["error"].items()}
        return {"error": error}

    def operation_at(self, method: str, path: str) -> str | None:
        """Which operation `method path` is (path templates like `/v1/tasks/{task_id}`), if any."""
        for name, operation in self.index["operations"].items():
            if operation["method"] == method and _template(operation["path"]).fullmatch(path):
                return str(name)
        return None


@cache
def gateway(name: str) -> Gateway:
    """The gateway described in tests/schemas/<name>/."""
    return Gateway(SCHEMAS_DIR / name)


def gateways() -> list[str]:
    """Every gateway that has a folder with an index."""
    return sorted(path.parent.name for path in SCHEMAS_DIR.glob(f"*/{INDEX}"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", path)
    return re.compile("[^/]*".join(re.escape(part) for part in parts))


EVOLINK = gateway("evolink")
