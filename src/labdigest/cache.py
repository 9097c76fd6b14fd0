"""The build cache, <site>/.labdigest-cache/: what earlier builds computed, stored with
what it was computed from, so that a rebuild redoes only the work whose inputs changed.
Every entry is checked against its inputs before use, and a cache that is missing, stale,
from another version of labdigest or unreadable is simply recomputed: deleting the folder
is always safe, and a build with the cache makes the same bytes as one without."""

from __future__ import annotations

import hashlib
import pickle
import secrets
import shutil
import zlib
from collections.abc import Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TypeVar

from labdigest import fingerprint
from labdigest.output.files import write_atomic

if TYPE_CHECKING:
    from labdigest.models import Paper

FOLDER = ".labdigest-cache"
SHARDS = 16  # per-item caches are split so that a small change rewrites a small part
T = TypeVar("T")


def _code_key() -> str:
    """Entries hold labdigest's own objects: a change to its code invalidates them all."""
    return hashlib.sha256(repr(fingerprint.code_state()).encode()).hexdigest()


class Cache:
    """Named pickles under one folder. Pickle is safe here: the folder is written by this
    program only, beside content the maintainer already trusts to run `make`."""

    def __init__(self, root: Path):
        self.folder = root / FOLDER
        self._code = _code_key()

    def load(self, name: str, key: object) -> Any | None:
        """What was stored under `name` for exactly this `key`, else None."""
        try:
            with open(self.folder / f"{name}.pickle", "rb") as stream:
                code, stored_key, value = pickle.load(stream)
        except Exception:  # missing, truncated, or from an incompatible labdigest
            return None
        return value if code == self._code and stored_key == key else None

    def store(self, name: str, key: object, value: object) -> None:
        self.folder.mkdir(exist_ok=True)
        data = pickle.dumps((self._code, key, value), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(self.folder / f"{name}.pickle", data)

    def folder_for(self, name: str) -> Path:
        """A folder of the cache for another library's files (compiled templates), made
        for this version of labdigest: the folders of other versions are removed."""
        folder = self.folder / f"{name}-{self._code[:16]}"
        if not folder.is_dir():
            for stale in self.folder.glob(f"{name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            folder.mkdir(parents=True)
        return folder

    def load_entries(self, name: str, key: object) -> dict[str, tuple[str, Any]]:
        """The entries stored under `name` for this `key`, each with the shard it is in,
        from every shard that is readable and current (the others' entries are simply
        missing)."""
        entries: dict[str, tuple[str, Any]] = {}
        for path in sorted(self.folder.glob(f"{name}.*.pickle")):
            shard = path.name[len(name) + 1 : -len(".pickle")]
            part = self.load(f"{name}.{shard}", key)
            if isinstance(part, dict):
                entries.update((item, (shard, value)) for item, value in part.items())
            else:  # stale (another version, other settings): of no use to any build
                path.unlink(missing_ok=True)
        return entries

    def store_shards(self, name: str, key: object, parts: dict[str, dict[str, Any]]) -> None:
        """Store these shards of `name` whole (an empty one is removed)."""
        for shard, part in parts.items():
            if part:
                self.store(f"{name}.{shard}", key, part)
            else:
                (self.folder / f"{name}.{shard}.pickle").unlink(missing_ok=True)


def shard_of(item: str, group: str | None) -> str:
    """The shard an item's entry is kept in: a column by the item, and a row by its group
    (a paper's date) where it has one, so that a new digest's papers, all of one date,
    rewrite one row of shards rather than every shard."""
    column = zlib.crc32(item.encode("utf-8")) % SHARDS
    row = 0 if group is None else zlib.crc32(group.encode("utf-8")) % SHARDS
    return f"{row:x}{column:x}"


def by_date(papers: Iterable[Paper]) -> Callable[[str, object], str]:
    """per_item's group of a paper's entry (its slug the id): the paper's date."""
    dates = {paper.slug: paper.date for paper in papers}
    return lambda slug, _: dates[slug]


def text_key(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def per_item(
    cache: Cache | None,
    name: str,
    key: object,
    inputs: Mapping[str, object],
    compute: Callable[[list[str]], list[T]],
    group: Callable[[str, T], str] | None = None,
) -> dict[str, T]:
    """{id: value} for every id of `inputs` (id → what stands for the inputs of its value:
    a digest, a file's size and time), in the order of `inputs`: values whose stand-in is
    unchanged come from the cache, compute(ids) makes the rest, and the shards holding
    anything made, dropped or moved are stored again. group(id, value): its group, a
    paper's date (see shard_of)."""
    known: dict[str, tuple[str, tuple[object, T]]] = cache.load_entries(name, key) if cache else {}
    made, entries = _brought_up_to_date(known, inputs, compute)
    if cache is not None:
        parts, _ = _touched_parts(known, entries, made, group)
        cache.store_shards(name, key, parts)
    return {item: value for item, (_, value) in entries.items()}


def _brought_up_to_date(
    known: Mapping[str, tuple[str, tuple[object, Any]]],
    inputs: Mapping[str, object],
    compute: Callable[[list[str]], list[T]],
) -> tuple[dict[str, T], dict[str, tuple[object, Any]]]:
    """What compute made (the ids whose stand-in changed), and every id's entry."""
    stale = [
        item for item, digest in inputs.items() if item not in known or known[item][1][0] != digest
    ]
    made = dict(zip(stale, compute(stale), strict=True))
    entries = {
        item: (digest, made[item]) if item in made else known[item][1]
        for item, digest in inputs.items()
    }
    return made, entries


def _touched_parts(
    known: Mapping[str, tuple[str, object]],
    entries: Mapping[str, tuple[object, T]],
    made: Mapping[str, T],
    group: Callable[[str, T], str] | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The shards to store again, whole (an entry made, or dropped), and the shard of
    every entry: an entry made goes to its group's row (and leaves the shard it was in),
    one taken from the cache stays where it is."""
    shards = {item: known[item][0] for item in entries if item not in made}
    touched: set[str] = set()
    for item, value in made.items():
        shards[item] = shard_of(item, group(item, value) if group else None)
        touched.add(shards[item])
        if item in known:
            touched.add(known[item][0])
    touched.update(shard for item, (shard, _) in known.items() if item not in entries)
    parts: dict[str, dict[str, Any]] = {shard: {} for shard in touched}
    for item, entry in entries.items():
        part = parts.get(shards[item])
        if part is not None:
            part[item] = entry
    return parts, shards


class Apart(NamedTuple):
    """Where the large part of a value is kept: its shard's data file (each version of it
    named by a token of its own) and its place there."""

    token: str
    start: int
    size: int


class Shelf:
    """The large parts of per_item_apart's values, each read when asked for."""

    def __init__(
        self, folder: Path, name: str, places: dict[str, tuple[str, Apart]], here: dict[str, bytes]
    ):
        self._folder, self._name, self._places = folder, name, places
        self._here = here  # those made by this build (all of them, without a cache)

    def __getitem__(self, item: str) -> bytes:
        parts = self.each((item,))
        try:
            return next(parts)
        finally:
            parts.close()

    def each(self, items: Iterable[str]) -> Generator[bytes, None, None]:
        """The large parts of these items, in turn, each data file opened once."""
        streams: dict[str, BinaryIO] = {}
        try:
            for item in items:
                if item in self._here:
                    yield self._here[item]
                    continue
                shard, apart = self._places[item]
                name = data_file(self._name, shard, apart.token)
                if name not in streams:
                    streams[name] = open(self._folder / name, "rb")  # noqa: SIM115 (closed below)
                streams[name].seek(apart.start)
                yield streams[name].read(apart.size)
        finally:
            for stream in streams.values():
                stream.close()


def data_file(name: str, shard: str, token: str) -> str:
    return f"{name}.{shard}.{token}.data"


def per_item_apart(
    cache: Cache | None,
    name: str,
    key: object,
    inputs: Mapping[str, object],
    compute: Callable[[list[str]], list[tuple[T, bytes]]],
    group: Callable[[str, T], str] | None = None,
) -> tuple[dict[str, T], Shelf]:
    """per_item for values of two parts, a small one and a large one (bytes): the large
    parts are kept apart, in a data file beside each shard, and read one at a time when
    asked for (the Shelf). A rebuild reads the small part of every value, and the large
    part of those it shows: the views of the pages it makes, not every paper's view."""
    if cache is None:
        made = dict(zip(inputs, compute(list(inputs)), strict=True))
        here = {item: large for item, (_, large) in made.items()}
        return {item: small for item, (small, _) in made.items()}, Shelf(Path(), name, {}, here)
    sizes = {path.name: path.stat().st_size for path in cache.folder.glob(f"{name}.*.data")}
    known = _with_data(name, cache.load_entries(name, key), sizes)
    old = Shelf(cache.folder, name, {i: (shard, e[1][1]) for i, (shard, e) in known.items()}, {})
    made, entries = _brought_up_to_date(known, inputs, compute)
    by_small = (lambda item, value: group(item, value[0])) if group else None
    parts, shards = _touched_parts(known, entries, made, by_small)
    for shard, part in parts.items():
        token, start, chunks = secrets.token_hex(4), 0, []
        kept = old.each([item for item in part if item not in made])
        for item, (digest, (small, large)) in part.items():
            data = large if item in made else next(kept)
            chunks.append(data)
            part[item] = (digest, (small, Apart(token, start, len(data))))
            start += len(data)
        if chunks:  # (written before the shard that points into it)
            write_atomic(cache.folder / data_file(name, shard, token), b"".join(chunks))
    cache.store_shards(name, key, parts)
    stored = {item: entry for part in parts.values() for item, entry in part.items()}
    places = {item: (shards[item], stored.get(item, e)[1][1]) for item, e in entries.items()}
    _remove_unused_data(cache.folder, name, places, sizes)
    here = {item: large for item, (_, large) in made.items()}
    return {item: small for item, (_, (small, _)) in entries.items()}, Shelf(
        cache.folder, name, places, here
    )


def _with_data(
    name: str, known: dict[str, tuple[str, tuple[object, Any]]], sizes: dict[str, int]
) -> dict[str, tuple[str, tuple[object, Any]]]:
    """The entries, those whose large part is not where they say marked to be made again
    (a data file removed or cut short by hand): their shards are then stored again.
    sizes: the data files there are, and their sizes."""
    checked = {}
    for item, (shard, (digest, (small, apart))) in known.items():
        whole = apart.start + apart.size <= sizes.get(data_file(name, shard, apart.token), -1)
        checked[item] = (shard, (digest if whole else None, (small, apart)))
    return checked


def _remove_unused_data(
    folder: Path, name: str, places: dict[str, tuple[str, Apart]], there: Iterable[str]
) -> None:
    """Delete the data files that were there before this build (`there`, by name) and
    that no entry points into now (those this build wrote are all in use)."""
    used = {data_file(name, shard, apart.token) for shard, apart in places.values()}
    for unused in set(there).difference(used):
        (folder / unused).unlink(missing_ok=True)
