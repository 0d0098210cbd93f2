"""Checkers for lesson 03 (Optimal Brain Damage). References come from course_lib.pruning.second_order."""
import numpy as np

from ..pruning import second_order as so
from ._core import Case, Mistake, allclose, exact, run_checks


def _spd(n, seed):
    A = np.random.default_rng(seed).normal(size=(n, n))
    return A @ A.T / n + 0.1 * np.eye(n)


def check_obd_saliency(fn):
    """Check `fn(w, h_diag)` == h_kk * w_k**2 / 2 for every weight (LeCun et al. 1990)."""
    rng = np.random.default_rng(3)
    cases = [
        Case("five weights", (np.array([0.5, -2.0, 0.0, 1.5, -0.1]), np.array([2.0, 0.5, 3.0, 1.0, 4.0])),
             hint="s_k = h_kk * w_k**2 / 2: square the weight, keep the 1/2."),
        Case("negative weights matter by their square",
             (np.array([-3.0, 3.0]), np.array([1.0, 1.0])), hint="-3 and 3 have the same saliency."),
        Case("one weight", (np.array([0.7]), np.array([2.0])), hint="works for a single weight too."),
        Case("random, 50 weights", (rng.normal(size=50), rng.uniform(0, 5, 50)),
             hint="elementwise: h_diag[k] belongs to w[k]."),
        Case("a zero curvature", (np.array([2.0, 1.0]), np.array([0.0, 1.0])),
             hint="a weight in a flat direction (h_kk = 0) has saliency 0, whatever its size."),
    ]
    return run_checks(fn, so.obd_saliency, cases, "3.1", compare=allclose(1e-9))


def check_quadratic_loss_change(fn):
    """Check `fn(w, H, removed)` == 1/2 dw^T H dw with dw = -w on the removed weights."""
    rng = np.random.default_rng(4)
    H = _spd(4, 1)
    w = np.array([1.0, -0.5, 2.0, 0.3])
    cases = [
        Case("remove two of four (full H)", (w, H, np.array([True, False, True, False])),
             hint="dw_k = -w_k for removed k, 0 elsewhere; the answer is dw @ H @ dw / 2."),
        Case("remove nothing", (w, H, np.zeros(4, bool)), hint="no weight removed: the loss does not change."),
        Case("remove one", (w, H, np.array([False, False, False, True])),
             hint="one weight: h_qq * w_q**2 / 2."),
        Case("off-diagonal terms count", (np.array([1.0, 1.0]), np.array([[1.0, 0.9], [0.9, 1.0]]),
                                          np.array([True, True])),
             hint="use the full H, not only its diagonal: correlated weights interact."),
        Case("random, 8 weights", (rng.normal(size=8), _spd(8, 2), rng.random(8) > 0.5),
             hint="only the removed weights enter dw."),
    ]
    return run_checks(fn, so.quadratic_loss_change, cases, "3.2", compare=allclose(1e-9))


def check_lowest_saliency_mask(fn):
    """Check `fn(s, k)` returns a bool keep-mask removing the k lowest saliencies (ties: earlier first)."""
    rng = np.random.default_rng(5)
    cases = [
        Case("remove 2 of 5", (np.array([3.0, 0.1, 2.0, 0.5, 4.0]), 2),
             hint="False marks a removed weight; remove the 2 smallest saliencies."),
        Case("ties: the earlier weight goes first", (np.array([1.0, 0.5, 0.5, 0.5, 2.0]), 2),
             hint="use a stable sort: np.argsort(s, kind='stable')."),
        Case("remove none", (np.array([1.0, 2.0]), 0), hint="k = 0 keeps every weight."),
        Case("remove all", (np.array([1.0, 2.0, 0.0]), 3), hint="k = len(s) removes every weight."),
        Case("random, 30 saliencies", (rng.random(30), 11), hint="exactly k entries are False."),
        Case("many ties, 20 saliencies", (np.repeat([1.0, 0.5, 2.0], [6, 9, 5]), 7),
             hint="ties go by position: the earlier weight goes first (np.argsort(s, kind='stable'))."),
        Case("random ties, 40 saliencies", (rng.integers(0, 3, 40).astype(float), 15),
             hint="ties go by position: the earlier weight goes first (np.argsort(s, kind='stable'))."),
    ]
    unstable = Mistake(lambda s, k: ~np.isin(np.arange(len(s)), np.argsort(s)[:k]),
                       "np.argsort's default sort is not stable: tied saliencies come out in no fixed order. "
                       "Use np.argsort(s, kind='stable') so the earlier weight goes first.")
    return run_checks(fn, so.lowest_saliency_mask, cases, "3.3", compare=exact, mistakes=(unstable,))


def better_predictor(quad):
    """Return 'full quadratic' or 'diagonal': the prediction with the smaller mean |error| over the seeds.

    quad: rows (actual increase, full quadratic prediction, diagonal prediction), one per seed.
    """
    q = np.asarray(quad, dtype=float)
    err = np.abs(q[:, 1:] - q[:, :1]).mean(axis=0)
    return "full quadratic" if err[0] <= err[1] else "diagonal"


def check_better_predictor(fn, quad):
    """Check the student's reading of the notebook's own 25%-deletion measurements (`quad`)."""
    expected = better_predictor(quad)
    other = "diagonal" if expected == "full quadratic" else "full quadratic"
    cases = [Case("the measurements printed above (OBD's 25% deletion set, every seed)", (np.asarray(quad),),
                  hint="for each seed compare |prediction - actual| for both predictions, then average over "
                       "the seeds; answer 'full quadratic' or 'diagonal'.")]

    def compare(e, got):
        if not isinstance(got, str) or got.strip().lower() not in ("full quadratic", "diagonal"):
            return f"answer 'full quadratic' or 'diagonal', got {got!r}"
        return None if got.strip().lower() == e else "that is not what the measurements say"

    wrong = Mistake(lambda q: other, f"'{other}' is the other one: look at the mean |prediction - actual| "
                                     "over the seeds, not at one seed or at the mean predictions alone.")
    return run_checks(fn, lambda q: expected, cases, "3.4", compare=compare, mistakes=(wrong,))
