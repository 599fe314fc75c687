"""A small threaded HTTP server on 127.0.0.1 with the fault modes fetch must handle.

Routes (GET):
  /img/NAME                 an image or a fault, by NAME (see ``ImageServer.route``)
  http://ANY-HOST/PATH      the same, asked of it as a forward proxy (absolute-form)
  /api/text/imagenet.synset.geturls[.getmapping]?wnid=W   the lists in ``lists``
                            (404 for a wnid in ``gone``)
  /site/PATH                a web site's HTML page, whatever PATH (a base URL with no API)
  /status/NNN/PATH          HTTP NNN with a small HTML body, whatever PATH
  /fall11.txt               ``fall11`` text, with an ETag (304 on If-None-Match)
  /trickle.txt              a list sent 30 bytes at a time, 0.1 s apart (8 s in all)
  /api/download/imagenet.bbox.synset?wnid=W               a .tar.gz of one XML
  /download/synset?wnid=W&username=U&accesskey=K          a tar of two JPEGs, 403 on bad keys
Every request is recorded (path, Host header); the most requests in flight at
once per Host header is measured.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import ssl
import struct
import sys
import tarfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw


def jpeg(
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    color: object = (200, 30, 40),
    seed: int = 0,
) -> bytes:
    im = Image.new(mode, size, color)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(im)
    draw.rectangle(
        (seed % 10, 5, 30 + seed % 20, 30), fill=(10, 200, 10) if mode == "RGB" else None
    )
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, comment=f"img{seed}".encode())
    return buf.getvalue()


def png(size: tuple[int, int] = (40, 40), mode: str = "RGB") -> bytes:
    im = Image.new("RGB", size, (10, 120, 250))
    ImageDraw.Draw(im).ellipse((5, 5, 30, 30), fill=(250, 250, 0))
    if mode == "P":
        im = im.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def gray16_png(level: int = 30000) -> bytes:
    """A 16-bit grayscale PNG of one level (of 65535)."""
    buf = io.BytesIO()
    Image.new("I;16", (40, 40), level).save(buf, "PNG")
    return buf.getvalue()


def placeholder_png() -> bytes:
    im = Image.new("RGB", (500, 374), (240, 240, 240))
    ImageDraw.Draw(im).text((150, 180), "This photo is no longer available", fill=(150, 150, 150))
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


HTML = b"<!DOCTYPE html><html><body><h1>Sorry, temporarily unavailable</h1></body></html>"


class ImageServer:
    """Start with :meth:`start`; ``url(path)`` builds addresses; ``requests`` records them."""

    def __init__(self, username: str = "researcher", access_key: str = "s3cr3t-Key-0042") -> None:
        self.username, self.access_key = username, access_key
        self.requests: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server_errors: list[BaseException | None] = []
        self.last_headers: list[tuple[str, str]] = []
        self.lists: dict[str, list[tuple[str, str]]] = {}
        self.no_mapping: set[str] = set()
        self.gone: set[str] = set()
        # /img/robots/KEY/...: the image, with one X-Robots-Tag header per value listed
        self.robots_tags: dict[str, list[str]] = {}
        self.fall11 = b""
        self.slow_seconds = 2.0
        self.latency = 0.0
        self.images = {
            "ok": jpeg(),
            "gray": jpeg(mode="L", color=128),
            "cmyk": jpeg(mode="CMYK", color=(0, 200, 100, 0)),
            "palette": png(mode="P"),
            "png": png(),
            "small": jpeg(size=(20, 15)),
            "placeholder": placeholder_png(),
            "gray16": gray16_png(),
        }
        full = jpeg(size=(300, 200), seed=7)
        self.images["truncated"] = full[: len(full) // 2]
        self.big = b"\xff\xd8\xff" + b"\0" * 300_000
        self._srv: ThreadingHTTPServer | None = None
        self.scheme = "http"

    # ------------------------------------------------------------ control
    def start(self, tls: ssl.SSLContext | None = None) -> ImageServer:
        """Serve on a free port of 127.0.0.1: HTTP, or HTTPS with ``tls``."""
        owner = self
        self.scheme = "https" if tls is not None else "http"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                host = self.headers.get("Host", "")
                with owner.lock:
                    owner.requests.append((self.path, host))
                    owner.last_headers = list(self.headers.items())
                    owner.inflight[host] += 1
                    owner.max_inflight[host] = max(owner.max_inflight[host], owner.inflight[host])
                # A request counts as in flight from its arrival until its response
                # starts: inside the client's own window (it holds its slot until it
                # has read the whole response), so a count above a bound is the
                # client's doing, never this thread being slow to note that it is done.
                try:
                    if owner.latency:
                        time.sleep(owner.latency)
                finally:
                    with owner.lock:
                        owner.inflight[host] -= 1
                owner.route(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request: object, client_address: object) -> None:
                # Kept, not printed: socketserver prints to sys.stderr, which the
                # in-process CLI runner captures as the command's own stderr (a client
                # hanging up after an error response made a test's stderr flaky).
                owner.server_errors.append(sys.exc_info()[1])

        self._srv = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._srv.socket = tls.wrap_socket(self._srv.socket, server_side=True)
        threading.Thread(
            target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()

    @property
    def port(self) -> int:
        assert self._srv is not None
        return int(self._srv.server_address[1])

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def seen(self, fragment: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if fragment in p)

    # ------------------------------------------------------------ responses
    @staticmethod
    def send(
        h: BaseHTTPRequestHandler,
        code: int,
        body: bytes,
        ctype: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def route(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path.startswith("/img/"):
            return self.image(h, path[5:])
        if path.startswith("/status/"):  # /status/NNN/PATH: HTTP NNN, whatever PATH
            code = int(path.split("/")[2])
            return self.send(h, code, b"<html>refused</html>", "text/html")
        if path.startswith("/site/"):
            return self.send(h, 200, HTML, "text/html; charset=utf-8")
        if path.startswith("/badlocation/"):  # any list or archive: a broken redirect
            return self.send(h, 302, b"", headers={"Location": "http://[::1/x"})
        if path in (
            "/api/text/imagenet.synset.geturls",
            "/api/text/imagenet.synset.geturls.getmapping",
        ):
            wnid = q.get("wnid", "")
            mapping = path.endswith("getmapping")
            if wnid in self.gone:
                return self.send(h, 404, b"<html>Not Found</html>", "text/html")
            if wnid not in self.lists:
                return self.send(h, 200, b"Invalid url!\r\n", "text/plain")
            if mapping and wnid in self.no_mapping:
                return self.send(h, 404, b"not found", "text/plain")
            rows = self.lists[wnid]
            body = "".join(f"{i} {u}\r\n" if mapping else f"{u}\r\n" for i, u in rows).encode()
            return self.send(h, 200, body, "text/plain", {"ETag": f'"{wnid}-{len(rows)}"'})
        if path == "/fall11.txt":
            etag = f'"f{len(self.fall11)}"'
            if h.headers.get("If-None-Match") == etag:
                return self.send(h, 304, b"", headers={"ETag": etag})
            return self.send(h, 200, self.fall11, "text/plain", {"ETag": etag})
        if path == "/trickle.txt":  # a line every 0.1 s for 8 s: never idle past a timeout
            h.send_response(200)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(80 * 30))
            h.end_headers()
            with contextlib.suppress(OSError):  # the client gave up
                for i in range(80):
                    h.wfile.write(f"n01440764_{i:06d} http://x.example/{i:09d}\n".encode()[:30])
                    h.wfile.flush()
                    time.sleep(0.1)
            return None
        if path == "/api/download/imagenet.bbox.synset":
            return self.send(h, 200, bbox_tgz(q.get("wnid", "")), "application/x-gzip")
        if path == "/download/synset":
            if (q.get("username"), q.get("accesskey")) != (self.username, self.access_key):
                return self.send(
                    h, 403, b"<html>Invalid username or access key.</html>", "text/html"
                )
            return self.send(
                h, 200, originals_tar(q.get("wnid", ""), self.images["ok"]), "application/x-tar"
            )
        return self.send(h, 404, b"not found", "text/plain")

    def image(self, h: BaseHTTPRequestHandler, name: str) -> None:
        kind, _, rest = name.partition("/")
        key = name
        with self.lock:
            self.counts[key] += 1
            n = self.counts[key]
        if kind in self.images:
            ctype = (
                "image/png" if kind in ("palette", "png", "placeholder", "gray16") else "image/jpeg"
            )
            return self.send(h, 200, self.images[kind], ctype)
        if kind == "robots":  # the image, with the X-Robots-Tag headers of its key
            body = self.images["ok"]
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(body)))
            for value in self.robots_tags[rest.split("/")[0]]:
                h.send_header("X-Robots-Tag", value)
            h.end_headers()
            h.wfile.write(body)
            return None
        if kind == "seq":  # a distinct JPEG per number
            return self.send(h, 200, jpeg(seed=int(rest.split(".")[0] or 0)), "image/jpeg")
        if kind == "pngasjpg":
            return self.send(h, 200, self.images["png"], "image/jpeg")
        if kind == "404":
            return self.send(h, 404, b"<html>404</html>", "text/html")
        if kind == "html":
            return self.send(h, 200, HTML, "text/html")
        if kind == "flaky500":  # 500 on the first request, then the image
            return (
                self.send(h, 500, b"oops", "text/plain")
                if n == 1
                else self.send(h, 200, self.images["ok"], "image/jpeg")
            )
        if kind == "always500":
            return self.send(h, 500, b"oops", "text/plain")
        if kind == "ratelimit":  # 429 with Retry-After on the first request
            if n == 1:
                return self.send(h, 429, b"slow down", "text/plain", {"Retry-After": "0"})
            return self.send(h, 200, self.images["ok"], "image/jpeg")
        if kind == "slow":
            time.sleep(self.slow_seconds)
            return self.send(h, 200, self.images["ok"], "image/jpeg")
        if kind == "short":  # declares more than it sends, then closes
            h.close_connection = True
            return self.send(
                h, 200, self.images["ok"][:200], "image/jpeg", length=len(self.images["ok"])
            )
        if kind == "reset":  # abort the connection without an answer
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return None
        if kind in ("midreset", "alwaysmidreset"):  # half the body, then a reset
            if kind == "midreset" and n > 1:  # the image on a retry
                return self.send(h, 200, self.images["ok"], "image/jpeg")
            body = self.images["ok"]
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            time.sleep(0.05)  # the half is on its way before the reset
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return None
        if kind == "gzipped":  # a JPEG sent with Content-Encoding: gzip
            body = gzip.compress(self.images["ok"])
            return self.send(h, 200, body, "image/jpeg", {"Content-Encoding": "gzip"})
        if kind == "gzipbomb":  # small on the wire, far over any bound once decoded
            body = gzip.compress(b"\xff\xd8\xff" + b"\0" * 5_000_000)
            return self.send(h, 200, body, "image/jpeg", {"Content-Encoding": "gzip"})
        if kind == "big":
            return self.send(h, 200, self.big, "image/jpeg")
        if kind == "bignolength":  # no Content-Length: the bound must hold while streaming
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            h.wfile.write(self.big)
            return None
        if kind == "redirect":  # /img/redirect/N/...: N hops, then the image
            hops = int(rest.split("/")[0])
            loc = "/img/ok/x.jpg" if hops <= 1 else f"/img/redirect/{hops - 1}/x.jpg"
            return self.send(h, 302, b"", headers={"Location": loc})
        if kind == "shortredirect":  # a redirect whose body is cut off: still followed
            h.close_connection = True
            return self.send(h, 302, b"moved", headers={"Location": "/img/ok/x.jpg"}, length=1000)
        if kind == "big404":  # an error page over any bound: the status is the answer
            return self.send(h, 404, self.big, "text/html")
        if kind == "badlocation":  # a Location no URL parser takes
            return self.send(h, 302, b"", headers={"Location": "http://[::1/x.jpg"})
        if kind == "loop":
            return self.send(h, 302, b"", headers={"Location": f"/img/{name}"})
        return self.send(h, 404, b"unknown", "text/plain")


def bbox_tgz(wnid: str) -> bytes:
    xml = f"<annotation><filename>{wnid}_1</filename></annotation>".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"Annotation/{wnid}/{wnid}_1.xml")
        info.size = len(xml)
        tar.addfile(info, io.BytesIO(xml))
    return buf.getvalue()


def originals_tar(wnid: str, image: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in (1, 2):
            info = tarfile.TarInfo(f"{wnid}_{i}.JPEG")
            info.size = len(image)
            tar.addfile(info, io.BytesIO(image))
        evil = tarfile.TarInfo("../escape.JPEG")
        evil.size = len(image)
        tar.addfile(evil, io.BytesIO(image))
    return buf.getvalue()
