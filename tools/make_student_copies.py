"""Write student copies of the source notebooks into notebooks/student/.

In each code cell, the lines from `### BEGIN SOLUTION` to `### END SOLUTION` (nbgrader's markers)
are replaced, at the same indentation, by

    # YOUR CODE HERE
    raise NotImplementedError("Exercise N.M")

where N.M is read from a `# Exercise N.M` comment in the same cell. Outputs and execution counts
are cleared. Speaker notes (cells whose slide_type is `notes`, or that start with *Speaker notes.*)
are the lecturer's: they are left out, since some spell out an exercise's algorithm.
Run it after editing a source notebook: `python3 course.py student`.
"""
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"
STUDENT = SOURCE / "student"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
EXERCISE = re.compile(r"#\s*Exercise\s+(\d+\.\d+)")


def strip_solutions(source, where="cell"):
    """Return `source` with every solution block replaced by the NotImplementedError stub."""
    found = EXERCISE.search(source)
    if BEGIN in source and not found:
        raise ValueError(f"{where}: a solution block needs a '# Exercise N.M' comment in its cell")
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            if inside:
                raise ValueError(f"{where}: nested {BEGIN}")
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("Exercise {found.group(1)}")']
            inside = True
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def is_speaker_notes(cell):
    """True for a lecturer's speaker-notes cell: slide_type `notes`, or text that starts with *Speaker notes.*"""
    kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
    return kind == "notes" or cell.get("cell_type") == "markdown" and \
        cell.source.lstrip().lstrip("*_").startswith("Speaker notes")


def student_copy(nb, name="notebook"):
    """Return a student version of a notebook (solutions stubbed, outputs and speaker notes removed)."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if not is_speaker_notes(c)]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{name} cell {i}")
            cell.outputs, cell.execution_count = [], None
    return nb


def write_all(dest=STUDENT):
    """Write a student copy of every source notebook into `dest`; return the written paths."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(SOURCE.glob("[0-9][0-9]_*.ipynb")):
        nb = student_copy(nbformat.read(path, as_version=4), path.name)
        nbformat.write(nb, dest / path.name)
        written.append(dest / path.name)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else STUDENT):
        print("wrote", p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
