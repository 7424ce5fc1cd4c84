"""A generated web site on a real HTTP server (http.server on 127.0.0.1, in a thread) for
the web source's tests: pages with ETags or Last-Modified that answer 304s to conditional
requests, redirects, chosen statuses, a request log, and a death on a chosen request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Site:
    """Paths to (content type, body, headers); every request is logged as (path, status)."""

    pages: dict[str, tuple[str, bytes, dict[str, str]]] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)
    dies_at: str | None = None  # the server stops, as if killed, when this path is asked for

    def put(self, path: str, body: str | bytes, kind: str = "text/html", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (kind, data, headers)

    def html(self, path: str, text: str, *links: str, etag: str | None = None) -> None:
        anchors = "".join(f'<p><a href="{link}">{link}</a></p>' for link in links)
        body = f"<html><head><title>{path}</title></head><body><p>{text}</p>{anchors}</body>"
        self.put(path, body, **({"ETag": etag} if etag else {}))

    def statuses(self, path: str) -> list[int]:
        return [status for logged, status in self.log if logged == path]


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:
        if self.path == self.site.dies_at:
            self.server.shutdown()  # from a handler's thread: serve_forever runs in another
            self.server.server_close()  # no more connections; this one closes unanswered
            self.close_connection = True
            return
        found = self.site.pages.get(self.path)
        if found is None:
            return self._answer(404, b"", {})
        kind, body, headers = found
        if "Location" in headers:
            return self._answer(int(headers.get("Status", "301")), b"", headers)
        if "Status" in headers:
            return self._answer(int(headers["Status"]), body, {})
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        if (etag and self.headers.get("If-None-Match") == etag) or (
            modified and self.headers.get("If-Modified-Since") == modified
        ):
            return self._answer(304, b"", headers)
        self._answer(200, body, {"Content-Type": kind, **headers})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.site.log.append((self.path, status))
        self.send_response(status)
        for name, value in headers.items():
            if name != "Status":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Server:
    site: Site
    httpd: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving() -> Iterator[Server]:
    """A site served on 127.0.0.1 from a thread, stopped on the way out."""
    site = Site()
    handler = type("Handler", (_Handler,), {"site": site})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    running = Server(site, httpd)
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()
