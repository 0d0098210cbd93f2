"""Find overlapping labels in matplotlib figures: the text boxes as matplotlib draws them.

`overlaps(fig)` draws the figure once and compares the window boxes of every text actually drawn
(titles, axis labels, tick labels that are on the axes, legend entries, annotations, suptitles):
two boxes that share more than `tolerance` pixels in both directions are an overlap.

`watch()` (run inside a kernel) checks every figure as it is rendered for display, i.e. when the
notebook shows it, and keeps the findings in `FOUND` (cell number, figure title, the two texts).
The deck test re-executes a notebook with it (tests/test_slides.py).
"""
import matplotlib
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.text import Text

FOUND = []
_cell = [0]


def _drawn_texts(fig):
    """Draw fig; return [(text, box)] for every non-empty text that was really drawn."""
    drawn, original = [], Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append((self, self.get_window_extent(renderer)))
    Text.draw = draw
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return drawn


def overlaps(fig, tolerance=1.0):
    """Return [(text a, text b, overlap width, overlap height)] of drawn texts whose boxes overlap."""
    texts = _drawn_texts(fig)
    found = []
    for i, (a, ba) in enumerate(texts):
        for b, bb in texts[i + 1:]:
            w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
            h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
            if w > tolerance and h > tolerance:
                found.append((a.get_text(), b.get_text(), round(w, 1), round(h, 1)))
    return found


def _title(fig):
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    return " / ".join(titles)[:80]


def watch(shell):
    """Check every figure when it is rendered for display; count cells through IPython's pre_run_cell."""
    shell.events.register("pre_run_cell", lambda *_: _cell.__setitem__(0, _cell[0] + 1))
    original = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        for a, b, w, h in overlaps(self.figure):
            FOUND.append({"cell": _cell[0], "figure": _title(self.figure), "texts": [a, b], "overlap_px": [w, h]})
        return original(self, *args, **kwargs)
    FigureCanvasBase.print_figure = print_figure
    matplotlib.rcParams["figure.max_open_warning"] = 0
