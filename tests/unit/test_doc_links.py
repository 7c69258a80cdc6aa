"""Every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves (a file
that exists; a heading that GitHub would give that anchor), and the README stays short."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")])
# ~250 lines where users start (issue 13), plus what issues 10-12 ask the README itself to show
# (each verb's output, the SAM snippet, the SCP, the two-terminal walk-through)
README_MAX_LINES = 280

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text (code spans' content, links' text),
    lower-cased, every character but letters, digits, spaces, hyphens and underscores dropped,
    spaces turned into hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(2).strip(), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the file's headings (repeats get -1, -2, ...)."""
    seen: Counter[str] = Counter()
    found = set()
    for line in prose_lines(path.read_text()):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(path: Path) -> list[str]:
    """The link targets of the file's prose (not inside code blocks or code spans)."""
    out = []
    for line in prose_lines(path.read_text()):
        out += LINK.findall(CODE_SPAN.sub("", line))
    return out


def test_the_slug_rules() -> None:
    assert slug("Safety: one deployment per alias, pre-flight") == (
        "safety-one-deployment-per-alias-pre-flight"
    )
    assert slug("Invoke a function locally (`sam local invoke`)") == (
        "invoke-a-function-locally-sam-local-invoke"
    )
    assert slug("History and evidence; long plans") == "history-and-evidence-long-plans"
    assert slug("The `coalmine --help` verbs") == "the-coalmine---help-verbs"


def test_links_and_anchors_are_found() -> None:
    readme = REPO / "README.md"
    assert "docs/reference.md" in links(readme)
    assert "two-commands" in anchors(readme)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.name}")
    assert not broken, f"{doc.relative_to(REPO)}: " + "; ".join(broken)


def test_the_readme_stays_short() -> None:
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines < README_MAX_LINES, f"README.md has {lines} lines (the details go to docs/)"
