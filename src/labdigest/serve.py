"""A local preview server for the built site, mounted at the path of base_url so that
links behave exactly as they will on the real host. With live reload it watches the
sources, rebuilds, and tells open pages to reload (or shows the build error over them)
through server-sent events; the server keeps running whatever the build does."""

from __future__ import annotations

import functools
import http.server
import json
import os
import posixpath
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

LIVE_PREFIX = "/__labdigest/"
LIVE_SCRIPT = (Path(__file__).parent / "livereload.js").read_bytes()
KEEPALIVE_SECONDS = 15.0


def cache_control(path: str) -> str:
    """As the README advises for any host: Pagefind's chunks are named by their content
    and never change, so a browser may keep them; everything else is checked each time."""
    name = path.rsplit("/", 1)[-1]
    if "/pagefind/" in path and name not in ("pagefind.js", "pagefind-entry.json") and "." in name:
        return "public, max-age=31536000, immutable"
    return "no-cache"


# Pagefind writes its wasm and index chunks gzip-compressed, with a marker inside, and
# unpacks them in JavaScript unless the browser already has (Pagefind's "pagefind_dcd").
# Sent as Content-Encoding: gzip they are unpacked natively, off the main thread: on a
# cold search page that is ~20-60 ms of JavaScript the reader no longer waits for.
PAGEFIND_GZIP_SUFFIXES = (".pagefind", ".pf_meta", ".pf_index", ".pf_fragment", ".pf_filter")


def is_pagefind_gzip(path: str) -> bool:
    return "/pagefind/" in path and path.endswith(PAGEFIND_GZIP_SUFFIXES)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110: a named coding before '*';
    a quality of 0 refuses it)."""
    qualities: dict[str, str] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        qualities.setdefault(coding.strip().lower(), params.strip().lower().removeprefix("q="))
    for coding in ("gzip", "x-gzip", "*"):
        if coding in qualities:
            return _positive(qualities[coding] or "1")
    return False


def _positive(quality: str) -> bool:
    try:
        return float(quality) > 0
    except ValueError:
        return False


class Broadcaster:
    """The latest build outcome, and a way for event streams to wait for the next one."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.version = 0
        self.event = ""
        self.data = ""
        self.closed = False

    def publish(self, event: str, data: dict[str, str]) -> None:
        with self._condition:
            self.version += 1
            self.event, self.data = event, json.dumps(data)
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, str, str] | None:
        with self._condition:
            self._condition.wait_for(lambda: self.version != seen or self.closed, timeout)
            if self.version == seen:
                return None
            return self.version, self.event, self.data

    def close(self) -> None:
        with self._condition:
            self.closed = True
            self._condition.notify_all()


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory` under `base_path`; anything else gets the site's 404 page."""

    base_path = "/"
    status = 0  # of the response being sent
    # Keep-alive: a search page fetches a dozen small Pagefind chunks at once.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body of a small
    # file waited for the browser's delayed ACK of the headers: ~40 ms on every chunk.
    disable_nagle_algorithm = True
    extensions_map = {  # noqa: RUF012 - the base class declares it an instance variable
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".css": "text/css",
        ".xml": "application/xml",
        ".json": "application/json",
        "": "application/octet-stream",
    }

    def __init__(
        self,
        *args: object,
        directory: str,
        base_path: str,
        quiet: bool,
        live: Broadcaster | None = None,
        **kwargs: object,
    ):
        self.base_path = base_path
        self.quiet = quiet
        self.live = live
        super().__init__(*args, directory=directory, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.live is not None and self.path.startswith(LIVE_PREFIX):
            self._live_route()
            return
        if self.live is not None and self._serves_html():
            self._send_with_live_script()
            return
        super().do_GET()

    def _serves_html(self) -> bool:
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        return path.endswith(".html") and os.path.isfile(path)

    def _send_with_live_script(self) -> None:
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not self.path.split("?")[0].endswith("/"):
                super().do_GET()  # the directory redirect
                return
            path = os.path.join(path, "index.html")
        body = (
            Path(path)
            .read_bytes()
            .replace(
                b"</head>", b'<script src="/__labdigest/livereload.js" defer></script>\n</head>', 1
            )
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _live_route(self) -> None:
        assert self.live is not None
        route = self.path[len(LIVE_PREFIX) :].split("?")[0]
        if route == "livereload.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(LIVE_SCRIPT)))
            self.end_headers()
            self.wfile.write(LIVE_SCRIPT)
        elif route == "events":
            self._stream_events(self.live)
        else:
            self.send_error(404)

    def _stream_events(self, live: Broadcaster) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        seen = live.version
        if live.event == "error-message":  # a page opened while the build is broken
            seen -= 1
        try:
            while not live.closed:
                news = live.wait(seen, KEEPALIVE_SECONDS)
                if news is None:
                    self.wfile.write(b": keep-alive\n\n")
                else:
                    seen, event, data = news
                    self.wfile.write(f"event: {event}\ndata: {data}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def translate_path(self, path: str) -> str:
        route = unquote(urlsplit(path).path)
        if not route.startswith(self.base_path) and route + "/" != self.base_path:
            return os.devnull + "/outside-base"  # opening it fails: the handler sends 404
        relative = route[len(self.base_path) :] if route.startswith(self.base_path) else ""
        clean = posixpath.normpath("/" + relative).lstrip("/")
        target = Path(self.directory) / clean
        if route.endswith("/") and not clean.endswith("/"):
            return str(target) + "/"
        return str(target)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status = code
        super().send_response(code, message)

    def end_headers(self) -> None:
        path = urlsplit(self.path).path
        self.send_header("Cache-Control", cache_control(path))
        if is_pagefind_gzip(path):
            self.send_header("Vary", "Accept-Encoding")
            if self.status == 200 and accepts_gzip(self.headers.get("Accept-Encoding", "")):
                self.send_header("Content-Encoding", "gzip")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    directory: Path,
    host: str,
    port: int,
    base_path: str = "/",
    quiet: bool = False,
    live: Broadcaster | None = None,
) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(
        SiteHandler, directory=str(directory), base_path=base_path, quiet=quiet, live=live
    )
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_background(
    directory: Path, base_path: str = "/"
) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start a quiet server on a free port of 127.0.0.1; returns it and its root URL."""
    server = make_server(directory, "127.0.0.1", 0, base_path, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}{base_path}"


def watch_and_rebuild(
    paths: list[Path], rebuild: Callable[[], str | None], live: Broadcaster, stop: threading.Event
) -> None:
    """On every change under `paths`, rebuild; publish 'reload', or the error message."""
    import watchfiles

    for _changes in watchfiles.watch(*paths, stop_event=stop, debounce=200, step=50):
        error = rebuild()
        if error is None:
            live.publish("reload", {})
        else:
            live.publish("error-message", {"message": error})
