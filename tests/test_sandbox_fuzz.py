"""Schemathesis, a maintained OpenAPI fuzzer, against the sandbox: for every request it generates
from the project's own description of the service (tests/openapi/evolink.json), the answer has a
documented status, is JSON, and matches the documented schema; nothing answers 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

# numpy is imported whole here, before the sandbox's render thread imports it lazily: hypothesis
# looks at sys.modules["numpy"] and would otherwise find it half imported.
import numpy  # noqa: F401
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omni_widgets.sandbox import Sandbox

DOCUMENT = Path(__file__).resolve().parent / "openapi" / "evolink.json"
schema = schemathesis.openapi.from_path(DOCUMENT)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def _no_dns(host: str, port: int) -> list[str]:
    """Generated callback hosts are made-up names: answer at once instead of asking real DNS."""
    return []


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("omni_widgets.sandbox._callbacks.resolve", _no_dns)
        with Sandbox(speed=float("inf"), seed=7) as sandbox:
            yield sandbox


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_matches_the_documents(case: schemathesis.Case, sb: Sandbox) -> None:
    case.call_and_validate(
        base_url=sb.base_url,
        headers={"Authorization": f"Bearer {sb.api_key}"},
        checks=CHECKS,
    )


@pytest.mark.slow
def test_created_tasks_answer_by_the_documents(sb: Sandbox) -> None:
    """Stateful: create tasks, then query them by the id each create returned (the document's
    link), so the task answers themselves are checked too, not only refusals."""
    checks = CHECKS

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": sb.base_url, "headers": {"Authorization": f"Bearer {sb.api_key}"}}

        def validate_response(
            self, response: object, case: schemathesis.Case, **kwargs: object
        ) -> None:
            case.validate_response(response, checks=checks)  # type: ignore[arg-type]

    before = len(sb.created_task_ids)
    queried_before = sum(
        1 for r in sb.requests if r.path.startswith("/v1/tasks/") and r.status == 200
    )
    Machine.run(settings=settings(max_examples=25, stateful_step_count=6, deadline=None))
    queried = sum(1 for r in sb.requests if r.path.startswith("/v1/tasks/") and r.status == 200)
    assert len(sb.created_task_ids) > before and queried > queried_before
