"""Run a lesson's student copy inside its source notebook's nbval run: one execution checks both.

A student copy is its source with each exercise's solution replaced by a stub (make_student_copies.py);
every other code cell is the same. nbval runs the source and compares its stored outputs. Before each
exercise it also runs `exercise()`, which executes the student's stub and its check cell in a COPY of the
notebook's namespace, so the source's own state stays as it was and nbval's comparison is unaffected,
and requires the check to say "not done yet". `figures()` fails if a figure drew overlapping labels.
That no later cell uses an exercise's answer (which a stub cannot give) is checked statically, in
tests/test_student_copies.py.
"""
import ast
import contextlib
import io

import figure_labels


def start(shell):
    """Watch every figure the lesson shows for overlapping labels; count cells as nbval names them (Cell 0, ...)."""
    figure_labels.watch(shell)
    figure_labels._cell[0] = -1  # the next cell run is the lesson's Cell 0


def _run(code, ns):
    """Execute code in ns as a notebook cell runs; return what it printed and the repr of its last expression."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<student copy>", "exec"), ns)
        value = None if last is None else eval(compile(ast.Expression(last.value), "<student copy>", "eval"), ns)
    return out.getvalue() + ("" if value is None else repr(value))


def exercise(shell, name, stub, check):
    """Run the student's stub cell and its check cell in a copy of the namespace; fail unless 'not done yet'."""
    figure_labels._cell[0] -= 1  # this cell is not one of the lesson's: keep the figure check's cell count
    ns = dict(shell.user_ns)
    try:
        said = _run(stub, ns) + _run(check, ns)
    except Exception as e:  # the copy would show a traceback: a failure, with the reason
        raise AssertionError(f"{name}: the student copy crashed: {type(e).__name__}: {e}") from e
    if "not done yet" not in said:
        raise AssertionError(f"{name}: in the student copy the check should say 'not done yet'; it said {said.strip()[:300]!r}")


def figures():
    """Fail if any figure the lesson showed had overlapping labels (as matplotlib drew them)."""
    shown = [f"Cell {f['cell']} ({f['figure']!r}): {f['texts'][0]!r} overlaps {f['texts'][1]!r}"
             for f in figure_labels.FOUND]
    if shown:
        raise AssertionError(f"{len(shown)} overlapping label(s): " + "; ".join(shown[:6]))
