from __future__ import annotations

from labdigest.models import Library, Paper, Topic
from labdigest.topics import assign

DEPTH = Topic("depth", "Depth", "", ("depth estimation", "monocular depth"))
POSE = Topic("pose", "Pose", "", ("pose", "6D"))
LLM = Topic("llm", "LLMs", "", ("LLM",))


def paper(
    slug: str, title: str, body: str = "", topics: tuple[str, ...] = (), date: str = "2026-03-11"
) -> Paper:
    return Paper(slug=slug, title=title, date=date, digests=("d",), body=body, topics=topics)


def test_word_boundaries_case_and_pinning() -> None:
    papers = (
        paper("a", "Monocular DEPTH Estimation at scale"),
        paper("b", "Purpose-built models", "We repose the problem."),  # 'pose' only inside words
        paper("c", "6D object pose", "Uses an LLM."),
        paper("d", "Pinned paper about depth estimation", topics=("llm",)),
        paper("e", "LLMs are not LLM"),
        paper("f", "Depth\\-estimation? no", "monocular\n   depth across lines"),
    )
    index = assign(Library(papers=papers, digests=()), (DEPTH, POSE, LLM))
    assert index.of_paper == {
        "a": ("depth",),
        "b": ("unsorted",),
        "c": ("pose", "llm"),
        "d": ("llm",),
        "e": ("llm",),
        "f": ("depth",),
    }
    assert index.papers_in["unsorted"] == ("b",)
    assert [t.slug for t in index.topics] == ["depth", "pose", "llm", "unsorted"]
    assert index.phrases_of["a"] == ("depth estimation", "monocular depth")


def test_unsorted_topic_is_hidden_when_empty_and_papers_are_newest_first() -> None:
    papers = (paper("new", "pose", date="2026-03-12"), paper("old", "pose", date="2026-03-10"))
    index = assign(Library(papers=papers, digests=()), (POSE,))
    assert [t.slug for t in index.topics] == ["pose"]
    assert index.papers_in["pose"] == ("new", "old")


def test_shipped_topics_cover_the_example(example_public: object) -> None:
    from pathlib import Path

    from labdigest import content
    from labdigest.config import load

    repo = Path(__file__).resolve().parent.parent
    config = load(repo / "site.toml")
    library = content.load(repo / "content", config)
    index = assign(library, config.topics)
    sizes = {t.slug: len(index.papers_in[t.slug]) for t in index.topics}
    assert sum(1 for slug, size in sizes.items() if slug != "unsorted" and size >= 3) >= 6
    assert sizes.get("unsorted", 0) <= 0.1 * len(library.papers)


def test_phrases_starting_with_a_symbol_still_match() -> None:
    topic = Topic("cpp", "C++", "", ("+cpp", ".NET"))
    papers = (paper("a", "Porting .NET code"), paper("b", "Nothing here"))
    index = assign(Library(papers=papers, digests=()), (topic,))
    assert index.of_paper == {"a": ("cpp",), "b": ("unsorted",)}
