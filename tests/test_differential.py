"""Every rebuild equals a clean build. Hypothesis drives random sequences of what a
maintainer does (edits to front matter, bodies, templates, assets and settings; papers
deleted; digests ingested, again; search and the base URL switched) and, after each
step, the site rebuilt in place must be, file for file, the site a clean build of the
same inputs makes in a new folder with no cache. On the small fixture site of
tests/data/site/, and on 2,052 papers, where the stages run on worker processes and
related papers' terms are weighed by the oldest 2,048 (ranking.IDF_OVER_ALL_BELOW)."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conftest import REPO, stable, tree_bytes
from labdigest import ranking, search
from labdigest.build import BuildOptions, build
from labdigest.cli import main
from labdigest.content import paper_to_text, parse_paper

FIXTURE = Path(__file__).parent / "data" / "site"
# What Pagefind writes differently on each run (its filter and metadata files, and the
# entry file naming them).

FRONT_MATTER_EDITS = {
    "links": lambda p: dataclasses.replace(p, links=(*p.links, ("code", "https://example.org/c"))),
    "notes": lambda p: dataclasses.replace(p, notes=(p.notes or "") + "Read for Friday. "),
    "topics": lambda p: dataclasses.replace(p, topics=("generalization",)),
    "authors": lambda p: dataclasses.replace(p, authors=(*p.authors, "Yann Labbé")),
    "title": lambda p: dataclasses.replace(p, title=p.title + " Revisited"),
}
TEMPLATE_EDITS = {
    # The card shows a field it did not show before: every list and related list changes.
    "_card.html": (
        "</article>",
        '<p class="cite">{{ paper.cite_key }} {{ paper.year }}</p></article>',
    ),
    "paper.html": ("</article>", "<p>Printed from the digest.</p></article>"),
    "base.html": ("</body>", "<!-- footer note -->\n</body>"),
    "topic.html": ("{% block content %}", "{% block content %}<p>Topic page.</p>"),
    "email.txt": ("", "Sent by the lab.\n"),
}
SETTINGS_EDITS = {
    "topic name": ('name = "Generalization"', 'name = "Generalisation"'),
    "topic rules": ('"domain shift"]', '"domain shift", "transformer"]'),
    "title": ('title = "Fixture Digest"', 'title = "Fixture Digest Weekly"'),
    "per page": ("per_page = 4", "per_page = 3"),
    "lab": ('members = ["Yann Labbé"]', 'members = ["Yann Labbé", "Evin Pınar Örnek"]'),
}


class Maintainer(RuleBasedStateMachine):
    copies = 1  # each fixture paper this many times (2,052 papers: see LargeMaintainer)
    # Papers in a settled and in a recent search shard: small, for the 9 papers to make
    # several shards, some kept and some made again from one step to the next.
    shards: tuple[int, int] | None = (4, 2)
    # Terms weighed by the oldest 2^n papers (related papers are ranked in this process
    # on the small site): digests added keep the weights or, past 2^n, change them all.
    idf_over_all_below: int | None = 4

    def __init__(self) -> None:
        super().__init__()
        self.policy = (search.SETTLED, search.RECENT, ranking.IDF_OVER_ALL_BELOW)
        if self.shards:
            search.SETTLED, search.RECENT = self.shards
        if self.idf_over_all_below:
            ranking.IDF_OVER_ALL_BELOW = self.idf_over_all_below
        self.work = Path(tempfile.mkdtemp(prefix="labdigest-differential-"))
        self.site = self.work / "site"
        self.search = False
        self.base_url = "/"
        self.steps = 0

    @initialize()
    def a_site_with_one_digest(self) -> None:
        self.site.mkdir()
        shutil.copy(FIXTURE / "site.toml", self.site / "site.toml")
        shutil.copytree(FIXTURE / "content", self.site / "content")
        shutil.copytree(REPO / "templates", self.site / "templates")
        self.ingest(self.site / "content" / "digests")
        if self.copies > 1:
            self.grow()

    def grow(self) -> None:
        papers = self.site / "content" / "papers"
        for path in sorted(papers.glob("*.md")):
            paper = parse_paper(path.read_text("utf-8"), path)
            for number in range(2, self.copies + 1):
                copy = dataclasses.replace(paper, title=f"{paper.title} (part {number})")
                (papers / f"{path.stem}-part-{number}.md").write_text(paper_to_text(copy), "utf-8")

    def ingest(self, digest: Path) -> None:
        assert main(["--config", str(self.site / "site.toml"), "ingest", "-q", str(digest)]) == 0

    def papers(self) -> list[Path]:
        return sorted((self.site / "content" / "papers").glob("*.md"))

    def paper(self, number: int) -> Path:
        papers = self.papers()
        return papers[number % len(papers)]

    def edit_text(self, path: Path, old: str, new: str) -> None:
        text = path.read_text("utf-8")
        assert old in text, (path, old)
        path.write_text(text.replace(old, new, 1) if old else text + new, "utf-8")

    # ---- what a maintainer does ------------------------------------------------------

    @precondition(lambda self: len(self.papers()) > 2)
    @rule(number=st.integers(0, 10_000), field=st.sampled_from(sorted(FRONT_MATTER_EDITS)))
    def edit_front_matter(self, number: int, field: str) -> None:
        path = self.paper(number)
        paper = parse_paper(path.read_text("utf-8"), path)
        path.write_text(paper_to_text(FRONT_MATTER_EDITS[field](paper)), "utf-8")

    @precondition(lambda self: len(self.papers()) > 2)
    @rule(number=st.integers(0, 10_000))
    def edit_body(self, number: int) -> None:
        self.edit_text(self.paper(number), "", "\nQuokka cartography, revisited.\n")

    @precondition(lambda self: len(self.papers()) > 2)
    @rule(number=st.integers(0, 10_000))
    def delete_paper(self, number: int) -> None:
        self.paper(number).unlink()

    @rule()
    def ingest_the_next_digest(self) -> None:
        """A new digest (three of its papers were in the first one); again, it changes
        nothing."""
        digest = self.site / "content" / "digests" / "papers-2026-03-12.txt"
        shutil.copy(FIXTURE / "later" / digest.name, digest)
        self.ingest(digest)

    @rule(name=st.sampled_from(sorted(TEMPLATE_EDITS)))
    def edit_template(self, name: str) -> None:
        self.edit_text(self.site / "templates" / name, *TEMPLATE_EDITS[name])

    @rule()
    def edit_asset(self) -> None:
        self.edit_text(self.site / "templates/assets/style.css", "", "\n.cite { color: gray; }\n")

    @rule(change=st.sampled_from(sorted(SETTINGS_EDITS)))
    def change_settings(self, change: str) -> None:
        old, new = SETTINGS_EDITS[change]
        text = (self.site / "site.toml").read_text("utf-8")
        if old in text:  # (each change once: the old text is gone after it)
            (self.site / "site.toml").write_text(text.replace(old, new), "utf-8")

    @rule(search=st.booleans(), base_url=st.sampled_from(["/", "/digest/"]))
    def switch_options(self, search: bool, base_url: str) -> None:
        self.search, self.base_url = search, base_url

    # ---- after every step ------------------------------------------------------------

    @invariant()
    def the_rebuild_equals_a_clean_build(self) -> None:
        if not self.site.exists():
            return  # (before the site is made)
        self.steps += 1
        options = {"search": self.search, "base_url": self.base_url}
        build(BuildOptions(config_path=self.site / "site.toml", **options))  # type: ignore[arg-type]
        clean = self.work / f"clean-{self.steps}"
        clean.mkdir()
        for name in ("site.toml", "content", "templates"):
            source = self.site / name
            if source.is_dir():
                shutil.copytree(source, clean / name)
            else:
                shutil.copy(source, clean / name)
        build(BuildOptions(config_path=clean / "site.toml", **options))  # type: ignore[arg-type]
        rebuilt, fresh = stable_tree(self.site / "public"), stable_tree(clean / "public")
        shutil.rmtree(clean)
        assert rebuilt.keys() == fresh.keys()
        assert [path for path in fresh if rebuilt[path] != fresh[path]] == []

    def teardown(self) -> None:
        search.SETTLED, search.RECENT, ranking.IDF_OVER_ALL_BELOW = self.policy
        shutil.rmtree(self.work, ignore_errors=True)


def stable_tree(folder: Path) -> dict[str, bytes]:
    return stable(tree_bytes(folder))


class LargeMaintainer(Maintainer):
    copies = 228  # 9 papers a copy: 2,052 papers, a new digest's not among the oldest 2,048
    shards = None  # as built: three recent shards and the newest papers
    idf_over_all_below = None  # (ranked in a worker process, which has its own)


TestSmallSite = Maintainer.TestCase
# No shrinking: each step is two builds, and a failing sequence reads well as it is.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
TestSmallSite.settings = settings(
    max_examples=12, stateful_step_count=8, deadline=None, phases=PHASES
)
TestLargeSite = LargeMaintainer.TestCase
TestLargeSite.settings = settings(
    max_examples=1, stateful_step_count=6, deadline=None, phases=PHASES
)
