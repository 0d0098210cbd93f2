"""nbval, extended: a lesson's nbval run also runs its student copy's exercises and checks its figures.

Each numbered lesson is collected as nbval collects it (one item per code cell, outputs compared), plus
items that run in the same kernel and compare nothing (student_copy_run.py says what they check):

    Student copy: start          before the first cell: watch the figures
    Student copy: Exercise N.M   before each exercise cell: the stub and its check say "not done yet"
    Student copy: figure labels  after the last cell: no figure had overlapping labels

One execution serves both: the suite no longer runs every student copy a second time on its own.
"""
from collections import defaultdict
from pathlib import Path

import nbformat
from nbval.plugin import IPyNbCell, IPyNbFile

from make_student_copies import BEGIN, EXERCISE, strip_solutions
from nbtools import source_notebooks

TOOLS = Path(__file__).resolve().parent


def is_lesson(path):
    """Return whether path is a numbered source lesson (notebooks/NN_name.ipynb), not a student copy."""
    return Path(path).resolve() in source_notebooks()


class LessonNotebook(IPyNbFile):
    """A lesson as nbval collects it, with its student copy's checks interleaved."""

    def collect(self):
        cells = list(super().collect())
        yield self._extra("Student copy: start", 0, "import sys\n"
                          f"sys.path.append({str(TOOLS)!r})\nimport student_copy_run as _student_copy\n"
                          "_student_copy.start(get_ipython())")
        for k, item in enumerate(cells):
            src = item.cell.source
            if BEGIN in src:
                if k + 1 == len(cells) or "check_" not in cells[k + 1].cell.source:
                    raise ValueError(f"{self.path.name}: code cell {k} is an exercise without a check cell after it")
                name = "Exercise " + EXERCISE.search(src).group(1)
                call = (f"_student_copy.exercise(get_ipython(), {name!r}, {strip_solutions(src)!r}, "
                        f"{cells[k + 1].cell.source!r})")
                yield self._extra(f"Student copy: {name}", k, call)
            yield item
        yield self._extra("Student copy: figure labels", len(cells), "_student_copy.figures()")

    def _extra(self, name, number, source):
        return IPyNbCell.from_parent(self, name=name, cell_num=number, cell=nbformat.v4.new_code_cell(source),
                                     options=defaultdict(bool, check=False))
