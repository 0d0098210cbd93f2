"""Every lesson is also a deck: RISE metadata on every cell, and a curated, offline reveal.js export.

The rules the exporter applies are in slides/README.md; the browser tests (tests/test_browser_slides.py)
open the exported decks in Chromium.
"""
import json
import re

import nbformat
import pytest
from export_slides import MAX_CODE_LINES, copy_assets, deck, export, render_code, split_tables, tags
from make_student_copies import BEGIN, END
from nbtools import source_notebooks

SOURCES = source_notebooks()
TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
CURATED_LESSONS = {"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "13"}  # add a lesson once slides/README.md's rules are applied
CURATED = [p for p in SOURCES if p.name[:2] in CURATED_LESSONS]


def _slides(nb):
    return [s for stack in deck(nb) for s in stack]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_cell_has_slide_metadata_and_the_deck_opens_on_a_slide(path):
    cells = json.loads(path.read_text())["cells"]
    kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in cells]
    assert all(k in TYPES for k in kinds), f"{path.name}: cells without RISE slide_type"
    assert kinds[0] == "slide" and kinds.count("slide") >= 5, f"{path.name}: a deck needs >= 5 slides"


@pytest.mark.parametrize("path", CURATED, ids=lambda p: p.name)
def test_curated_deck_has_15_to_30_slides_with_speaker_notes_on_each(path):
    slides = _slides(nbformat.read(path, as_version=4))
    assert 15 <= len(slides) <= 30, f"{path.name}: {len(slides)} slides, a lecture wants 15-30"
    silent = [s["first_cell"] for s in slides if not s["notes"].strip()]
    assert silent == [], f"{path.name}: slides without speaker notes (first cells {silent}): add a `notes` cell"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_deck_shows_no_solution_check_cell_or_stderr(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    html = export(path, tmp_path).read_text()
    for cell in nb.cells:
        if cell.cell_type == "code" and BEGIN in cell.source:
            body = cell.source.split(BEGIN, 1)[1].split(END, 1)[0]
            for line in (ln.strip() for ln in body.split("\n")):
                if len(line) > 12:  # long enough not to occur by chance
                    assert re.sub(r"<[^>]+>", "", line) not in _text(html), f"{path.name}: solution line shown: {line!r}"
    assert "✓ Exercise" not in html, f"{path.name}: a check cell's verdict is shown"
    assert "Traceback (most recent call last)" not in html and BEGIN not in html


def _text(html):
    """Return the visible text of the HTML (tags dropped, entities of the code highlighter decoded)."""
    import html as h
    return h.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("path", SOURCES[:1] + SOURCES[-1:], ids=lambda p: p.name)
def test_export_is_offline_and_self_contained(path, tmp_path):
    html = export(path, tmp_path).read_text()
    copy_assets(tmp_path)
    loaded = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert loaded and all(not re.match(r"[a-z]+://|//", u) for u in loaded), f"remote resources: {loaded}"
    assert all((tmp_path / u).is_file() for u in loaded), "a deck asset was not copied"
    assert "mathjax/tex-svg.js" in html and "require" not in " ".join(loaded) and "jquery" not in html.lower()
    assert not re.search(r"https?://(cdn|unpkg|cdnjs)", html), "a CDN address in the deck"


def _cell(source, outputs=(), tags_=()):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    if tags_:
        cell.metadata["tags"] = list(tags_)
    return cell


def test_rules_solutions_stubbed_long_code_folded_stderr_dropped():
    ex = _cell("# Exercise 9.1\ndef f(x):\n    \"\"\"Task.\"\"\"\n    ### BEGIN SOLUTION\n    return 42 * x\n    ### END SOLUTION")
    assert "42" not in _text(render_code(ex)) and "NotImplementedError" in _text(render_code(ex))
    long = _cell("\n".join(f"x{i} = {i}" for i in range(MAX_CODE_LINES + 1)),
                 [nbformat.v4.new_output("stream", name="stdout", text="shown\n"),
                  nbformat.v4.new_output("stream", name="stderr", text="progress 50%\n")])
    assert "x3 = 3" not in _text(render_code(long)) and "shown" in render_code(long)
    assert "progress" not in render_code(long)
    short = _cell("y = 1", [nbformat.v4.new_output("stream", name="stdout", text="out\n")], ["deck-hide-input"])
    assert "y = 1" not in _text(render_code(short)) and "out" in render_code(short)
    with pytest.raises(ValueError, match="unknown deck tag"):
        tags(_cell("y = 1", tags_=["deck-hide-inptu"]))


def test_rules_skip_check_cells_notes_and_long_tables():
    md = nbformat.v4.new_markdown_cell
    cells = [md("# Title"), _cell("import os"), md("## A"), _cell("from course_lib.checks.lesson00 import check_x\ncheck_x(f)"),
             md("Say this."), md("## T\n\n| a |\n|---|\n" + "".join(f"| {i} |\n" for i in range(20)))]
    kinds = ["slide", "skip", "slide", "-", "notes", "slide"]
    for c, k in zip(cells, kinds):
        c.metadata["slideshow"] = {"slide_type": k}
    stacks = deck(nbformat.v4.new_notebook(cells=cells))
    assert len(stacks) == 3 and "import os" not in str(stacks) and "check_x" not in str(stacks)
    assert "Say this." in stacks[1][0]["notes"]
    assert len(stacks[2]) == 3 and "T" in stacks[2][1]["blocks"][0]["html"]  # 20 rows: 8 + 8 + 4, running header
    assert len(split_tables("<table><tr><th>a</th></tr><tr><td>1</td></tr></table>")) == 1
