"""Export lesson notebooks as offline reveal.js decks into slides/ (one HTML deck per lecture).

    python3 course.py slides                         # every lesson
    python3 course.py slides notebooks/02_*.ipynb    # just these
    python3 course.py slides --pdf [NOTEBOOK ...]    # and print each deck to slides/NN_name.pdf
    python3 course.py slides --pdf --notes           # also slides/NN_name.notes.pdf: each slide, then its notes

The notebook is the one source. Its cells' RISE metadata (`slideshow.slide_type`: slide, subslide,
fragment, -, skip, notes) cut it into slides, as JupyterLab's live slideshow does; cell tags and a
few fixed rules curate the deck (slides/README.md lists them): set-up and check cells stay out,
exercise solutions are replaced by the student's stub, long code is folded, stderr is dropped.
Outputs are the ones stored in the notebook (no re-execution); figures are embedded.

Nothing is loaded from a network: reveal.js 5 (with its notes plugin) comes from the
installed `sphinx-revealjs` wheel and MathJax 3 (`tex-svg.js`, no font files) from the installed
`django-static-mathjax` wheel; both are copied into slides/_assets/ at export time (git-ignored).
The template is the course's own (slides/template/), without require.js, jQuery or a CDN.
"""
import base64
import html
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import jinja2
import nbformat
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_student_copies import BEGIN, strip_solutions  # noqa: E402
from nbtools import ROOT, source_notebooks  # noqa: E402

SLIDES = ROOT / "slides"
TEMPLATE = SLIDES / "template"
ASSETS = "_assets"
MAX_CODE_LINES = 12  # a longer code cell is folded (its outputs stay) unless tagged deck-show-input
MAX_OUTPUT_LINES = 14  # a longer text output is cut, with a line saying how much was cut
MAX_TABLE_ROWS = 8  # a longer markdown table continues on the next slide (its header repeated)
CHECK_CELL = re.compile(r"^\s*from course_lib\.checks\b", re.M)
TAGS = {"deck-skip", "deck-hide-input", "deck-hide-output", "deck-show-input", "deck-fold-input",
        "deck-full-output", "deck-side-by-side"}


def package_dir(name):
    """Return the folder of an installed package without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"[slides] the package {name!r} is not installed; run `python3 course.py setup`")
    return Path(list(spec.submodule_search_locations)[0])


def copy_assets(out_dir):
    """Copy reveal.js and its notes plugin, MathJax's tex-svg.js and the course CSS into out_dir/_assets."""
    reveal = package_dir("sphinx_revealjs") / "_static" / "revealjs"
    es5 = package_dir("mathjax") / "static" / "mathjax" / "es5"
    mathjax = es5 / "tex-svg.js"
    dest = Path(out_dir) / ASSETS
    files = {reveal / "dist" / "reset.css": "reveal/reset.css", reveal / "dist" / "reveal.css": "reveal/reveal.css",
             reveal / "dist" / "reveal.js": "reveal/reveal.js", reveal / "dist/theme/white.css": "reveal/theme/white.css",
             reveal / "plugin/notes/notes.js": "reveal/plugin/notes.js",
             mathjax: "mathjax/tex-svg.js",
             es5 / "input/tex/extensions/textmacros.js": "mathjax/input/tex/extensions/textmacros.js",
             TEMPLATE / "deck.css": "deck.css", reveal / "LICENSE": "reveal/LICENSE"}
    for src, rel in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / rel)
    fonts = dest / "reveal/theme/fonts/source-sans-pro"
    shutil.copytree(reveal / "dist/theme/fonts/source-sans-pro", fonts, dirs_exist_ok=True)
    return dest


def tags(cell):
    """Return the deck tags of a cell, refusing unknown deck-* tags (a typo must not pass silently)."""
    found = set(cell.metadata.get("tags", []))
    unknown = {t for t in found if t.startswith("deck-")} - TAGS
    if unknown:
        raise ValueError(f"unknown deck tag(s) {sorted(unknown)}; known: {sorted(TAGS)}")
    return found


def slide_type(cell):
    """Return the RISE slide type of a cell ('-' when unset)."""
    return cell.metadata.get("slideshow", {}).get("slide_type") or "-"


def in_deck(cell):
    """Return whether a cell appears in the exported deck (rules 1-3 of slides/README.md)."""
    if slide_type(cell) == "skip" or "deck-skip" in tags(cell):
        return False
    return not (cell.cell_type == "code" and CHECK_CELL.search(cell.source))


def render_markdown(cell):
    """Return a markdown cell as HTML (math left as $...$ for MathJax, attachments embedded)."""
    renderer = IPythonRenderer(escape=False, exclude_anchor_links=True, attachments=cell.get("attachments", {}))
    return MarkdownWithMath(renderer=renderer).render(cell.source)


def split_tables(body):
    """Return the HTML of a cell as pages: a table longer than MAX_TABLE_ROWS rows continues on a new page."""
    found = re.search(r"<table>(.*?)</table>", body, re.S)
    rows = re.findall(r"<tr>.*?</tr>", found.group(1), re.S) if found else []
    if not found or len(rows) - 1 <= MAX_TABLE_ROWS:
        return [body]
    head, rows = rows[0], rows[1:]
    chunks = [rows[i:i + MAX_TABLE_ROWS] for i in range(0, len(rows), MAX_TABLE_ROWS)]
    tables = [f"<table><thead>{head}</thead><tbody>{''.join(c)}</tbody></table>" for c in chunks]
    pages = [body[:found.start()] + tables[0], *tables[1:]]
    rest = split_tables(body[found.end():])
    return pages[:-1] + [pages[-1] + rest[0]] + rest[1:]


def code_html(source):
    """Return Python source highlighted by Pygments (no JavaScript highlighter in the deck)."""
    return f'<pre><code class="highlight">{highlight(source, PythonLexer(), HtmlFormatter(nowrap=True))}</code></pre>'


def text_html(text, cls="", cut=True):
    """Return a text output as <pre>, cut after MAX_OUTPUT_LINES lines (unless cut=False)."""
    lines = text.rstrip("\n").split("\n")
    more = ""
    if cut and len(lines) > MAX_OUTPUT_LINES:
        more = f'<p class="more">⋯ {len(lines) - MAX_OUTPUT_LINES} more lines in the notebook</p>'
        lines = lines[:MAX_OUTPUT_LINES]
    return f'<pre class="{cls}"><code>{html.escape(chr(10).join(lines))}</code></pre>{more}'


def output_html(out, cut=True):
    """Return one stored output as HTML; stderr (progress bars, warnings) is left out."""
    kind = out.get("output_type")
    if kind == "stream":
        return text_html(out.get("text", ""), cut=cut) if out.get("name") == "stdout" else ""
    if kind == "error":
        return text_html("\n".join(out.get("traceback", [])), "error")
    data = out.get("data", {})
    if "image/png" in data:
        return f'<img alt="figure" src="data:image/png;base64,{data["image/png"].strip()}">'
    if "image/svg+xml" in data:
        svg = data["image/svg+xml"]
        return '<img alt="figure" src="data:image/svg+xml;base64,' + base64.b64encode(svg.encode()).decode() + '">'
    if "text/html" in data:
        return data["text/html"]
    if "text/latex" in data:
        return f"<div>{data['text/latex']}</div>"
    return text_html(data.get("text/plain", ""), cut=cut)


def render_code(cell):
    """Return a code cell as HTML: its input (solutions stubbed, long code folded) and its outputs."""
    t = tags(cell)
    source = strip_solutions(cell.source) if BEGIN in cell.source else cell.source
    n = len(source.strip("\n").split("\n"))
    exercise = BEGIN in cell.source  # shown as the student copy has it: the task, then the stub
    fold = "deck-fold-input" in t or (n > MAX_CODE_LINES and not exercise and "deck-show-input" not in t)
    parts = []
    if "deck-hide-input" not in t:
        parts.append(f'<p class="more">⋯ {n} lines of code, in the notebook</p>' if fold
                     else f'<div class="input">{code_html(source.strip(chr(10)))}</div>')
    if "deck-hide-output" not in t:
        outs = "".join(output_html(o, cut="deck-full-output" not in t) for o in cell.get("outputs", []))
        if outs:
            side = " side-by-side" if "deck-side-by-side" in t else ""
            parts.append(f'<div class="output{side}">{outs}</div>')
    return "".join(parts)


def deck(nb):
    """Return the slides of a notebook as stacks (lists) of slides: dicts of blocks and notes."""
    stacks, fragment = [], False
    for i, cell in enumerate(nb.cells):
        kind = slide_type(cell)
        if not in_deck(cell):
            continue
        if kind == "slide" or not stacks:
            stacks.append([])
        if kind in ("slide", "subslide") or not stacks[-1]:
            stacks[-1].append({"first_cell": i, "blocks": [], "notes": ""})
            fragment = False
        slide = stacks[-1][-1]
        body = render_markdown(cell) if cell.cell_type == "markdown" else render_code(cell)
        if kind == "notes":  # a long table's continuation slides share the notes of its first slide
            for same in (s for s in stacks[-1] if s["first_cell"] == slide["first_cell"]):
                same["notes"] += body
            continue
        pages = split_tables(body) if cell.cell_type == "markdown" else [body]
        for page in pages[1:]:  # continuation pages of a long table: sub-slides of their own
            stacks[-1].append({"first_cell": slide["first_cell"], "blocks": [{"html": page, "fragment": False, "cont": False}],
                               "notes": ""})
        body = pages[0]
        if len(pages) > 1:
            slide["blocks"].append({"html": body, "fragment": False, "cont": False})
            slide = stacks[-1][-1]
            continue
        fragment = fragment or kind == "fragment"
        if body.strip():
            slide["blocks"].append({"html": body, "fragment": fragment and kind == "fragment",
                                    "cont": fragment and kind == "-"})
    for stack in stacks:  # a '-' cell after a fragment belongs to that fragment
        title = _heading(stack[0]["blocks"][0]["html"]) if stack[0]["blocks"] else ""
        for slide in stack:
            if slide is not stack[0] and title and not _heading(slide["blocks"][0]["html"] if slide["blocks"] else ""):
                slide["blocks"].insert(0, {"html": f'<p class="running">{title}</p>', "fragment": False, "cont": False})
            merged = []
            for b in slide["blocks"]:
                if b["cont"] and merged:
                    merged[-1]["html"] += b["html"]
                else:
                    merged.append(b)
            slide["blocks"] = merged
    return stacks


def _heading(block_html):
    """Return the text of the heading a slide starts with ('' if it starts otherwise)."""
    found = re.match(r"\s*<h[1-3][^>]*>(.*?)</h[1-3]>", block_html, re.S)
    return found.group(1) if found else ""


def export(path, out_dir=SLIDES):
    """Write the deck of one notebook to out_dir/NN_name.slides.html; return its path."""
    path, out_dir = Path(path), Path(out_dir)
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), path.stem)
    title = re.sub(r"^#+\s*", "", first.strip().split("\n")[0]) or path.stem
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE)), autoescape=False)
    page = env.get_template("deck.html.j2").render(
        title=html.escape(title), stacks=deck(nb), assets=ASSETS,
        pygments_css=HtmlFormatter(style="default").get_style_defs(".highlight"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.slides.html"
    target.write_text(page, encoding="utf-8")
    return target


def export_all(paths, out_dir=SLIDES):
    """Copy the assets once, then export every notebook; return the deck paths."""
    copy_assets(out_dir)
    return [export(p, out_dir) for p in paths]


def main(argv):
    flags = {"--pdf", "--notes"}
    unknown = [a for a in argv if a.startswith("-") and a not in flags]
    if unknown:
        sys.exit(f"[slides] unknown option {unknown[0]}; usage: course.py slides [--pdf [--notes]] [NOTEBOOK ...]")
    pdf, notes = "--pdf" in argv or "--notes" in argv, "--notes" in argv
    paths = [Path(p) for p in argv if p not in flags] or source_notebooks()
    decks = export_all(paths)
    for deck_path in decks:
        print("wrote", _shown(deck_path))
    if pdf:
        from browser import chromium, print_pdf
        try:
            with chromium() as browser:
                for deck_path in decks:
                    print("wrote", _shown(print_pdf(deck_path, browser=browser)))
                    if notes:  # the lecturer's handout: each slide, then a page with its speaker notes
                        print("wrote", _shown(print_pdf(deck_path, browser=browser, notes=True)))
        except RuntimeError as e:  # no Chromium: say how to install it
            sys.exit(f"[slides] {e}")
    return 0


def _shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
