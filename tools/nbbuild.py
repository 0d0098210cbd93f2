"""Build a lesson notebook from a percent-format script (an authoring aid; the .ipynb is the source).

Cells start with a header line:

    # %% [markdown] slide        a markdown cell that opens a new slide
    # %% [markdown]              a markdown cell on the current slide (lines lose their leading "# ")
    # %% fragment                a code cell shown as a fragment (any RISE slide_type works:
                                 slide, subslide, fragment, skip, notes; default "-")

Usage: python tools/nbbuild.py lesson.py notebooks/NN_name.ipynb
then execute it: python3 course.py execute notebooks/NN_name.ipynb
"""
import re
import sys

import nbformat

HEADER = re.compile(r"^# %%( \[markdown\])?\s*(slide|subslide|fragment|skip|notes|-)?\s*$")


def _markdown(lines):
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines)


def build(text):
    """Return a notebook (nbformat v4) built from percent-format `text`."""
    cells, head, body = [], None, []

    def flush():
        if head is None:
            return
        src = "\n".join(body).strip("\n")
        is_md, slide_type = bool(head.group(1)), head.group(2) or "-"
        cell = nbformat.v4.new_markdown_cell(_markdown(src.split("\n"))) if is_md \
            else nbformat.v4.new_code_cell(src)
        cell.metadata["slideshow"] = {"slide_type": slide_type}
        cells.append(cell)

    for line in text.split("\n"):
        m = HEADER.match(line)
        if m:
            flush()
            head, body = m, []
        elif head is not None:
            body.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "rise": {"scroll": True, "transition": "none", "enable_chalkboard": False},
    })
    return nb


if __name__ == "__main__":
    src, dest = sys.argv[1], sys.argv[2]
    nbformat.write(build(open(src, encoding="utf-8").read()), dest)
    print("wrote", dest)
