"""Scaffold a lesson: `python3 course.py new-lesson 12 layerwise_reconstruction "Layer-wise reconstruction"`.

Writes, and refuses to overwrite any of them:
- notebooks/NN_name.ipynb: the arc's sections (why, the math, from scratch, the frameworks, a measured
  experiment with its decision rule fixed in advance and paired per-seed differences, exercises, recap
  and sources), RISE slide metadata on every cell, one example exercise with its check cell;
- course_lib/checks/lessonNN.py: the example exercise's checker (cases, realistic mistakes, hints);
- tests/test_checks_lessonNN.py: its tests, with the mutants (tests/ is the one home of checker mutants)
  and an independently written correct answer;
and adds a claim-ledger row stub to README.md. Then: write the lesson, `python3 course.py execute` it,
`python3 course.py student`, fill the ledger row (tests/test_readme.py fails until its quotes are real).
Only the standard library is used: it runs before set-up.
"""
import json
from pathlib import Path

LEDGER = "## Claim ledger"
DECK = {"rise": {"enable_chalkboard": False, "scroll": True, "transition": "none"},
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}


def _cell(kind, slide, text):
    cell = {"cell_type": kind, "metadata": {"slideshow": {"slide_type": slide}}, "source": text}
    return cell if kind == "markdown" else {**cell, "execution_count": None, "outputs": []}


def notebook(number, title):
    """Return the skeleton notebook (nbformat 4 as a dict) of lesson `number`."""
    nn, ex = f"{number:02d}", f"{number}.1"
    md = lambda slide, text: _cell("markdown", slide, text)  # noqa: E731
    code = lambda slide, text: _cell("code", slide, text)  # noqa: E731
    cells = [
        md("slide", f"# Lesson {nn}: {title}\n\nWhat this lesson asks, in one paragraph, and what you will be able to do."),
        md("notes", "*Speaker notes.* What to say on this slide: the lesson's question, in two or three sentences "
                    "(every slide of a curated deck gets a notes cell like this one; it never reaches the student copy)."),
        code("skip", "import numpy as np\n\nimport course_lib  # noqa: F401 (sets TF_USE_LEGACY_KERAS before any TensorFlow)\n"
                     f"from course_lib.checks.lesson{nn} import check_relative_error"),
        md("slide", "## 1. Why\n\nThe problem this method solves, and what it costs when it is ignored."),
        md("slide", "## 2. The math\n\nThe formula in the paper's notation (the scale is a divisor: "
                    "$q = \\mathrm{round}(x / s) + z$), with its source."),
        md("slide", "## 3. From scratch\n\nThe numpy implementation lives in `course_lib`; here we call it "
                    "and look at what it does."),
        md("slide", "## 4. The frameworks\n\nThe same computation in PyTorch / TensorFlow; the oracle tests in "
                    "`tests/` prove them equal on random and edge inputs."),
        md("slide", "## 5. A measured experiment\n\n**Decision rule, fixed before the numbers:** state the "
                    "comparison, the seeds (5 when a verdict is at stake) and the threshold here. Every verdict "
                    "prints the paired per-seed differences beside it."),
        code("-", "SEEDS = [0, 1, 2, 3, 4]  # tune on other seeds; report these\n\n\n"
                  "def paired_differences(a, b):\n    \"\"\"Return the per-seed differences a_s - b_s, rounded for printing.\"\"\"\n"
                  "    return [round(float(x - y), 3) for x, y in zip(a, b)]"),
        md("slide", "## 6. Exercises\n\nEach exercise is checked right below it; a wrong answer gets a hint."),
        md("-", f"**Exercise {ex}.** Return the relative reconstruction error "
                "$\\|W - \\hat W\\|_F^2 / \\|W\\|_F^2$ of an approximation $\\hat W$ of $W$ (a float; "
                "$W$ is not all zero)."),
        code("-", f"# Exercise {ex}\ndef relative_error(W, W_hat):\n"
                  "    \"\"\"Return ||W - W_hat||_F^2 / ||W||_F^2.\"\"\"\n    ### BEGIN SOLUTION\n"
                  "    W, W_hat = np.asarray(W, dtype=float), np.asarray(W_hat, dtype=float)\n"
                  "    return float(np.sum((W - W_hat) ** 2) / np.sum(W ** 2))\n    ### END SOLUTION"),
        code("-", "check_relative_error(relative_error)"),
        md("slide", "## 7. Recap\n\n- what the method does, in one line;\n- what we measured, and the verdict;\n"
                    "- what did not reproduce at our scale, and why."),
        md("slide", "## Sources\n\n- Author et al. YEAR, *Title*, Venue (the section or equation used)."),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"lesson{nn}-{i:02d}"
    meta = {**DECK, "course": {"deck_draft": True}}  # drop deck_draft once slides/README.md's rules are applied
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def checks_module(number):
    """Return the source of course_lib/checks/lessonNN.py with the example exercise's checker."""
    ex = f"{number}.1"
    return f'''"""Checkers for lesson {number:02d}. References come from numpy (or course_lib, once the lesson has its module)."""
import numpy as np

from ._core import Case, Mistake, allclose, run_checks


def _relative_error(W, W_hat):
    W, W_hat = np.asarray(W, dtype=float), np.asarray(W_hat, dtype=float)
    return float(np.sum((W - W_hat) ** 2) / np.sum(W ** 2))


def check_relative_error(fn):
    """Exercise {ex}: ||W - W_hat||_F^2 / ||W||_F^2 (a float)."""
    hint = "square the differences, sum them, and divide by the sum of the squares of W (not of W_hat)"
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 3))
    mistakes = [Mistake(lambda W, W_hat: float(np.linalg.norm(np.subtract(W, W_hat)) / np.linalg.norm(W)),
                        "you returned the ratio of norms: the exercise asks for the ratio of SQUARED norms"),
                Mistake(lambda W, W_hat: float(np.sum(np.subtract(W, W_hat) ** 2)),
                        "you did not divide by ||W||_F^2: the error must be relative"),
                Mistake(lambda W, W_hat: float(np.sum(np.subtract(W, W_hat) ** 2) / np.sum(np.square(W_hat))),
                        "divide by the squared norm of the ORIGINAL W, not of its approximation")]
    cases = [Case("a random 4x3 W, halved", (W, W / 2), hint=hint),
             Case("an exact approximation", (W, W.copy()), hint="W_hat == W gives 0.0"),
             Case("W_hat = 0", (W, np.zeros_like(W)), hint="W_hat = 0 loses everything: 1.0"),
             Case("integer inputs", (np.array([[3, 4]]), np.array([[3, 0]])), hint="compute in float: 16 / 25"),
             Case("a vector", (np.array([1.0, 2.0, 2.0]), np.array([1.0, 2.0, 0.0])), hint=hint)]
    return run_checks(fn, _relative_error, cases, "{ex}", mistakes=mistakes, compare=allclose(1e-12))
'''


def checker_test(number):
    """Return the source of tests/test_checks_lessonNN.py: reference, independent answer, mutants, stub."""
    nn = f"{number:02d}"
    return f'''"""Lesson {nn} checkers pass the reference and an independently written answer, reject realistic wrong
answers with a hint that names the mistake, and say "not done yet" to a stub."""
import numpy as np

from course_lib.checks import lesson{nn} as L
from checker_harness import assert_passes, checker_tests


def _independent(W, W_hat):  # written apart from the checker's reference: a loop over the entries
    num = den = 0.0
    for w, w_hat in zip(np.ravel(W), np.ravel(W_hat)):
        num, den = num + (float(w) - float(w_hat)) ** 2, den + float(w) ** 2
    return num / den


CHECKERS = {{
    "relative_error": (L.check_relative_error, _independent, {{
        "ratio of norms, not squared": (lambda W, V: float(np.linalg.norm(np.subtract(W, V)) / np.linalg.norm(W)),
                                        "SQUARED"),
        "not relative": (lambda W, V: float(np.sum(np.subtract(W, V) ** 2)), "relative"),
        "divided by W_hat": (lambda W, V: float(np.sum(np.subtract(W, V) ** 2) / np.sum(np.square(V))), "ORIGINAL"),
    }}),
}}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_the_notebook_solution_passes():
    assert_passes(L.check_relative_error, lambda W, V: float(np.sum((np.asarray(W, float) - V) ** 2) / np.sum(np.square(W))))
'''


def ledger_row(number, title):
    return (f"| TODO: the claim lesson {number:02d} ({title}) tests (Author et al. YEAR, Title, Venue) | TODO: the paper's "
            f"number in its setting | `TODO: a quote of the notebook's output` | {number:02d} | TODO: the verdict and its reason |")


def scaffold(root, number, name, title):
    """Write lesson `number`'s notebook, checks module and checker test under `root`; return their paths."""
    root, nn = Path(root), f"{number:02d}"
    files = {root / "notebooks" / f"{nn}_{name}.ipynb": json.dumps(notebook(number, title), indent=1) + "\n",
             root / "course_lib" / "checks" / f"lesson{nn}.py": checks_module(number),
             root / "tests" / f"test_checks_lesson{nn}.py": checker_test(number)}
    taken = sorted(str(p.relative_to(root)) for p in files if p.exists())
    taken += [str(p.relative_to(root)) for p in (root / "notebooks").glob(f"{nn}_*.ipynb") if p not in files]
    if taken:
        raise SystemExit(f"[course] new-lesson: lesson {nn} exists already ({', '.join(taken)}); nothing written")
    readme = root / "README.md"
    text = readme.read_text()
    if LEDGER not in text:
        raise SystemExit(f"[course] new-lesson: README.md has no '{LEDGER}' section; nothing written")
    head, tail = text.split(LEDGER, 1)
    section, sep, rest = tail.partition("\n## ")
    section = section.rstrip("\n") + "\n" + ledger_row(number, title) + "\n\n"
    for path, content in files.items():
        path.write_text(content)
    readme.write_text(head + LEDGER + section + sep + rest)
    return [*files, readme]
