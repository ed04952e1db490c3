"""The web survey's limits: request sizes, and rate limits by link and by address.

A rate limit is a token bucket: a client may send ``burst`` requests at once, and the bucket
refills at ``per_minute`` requests a minute. The defaults are far above what people taking a
survey can do (a page takes a person seconds), and above the load test's 200 simulated
respondents from one address; they stop floods and guessing, not fieldwork::

    submissions per link      60 a minute, 30 at once
    submissions per address   3000 a minute, 3000 at once
    admin requests per address           60 a minute, 30 at once
    wrong admin secrets per address      1 a minute, 10 at once

Change them with :meth:`WebLimits.with_options` (``winback field serve --limit NAME=VALUE``).
Pure Python, no web imports: the buckets live in the server process and are lost on restart.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, fields, replace

from winback.errors import WinbackError, did_you_mean, list_valid

#: the slack above the open-text answers of the longest page (hidden fields, ticks, names)
BODY_SLACK = 16 * 1024
#: bytes one character of open text can take in a form: 4 UTF-8 bytes, each sent as ``%XX``
BYTES_PER_CHAR = 12


def monotonic() -> float:
    """The clock of the rate limits (seconds; tests replace it)."""
    return time.monotonic()


@dataclass(frozen=True)
class RateLimit:
    """At most ``burst`` requests at once, then ``per_minute`` a minute (a token bucket).

    Examples
    --------
    >>> RateLimit.parse("60/30")
    RateLimit(per_minute=60.0, burst=30)
    >>> str(RateLimit(60, 30))
    '60 a minute, 30 at once'
    """

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_minute) and self.per_minute > 0):
            raise WinbackError(
                f"a rate limit needs a positive number of requests a minute, not {self.per_minute!r}"
            )
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise WinbackError(
                f"a rate limit needs a burst of at least 1 request, not {self.burst!r}"
            )

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"PER_MINUTE/BURST"``, such as ``"60/30"``."""
        per, sep, burst = text.strip().partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(float(per), int(burst))
        except ValueError:
            raise WinbackError(
                f"rate limit {text!r} is not PER_MINUTE/BURST (such as 60/30), or off"
            ) from None

    def __str__(self) -> str:
        return f"{self.per_minute:g} a minute, {self.burst} at once"


@dataclass(frozen=True)
class WebLimits:
    """Every limit of the web survey; ``None`` switches a rate limit off.

    Attributes
    ----------
    submit_per_token : RateLimit or None
        Pages submitted through one personal link.
    submit_per_ip : RateLimit or None
        Pages submitted from one client address (all links together). Behind a reverse proxy
        every client has the proxy's address, so this is then a limit for the whole survey.
    admin_per_ip : RateLimit or None
        Requests to ``/admin/...`` from one client address.
    admin_failures_per_ip : RateLimit or None
        Admin requests with a missing or wrong secret from one client address; once used up,
        even the right secret is refused until the bucket refills.
    max_body : int or None
        Largest request body in bytes; ``None``: derived from the survey's longest page (see
        :func:`needed_body`), and a smaller value than that is refused.
    max_url : int
        Longest path plus query string in bytes (414 beyond it).

    Examples
    --------
    >>> WebLimits().with_options(["submit-per-ip=600/100", "admin-per-ip=off"]).admin_per_ip is None
    True
    """

    submit_per_token: RateLimit | None = RateLimit(60, 30)
    submit_per_ip: RateLimit | None = RateLimit(3000, 3000)
    admin_per_ip: RateLimit | None = RateLimit(60, 30)
    admin_failures_per_ip: RateLimit | None = RateLimit(1, 10)
    max_body: int | None = None
    max_url: int = 2048

    def with_options(self, options: Iterable[str]) -> WebLimits:
        """These limits changed by ``NAME=VALUE`` texts (every bad one reported at once).

        Names are the attribute names with ``-`` or ``_``; a rate limit's value is
        ``PER_MINUTE/BURST`` or ``off``, ``max-body`` and ``max-url`` take bytes.
        """
        names = [f.name for f in fields(self)]
        changes: dict[str, object] = {}
        problems: list[str] = []
        for option in options:
            name, sep, value = option.partition("=")
            key = name.strip().replace("-", "_")
            if not sep or key not in names:
                valid = [n.replace("_", "-") for n in names]
                hint = did_you_mean(key.replace("_", "-"), valid) if sep else ""
                problems.append(
                    f"unknown limit {option!r}.{hint} Give NAME=VALUE with NAME one of: "
                    f"{list_valid(valid)}"
                )
                continue
            value = value.strip()
            try:
                if key in ("max_body", "max_url"):
                    if not value.isascii() or not value.isdigit() or int(value) < 1:
                        raise WinbackError(f"{name}={value!r} is not a positive number of bytes")
                    changes[key] = int(value)
                elif value.lower() == "off":
                    changes[key] = None
                else:
                    changes[key] = RateLimit.parse(value)
            except WinbackError as exc:
                problems.append(f"{name.strip()}: {exc}")
        if problems:
            raise WinbackError("bad --limit:\n" + "\n".join(f"  - {p}" for p in problems))
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self, max_body: int | None = None) -> str:
        """One line per limit, for the server's start-up message (``max_body``: the one used).

        Examples
        --------
        >>> print(WebLimits().describe(112384).splitlines()[-2])
        largest body (bytes): 112384
        """

        def rate(r: RateLimit | None) -> str:
            return "off" if r is None else str(r)

        body = max_body or self.max_body or "derived from the longest page"
        return "\n".join(
            [
                f"submissions per link: {rate(self.submit_per_token)}",
                f"submissions per address: {rate(self.submit_per_ip)}",
                f"admin requests per address: {rate(self.admin_per_ip)}",
                f"wrong admin secrets per address: {rate(self.admin_failures_per_ip)}",
                f"largest body (bytes): {body}",
                f"longest address (bytes): {self.max_url}",
            ]
        )


def needed_body(n_text_fields: int, max_text: int) -> int:
    """Bytes the longest page can send: its open texts at their longest, plus slack.

    Examples
    --------
    >>> needed_body(2, 4000)
    112384
    """
    return BODY_SLACK + n_text_fields * max_text * BYTES_PER_CHAR


class RateLimiter:
    """Token buckets, one per key (a link, an address); safe to share between threads.

    At most ``max_keys`` buckets are kept: beyond that, full buckets (clients quiet for long
    enough) are forgotten first, then the least recently seen.

    Examples
    --------
    >>> lim = RateLimiter(RateLimit(per_minute=60, burst=2))
    >>> [lim.take("a") == 0 for _ in range(3)]
    [True, True, False]
    """

    def __init__(self, limit: RateLimit | None, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: Hashable, now: float) -> float:
        assert self.limit is not None
        tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
        return min(float(self.limit.burst), tokens + (now - at) * self.limit.per_minute / 60.0)

    def _wait(self, tokens: float) -> float:
        assert self.limit is not None
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * 60.0 / self.limit.per_minute

    def wait(self, key: Hashable) -> float:
        """Seconds until ``key`` may send a request (0: now), without using one up."""
        if self.limit is None:
            return 0.0
        with self._lock:
            return self._wait(self._level(key, monotonic()))

    def take(self, key: Hashable) -> float:
        """Use up one request of ``key``: 0 if allowed, else the seconds to wait (nothing used)."""
        if self.limit is None:
            return 0.0
        with self._lock:
            now = monotonic()
            tokens = self._level(key, now)
            wait = self._wait(tokens)
            if wait == 0.0:
                tokens -= 1.0
            self._buckets.pop(key, None)  # re-inserted last: the dict is in order of last use
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self.max_keys:
                self._forget(now)
            return wait

    def _forget(self, now: float) -> None:
        assert self.limit is not None
        full = [k for k in self._buckets if self._level(k, now) >= self.limit.burst]
        for k in full:
            del self._buckets[k]
        excess = len(self._buckets) - self.max_keys
        for k in list(self._buckets)[: max(excess, 0)]:
            del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._buckets


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` value: whole seconds, rounded up, at least 1.

    Examples
    --------
    >>> retry_after(0.2), retry_after(59.01)
    ('1', '60')
    """
    return str(max(1, math.ceil(seconds)))
