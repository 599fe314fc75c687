"""The HTTP transport under :class:`~imagenet_cli.download.Downloader`: httpcore pools.

httpcore is the connection layer httpx itself runs on; calling it directly costs
about half the CPU a request takes through ``httpx.Client`` (request and response
models, header merging, cookie and auth machinery), which matters when thousands of
images a minute go through one interpreter. What ``httpx.Client(trust_env=True)``
adds on top is kept: URLs are normalised by ``httpx.URL``, the proxy comes from the
environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), and
gzip/deflate bodies are decoded, bounded like any other body.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import ssl

    import httpcore
    import httpx

ACCEPT_ENCODING = "gzip, deflate"
# Hosts remembered per Downloader for their proxy decision: enough for any run's
# working set, bounded for a list that spans millions of hosts.
_PROXY_CACHE = 65536


class ProxyConfigError(ValueError):
    """The environment names a proxy this transport cannot use."""


class EnvProxies:
    """Which proxy, if any, a URL goes through, as the environment says (read once)."""

    def __init__(self, proxies: dict[str, str] | None = None) -> None:
        import urllib.request  # here: it pulls in http.client and email (20 ms a start)

        found = urllib.request.getproxies() if proxies is None else proxies
        self._proxies = {k.lower(): v for k, v in found.items() if v}
        self._cache: dict[tuple[str, str], str | None] = {}

    def proxy_for(self, url: httpx.URL) -> str | None:
        if not self._proxies:
            return None
        key = (url.scheme, url.netloc.decode("ascii"))
        try:
            return self._cache[key]
        except KeyError:
            pass
        import urllib.request

        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        # Public in urllib.request since Python 2, though typeshed leaves it out.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if proxy and bypass(key[1], self._proxies):
            proxy = None
        if len(self._cache) >= _PROXY_CACHE:
            self._cache.clear()
        self._cache[key] = proxy
        return proxy


def new_pool(
    proxy: str | None, ssl_context: ssl.SSLContext, connections: int
) -> httpcore.ConnectionPool:
    """A connection pool: direct, or through an http(s) or socks5 proxy.

    Raises :class:`ProxyConfigError` for a proxy it cannot use; the message never
    holds the proxy's address (it may carry credentials).
    """
    import httpcore

    limits: dict[str, Any] = {
        "ssl_context": ssl_context,
        "max_connections": connections,
        "max_keepalive_connections": connections,
    }
    if proxy is None:
        return httpcore.ConnectionPool(**limits)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    scheme = parts.scheme.lower()
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    bare = f"{scheme}://{parts.netloc.rpartition('@')[2]}"
    kinds: dict[str, Any] = {
        "http": httpcore.HTTPProxy,
        "https": httpcore.HTTPProxy,
        "socks5": httpcore.SOCKSProxy,
        "socks5h": httpcore.SOCKSProxy,
    }
    kind = kinds.get(scheme)
    if kind is None:
        raise ProxyConfigError(f"proxies of scheme {scheme!r} are not supported")
    try:
        pool: httpcore.ConnectionPool = kind(proxy_url=bare, proxy_auth=auth, **limits)
    except RuntimeError as exc:  # SOCKS without the socksio package
        raise ProxyConfigError(
            "a SOCKS proxy is set in the environment; it needs: pip install socksio"
        ) from exc
    except (ValueError, httpcore.UnsupportedProtocol) as exc:
        raise ProxyConfigError(f"the {scheme} proxy set in the environment is malformed") from exc
    return pool


def request_target(url: httpx.URL) -> httpcore.URL:
    import httpcore

    return httpcore.URL(
        scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
    )


def header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers by lower-case name (a repeated header: its last value)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}


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
