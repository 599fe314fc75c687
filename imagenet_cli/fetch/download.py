"""Concurrent HTTP downloads: bounded in flight (overall and per host), bounded in
size and time, retried with exponential backoff and jitter.

One :class:`Downloader` is shared by the threads of a process: each thread talks
through its own libcurl handle (kept-alive connections, the exchange run in C
without the interpreter lock; see :mod:`.transport`). Its :meth:`Downloader.get`
blocks and is thread-safe. Redirects are followed by hand so
each hop goes through the per-host bound and a loop ends after ``max_redirects``
hops. Retries cover connect errors, dropped connections, 5xx and 429 (whose
``Retry-After`` is honoured up to ``backoff_max``). The per-host bound is a
:class:`HostLimiter` object, swappable for one shared between processes
(:class:`SharedHostLimiter`) or machines.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin

from .. import __version__
from .credentials import redact
from .transport import (
    ACCEPT_ENCODING,
    BodyDecoder,
    CurlSession,
    EnvProxies,
    ProxyConfigError,
    Response,
    TransportError,
    decodable,
    normalise_url,
)

USER_AGENT = f"imagenet-cli/{__version__} (+research use under ImageNet's terms of access)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# How often a blocked wait (a host slot, a backoff) looks at the stop flag.
POLL = 0.25


MIN_RATE = 1024  # bytes a second: the floor of a long download (archives, URL lists)


def at_least(chunks: Iterator[bytes], window: float, rate: float = MIN_RATE) -> Iterator[bytes]:
    """``chunks`` as they arrive, until fewer than ``rate`` bytes a second came in the
    last ``window`` seconds: then :class:`OSError`. A timeout per read alone lets a
    server that sends a byte now and then hold a multi-GB download for ever."""
    mark, got = time.monotonic(), 0
    for chunk in chunks:
        got += len(chunk)
        now = time.monotonic()
        if now - mark >= window:
            if got < rate * (now - mark):
                raise OSError(
                    f"slower than {rate:,.0f} bytes/s for {window:g} s (a stalled server?)"
                )
            mark, got = now, 0
        yield chunk


@dataclass(frozen=True)
class DownloadOptions:
    """Bounds of a download run."""

    concurrency: int = 64
    per_host: int = 8
    timeout: float = 30.0
    retries: int = 3
    max_bytes: int = 50_000_000
    max_redirects: int = 10
    backoff_base: float = 0.5
    backoff_max: float = 60.0


@dataclass
class Fetched:
    """What one URL gave: a body (status 200), or a status / error kind and message."""

    url: str
    status: int | None = None
    body: bytes | None = None
    kind: str = ""  # "" on success, else timeout, connect_error, too_large, ...
    error: str = ""
    attempts: int = 0
    final_url: str = ""
    headers: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.body is not None


def retry_delay(
    attempt: int, retry_after: str | None, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    ``Retry-After`` (seconds or an HTTP date) wins when present; otherwise
    exponential backoff with full jitter between half and all of ``base * 2**(n-1)``.
    Both are capped at ``cap``.
    """
    if retry_after:
        wait = _parse_retry_after(retry_after)
        if wait is not None:
            return max(0.0, min(cap, wait))
    step = base * (2 ** (attempt - 1))
    draw = rng.random() if rng is not None else random.random()
    return float(max(0.0, min(cap, step * (0.5 + 0.5 * draw))))


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        import email.utils  # here: only an HTTP-date Retry-After needs it

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return float(when.timestamp() - time.time())


class StopFlag(Protocol):
    """What a run's stop signal offers: ``threading.Event`` and ``multiprocessing.Event`` do."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class HostLimiter(Protocol):
    """The per-host bound: at most so many requests to one host at once.

    Swappable so that a driver spreading work over processes or machines can bound
    hosts across all of them (see :class:`SharedHostLimiter`).
    """

    def acquire(self, host: str, timeout: float) -> bool: ...

    def release(self, host: str) -> None: ...


class _Tokens:
    """A counting semaphore on ``queue.SimpleQueue`` (C, lock-free in Python): under
    dozens of threads ``threading.Semaphore``'s Python-level condition convoys."""

    def __init__(self, n: int) -> None:
        self._q: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(n):
            self._q.put(None)

    def acquire(self, timeout: float) -> bool:
        try:
            self._q.get(timeout=timeout)
        except queue.Empty:
            return False
        return True

    def release(self) -> None:
        self._q.put(None)


class LocalHostLimiter:
    """Per-host bound for the threads of one process: a semaphore per host."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._sems: dict[str, _Tokens] = {}
        self._lock = threading.Lock()

    def _sem(self, host: str) -> _Tokens:
        sem = self._sems.get(host)
        if sem is None:
            with self._lock:
                sem = self._sems.get(host)
                if sem is None:
                    sem = self._sems[host] = _Tokens(self.per_host)
        return sem

    def acquire(self, host: str, timeout: float) -> bool:
        return self._sem(host).acquire(timeout)

    def release(self, host: str) -> None:
        self._sem(host).release()


class SharedHostLimiter:
    """Per-host bound across the processes forked or spawned after it is made.

    Hosts hash (stably, crc32) into a fixed set of process-shared semaphores made
    up front, since processes cannot create shared ones later. Two hosts in one
    bucket share its slots: the bound is never exceeded, at worst met early.
    """

    def __init__(self, per_host: int, context: Any, buckets: int = 256) -> None:
        self.per_host = max(1, per_host)
        self._sems = [context.BoundedSemaphore(self.per_host) for _ in range(buckets)]

    def _sem(self, host: str) -> Any:
        return self._sems[zlib.crc32(host.encode("utf-8", "surrogatepass")) % len(self._sems)]

    def acquire(self, host: str, timeout: float) -> bool:
        return bool(self._sem(host).acquire(timeout=timeout))

    def release(self, host: str) -> None:
        self._sem(host).release()


class _Redirect(Exception):
    def __init__(self, location: str, status: int) -> None:
        self.location, self.status = location, status


class _Retryable(Exception):
    """A response or error worth another attempt; carries the result if none is left."""

    def __init__(self, result: Fetched, retry_after: str | None = None) -> None:
        self.result, self.retry_after = result, retry_after


class Downloader:
    """A thread-safe blocking HTTP client with global and per-host bounds.

    Use as ``with Downloader(options) as dl`` and call :meth:`get` from any number of
    threads; each thread gets its own libcurl handle and connections. ``limiter``
    replaces the in-process per-host bound; ``stop`` (an event) ends waits and
    retries early.
    """

    def __init__(
        self,
        options: DownloadOptions,
        *,
        headers: dict[str, str] | None = None,
        limiter: HostLimiter | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        self.options = options
        self.limiter: HostLimiter = limiter or LocalHostLimiter(options.per_host)
        self.stop_flag: StopFlag = stop if stop is not None else threading.Event()
        self._base_headers = {"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING}
        self._base_headers.update((k.lower(), v) for k, v in (headers or {}).items())
        self._headers = _header_lines(self._base_headers)
        self._proxies = EnvProxies()
        self._global = _Tokens(max(1, options.concurrency))
        self._local = threading.local()
        self._sessions: list[CurlSession] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's connections (idempotent)."""
        with self._lock:
            sessions, self._sessions, self._closed = self._sessions, [], True
        for session in sessions:
            with contextlib.suppress(Exception):
                session.close()

    def _session(self) -> CurlSession:
        """This thread's libcurl handle."""
        session: CurlSession | None = getattr(self._local, "session", None)
        if session is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("Downloader used after close()")
                session = self._local.session = CurlSession()
                self._sessions.append(session)
        return session

    @contextlib.contextmanager
    def _slot(self, host: str) -> Iterator[bool]:
        """Hold a global and a per-host slot; yields False when the run was stopped."""
        stop = self.stop_flag
        while not self._global.acquire(POLL):
            if stop.is_set():
                yield False
                return
        try:
            while not self.limiter.acquire(host, POLL):
                if stop.is_set():
                    yield False
                    return
            try:
                yield True
            finally:
                self.limiter.release(host)
        finally:
            self._global.release()

    def get(
        self, url: str, *, headers: dict[str, str] | None = None, max_bytes: int | None = None
    ) -> Fetched:
        """Fetch ``url`` with redirects, retries and bounds; never raises for network trouble.

        A stopped run answers ``kind="cancelled"`` without (further) requests.
        """
        opts = self.options
        limit = opts.max_bytes if max_bytes is None else max_bytes
        attempts = hops = 0
        current = url
        while True:
            attempts += 1
            try:
                target, scheme, host = normalise_url(current)
            except ValueError as exc:
                return self._failed(url, attempts, "invalid_url", str(exc) or "not a valid URL")
            try:
                with self._slot(host) as held:
                    if not held:
                        return self._failed(url, attempts, "cancelled", "the run was stopped")
                    result = self._once(target, scheme, host, headers, limit)
                result.url, result.attempts = url, attempts
                return result
            except _Redirect as hop:
                hops += 1
                attempts -= 1  # a redirect is not a failed attempt
                if hops > opts.max_redirects:
                    return self._failed(
                        url,
                        attempts + 1,
                        "too_many_redirects",
                        f"more than {opts.max_redirects} redirects",
                        hop.status,
                    )
                try:
                    current = urljoin(current, hop.location)
                except ValueError as exc:  # e.g. "http://[::1": no URL at all
                    return self._failed(
                        url,
                        attempts + 1,
                        "invalid_url",
                        f"a redirect to a bad URL: {exc}",
                        hop.status,
                    )
            except _Retryable as retry:
                wait = retry_delay(attempts, retry.retry_after, opts.backoff_base, opts.backoff_max)
                if attempts > opts.retries or self.stop_flag.wait(wait):
                    retry.result.url, retry.result.attempts = url, attempts
                    return retry.result

    @staticmethod
    def _failed(
        url: str, attempts: int, kind: str, error: str, status: int | None = None
    ) -> Fetched:
        return Fetched(url, status=status, kind=kind, error=redact(error), attempts=attempts)

    def _once(
        self, url: str, scheme: str, host: str, headers: dict[str, str] | None, limit: int
    ) -> Fetched:
        """One request to ``url`` (normalised): its result, or an exception for a redirect
        or a failure worth retrying."""
        try:
            proxy = self._proxies.proxy_for(scheme, host)
        except ProxyConfigError as exc:
            return self._failed(url, 1, "proxy_error", str(exc))
        lines = self._headers
        if headers:  # a request's own headers replace the Downloader's of the same name
            merged = {**self._base_headers, **{k.lower(): v for k, v in headers.items()}}
            lines = _header_lines(merged)
        t = self.options.timeout
        try:
            response = self._session().get(url, lines, proxy=proxy, timeout=t, limit=limit)
        except TransportError as exc:
            return self._failure(url, exc, t, limit)
        return self._read(url, response, limit)

    def _failure(self, url: str, exc: TransportError, timeout: float, limit: int) -> Fetched:
        kind, status = exc.kind, exc.status
        if (
            status is not None
            and status != 200
            and kind
            in (
                "too_large",
                "incomplete",
                "connection_error",
            )
        ):
            # A redirect or an error whose body was cut off or too big: the status and
            # headers are the answer, as they would be with the whole body.
            if 300 <= status < 400 and status != 304 and "location" in exc.headers:
                raise _Redirect(exc.headers["location"], status)
            failed = Fetched(url, status=status, kind=f"http_{status}", error=f"HTTP {status}")
            if status in RETRY_STATUS:
                raise _Retryable(failed, exc.headers.get("retry-after"))
            return failed
        if kind == "timeout":
            return self._failed(url, 1, "timeout", f"no complete answer in {timeout:g} s")
        if kind == "too_large":
            return self._failed(url, 1, "too_large", f"more than {limit:,} bytes", status)
        failed = self._failed(url, 1, kind, exc.message, status)
        if kind in ("connect_error", "connection_error", "incomplete"):
            raise _Retryable(failed)
        return failed

    def _read(self, url: str, response: Response, limit: int) -> Fetched:
        status, resp_headers = response.status, response.headers
        if 300 <= status < 400 and status != 304 and "location" in resp_headers:
            raise _Redirect(resp_headers["location"], status)
        error = f"HTTP {status} {response.reason}".strip()
        if status in RETRY_STATUS:
            raise _Retryable(
                Fetched(url, status=status, kind=f"http_{status}", error=error),
                resp_headers.get("retry-after"),
            )
        final = redact(url)
        if status != 200:
            return Fetched(
                url,
                status=status,
                kind=f"http_{status}",
                error=error,
                final_url=final,
                headers=resp_headers,
            )
        body = response.body
        encoding = resp_headers.get("content-encoding", "").strip().lower()
        if decodable(encoding):
            decoder = BodyDecoder(encoding)
            try:
                decoded = decoder.feed(body, limit)
            except zlib.error as exc:
                return Fetched(
                    url, status=status, kind="http_error", error=f"bad {encoding} body: {exc}"
                )
            if decoded is None:
                return Fetched(
                    url, status=status, kind="too_large", error=f"more than {limit:,} bytes"
                )
            if not decoder.end():
                raise _Retryable(
                    Fetched(
                        url, status=status, kind="incomplete", error=f"{encoding} body cut short"
                    )
                )
            body = decoded
        elif encoding not in ("", "identity"):
            return Fetched(
                url, status=status, kind="http_error", error=f"unknown Content-Encoding {encoding}"
            )
        return Fetched(url, status=status, body=body, final_url=final, headers=resp_headers)


def _header_lines(headers: dict[str, str]) -> list[str]:
    return [f"{k}: {v}" for k, v in headers.items()]
