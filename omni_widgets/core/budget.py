"""The spending cap: a plan whose estimate exceeds it is refused before anything is sent.

Where the cap comes from, first found wins: the call's own ``budget`` argument, the session's
:func:`set_budget`, the ``OMNI_BUDGET`` environment variable. No cap at all means no check.
Every surface (``generate_many``, ``omni_widgets.grid``, ``%%omni grid``, the panel) asks
:func:`check_budget` before it submits.
"""

from __future__ import annotations

import math
import os

from .errors import OmniError, Problem, ValidationError

BUDGET_ENV = "OMNI_BUDGET"
BUDGET_ALLOWED = "a number of credits >= 0, or None for no cap"

_session_budget: float | None = None


class BudgetExceededError(OmniError):
    """A plan estimated to cost more than the budget; raised before anything is sent."""

    def __init__(
        self, estimate: float, budget: float, source: str, what: str = "this plan"
    ) -> None:
        self.estimate = estimate
        self.budget = budget
        self.source = source
        super().__init__(
            f"{what} is estimated at {estimate:,.2f} credits, over the budget of {budget:,.2f} "
            f"credits ({source}); raise the budget (budget=..., omni_widgets.set_budget(...) or "
            f"{BUDGET_ENV}) or confirm to go ahead"
        )


def _checked(value: object, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if number >= 0 and not math.isnan(number):
            return number
    raise ValidationError("budget", [Problem(field, value, BUDGET_ALLOWED)])


def set_budget(credits: float | None) -> None:
    """Cap what any grid or submit of this session may be estimated to cost (None: no cap)."""
    global _session_budget
    _session_budget = _checked(credits, "budget")


def get_budget() -> tuple[float | None, str]:
    """The session's cap and where it came from: ``set_budget``, ``OMNI_BUDGET``, or none."""
    if _session_budget is not None:
        return _session_budget, "omni_widgets.set_budget"
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return None, "no budget"
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(
            "budget", [Problem(BUDGET_ENV, raw, BUDGET_ALLOWED, f"{raw!r} is not a number")]
        ) from None
    return _checked(value, BUDGET_ENV), BUDGET_ENV


def effective_budget(
    budget: float | None = None, source: str = "the budget argument"
) -> tuple[float | None, str]:
    """The cap that applies to one call: its argument (from ``source``), else the session's."""
    given = _checked(budget, "budget")
    if given is not None:
        return given, source
    return get_budget()


def check_budget(
    estimate: float,
    budget: float | None = None,
    what: str = "this plan",
    source: str = "the budget argument",
) -> None:
    """Raise :class:`BudgetExceededError` when ``estimate`` is over the cap that applies."""
    cap, source = effective_budget(budget, source)
    if cap is not None and estimate > cap + 1e-9:
        raise BudgetExceededError(estimate, cap, source, what)
