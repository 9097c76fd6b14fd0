"""Every page of the example site is valid HTML to the Nu HTML Checker (npm's vnu-jar, run
with the machine's Java), at / and under /digest/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

VNU_JAR = REPO / ".cache" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu_errors(*folders: Path) -> list[dict[str, object]]:
    if not VNU_JAR.is_file() or shutil.which("java") is None:
        message = (
            f"the Nu HTML Checker needs Java and {VNU_JAR} (make test installs vnu-jar with npm)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--skip-non-html",
            "--format",
            "json",
            *map(str, folders),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    messages: list[dict[str, object]] = json.loads(result.stderr or result.stdout)["messages"]
    return messages


@pytest.mark.linux_only
def test_the_checker_catches_an_invalid_page(tmp_path: Path) -> None:
    (tmp_path / "bad.html").write_text(
        "<!doctype html><html lang=en><title>x</title><p><div>x</p>", encoding="utf-8"
    )
    assert "No “p” element in scope but a “p” end tag seen." in [
        m["message"] for m in vnu_errors(tmp_path)
    ]


@pytest.mark.linux_only
def test_every_page_of_the_example_is_valid(
    example_public: Path, example_public_subpath: Path
) -> None:
    pages = [p for p in example_public.rglob("*.html") if "pagefind" not in p.parts]
    assert len(pages) == 86
    errors = vnu_errors(example_public, example_public_subpath)
    assert [(m["url"], m.get("lastLine"), m["message"]) for m in errors] == []
