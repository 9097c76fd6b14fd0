"""A digest as a newsletter: an HTML e-mail and a plain-text one, with as many papers as
fit under the size mail clients show unclipped; the rest are one link away."""

from __future__ import annotations

from labdigest.render.environment import Renderer
from labdigest.views import DigestView, ViewList

EMAIL_MAX_BYTES = 95_000  # Gmail clips messages over 102 KB
EMAIL_MIN_PAPER_BYTES = 300  # a title, a teaser and a link, in a table row


def emails(renderer: Renderer, digest: DigestView, papers: ViewList) -> tuple[bytes, bytes]:
    """The HTML and the plain-text e-mail of a digest (papers: its papers, in order)."""
    html_mail, count = _html_email(renderer, digest, papers)
    text = renderer.render_template("email.txt", _values(digest, papers, count))
    return html_mail, text.encode("utf-8")


def _values(digest: DigestView, papers: ViewList, count: int) -> dict[str, object]:
    return {"digest": digest, "papers": papers[:count], "more": len(papers) - count}


def _html_email(renderer: Renderer, digest: DigestView, papers: ViewList) -> tuple[bytes, int]:
    def render(count: int) -> bytes:
        values = _values(digest, papers, count)
        return renderer.render_template("email.html", values).encode("utf-8")

    # No paper takes less than EMAIL_MIN_PAPER_BYTES, which bounds the search and spares
    # rendering a 10,000-paper e-mail only to find that it is too long.
    most = min(len(papers), EMAIL_MAX_BYTES // EMAIL_MIN_PAPER_BYTES)
    whole = render(most)
    if len(whole) <= EMAIL_MAX_BYTES and most == len(papers):
        return whole, most
    low, high = 0, most
    while low < high:  # the largest count that fits
        middle = (low + high + 1) // 2
        if len(render(middle)) <= EMAIL_MAX_BYTES:
            low = middle
        else:
            high = middle - 1
    return render(low), low
