"""``%%omni grid``: one prompt per line of the cell, axes as options on the first line.

    %%omni grid --duration 5 6 --aspect 16:9 9:16
    a red kite over the sea
    a paper boat on a puddle

makes 2 x 2 x 2 = 8 rows (prompts, then durations, then aspect ratios). ``--image A B`` makes
each row image-to-video with each image in turn; ``--ref A B`` gives every row the same
references. Values are checked by argparse and the requests themselves, before anything is sent.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..core.batch import product
from ..core.batch_run import CONCURRENCY_ALLOWED, DEFAULT_CONCURRENCY
from ..core.defaults import Duration
from .request import parse_aspect, parse_duration

GRID_USAGE = (
    "%%omni grid [--duration S ...] [--aspect R ...] [--image PATH ...] [--ref PATH ...] "
    "[--concurrency N] [--budget CREDITS] [--out DIR] [-o NAME] [--id GRID_ID], "
    "then one prompt per line"
)


@dataclass(frozen=True)
class GridOptions:
    """The first line of a ``%%omni grid`` cell."""

    durations: list[Duration] | None
    aspects: list[str] | None
    images: list[str] | None
    refs: list[str] | None
    concurrency: int
    budget: float | None
    out: str | None
    name: str | None
    grid_id: str | None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{message.removeprefix('argument ')}; usage: {GRID_USAGE}")


def _positive_int(text: str) -> int:
    if text.isdecimal() and 1 <= int(text) <= 64:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not accepted; allowed: {CONCURRENCY_ALLOWED}")


def _credits(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value >= 0:
        return value
    raise argparse.ArgumentTypeError(f"{text!r} is not accepted; allowed: a number of credits >= 0")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%omni grid", add_help=False)
    parser.add_argument("--duration", nargs="+", type=parse_duration)
    parser.add_argument("--aspect", nargs="+", type=parse_aspect)
    parser.add_argument("--image", nargs="+")
    parser.add_argument("--ref", nargs="+")
    parser.add_argument("--concurrency", type=_positive_int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--budget", type=_credits)
    parser.add_argument("--out")
    parser.add_argument("-o", dest="name")
    parser.add_argument("--id", dest="grid_id")
    return parser


def parse_grid_line(words: list[str]) -> GridOptions:
    """The options of the cell's first line; a bad one is a one-line ``UsageError``."""
    args, rest = _parser().parse_known_args(words)
    if rest:
        raise UsageError(
            f"%%omni grid takes options only on its first line (got {' '.join(rest)!r}): "
            "the cell body holds the prompts, one per line"
        )
    if args.image and args.ref:
        raise UsageError("--image and --ref: use one of them; each row is one kind of request")
    return GridOptions(
        args.duration,
        args.aspect,
        args.image,
        args.ref,
        args.concurrency,
        args.budget,
        args.out,
        args.name,
        args.grid_id,
    )


def grid_rows(
    options: GridOptions, body: str, duration: Duration, aspect_ratio: str
) -> list[dict[str, Any]]:
    """The cell's rows: each prompt line times each axis value (defaults where none given)."""
    prompts = [line.strip() for line in body.splitlines() if line.strip()]
    if not prompts:
        raise UsageError(f"%%omni grid: the cell has no prompt; usage: {GRID_USAGE}")
    axes: dict[str, Any] = {
        "prompts": prompts,
        "durations": options.durations or [duration],
        "aspect_ratios": options.aspects or [aspect_ratio],
    }
    if options.images:
        axes["image"] = options.images
    base = {"images": options.refs} if options.refs else None
    return product(base, **axes)
