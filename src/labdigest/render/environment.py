"""The Jinja environment: templates loaded from the site's templates/ folder, errors
mapped to the template's file and line, paper cards rendered once per variant, and the
key of a page: a digest of the template environment and of everything the template
receives, so a page is rendered again exactly when something it is given changed."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from labdigest import fingerprint
from labdigest.errors import LabdigestError, TemplateError
from labdigest.models import SiteConfig
from labdigest.urls import Site
from labdigest.views import PLAIN_VIEWS, DigestView, PaperView, ViewList

TEMPLATE_SUFFIXES = (".html", ".txt")  # what Jinja reads (assets may be binary)
CardKey = tuple[str, str, str | None, bool]  # slug, heading, digest seen in, new
PLAIN: tuple[None, bool] = (None, False)  # the card of a paper not marked seen or new


class Renderer:
    def __init__(self, config: SiteConfig, templates_dir: Path, cache_folder: Path | None = None):
        self.config = config
        self.templates_dir = templates_dir
        self.build_key = build_key(config, templates_dir)
        self.site = Site(config)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            # Everything is escaped but the plain-text e-mail, which no browser renders.
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "xml"), disabled_extensions=("txt",), default=True
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # a renderer lives for one build
            bytecode_cache=(
                jinja2.FileSystemBytecodeCache(str(cache_folder)) if cache_folder else None
            ),
        )
        self.env.globals.update(site=self.site, config=config, card=self.card, cards=self.cards)
        self._cards: dict[CardKey, str] = {}  # (safe HTML, marked so when shown)
        # slug, heading → the card rendered with the paper's view, where one was (None)
        self.card_source: Callable[[str, str], str | None] = lambda slug, heading: None

    def render_page(self, out_path: str, template_name: str, context: dict[str, Any]) -> bytes:
        return self.render_template(template_name, page_context(self, out_path, context)).encode()

    def render_template(self, name: str, context: dict[str, Any]) -> str:
        try:
            return _rendered(self.env, self.env.get_template(name), context)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                error.message or "syntax error",
                error.filename or str(self.templates_dir / name),
                error.lineno,
            ) from None
        except jinja2.TemplateNotFound as error:
            raise TemplateError(f"template not found: {error.name}", self.templates_dir) from None
        except jinja2.TemplateError as error:
            path, line = _template_position(sys.exc_info()[2], self.templates_dir, name)
            raise TemplateError(error.message or str(error), path, line) from None
        except LabdigestError:
            raise  # a nested template's error, already placed
        except Exception as error:  # an expression failing: 1/0, a filter given a number
            path, line = _template_position(sys.exc_info()[2], self.templates_dir, name)
            raise TemplateError(f"{type(error).__name__}: {error}", path, line) from None

    def card(
        self,
        paper: PaperView,
        heading: str = "h3",
        seen: DigestView | None = None,
        new: bool = False,
    ) -> Markup:
        """A paper's card, rendered once per variant: a paper is listed on its topics,
        its digests and five papers' related lists, and the card is the same on each."""
        key = (paper.slug, heading, seen.id if seen else None, new)
        card = self._cards.get(key)
        if card is None and key[2:] == PLAIN:
            card = self.made_card(paper.slug, heading)
        if card is None:
            context = {"paper": paper, "heading": heading, "seen": seen, "new": new}
            card = self._cards[key] = self.render_template("_card.html", context)
        return Markup(card)

    def know_card(self, slug: str, heading: str, card: str) -> None:
        """A paper's card, rendered where its view was made."""
        self._cards[(slug, heading, *PLAIN)] = card

    def made_card(self, slug: str, heading: str) -> str | None:
        """The card rendered with the paper's view (by card_source), if there is one."""
        card = self._cards.get((slug, heading, *PLAIN))
        if card is None:
            card = self.card_source(slug, heading)
            if card is not None:
                self._cards[(slug, heading, *PLAIN)] = card
        return card

    def cards(self, papers: Sequence[PaperView], heading: str = "h3") -> Markup:
        """The cards of a list of papers, each in a list item (a listed view is not even
        unpickled when its card is known)."""
        if not isinstance(papers, ViewList):
            return Markup("".join(f"<li>{self.card(paper, heading)}</li>\n" for paper in papers))
        items = []
        for slug in papers.slugs:
            card = self.made_card(slug, heading)
            items.append(f"<li>{card or self.card(papers.views[slug], heading)}</li>\n")
        return Markup("".join(items))

    def key_of(
        self, template: str, context: Mapping[str, Any], view_keys: Mapping[str, str]
    ) -> str:
        """The key of a page: the environment's, the template's name and what it is given
        (views stand in as the digests of their pickles, view_keys)."""
        parts = [self.build_key, template]
        seen: dict[int, int] = {}
        for name in sorted(context):
            parts.append(name)
            _describe(context[name], view_keys, parts, seen)
        return text_digest("\0".join(parts))


@dataclass(frozen=True, slots=True)
class RendererSpec:
    """What a worker needs to make the build's renderer: `build` tells one build from
    the next (its cards are those of its views)."""

    config: SiteConfig
    templates: Path
    cache_folder: Path | None
    build: str = field(default_factory=lambda: secrets.token_hex(8))


@functools.lru_cache(maxsize=1)
def renderer_for(spec: RendererSpec) -> Renderer:
    """The build's renderer, made once per worker process (which renders many chunks of
    one build's views and pages)."""
    return Renderer(spec.config, spec.templates, spec.cache_folder)


def page_context(renderer: Renderer, out_path: str, context: dict[str, Any]) -> dict[str, Any]:
    """What every page's template is given besides its own values."""
    path = "" if out_path == "404.html" else out_path.removesuffix("index.html")
    site = renderer.site
    return {
        "page_url": site.url(path),
        "canonical_url": site.absolute(path),
        "description": renderer.config.description,
        "og_type": "website",
        "feeds": [],
        "json_ld": None,
        **context,
    }


def _describe(
    value: Any, view_keys: Mapping[str, str], parts: list[str], seen: dict[int, int]
) -> None:
    """Append a description of a value that two values share only if they are equal. An
    object met again (the digest a hundred papers were first seen in) is described by
    the place of its first description."""
    kind = type(value)
    if kind in _BY_REPR:  # (most values, and the quickest way to describe them whole)
        parts.append(repr(value))
    elif kind is PaperView:
        parts.append("V" + view_keys[value.slug])
    elif id(value) in seen:
        parts.append(f"@{seen[id(value)]}")
    elif isinstance(value, ViewList):
        seen[id(value)] = len(parts)
        parts.append("L" + ",".join(map(view_keys.__getitem__, value.slugs)))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        seen[id(value)] = len(parts)
        parts.append(type(value).__name__ + "(")
        for field in dataclasses.fields(value):
            _describe(getattr(value, field.name), view_keys, parts, seen)
        parts.append(")")
    elif isinstance(value, (list, tuple)):
        parts.append(f"[{len(value)}")
        for item in value:
            _describe(item, view_keys, parts, seen)
    elif isinstance(value, dict):
        parts.append(f"{{{len(value)}")
        for key in sorted(value):
            parts.append(repr(key))
            _describe(value[key], view_keys, parts, seen)
    else:
        raise TypeError(f"a page's key cannot describe {type(value).__name__}")


# Values whose repr says all they hold (the views here hold no PaperView).
_BY_REPR = frozenset({str, Markup, int, float, bool, type(None), *PLAIN_VIEWS})


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def build_key(config: SiteConfig, templates_dir: Path) -> str:
    """What every page depends on: settings, templates and labdigest's own code. Not the
    name the settings file was given (site.toml, or its absolute path from `serve`)."""
    settings = dataclasses.replace(config, path=Path())
    parts = [repr(settings), repr(fingerprint.code_state())]
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix in TEMPLATE_SUFFIXES:
                _check_utf8(data, path)
            parts += [path.relative_to(templates_dir).as_posix(), hashlib.sha1(data).hexdigest()]
    return text_digest("\0".join(parts))


def _rendered(env: jinja2.Environment, template: jinja2.Template, values: dict[str, Any]) -> str:
    """template.render(values), without its copy of the globals into every context
    (through a ChainMap, twice): a third of a card's time, and a build renders 20,000
    cards. The globals are the environment's; no template has globals of its own."""
    context = template.new_context({**env.globals, **values}, shared=True)
    try:
        return env.concat(template.root_render_func(context))
    except Exception:
        env.handle_exception()  # raises it again with the template's own line numbers
        raise


def _check_utf8(data: bytes, path: Path) -> None:
    """A template Jinja cannot read is an error naming it (Jinja's own is a traceback)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TemplateError(f"not UTF-8 text ({error.reason})", path, line) from None


def _template_position(traceback: Any, templates_dir: Path, name: str) -> tuple[str, int | None]:
    """The innermost template frame of a rendering error: Jinja maps its line numbers."""
    found: tuple[str, int | None] = (str(templates_dir / name), None)
    root = str(templates_dir.resolve())
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(root) or filename.startswith(str(templates_dir)):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found
