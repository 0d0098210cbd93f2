"""Headless Chromium for the decks: Debian's browser driven by playwright (never a downloaded one).

Install the browser with `apt-get install -y chromium` (Debian/Ubuntu; on other systems set
COURSE_CHROMIUM to a Chromium or Chrome executable). playwright is pinned in pyproject.toml.
"""
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

INSTALL = "apt-get install -y chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
WIDTH, HEIGHT = 1280, 720


def chromium_path():
    """Return the Chromium executable to drive (COURSE_CHROMIUM if set), or None if there is none."""
    if os.environ.get("COURSE_CHROMIUM"):
        return os.environ["COURSE_CHROMIUM"] if Path(os.environ["COURSE_CHROMIUM"]).is_file() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextmanager
def chromium():
    """Yield a launched headless Chromium (playwright Browser); close it afterwards."""
    path = chromium_path()
    if path is None:
        raise RuntimeError(f"Chromium is missing: install it with `{INSTALL}`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_deck(page, timeout=30000):
    """Wait until reveal.js is ready and MathJax has typeset every formula of the deck."""
    page.wait_for_function("() => document.body.dataset.deck === 'ready'", timeout=timeout)


def print_pdf(deck, pdf=None, browser=None, notes=False):
    """Print an exported deck to PDF, one page per slide (reveal.js's ?print-pdf); return the path.

    notes=True prints the speaker-notes handout (NN_name.notes.pdf): each slide, then a page with its
    notes (reveal.js's showNotes=separate-page).
    """
    deck = Path(deck).resolve()
    pdf = Path(pdf) if pdf else deck.with_name(deck.name.replace(".slides.html", ".notes.pdf" if notes else ".pdf"))
    if browser is None:
        with chromium() as own:
            return print_pdf(deck, pdf, own, notes)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page.goto(deck.as_uri() + "?print-pdf" + ("&showNotes=separate-page" if notes else ""))
        wait_for_deck(page)
        page.wait_for_function("() => document.querySelector('.reveal .pdf-page') !== null")
        page.pdf(path=str(pdf), print_background=True, prefer_css_page_size=True)  # reveal.js sets the page size
    finally:
        page.close()
    return pdf


MEASURE_SLIDE = r"""() => {
  const s = Reveal.getCurrentSlide(), box = s.getBoundingClientRect(), scale = Reveal.getScale();
  let bottom = 0, right = 0, cut = [];
  for (const el of s.querySelectorAll('*')) {
    if (el.closest('aside.notes, mjx-assistive-mml')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    bottom = Math.max(bottom, (r.bottom - box.top) / scale);
    right = Math.max(right, (r.right - box.left) / scale);
    const st = getComputedStyle(el);
    if ((st.overflowY !== 'visible' && el.scrollHeight > el.clientHeight + 2) ||
        (st.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 2)) cut.push(el.tagName);
  }
  const clone = s.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, aside.notes, script, style').forEach(e => e.remove());
  const notes = s.querySelector('aside.notes');
  // density: the words the audience reads (speaker notes aside; a formula counts as one word)
  const walker = document.createTreeWalker(s, NodeFilter.SHOW_TEXT), parts = [];
  while (walker.nextNode()) {
    const t = walker.currentNode;
    if (!t.parentElement.closest('aside.notes, mjx-container, script, style')) parts.push(t.textContent);
  }
  const words = parts.join(' ').split(/\s+/).filter(w => /[A-Za-z0-9]/.test(w)).length
    + s.querySelectorAll('mjx-container').length;
  const listing = [...s.querySelectorAll('pre')].map(p => p.innerText.replace(/\n+$/, '').split('\n').length);
  return {indices: Reveal.getIndices(), bottom: Math.round(bottom), right: Math.round(right), cut,
          text: clone.textContent, math_errors: s.querySelectorAll('mjx-merror, [data-mjx-error]').length
            + [...s.querySelectorAll('mjx-assistive-mml mtext')].filter(t => t.textContent.includes(String.fromCharCode(92))).length,
          math: s.querySelectorAll('mjx-container').length,
          table_math: s.querySelectorAll('td mjx-container, th mjx-container').length,
          broken_table_math: [...s.querySelectorAll('td mjx-container, th mjx-container')]
            .filter(m => m.getBoundingClientRect().height / scale > 60).length, images: s.querySelectorAll('img').length,
          notes: notes ? notes.textContent.trim() : '', words, longest_listing: Math.max(0, ...listing),
          listing_lines: listing.reduce((a, b) => a + b, 0), fit: parseFloat(s.dataset.fit || '1'), title: (s.querySelector('h1,h2,h3') || {}).textContent || ''};
}"""


def walk_deck(page):
    """Show every slide of the open deck in turn; return one measurement dict per slide."""
    n = page.evaluate("() => Reveal.getSlides().length")
    found = []
    for i in range(n):
        page.evaluate("(i) => { const s = Reveal.getSlides()[i], x = Reveal.getIndices(s); Reveal.slide(x.h, x.v, s.querySelectorAll('.fragment').length - 1); }", i)
        page.evaluate("() => MathJax.startup.promise")
        found.append(page.evaluate(MEASURE_SLIDE))
    return found
