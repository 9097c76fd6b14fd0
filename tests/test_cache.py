"""The build cache's per-item entries: kept in shards, a row of shards per group (a
paper's date), so that a new digest rewrites the shards of its date alone."""

from __future__ import annotations

from pathlib import Path

from labdigest.cache import Cache, per_item, shard_of


def shard_files(cache: Cache) -> dict[str, int]:
    """Each shard file of "views" and its inode (a store replaces the file: new inode)."""
    return {path.name: path.stat().st_ino for path in cache.folder.glob("views.*.pickle")}


def test_a_new_group_rewrites_only_its_own_shards(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    computed: list[str] = []

    def compute(items: list[str]) -> list[str]:
        computed.extend(items)
        return [item.upper() for item in items]

    old = {f"paper-{n}": "v1" for n in range(200)}
    dates = dict.fromkeys(old, "2026-03-11")
    assert per_item(cache, "views", "k", old, compute, dates) == {i: i.upper() for i in old}
    before = shard_files(cache)
    assert len(before) == 16  # one row: every paper has the same date

    new = {f"new-{n}": "v1" for n in range(67)}
    dates |= dict.fromkeys(new, "2026-03-12")
    computed.clear()
    values = per_item(cache, "views", "k", old | new, compute, dates)
    assert values == {i: i.upper() for i in old | new}
    assert sorted(computed) == sorted(new)  # the old entries came from the cache
    after = shard_files(cache)
    rewritten = {name for name, inode in after.items() if before.get(name) != inode}
    assert rewritten and rewritten.isdisjoint(before)  # the new date's shards alone

    # A paper moved to another date leaves its old shard; a dropped one goes.
    dates["paper-3"] = "2026-03-12"
    changed = (old | new) | {"paper-3": "v2"}
    del changed["paper-4"]
    computed.clear()
    assert per_item(cache, "views", "k", changed, compute, dates) == {i: i.upper() for i in changed}
    assert computed == ["paper-3"]
    computed.clear()
    assert per_item(cache, "views", "k", changed, compute, dates) == {i: i.upper() for i in changed}
    assert computed == []  # nothing stale left behind, nothing recomputed
    holding = [
        name
        for name in shard_files(cache)
        if "paper-3" in cache.load(name.removesuffix(".pickle"), "k")
    ]
    assert holding == [f"views.{shard_of('paper-3', '2026-03-12')}.pickle"]
    assert "paper-4" not in cache.load_entries("views", "k")


def test_shards_of_another_version_are_removed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    per_item(cache, "views", "old settings", {"a": "1"}, lambda items: items)
    assert shard_files(cache)
    per_item(cache, "views", "new settings", {"b": "1"}, lambda items: items)
    assert list(cache.load_entries("views", "new settings")) == ["b"]
    assert len(shard_files(cache)) == 1  # the old settings' shard is gone
