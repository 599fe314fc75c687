"""The HTTP transport under :class:`~imagenet_cli.fetch.download.Downloader`: libcurl.

Each downloading thread owns one libcurl easy handle (through pycurl), which keeps
its connections alive from one request to the next. libcurl parses HTTP in C and
releases the interpreter lock for the whole exchange, so the threads of a process
no longer queue on the lock for every header and body chunk; a request costs a
fraction of the CPU it took in pure-Python HTTP. What ``httpx.Client(trust_env=True)``
gave is kept: URLs are normalised as ``httpx.URL`` does (IDNA hosts, percent-encoded
paths and queries; see :func:`normalise_url`), the proxy comes from the environment
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), certificates are
checked against ``SSL_CERT_FILE``/``SSL_CERT_DIR`` or certifi's bundle, and
gzip/deflate bodies are decoded here, bounded like any other body.

Image lists and archives, large bodies read as they arrive, go through :func:`stream`:
the same libcurl setup (proxy, certificates, error kinds), redirects followed by libcurl.
"""

from __future__ import annotations

import math
import os
import re
import sys
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

ACCEPT_ENCODING = "gzip, deflate"
# Hosts remembered per Downloader for their proxy decision: enough for any run's
# working set, bounded for a list that spans millions of hosts.
_PROXY_CACHE = 65536
PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h"})
# Characters a path (and, with "?", a query) keeps as they are: RFC 3986's reserved
# and unreserved ones, and "%" so that what is already encoded stays so.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
# What a host part needs encoding for: anything but printable ASCII.
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
# Kept-alive connections per handle: a thread has one request in flight, so a few
# cover the hosts it alternates between.
HANDLE_CONNECTIONS = 4
# Headers whose every value counts, each on a line of its own: an X-Robots-Tag that
# names an agent applies to its own header's directives only, so they are not merged.
JOINED = frozenset({"x-robots-tag"})


class ProxyConfigError(ValueError):
    """The environment names a proxy this transport cannot use."""


class EnvProxies:
    """Which proxy, if any, a URL goes through, as the environment says (read once)."""

    def __init__(self, proxies: dict[str, str] | None = None) -> None:
        if proxies is None and not _may_have_proxies():
            proxies = {}
        if proxies is None:
            import urllib.request  # here: it pulls in http.client and email (25 ms a start)

            proxies = urllib.request.getproxies()
        self._proxies = {k.lower(): v for k, v in proxies.items() if v}
        self._cache: dict[tuple[str, str], tuple[str, str] | None] = {}

    def proxy_for(self, scheme: str, netloc: str) -> tuple[str, str] | None:
        """``(url, host)`` of the proxy for ``scheme://netloc`` (see :func:`proxy_url`),
        or None to go direct; :class:`ProxyConfigError` for one that cannot be used."""
        if not self._proxies:
            return None
        key = (scheme, netloc)
        try:
            return self._cache[key]
        except KeyError:
            pass
        import urllib.request

        setting = self._proxies.get(scheme) or self._proxies.get("all")
        # Public in urllib.request since Python 2, though typeshed leaves it out.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        proxy = proxy_url(setting) if setting and not bypass(netloc, self._proxies) else None
        if len(self._cache) >= _PROXY_CACHE:
            self._cache.clear()
        self._cache[key] = proxy
        return proxy


def _may_have_proxies() -> bool:
    """Whether a proxy may be configured: a ``*_proxy`` variable, or a system whose
    settings ``urllib.request.getproxies`` also reads (macOS, Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return any(k.lower().endswith("_proxy") and v for k, v in os.environ.items())


def normalise_url(url: str) -> tuple[str, str, str]:
    """``(url, scheme, host[:port])`` of an http(s) URL as it goes on the wire, the
    host lower-cased and without credentials in the last part.

    The host in IDNA form, the path and query percent-encoded where they hold spaces,
    controls or other characters a request line cannot carry, the fragment dropped.
    Raises ValueError for anything but a well-formed http:// or https:// URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise ValueError("not an http:// or https:// URL")
    port = parts.port  # raises ValueError for a port that is not one
    netloc = parts.netloc
    if _UNPRINTABLE.search(netloc):
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise ValueError(f"{host!r} is not a valid host name") from None
        if any(c.isspace() or c in "/?#@" for c in host):
            raise ValueError(f"{host!r} is not a valid host name")
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (
            (f"{quote(userinfo, safe=':%')}@" if userinfo else "")
            + (f"[{host}]" if ":" in host else host)
            + (f":{port}" if port is not None else "")
        )
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}", scheme, netloc.rpartition("@")[2].lower()


def proxy_url(proxy: str) -> tuple[str, str]:
    """``(url, host)`` of a proxy setting, the scheme made explicit.

    Raises :class:`ProxyConfigError` for a proxy it cannot use; the message never
    holds the proxy's address (it may carry credentials).
    """
    url = proxy if "://" in proxy else f"http://{proxy}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ProxyConfigError("the proxy set in the environment is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise ProxyConfigError(f"proxies of scheme {scheme!r} are not supported")
    if not host:
        raise ProxyConfigError(f"the {scheme} proxy set in the environment is malformed")
    return url, host


@dataclass
class Response:
    """One HTTP exchange: the final status line, headers, and the body as sent."""

    status: int
    reason: str
    headers: dict[str, str]  # by lower-case name; a repeated one: its last value (see JOINED)
    body: bytes


class TransportError(Exception):
    """A request that got no whole answer.

    ``kind`` is ``invalid_url``, ``connect_error``, ``tls_error`` (a certificate that
    does not check out), ``timeout``, ``connection_error`` (the connection broken, a
    reset, before or during the answer), ``incomplete`` (a body cut short of its
    declared length), ``too_large``, ``proxy_error`` or
    ``http_error``; ``status`` and ``headers`` are the answer's, when one came.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status
        self.headers = headers or {}


# libcurl error codes (curl/curl.h) by what they mean to a download.
_INVALID = frozenset({1, 3})  # unsupported protocol, malformed URL
_CONNECT = frozenset({6, 7, 35})  # resolve, connect, TLS handshake
_TLS = frozenset({58, 59, 60, 77, 83, 90, 91})  # certificates: retrying will not help
_PROXY = frozenset({5, 97})  # cannot resolve the proxy, proxy handshake
_BROKEN = frozenset({18, 52, 55, 56, 92, 95})  # cut short, nothing, send/recv failed
_PARTIAL = 18  # the body ended before its declared length
_TIMEOUT = 28
_TOO_LARGE = 63


class CurlSession:
    """One thread's libcurl handle: set up once, kept-alive connections, one request
    at a time. Not thread-safe: each thread makes its own."""

    def __init__(self) -> None:
        import pycurl

        self._pycurl = pycurl
        c = self._c = pycurl.Curl()
        c.setopt(pycurl.NOSIGNAL, 1)  # timeouts without SIGALRM: required with threads
        c.setopt(pycurl.FOLLOWLOCATION, 0)  # the Downloader follows hops itself
        c.setopt(pycurl.HTTP_CONTENT_DECODING, 0)  # bodies are decoded, bounded, by the caller
        c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.MAXCONNECTS, HANDLE_CONNECTIONS)
        c.setopt(pycurl.BUFFERSIZE, 1 << 19)  # fewer, larger body chunks into Python
        c.setopt(pycurl.NOPROGRESS, 1)
        c.setopt(pycurl.TCP_NODELAY, 1)
        c.setopt(pycurl.NOPROXY, "")  # NO_PROXY is applied by EnvProxies, not twice
        cafile, capath = _ca_locations()
        if cafile:
            c.setopt(pycurl.CAINFO, cafile)
            c.setopt(pycurl.PROXY_CAINFO, cafile)
        if capath:
            c.setopt(pycurl.CAPATH, capath)
            c.setopt(pycurl.PROXY_CAPATH, capath)
        self._headers: list[bytes] = []
        self._chunks: list[bytes] = []
        c.setopt(pycurl.HEADERFUNCTION, self._headers.append)
        c.setopt(pycurl.WRITEFUNCTION, self._chunks.append)

    def get(
        self,
        url: str,
        headers: list[str],
        *,
        proxy: tuple[str, str] | None,
        timeout: float,
        limit: int,
    ) -> Response:
        """GET ``url``; its body whole (as sent, at most ``limit`` bytes) or an error.

        ``proxy`` is ``(url, host)`` as :func:`proxy_url` gives it. ``timeout`` bounds
        the connection and the whole exchange. Raises :class:`TransportError`; its
        message never holds the proxy's address.
        """
        pycurl, c = self._pycurl, self._c
        proxy_url_, proxy_host = proxy if proxy is not None else ("", "")
        self._headers.clear()
        self._chunks.clear()
        ms = max(1, int(timeout * 1000))
        try:
            c.setopt(pycurl.URL, url)
            c.setopt(pycurl.HTTPHEADER, headers)
            c.setopt(pycurl.PROXY, proxy_url_)  # "": no proxy, not even libcurl's own pick
            c.setopt(pycurl.TIMEOUT_MS, ms)
            c.setopt(pycurl.CONNECTTIMEOUT_MS, ms)
            c.setopt(pycurl.MAXFILESIZE_LARGE, limit)
            c.perform()
        except pycurl.error as exc:
            code = int(exc.args[0]) if exc.args else 0
            message = str(exc.args[1]) if len(exc.args) > 1 else ""
            raise self._error(code, message, proxy_host) from None
        except (TypeError, ValueError, UnicodeError) as exc:  # e.g. a NUL in the URL
            raise TransportError("invalid_url", str(exc) or "not a valid URL") from None
        status, reason, found = _parse_headers(self._headers)
        return Response(status, reason, found, b"".join(self._chunks))

    def _error(self, code: int, message: str, proxy_host: str) -> TransportError:
        if proxy_host and proxy_host in message:
            # Name no proxy (its address may be private, its URL holds secrets); what
            # libcurl says of it would read "... to the proxy:9 over proxy the proxy ...".
            why = message.rpartition(": ")[2] if ": " in message else ""
            message = "through the proxy" + (f": {why}" if why else "")
        message = message.strip() or f"libcurl error {code}"
        status, _, found = _parse_headers(self._headers)
        answered = status or None
        if code in _INVALID:
            return TransportError("invalid_url", message)
        if code in _PROXY:
            return TransportError("proxy_error", message)
        if code == _TIMEOUT:
            # A kept-alive connection reused has no connect time: the request sent
            # tells that one was up, and the time ran out waiting for the answer.
            c, pycurl = self._c, self._pycurl
            connected = c.getinfo(pycurl.CONNECT_TIME) > 0 or c.getinfo(pycurl.REQUEST_SIZE) > 0
            return TransportError("timeout" if connected else "connect_error", message, answered)
        if code in _CONNECT:
            return TransportError("connect_error", message)
        if code in _TLS:
            return TransportError("tls_error", message)
        if code == _TOO_LARGE:
            return TransportError("too_large", message, answered, found)
        if code in _BROKEN:
            # The server closed early (fewer bytes than it declared): incomplete. The
            # connection broken under the answer (a reset), wherever it came: the
            # network's doing, a connection_error.
            kind = "incomplete" if answered and code == _PARTIAL else "connection_error"
            return TransportError(kind, message, answered, found)
        return TransportError("http_error", message, answered, found)

    def close(self) -> None:
        self._c.close()


@dataclass
class Streamed:
    """An answer whose body is read as it arrives (see :func:`stream`)."""

    status: int
    headers: dict[str, str]  # by lower-case name
    chunks: Iterator[bytes]  # the body, decoded (gzip, deflate), in pieces as they come


@contextmanager
def stream(
    url: str, *, timeout: float, user_agent: str, max_redirects: int = 20
) -> Iterator[Streamed]:
    """GET ``url`` for a large body (an image list, an archive): redirects followed, the
    body decoded and handed over in pieces as libcurl receives them, in this thread.

    ``timeout`` bounds the connection and any wait for the next byte (a stalled body is
    cut after it), not the whole download. The proxy is the environment's, as for
    images. Raises :class:`TransportError` (its message names no proxy), also from the
    body's iterator, and ValueError for a URL that is not http(s).
    """
    import pycurl

    target, scheme, host = normalise_url(url)
    try:
        proxy = EnvProxies().proxy_for(scheme, host)
    except ProxyConfigError as exc:
        raise TransportError("proxy_error", str(exc)) from None
    session = CurlSession()
    c = session._c
    pieces: deque[bytes] = deque()
    c.setopt(pycurl.WRITEFUNCTION, pieces.append)
    c.setopt(pycurl.FOLLOWLOCATION, 1)
    c.setopt(pycurl.MAXREDIRS, max_redirects)
    c.setopt(pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    c.setopt(pycurl.HTTP_CONTENT_DECODING, 1)
    c.setopt(pycurl.ACCEPT_ENCODING, ACCEPT_ENCODING)
    c.setopt(pycurl.URL, target)
    c.setopt(pycurl.HTTPHEADER, [f"User-Agent: {user_agent}"])
    c.setopt(pycurl.PROXY, proxy[0] if proxy else "")
    c.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(timeout * 1000)))
    # No byte for `timeout` seconds (under 1 byte/s over it) ends the transfer.
    c.setopt(pycurl.LOW_SPEED_LIMIT, 1)
    c.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(timeout)))
    multi = pycurl.CurlMulti()
    multi.add_handle(c)
    proxy_host = proxy[1] if proxy else ""

    def pump() -> bool:
        """Let libcurl move what it can; whether the transfer still runs."""
        while True:
            ret, running = multi.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        if running:
            return True
        _, _, failed = multi.info_read()
        if failed:
            _, code, message = failed[0]
            errno = c.getinfo(pycurl.OS_ERRNO)
            if int(code) in _CONNECT and errno and not proxy_host:
                message = f"[Errno {errno}] {os.strerror(errno)}"  # as the system says it
            raise session._error(int(code), str(message), proxy_host)
        return False

    def body(running: bool) -> Iterator[bytes]:
        while True:
            while pieces:
                yield pieces.popleft()
            if not running:
                return
            multi.select(1.0)
            running = pump()

    try:
        running = pump()
        while running and not pieces:  # the final answer's head comes with its first bytes
            multi.select(1.0)
            running = pump()
        status, _, found = _parse_headers(session._headers)
        yield Streamed(status, found, body(running))
    finally:
        multi.remove_handle(c)
        multi.close()
        session.close()


def _parse_headers(lines: list[bytes]) -> tuple[int, str, dict[str, str]]:
    """The last response's status, reason and headers among the raw header lines."""
    status, reason = 0, ""
    found: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("latin-1").rstrip("\r\n")
        if line.startswith("HTTP/"):  # a new response (after a 1xx): start over
            parts = line.split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            reason = parts[2] if len(parts) > 2 else ""
            found = {}
        elif ":" in line:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name in JOINED and name in found:
                value = f"{found[name]}\n{value}"
            found[name] = value
    return status, reason, found


def _ca_locations() -> tuple[str | None, str | None]:
    """The CA bundle (file) and folder to trust, as httpx would choose them."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    return cafile, capath


class BodyDecoder:
    """Undo a gzip or deflate Content-Encoding, never past ``limit`` decoded bytes."""

    def __init__(self, encoding: str) -> None:
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z: Any = zlib.decompressobj(wbits)

    def feed(self, chunk: bytes, room: int) -> bytes | None:
        """Decoded bytes of ``chunk``; None when they would exceed ``room`` more bytes."""
        out: bytes = self._z.decompress(chunk, room + 1)
        return None if len(out) > room or self._z.unconsumed_tail else out

    def end(self) -> bool:
        """Whether the stream ended where it should (a cut-off gzip body is incomplete)."""
        return bool(self._z.eof)


def decodable(encoding: str) -> bool:
    return encoding in ("gzip", "x-gzip", "deflate")
