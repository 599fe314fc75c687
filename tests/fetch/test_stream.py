"""The streaming GET under image lists and archives (transport.stream), on libcurl like
the images: redirects followed, bodies decoded, errors as TransportError."""

from __future__ import annotations

import pytest

from imagenet_cli.fetch.transport import TransportError, stream

from .server import ImageServer


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with stream(url, timeout=timeout, user_agent="test") as resp:
        return resp.status, b"".join(resp.chunks)


def test_redirects_are_followed(server: ImageServer) -> None:
    assert _get(server.url("/img/redirect/3/x.jpg")) == (200, server.images["ok"])


def test_a_gzip_encoded_body_is_decoded(server: ImageServer) -> None:
    assert _get(server.url("/img/gzipped/x.jpg")) == (200, server.images["ok"])


def test_an_http_error_is_a_status_not_an_exception(server: ImageServer) -> None:
    assert _get(server.url("/status/403/list.txt"))[0] == 403


def test_a_refused_connection_says_so_as_the_system_does() -> None:
    with pytest.raises(TransportError) as caught:
        _get("http://127.0.0.1:1/list.txt")
    assert caught.value.kind == "connect_error"
    assert "Connection refused" in caught.value.message


def test_a_stalled_body_is_cut_after_the_timeout(server: ImageServer) -> None:
    server.slow_seconds = 3.0
    with pytest.raises(TransportError) as caught:
        _get(server.url("/img/slow/x.jpg"), timeout=1.0)
    assert caught.value.kind == "timeout"
