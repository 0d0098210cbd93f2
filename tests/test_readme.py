"""The README stays true: every quoted result is in its notebook's stored outputs; no placeholders left."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _squash(text):
    return re.sub(r"\s+", " ", text)


def _outputs(lesson):
    path = next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb"))
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            texts.append("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")))
    return _squash("\n".join(texts))


def _result_rows():
    section = README.split("## Results", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if re.match(r"\| \d\d \|", line)]


def test_results_table_has_rows_for_every_finished_lesson():
    lessons = {row[2:4] for row in _result_rows()}
    done = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert done and done <= lessons, f"lessons without a results row: {sorted(done - lessons)}"


@pytest.mark.parametrize("row", _result_rows(), ids=lambda r: r[2:4] + ":" + r.split("|")[2].strip()[:40])
def test_every_quoted_result_is_in_the_notebook(row):
    lesson = row[2:4]
    measured = row.split("|")[3]
    quotes = re.findall(r"`([^`]+)`", measured)
    assert quotes, "a result row must quote the notebook's output"
    out = _outputs(lesson)
    for q in quotes:
        assert _squash(q) in out, f"README quotes {q!r}, which notebook {lesson} no longer prints"


def test_no_placeholders_left():
    assert not re.findall(r"\b(?:STATUS_\d\d|RESULTS_TABLE|MODULES_MORE|BENCH_TABLE|SETUP_SECONDS|TEST_SECONDS)\b", README)


def _ledger_rows():
    section = README.split("## Claim ledger", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| claim")]


def test_the_ledger_covers_the_papers_the_course_tests():
    text = " ".join(_ledger_rows())
    for author in ("Mao et al.", "Breiman", "Quinlan", "LeCun", "Hassibi", "Han et al. 2015", "Han, Mao", "Zhu & Gupta",
                   "Jacob", "Krishnamoorthi", "Esser", "Hinton", "Zagoruyko", "Romero"):
        assert author in text, f"the claim ledger has no row for {author}"


@pytest.mark.parametrize("row", _ledger_rows(), ids=lambda r: r.split("|")[1].strip()[:40])
def test_every_ledger_quote_is_in_its_notebook(row):
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert len(cells) == 5, f"a ledger row has 5 columns (claim, paper, ours, notebook, verdict): {row[:80]}"
    quotes = re.findall(r"`([^`]+)`", cells[2])
    assert quotes and re.fullmatch(r"\d\d", cells[3]), "a ledger row quotes its notebook's output and names it"
    assert cells[4].split(" ")[0].strip("*:") in ("reproduced", "not", "size"), f"unknown verdict: {cells[4][:40]}"
    out = _outputs(cells[3])
    for q in quotes:
        assert _squash(q) in out, f"the ledger quotes {q!r}, which notebook {cells[3]} no longer prints"


def test_the_ledger_covers_every_lesson():
    notebooks = {row.split("|")[4].strip() for row in _ledger_rows()}
    lessons = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert lessons <= notebooks, f"lessons without a row in the claim ledger: {sorted(lessons - notebooks)}"
