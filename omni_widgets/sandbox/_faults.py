"""Misbehaviour on demand: rules that make chosen requests slow, refused, dropped or garbled.

A rule has a kind, the endpoints it watches (`on`) and when it fires: for the next `count` requests
it sees, on `every` n-th one, at random with probability `rate`, or (none of these) always. Rules
are checked in the order they were added; the first outcome rule that fires decides, and later rules
do not see that request. Latency rules add up and never stop the checking. Everything is
thread-safe: tests change faults from their own thread while the server runs.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

Kind = Literal["rate_limit", "server_error", "drop", "malformed", "truncate", "html", "latency"]
Target = Literal["create", "query", "both", "download", "any"]
Endpoint = Literal["create", "query", "download"]
MalformedBody = Literal["truncated", "text"]

_TARGETS: dict[str, tuple[Endpoint, ...]] = {
    "create": ("create",),
    "query": ("query",),
    "both": ("create", "query"),
    "download": ("download",),
    "any": ("create", "query", "download"),
}


@dataclass
class Fault:
    """One misbehaviour rule.

    kind: rate_limit (429), server_error (500), drop (close the connection without a response),
        malformed (the real status with a truncated JSON or plain-text body), truncate (the real
        answer cut in half, e.g. a video download cut short), html (a proxy's HTML page with
        200; the request never reaches the service), latency (delay).
    on: create, query, both (create and query; the default), download, or any.
    count / every / rate: fire for the next N matching requests, on every N-th, or with
        probability p; with none of them the rule always fires.
    retry_after: rate_limit only, seconds sent in a Retry-After header.
    seconds: latency only, the delay.
    after: drop and server_error; when true the request is processed first (a create makes its
        task) and then the response is lost (drop) or replaced by a 500 naming the task
        (server_error), as when a connection or a gateway fails on the way back.
    body: malformed only; "truncated" (the real JSON cut in half) or "text" (a proxy's text page).
    content_length: truncate only; true sends a Content-Length matching the cut body, false
        sends none (chunked), so only the body itself can show it is incomplete.
    """

    kind: Kind
    on: Target = "both"
    count: int | None = None
    every: int | None = None
    rate: float | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    after: bool = False
    body: MalformedBody = "truncated"
    content_length: bool = True
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise ValueError(f"kind must be one of {', '.join(get_args(Kind))}, got {self.kind!r}")
        if self.on not in _TARGETS:
            raise ValueError(f"on must be one of {', '.join(_TARGETS)}, got {self.on!r}")
        modes = [name for name in ("count", "every", "rate") if getattr(self, name) is not None]
        if len(modes) > 1:
            raise ValueError(f"give at most one of count, every, rate; got {', '.join(modes)}")
        for name in ("count", "every"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.rate is not None and not (_is_number(self.rate) and 0.0 <= self.rate <= 1.0):
            raise ValueError(f"rate must be a number 0..1, got {self.rate!r}")
        if self.retry_after is not None and (not _is_int(self.retry_after) or self.retry_after < 0):
            raise ValueError(
                f"retry_after must be a non-negative integer, got {self.retry_after!r}"
            )
        if not _is_number(self.seconds) or self.seconds < 0:
            raise ValueError(f"seconds must be a non-negative number, got {self.seconds!r}")
        if self.kind == "latency" and self.seconds == 0:
            raise ValueError("a latency fault needs seconds > 0")
        if self.body not in get_args(MalformedBody):
            raise ValueError(f"body must be 'truncated' or 'text', got {self.body!r}")
        for name in ("after", "content_length"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        """Build a rule from JSON-like data (admin endpoint, CLI), refusing unknown keys."""
        allowed = {f.name for f in fields(cls)} - {"seen", "fired"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a kind")
        return cls(**dict(data))

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse the CLI form `kind[:key=value,...]`, e.g. `rate_limit:on=create,count=2`."""
        kind, _, rest = spec.partition(":")
        data: dict[str, Any] = {"kind": kind.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value in fault spec, got {item!r}")
            data[key.strip()] = _scalar(value.strip())
        return cls.from_mapping(data)

    @property
    def active(self) -> bool:
        """False once a count rule has used up its count."""
        return self.count is None or self.fired < self.count

    def watches(self, endpoint: Endpoint) -> bool:
        """Whether this rule looks at requests to `endpoint`."""
        return endpoint in _TARGETS[self.on]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, including how many requests it saw and fired on."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"active": self.active}

    def _fires(self, rng: random.Random) -> bool:
        self.seen += 1
        if self.count is not None:
            hit = self.fired < self.count
        elif self.every is not None:
            hit = self.seen % self.every == 0
        elif self.rate is not None:
            hit = rng.random() < self.rate
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


@dataclass(frozen=True)
class Decision:
    """What to do with one request: wait `delay` seconds, then apply `fault` (None: behave)."""

    delay: float = 0.0
    fault: Fault | None = None


class Faults:
    """The sandbox's live fault rules (`sb.faults`); add, inspect and clear them at any time."""

    def __init__(self, rules: Iterable[Fault] = (), *, seed: int | None = None) -> None:
        self._rules: list[Fault] = list(rules)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Append a rule and return it (its `fired` count tells how often it struck)."""
        with self._lock:
            self._rules.append(fault)
        return fault

    def rate_limit(
        self,
        *,
        on: Target = "both",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
        retry_after: int | None = None,
    ) -> Fault:
        """Answer 429 (with Retry-After when given)."""
        return self.add(Fault("rate_limit", on, count, every, rate, retry_after=retry_after))

    def server_error(
        self,
        *,
        on: Target = "both",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
        after: bool = False,
    ) -> Fault:
        """Answer 500 with the endpoint's internal_error body (after processing it if `after`)."""
        return self.add(Fault("server_error", on, count, every, rate, after=after))

    def drop(
        self,
        *,
        on: Target = "both",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
        after: bool = False,
    ) -> Fault:
        """Close the connection without a response (after processing the request if `after`)."""
        return self.add(Fault("drop", on, count, every, rate, after=after))

    def malformed(
        self,
        *,
        on: Target = "both",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
        body: MalformedBody = "truncated",
    ) -> Fault:
        """Process the request but garble the response body."""
        return self.add(Fault("malformed", on, count, every, rate, body=body))

    def truncate(
        self,
        *,
        on: Target = "download",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
        content_length: bool = True,
    ) -> Fault:
        """Process the request but send only the first half of the answer's body."""
        return self.add(Fault("truncate", on, count, every, rate, content_length=content_length))

    def html(
        self,
        *,
        on: Target = "download",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
    ) -> Fault:
        """Answer 200 with a proxy's HTML page instead of passing the request on."""
        return self.add(Fault("html", on, count, every, rate))

    def latency(
        self,
        seconds: float,
        *,
        on: Target = "both",
        count: int | None = None,
        every: int | None = None,
        rate: float | None = None,
    ) -> Fault:
        """Delay matching requests by `seconds` before handling them."""
        return self.add(Fault("latency", on, count, every, rate, seconds=seconds))

    def remove(self, fault: Fault) -> None:
        """Take one rule out."""
        with self._lock:
            self._rules = [rule for rule in self._rules if rule is not fault]

    def clear(self) -> None:
        """Remove every rule: the sandbox behaves again."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        """A copy of the current rules, in checking order."""
        with self._lock:
            return list(self._rules)

    def decide(self, endpoint: Endpoint) -> Decision:
        """Consult the rules for one request to `endpoint` (counts it against them)."""
        delay = 0.0
        with self._lock:
            for rule in self._rules:
                if not rule.watches(endpoint) or not rule.active:
                    continue
                if rule.kind == "latency":
                    if rule._fires(self._rng):
                        delay += rule.seconds
                elif rule._fires(self._rng):
                    return Decision(delay, rule)
        return Decision(delay, None)

    def __repr__(self) -> str:
        return f"Faults({self.rules!r})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(text: str) -> Any:
    """CLI value: true/false, an int, a float, or the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text
