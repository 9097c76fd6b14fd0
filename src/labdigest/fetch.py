"""`labdigest fetch URL`: download a daily-papers or arXiv API response into
content/digests/ under a dated name, then ingest it. A failed download writes nothing."""

from __future__ import annotations

import datetime as dt
import socket
import urllib.error
import urllib.request
from pathlib import Path

from labdigest import __version__
from labdigest.errors import IngestError
from labdigest.ingest import formats
from labdigest.ingest.base import decode
from labdigest.output.files import write_atomic

USER_AGENT = f"labdigest/{__version__} (+https://pypi.org/project/labdigest/)"
MAX_BYTES = 50 * 2**20
NAMES = {
    formats.Format.HF_JSON: ("hf-daily-papers", ".json"),
    formats.Format.ARXIV_ATOM: ("arxiv-api", ".xml"),
    formats.Format.ARXIV_RSS: ("arxiv-feed", ".xml"),
    formats.Format.BIORXIV: ("biorxiv", ".json"),
}


def download(url: str, timeout: float) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise IngestError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        body = error.read(2000).decode("utf-8", "replace").strip()
        if "rate exceeded" in body.lower():
            raise IngestError(
                f"{url}: the server says 'Rate exceeded.'; wait a few minutes and try again"
            ) from None
        raise IngestError(f"{url}: HTTP {error.code} {error.reason}") from None
    except TimeoutError:
        raise IngestError(f"{url}: no answer within {timeout:g} seconds") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise IngestError(f"{url}: no answer within {timeout:g} seconds") from None
        raise IngestError(f"{url}: cannot connect ({reason})") from None
    if len(data) > MAX_BYTES:
        raise IngestError(f"{url}: the response is larger than {MAX_BYTES // 2**20} MiB")
    if data.strip().lower().startswith(b"rate exceeded"):
        raise IngestError(
            f"{url}: the server says 'Rate exceeded.'; wait a few minutes and try again"
        )
    return data


def fetch(url: str, content_dir: Path, *, date: dt.date, timeout: float = 30.0) -> Path:
    """Download `url`, check that it is a digest labdigest can read, and keep it in
    content/digests/. Returns the file's path (an identical earlier download is reused)."""
    data = download(url, timeout)
    text = decode(data, url)
    fmt = formats.detect(text, url)
    if fmt not in NAMES:
        raise IngestError(
            f"{url}: expected HF daily-papers JSON, an arXiv API or category feed, or the "
            f"bioRxiv API's JSON; got {fmt.value}"
        )
    result = formats.READERS[fmt](text, url)
    if not result.entries:
        raise IngestError(f"{url}: no papers in the response")
    stem, suffix = NAMES[fmt]
    folder = content_dir / "digests"
    target = folder / f"{stem}-{date.isoformat()}{suffix}"
    number = 2
    while target.exists() and target.read_bytes() != data:
        target = folder / f"{stem}-{date.isoformat()}-{number}{suffix}"
        number += 1
    if not target.exists():
        write_atomic(target, data)
    return target
