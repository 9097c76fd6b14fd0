"""The build cache's per-item entries: kept in shards, a row of shards per group (a
paper's date), so that a new digest rewrites the shards of its date alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import build_site, tree_bytes
from labdigest.cache import Cache, per_item, per_item_apart, shard_of
from test_safety import clean_copy_build


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
    group = lambda item, _: dates[item]  # noqa: E731
    assert per_item(cache, "views", "k", old, compute, group) == {i: i.upper() for i in old}
    before = shard_files(cache)
    assert len(before) == 16  # one row: every paper has the same date

    new = {f"new-{n}": "v1" for n in range(67)}
    dates |= dict.fromkeys(new, "2026-03-12")
    computed.clear()
    values = per_item(cache, "views", "k", old | new, compute, group)
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
    assert per_item(cache, "views", "k", changed, compute, group) == {i: i.upper() for i in changed}
    assert computed == ["paper-3"]
    computed.clear()
    assert per_item(cache, "views", "k", changed, compute, group) == {i: i.upper() for i in changed}
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


def test_a_new_digest_rewrites_one_row_of_every_papers_cache(site: Path) -> None:
    """The parsed papers (with their keys), their topics' phrases, views and papers.json lines
    are each kept by date: a paper of a new date is stored in a shard of its date's row,
    and leaves the earlier shards as they were."""
    build_site(site, search=False)
    cache = Cache(site)
    names = ("papers-md", "topic-phrases", "views", "records")

    def shards() -> dict[str, int]:
        return {
            path.name: path.stat().st_ino
            for name in names
            for path in cache.folder.glob(f"{name}.*.pickle")
        }

    def view_data() -> dict[str, int]:
        """The files the views' large parts are kept in, one beside each shard."""
        return {path.name: path.stat().st_ino for path in cache.folder.glob("views.*.data")}

    before, data_before = shards(), view_data()
    assert {name.split(".")[0] for name in before} == set(names)
    assert {name.split(".")[1] for name in data_before} == {
        name.split(".")[1] for name in before if name.startswith("views.")
    }
    paper = next((site / "content/papers").glob("*.md"))
    front_matter = paper.read_text("utf-8").split("\n---\n", 1)[0]
    title = front_matter.split("title: ", 1)[1].split("\n", 1)[0]
    newer = front_matter.replace(f"title: {title}", "title: Quokka Narwhal").replace(
        "date: 2026-03-11", "date: 2026-03-12"
    )
    (paper.parent / "quokka-narwhal.md").write_text(
        newer + "\n---\n\nZebra axolotl okapi pangolin.\n", "utf-8"
    )
    build_site(site, search=False)
    after, data_after = shards(), view_data()
    assert data_after.items() >= data_before.items()
    new_data = [name.split(".")[1] for name in data_after if name not in data_before]
    assert new_data == [shard_of("quokka-narwhal", "2026-03-12")]
    # (papers.json lines hold related papers too, which a small site ranks again whole)
    kept = [name for name in before if not name.startswith("records.")]
    assert {name: before[name] for name in kept} == {name: after[name] for name in kept}
    new = sorted(name.split(".")[0] for name in after if name not in before)
    assert new == sorted(names)  # one new shard each, in the new date's row
    assert {shard_of("quokka-narwhal", "2026-03-12")} == {
        name.split(".")[1] for name in after if name not in before and "-md." not in name
    }


@pytest.mark.parametrize("name", ["views", "records"])
def test_values_kept_apart_and_lost_are_made_again(site: Path, tmp_path: Path, name: str) -> None:
    """A view's large part (its pickle, cards, search record), and a paper's line of
    papers.json, are kept in a data file beside their shard and read when a page (or
    papers.json) needs them. A data file deleted or cut short by hand (or by a full
    disk) must not break the next build: its values are made again, and the site is the
    same as a clean build's."""
    public = build_site(site, search=False)
    built = tree_bytes(public)
    cache = Cache(site)
    files = sorted(cache.folder.glob(f"{name}.*.data"))
    assert len(files) > 2
    files[0].unlink()
    with open(files[1], "r+b") as stream:
        stream.truncate(files[1].stat().st_size // 2)
    paper = next((site / "content/papers").glob("*.md"))
    paper.write_text(paper.read_text("utf-8") + "\nEdited.\n", "utf-8")
    build_site(site, search=False)
    assert tree_bytes(public) == clean_copy_build(site, tmp_path / "clean")
    assert tree_bytes(public) != built  # (the edit shows)
    assert not files[0].exists()
    assert all(path.stat().st_size > 0 for path in cache.folder.glob(f"{name}.*.data"))


def test_a_value_whose_data_file_is_lost_leaves_no_stale_entry(tmp_path: Path) -> None:
    """per_item_apart: an entry whose large part is gone is made again, and the shard
    that held it is stored again without it (else a later build could read it again and
    make it again, every time)."""
    cache = Cache(tmp_path)
    made: list[str] = []

    def compute(items: list[str]) -> list[tuple[str, bytes]]:
        made.extend(items)
        return [(item.upper(), item.encode() * 100) for item in items]

    dates = {"a": "2026-03-11", "b": "2026-03-11"}
    group = lambda item, _: dates[item]  # noqa: E731
    small, shelf = per_item_apart(cache, "v", "k", {"a": "1", "b": "1"}, compute, group)
    assert small == {"a": "A", "b": "B"} and shelf["a"] == b"a" * 100
    old_shard = shard_of("a", "2026-03-11")
    for path in cache.folder.glob(f"v.{old_shard}.*.data"):
        path.unlink()
    dates["a"] = "2026-03-12"  # (its entry would now be placed in another shard)
    made.clear()
    small, shelf = per_item_apart(cache, "v", "k", {"a": "1", "b": "1"}, compute, group)
    assert small == {"a": "A", "b": "B"} and shelf["a"] == b"a" * 100
    assert "a" in made
    stale = cache.load(f"v.{old_shard}", "k")
    assert stale is None or "a" not in stale
    made.clear()
    per_item_apart(cache, "v", "k", {"a": "1", "b": "1"}, compute, group)
    assert made == []  # nothing lost, nothing made again
