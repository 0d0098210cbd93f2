"""Every lesson is also a deck: RISE metadata on every cell, and nbconvert exports it to reveal.js."""
import json

import nbformat
import pytest
from nbconvert import SlidesExporter
from nbtools import source_notebooks

SOURCES = source_notebooks()
TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_cell_has_slide_metadata_and_the_deck_opens_on_a_slide(path):
    cells = json.loads(path.read_text())["cells"]
    kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in cells]
    assert all(k in TYPES for k in kinds), f"{path.name}: cells without RISE slide_type"
    assert kinds[0] == "slide" and kinds.count("slide") >= 5, f"{path.name}: a deck needs >= 5 slides"


@pytest.mark.parametrize("path", SOURCES[:1] + SOURCES[-1:], ids=lambda p: p.name)
def test_nbconvert_exports_one_section_per_slide(path):
    nb = nbformat.read(path, as_version=4)
    html, _ = SlidesExporter().from_notebook_node(nb)
    slides = sum(c.metadata.get("slideshow", {}).get("slide_type") == "slide" for c in nb.cells)
    assert "reveal" in html and html.count('<section') >= slides
    assert "Traceback" not in html
