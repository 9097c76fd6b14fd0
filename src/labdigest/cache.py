"""The build cache, <site>/.labdigest-cache/: what earlier builds computed, stored with
what it was computed from, so that a rebuild redoes only the work whose inputs changed.
Every entry is checked against its inputs before use, and a cache that is missing, stale,
from another version of labdigest or unreadable is simply recomputed: deleting the folder
is always safe, and a build with the cache makes the same bytes as one without."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
    stale = [
        item for item, digest in inputs.items() if item not in known or known[item][1][0] != digest
    ]
    made = dict(zip(stale, compute(stale), strict=True))
    entries = {
        item: (digest, made[item]) if item in made else known[item][1]
        for item, digest in inputs.items()
    }
    if cache is not None:
        shards = {
            item: shard_of(item, group(item, value) if group else None)
            for item, (_, value) in entries.items()
        }
        touched = {shards[item] for item in made}
        for item, (shard, _) in known.items():
            if shards.get(item) != shard:  # dropped, or now in another shard
                touched.update([shard, shards[item]] if item in shards else [shard])
        parts: dict[str, dict[str, Any]] = {shard: {} for shard in touched}
        for item, entry in entries.items():
            part = parts.get(shards[item])
            if part is not None:
                part[item] = entry
        cache.store_shards(name, key, parts)
    return {item: value for item, (_, value) in entries.items()}
