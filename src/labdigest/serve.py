"""A local preview server for the built site, mounted at the path of base_url so that
links behave exactly as they will on the real host."""

from __future__ import annotations

import functools
import http.server
import os
import posixpath
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory` under `base_path`; anything else gets the site's 404 page."""

    base_path = "/"
    # Keep-alive: a search page fetches a dozen small Pagefind chunks at once.
    protocol_version = "HTTP/1.1"
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
        self, *args: object, directory: str, base_path: str, quiet: bool, **kwargs: object
    ):
        self.base_path = base_path
        self.quiet = quiet
        super().__init__(*args, directory=directory, **kwargs)  # type: ignore[arg-type]

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

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    directory: Path, host: str, port: int, base_path: str = "/", quiet: bool = False
) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(
        SiteHandler, directory=str(directory), base_path=base_path, quiet=quiet
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
