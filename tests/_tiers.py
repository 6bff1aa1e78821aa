"""The suite's two tiers: the quick loop (``-m "not browser and not slow"``, under a minute) and
the full run (``./dev test``, CI).

Hypothesis tests try the full count of examples in the full run and a fifth of it in the quick
loop: ``conftest.py`` loads the tier's profile, and a test states its full-run count as
``settings(max_examples=examples(300))`` (an explicit count overrides a profile, so it is scaled
here). ``--hypothesis-profile=full`` (or ``quick``) picks a tier by hand.
"""

from __future__ import annotations

from hypothesis import settings

FULL, QUICK = "full", "quick"
_DEFAULT_EXAMPLES = 100  # hypothesis' own default: the full tier keeps it
_QUICK_SHARE = 5  # the quick tier tries one example in this many

settings.register_profile(FULL, max_examples=_DEFAULT_EXAMPLES)
settings.register_profile(QUICK, max_examples=_DEFAULT_EXAMPLES // _QUICK_SHARE)


def deselects_slow(markexpr: str) -> bool:
    """Whether ``-m markexpr`` leaves slow tests out (the quick loop)."""
    return "not slow" in " ".join(markexpr.split())


def load_profile(markexpr: str, requested: str | None = None) -> str:
    """Load the hypothesis profile of the run's tier and return its name: ``requested`` (from
    ``--hypothesis-profile``) if given, else quick when slow tests are deselected, else full."""
    name = requested or (QUICK if deselects_slow(markexpr) else FULL)
    settings.load_profile(name)
    return name


def examples(full: int) -> int:
    """``full`` examples in the full tier, a fifth of them (at least 10) in the quick tier."""
    if settings().max_examples >= _DEFAULT_EXAMPLES:
        return full
    return max(10, full // _QUICK_SHARE)
