"""The pages that list papers or lead to them: the home page, topics, digests (each list
split into pages of `per_page`), the lab's papers, search and 404. Each is keyed by what
its template is given: an unchanged one is kept, not rendered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from labdigest import search
from labdigest.models import KeptFile, OutputFile
from labdigest.render.context import Context
from labdigest.render.environment import Renderer
from labdigest.render.papers import Reuse
from labdigest.views import (
    Facet,
    FacetValue,
    HomeGroup,
    Pager,
    PaperView,
    TopicPager,
    TopicTag,
    TopicView,
    ViewList,
    list_page,
    person_key,
)

# The home page shows the latest digest by topic: a few papers of each, more folded, and
# at most GROUP_MOST of a topic (the digest's page lists them all): a digest of
# hundreds of papers must not make a home page of megabytes.
GROUP_SHOWN = 4
GROUP_MOST = 24
File = OutputFile | KeptFile


class Lists:
    def __init__(self, renderer: Renderer, context: Context, reuse: Reuse):
        self.renderer, self.context, self.reuse = renderer, context, reuse

    def keyed_page(self, out_path: str, template: str, **values: Any) -> File:
        """The page, unless the live site holds it as made from these values."""
        key = self.renderer.key_of(template, values, self.context.view_keys)
        if self.reuse(out_path, key):
            return KeptFile(out_path)
        return OutputFile(out_path, self.renderer.render_page(out_path, template, values), key)

    def all(self, search_index: bool) -> Iterator[File]:
        yield from self.topic_pages()
        yield from self.digest_pages()
        yield from self.site_pages(search_index)

    def topic_pages(self) -> Iterator[File]:
        context = self.context
        yield self.keyed_page(
            "topics/index.html", "topics.html", topics=list(context.topic_views.values())
        )
        for topic in context.topics.topics:
            view = context.topic_views[topic.slug]
            feed = (f"{self.renderer.config.title}: {topic.name}", view.feed_url)
            yield from self.archived(
                f"topics/{topic.slug}/",
                context.papers.listed(context.topics.papers_in[topic.slug]),
                view,
                description=topic.description or topic.name,
                feeds=[feed],
            )

    def archived(
        self, folder: str, papers: ViewList, topic: TopicView, **values: Any
    ) -> Iterator[File]:
        """A topic's papers, newest first: its own page, then its archive pages (see
        archive_page). An archive page is given the topic as a tag, without the count
        that every digest changes: it is made again only when its papers change."""
        per_page, url = self.renderer.config.per_page, self.renderer.site.url
        count = archive_count(len(papers), per_page)
        newest = len(papers) - count * per_page
        yield self.keyed_page(
            folder + "index.html",
            "topic.html",
            pager=TopicPager(None, None, url(archive_page(folder, count)) if count else None),
            papers=papers[:newest],
            topic=topic,
            **values,
        )
        tag = TopicTag(topic.slug, topic.name, topic.url)
        for number in range(count, 0, -1):
            end = len(papers) - (number - 1) * per_page
            newer = archive_page(folder, number + 1) if number < count else folder
            older = url(archive_page(folder, number - 1)) if number > 1 else None
            yield self.keyed_page(
                archive_page(folder, number) + "index.html",
                "topic.html",
                pager=TopicPager(number, url(newer), older),
                papers=papers[end - per_page : end],
                topic=tag,
                **values,
            )

    def digest_pages(self) -> Iterator[File]:
        yield self.keyed_page("digests/index.html", "digests.html", digests=self.context.digests)
        for digest in self.context.digests:
            papers = self.context.digest_papers[digest.id]
            yield from self.paginated(f"digests/{digest.id}/", papers, "digest.html", digest=digest)

    def paginated(
        self, folder: str, papers: ViewList, template: str, **values: Any
    ) -> Iterator[File]:
        """A list of papers as pages of `per_page`: folder, then folder/page/2/ and on."""
        per_page = self.renderer.config.per_page
        folders = list_folders(folder, len(papers), per_page)
        urls = [self.renderer.site.url(page) for page in folders]
        for index, page in enumerate(folders):
            pager = Pager(
                number=index + 1,
                count=len(folders),
                start=index * per_page + 1,
                previous_url=urls[index - 1] if index > 0 else None,
                next_url=urls[index + 1] if index + 1 < len(folders) else None,
            )
            shown = papers[index * per_page : (index + 1) * per_page]
            yield self.keyed_page(
                page + "index.html", template, pager=pager, papers=shown, **values
            )

    def site_pages(self, search_index: bool) -> Iterator[File]:
        context = self.context
        latest = context.digests[0] if context.digests else None
        latest_papers = context.digest_papers[latest.id] if latest else context.papers.listed(())
        # "New" tells something only on a site with earlier digests.
        new = [
            slug
            for slug in latest_papers.slugs
            if len(context.digests) > 1 and context.first_seen[slug] is latest
        ]
        yield self.keyed_page(
            "index.html",
            "home.html",
            latest=latest,
            groups=home_groups(context, latest_papers),
            new=new,
            topics=list(context.topic_views.values()),
            paper_count=len(context.papers),
            digest_count=len(context.digests),
        )
        lab_papers = context.papers.listed(context.lab_papers)
        yield self.keyed_page(
            "lab/index.html",
            "lab.html",
            papers=lab_papers,
            members=member_counts(self.renderer.config.lab_members, lab_papers),
        )
        yield self.keyed_page("404.html", "404.html")
        language = search.pagefind_language(self.renderer.config.language)
        yield self.keyed_page(
            "search/index.html",
            "search.html",
            no_papers=not context.papers,
            search_index=search_index,
            bundles=search.bundle_folders(len(context.papers)) if search_index else [],
            sizes=search.shard_sizes(len(context.papers)) if search_index else [],
            facets=search_facets(context),
            wasm=f"wasm.{language}.pagefind",
        )


def search_facets(context: Context) -> list[Facet]:
    """The search page's filters: the topics in the order of site.toml, the years newest
    first, each with its count of papers (what Pagefind counts over the whole index)."""
    topics = tuple(
        FacetValue(view.name, view.count) for view in context.topic_views.values() if view.count
    )
    years = Counter(paper.date[:4] for paper in context.library.papers)
    return [
        Facet("topic", "Topic", topics),
        Facet("year", "Year", tuple(FacetValue(y, years[y]) for y in sorted(years, reverse=True))),
    ]


def home_groups(context: Context, papers: ViewList) -> list[HomeGroup]:
    """The latest digest by topic, in the order of site.toml (papers in no topic last):
    each paper under its first topic, in the digest's order."""
    by_topic: dict[str, list[str]] = {}
    for slug in papers.slugs:
        by_topic.setdefault(context.topics.of_paper[slug][0], []).append(slug)
    groups = []
    for slug, view in context.topic_views.items():
        members = by_topic.get(slug, [])
        if members:
            shown, folded = members[:GROUP_SHOWN], members[GROUP_SHOWN:GROUP_MOST]
            groups.append(
                HomeGroup(
                    view,
                    papers.views.listed(shown),
                    papers.views.listed(folded),
                    len(members) - len(shown) - len(folded),
                )
            )
    return groups


def list_folders(folder: str, papers: int, per_page: int) -> list[str]:
    """The folders of a list of papers split into pages (see list_page)."""
    count = max(1, -(-papers // per_page))
    return [list_page(folder, number) for number in range(1, count + 1)]


def topic_folders(folder: str, papers: int, per_page: int) -> list[str]:
    """The folders of a topic's pages: its own, then its archive pages, newest first."""
    count = archive_count(papers, per_page)
    return [folder] + [archive_page(folder, number) for number in range(count, 0, -1)]


def member_counts(members: Sequence[str], papers: Sequence[PaperView]) -> list[tuple[str, int]]:
    counts = {person_key(m): (m, 0) for m in members}
    for paper in papers:
        for author in paper.authors:
            if author.member and (key := person_key(author.name)) in counts:
                name, count = counts[key]
                counts[key] = (name, count + 1)
    return list(counts.values())


def archive_page(folder: str, number: int) -> str:
    """Archive page `number` of a topic's papers, as a folder (or URL) under the topic's
    own: folder/page/1/ holds its oldest per_page papers, page/2/ the next, and so on. So
    numbered, a page keeps its papers while digests come: a new digest changes the
    topic's own page, and adds an archive page when that one overflows."""
    return f"{folder}page/{number}/"


def archive_count(papers: int, per_page: int) -> int:
    """How many archive pages a topic of `papers` papers has: its own page keeps from
    per_page to twice that, less one, of the newest (all of them, when fewer)."""
    return max(0, papers // per_page - 1)
