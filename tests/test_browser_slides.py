"""Every exported deck, opened in headless Chromium (Debian's, driven by playwright) and stepped through.

Asserted per deck: no console error, no failed request and no request leaving the machine (only
file: and data: URLs), every formula typeset by MathJax (no raw `$...$`, no TeX error), and no slide
whose content goes beyond 1280x720 or is cut inside a scrolling box; no slide with more than 250
words or a listing of more than 15 lines of code or output (known offenders marked, with their slides).
The speaker view shows the notes within 5 s, without MathJax errors; the notes handout prints each
slide, then its notes. Figures are checked for overlapping labels as matplotlib draws them, in
tests/test_student_copies.py (a PNG in a deck cannot be). Screenshots of the title slide
and of one content slide per deck go to build/test-artifacts/slides/ (git-ignored).
Without Chromium these tests are skipped with the command that installs it; with CI=true they fail.
"""
import re
import time

import pytest
from browser import HEIGHT, WIDTH, print_pdf, wait_for_deck, walk_deck
from export_slides import export_all
from nbtools import ROOT, source_notebooks

pytestmark = pytest.mark.browser
NOTEBOOKS = source_notebooks()
ARTIFACTS = ROOT / "build" / "test-artifacts" / "slides"
NOT_YET_CURATED = set()  # decks whose slides still overflow; remove a name once curated
MAX_WORDS, MAX_LISTING = 250, 15   # per slide: words the audience reads; lines of code or output in one listing
# Known dense slides, measured 2026-12-03 (remove an entry once its slides are split or trimmed; the marks
# are strict=False so that a merge passes either way). Every deck fits since 2026-12-03: keep it so.
DENSE_PENDING = {}
# Slides taller or wider than 1280x720 (same rule: name the slide, remove the entry once it is split).
OVERFLOW_PENDING = {}
RAW_MATH = re.compile(r"\$[^$\n]+\$|\\\(|\\\[")


@pytest.fixture(scope="session")
def decks(tmp_path_factory):
    """Export every deck once per session, into a temporary folder."""
    out = tmp_path_factory.mktemp("decks")
    return dict(zip((p.stem for p in NOTEBOOKS), export_all(NOTEBOOKS, out)))


@pytest.fixture(scope="session")
def walked(chromium_browser, decks):
    """Open each deck once, step through every slide, and keep what the browser saw (per deck stem)."""
    cache = {}

    def walk(stem):
        if stem not in cache:
            cache[stem] = _walk(chromium_browser, stem, decks[stem])
        return cache[stem]
    return walk


def _walk(browser, stem, deck):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    errors, external = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else external.append(r.url))
    try:
        page.goto(deck.as_uri())
        wait_for_deck(page)
        page.screenshot(path=str(_artifact(f"{stem}_title.png")))
        slides = walk_deck(page)
        content = next((i for i, s in enumerate(slides) if s["images"]), 1)
        page.evaluate("(i) => { const s = Reveal.getSlides()[i], x = Reveal.getIndices(s); "
                      "Reveal.slide(x.h, x.v, s.querySelectorAll('.fragment').length - 1); }", content)
        page.screenshot(path=str(_artifact(f"{stem}_content.png")))
    finally:
        page.close()
    return {"errors": errors, "external": external, "slides": slides}


def _artifact(name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def _where(s):
    return f"slide {s['indices']['h'] + 1}.{s['indices']['v'] + 1} ({s['title'].strip()[:40]!r})"


@pytest.mark.parametrize("stem", [p.stem for p in NOTEBOOKS])
def test_deck_runs_offline_without_errors_and_typesets_all_math(walked, stem):
    seen = walked(stem)
    assert seen["errors"] == [], f"{stem}: console errors or failed requests: {seen['errors'][:5]}"
    assert seen["external"] == [], f"{stem}: requests that leave the machine: {seen['external'][:5]}"
    raw = [(_where(s), RAW_MATH.findall(s["text"])[:2]) for s in seen["slides"] if RAW_MATH.search(s["text"])]
    assert raw == [], f"{stem}: math left untypeset: {raw[:3]}"
    bad = [_where(s) for s in seen["slides"] if s["math_errors"]]
    assert bad == [], f"{stem}: MathJax errors on {bad}"
    assert sum(s["math"] for s in seen["slides"]) > 0, f"{stem}: a lesson deck without a single formula?"
    broken = [_where(s) for s in seen["slides"] if s["broken_table_math"]]
    assert broken == [], f"{stem}: math in a table broken over several lines on {broken}"


def test_math_in_tables_is_typeset(walked):
    found = sum(s["table_math"] for s in walked(NOTEBOOKS[0].stem)["slides"])
    assert found >= 8, f"lesson 00's table of formulas shows {found} typeset formulas"


@pytest.mark.parametrize("stem", [pytest.param(p.stem, marks=[pytest.mark.xfail(
    p.stem in NOT_YET_CURATED, reason="deck not yet curated", strict=True), pytest.mark.xfail(
    p.stem in OVERFLOW_PENDING, reason=f"slides not yet split: {OVERFLOW_PENDING.get(p.stem)}", strict=False)])
    for p in NOTEBOOKS])
def test_no_slide_overflows_1280x720(walked, stem):
    over = [f"{_where(s)}: {s['right']}x{s['bottom']} px" + (f", cut: {s['cut'][:3]}" if s["cut"] else "")
            for s in walked(stem)["slides"] if s["bottom"] > HEIGHT or s["right"] > WIDTH or s["cut"]]
    assert over == [], f"{stem}: {len(over)} slide(s) overflow {WIDTH}x{HEIGHT}: " + "; ".join(over)


def test_pdf_handout_prints_one_page_per_slide(chromium_browser, decks, tmp_path):
    stem = NOTEBOOKS[0].stem
    pdf = print_pdf(decks[stem], tmp_path / f"{stem}.pdf", chromium_browser)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    slides = len(re.findall(r"<section data-cell=", decks[stem].read_text()))
    assert pages == slides > 0, f"{stem}: {pages} PDF pages for {slides} slides"


def test_speaker_view_shows_the_notes_offline(chromium_browser, decks):
    context = chromium_browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    external = []
    context.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else external.append(r.url))
    try:
        page = context.new_page()
        page.goto(decks[NOTEBOOKS[0].stem].as_uri())
        wait_for_deck(page)
        with context.expect_page() as opened:
            page.keyboard.press("s")  # reveal.js's notes plugin: the speaker view in a new window
        view = opened.value
        errors = []
        view.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        view.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.monotonic()
        view.wait_for_selector(".speaker-controls-notes", timeout=15000)
        view.wait_for_function("() => document.querySelector('.speaker-controls-notes').innerText.includes('Speaker notes')",
                               timeout=15000)
        shown_after = time.monotonic() - t0
        page.keyboard.press("ArrowRight")   # a slide change in the deck reaches the speaker view's previews
        view.wait_for_timeout(500)
    finally:
        context.close()
    assert external == [], f"the speaker view reached the network: {external[:3]}"
    assert not [e for e in errors if "MathJax" in e], f"MathJax errors in the speaker view: {errors[:3]}"
    assert shown_after < 5, f"the speaker notes appeared after {shown_after:.1f} s"


@pytest.mark.parametrize("stem", [pytest.param(p.stem, marks=pytest.mark.xfail(
    p.stem in DENSE_PENDING, reason=f"dense slides not yet split: {DENSE_PENDING.get(p.stem)}",
    strict=False)) for p in NOTEBOOKS])
def test_no_slide_is_a_wall_of_text_or_code(walked, stem):
    dense = [f"{_where(s)}: {s['words']} words" for s in walked(stem)["slides"] if s["words"] > MAX_WORDS]
    dense += [f"{_where(s)}: a {s['longest_listing']}-line listing" for s in walked(stem)["slides"]
              if s["longest_listing"] > MAX_LISTING]
    assert dense == [], f"{stem}: {len(dense)} dense slide(s) (limits {MAX_WORDS} words, {MAX_LISTING} lines " \
                        "of code or output): split or trim them: " + "; ".join(dense)


def test_notes_handout_has_each_slide_then_its_notes(chromium_browser, decks, tmp_path):
    stem = NOTEBOOKS[0].stem
    pdf = print_pdf(decks[stem], tmp_path / f"{stem}.notes.pdf", chromium_browser, notes=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    html = decks[stem].read_text()
    slides, noted = len(re.findall(r"<section data-cell=", html)), html.count('<aside class="notes">')
    assert pages == slides + noted and noted > 0, f"{stem}: {pages} pages for {slides} slides and {noted} notes"
