"""`labdigest init DIR`: a new site that builds at once: commented site.toml, an empty
content/digests/, the default templates to customize, a Makefile and a .gitignore."""

from __future__ import annotations

import shutil
from pathlib import Path

from labdigest.errors import LabdigestError

PACKAGE = Path(__file__).parent
SKELETON = PACKAGE / "skeleton"
TEMPLATES = PACKAGE / "templates"


def init(target: Path) -> list[Path]:
    """Create the site; refuses a folder that already has files, so nothing is overwritten."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LabdigestError(f"{target} exists and is not empty; choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SKELETON / "site.toml", target / "site.toml")
    shutil.copy(SKELETON / "Makefile", target / "Makefile")
    shutil.copy(SKELETON / "gitignore", target / ".gitignore")
    shutil.copytree(TEMPLATES, target / "templates")
    for folder in ("digests", "papers", "manifests"):
        (target / "content" / folder).mkdir(parents=True, exist_ok=True)
    # Hidden, so that ingest does not take it for a digest; it keeps the folder in git.
    (target / "content" / "digests" / ".gitkeep").write_text("", encoding="utf-8")
    return sorted(p for p in target.rglob("*") if p.is_file())
