"""Lesson 00 checkers pass the reference and every answer the text allows, reject realistic wrong
answers with a hint that names the mistake, and say "not done yet" to a stub."""
import statistics

import numpy as np

from course_lib.core import measure
from course_lib.checks import lesson00 as L
from course_lib.pruning.sparsity import sparsity
from checker_harness import assert_passes, checker_tests


def _no_return(*args):
    measure.mlp_params(args[0])


def _latency_quantiles(x, w, method):
    x = np.asarray(x, dtype=float)[w:].tolist()
    q1, _, q3 = statistics.quantiles(x, n=4, method=method)
    return statistics.median(x), q3 - q1


CHECKERS = {
    "mlp_params": (L.check_mlp_params, measure.mlp_params, {
        "forgot the biases": (lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])), "not the biases"),
        "biases of the input side": (lambda s: sum(a * b + a for a, b in zip(s[:-1], s[1:])), "OUTPUT unit"),
        "off by one: last layer lost": (lambda s: sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 2)),
                                        "lost the last layer"),
        "a float count": (lambda s: float(measure.mlp_params(s)), "return an int"),
        "no return": (_no_return, "did you forget `return`?"),
    }),
    "batch_macs": (L.check_batch_macs, lambda s, n: n * measure.dense_macs(s), {
        "forgot the batch": (lambda s, n: measure.dense_macs(s), "multiply by `batch`"),
        "FLOPs, not MACs": (lambda s, n: 2 * n * measure.dense_macs(s), "FLOPs"),
        "counted biases as MACs": (lambda s, n: n * measure.mlp_params(s), "biases"),
        "a float count": (lambda s, n: n * measure.dense_macs(s) / 1.0, "return an int"),
    }),
    "latency_summary": (L.check_latency_summary, measure.latency_summary, {
        "kept the warm-up": (lambda x, w: measure.latency_summary(x, 0), "kept the warm-up"),
        "mean and std": (lambda x, w: (float(np.mean(np.asarray(x)[w:])), float(np.std(np.asarray(x)[w:]))),
                         "mean and standard deviation"),
        "off by one: kept a warm-up run": (lambda x, w: measure.latency_summary(x, max(w - 1, 0)), "off by one"),
        "off by one: x[w + 1:]": (lambda x, w: measure.latency_summary(x, w + 1), "off by one"),
        "statistics.quantiles' default method": (lambda x, w: _latency_quantiles(x, w, "exclusive"), "'exclusive'"),
    }),
    "sparsity": (L.check_sparsity, sparsity, {
        "density (Distiller's erratum)": (lambda x: np.count_nonzero(x) / np.size(x), "density"),
        "a tolerance, not exact zeros": (lambda x: float(np.mean(np.abs(x) < 1e-9)), "not a tolerance"),
        "len of the first axis": (lambda x: float(np.sum(np.asarray(x) == 0) / len(x)), "total size"),
    }),
}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_every_quartile_method_the_text_allows_passes():
    assert_passes(L.check_latency_summary, lambda x, w: _latency_quantiles(x, w, "inclusive"))
    assert_passes(L.check_latency_summary,
                  lambda x, w: (np.median(np.asarray(x)[w:]), np.subtract(*np.quantile(np.asarray(x)[w:], [0.75, 0.25]))))


def test_numpy_integers_are_ints():
    assert_passes(L.check_mlp_params, lambda s: np.int64(measure.mlp_params(s)))


# --- independently written correct answers (from the task text; no library code)
def loop_mlp_params(sizes):
    total = 0
    for l in range(1, len(sizes)):
        total += int(sizes[l - 1]) * int(sizes[l]) + int(sizes[l])   # n_{l-1} * n_l weights, n_l biases
    return total


def loop_batch_macs(sizes, batch):
    per_example = 0
    for l in range(1, len(sizes)):
        per_example += int(sizes[l - 1]) * int(sizes[l])             # one MAC per weight; biases are not MACs
    return int(batch) * per_example


def _linear_percentile(sorted_x, p):
    """np.percentile's default by hand: position p/100 * (n - 1) between the two neighbours."""
    pos = p / 100 * (len(sorted_x) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_x) - 1)
    return sorted_x[lo] + (pos - lo) * (sorted_x[hi] - sorted_x[lo])


def loop_latency_summary(samples, warmup):
    kept = sorted(float(v) for v in list(samples)[warmup:])
    return float(_linear_percentile(kept, 50)), float(_linear_percentile(kept, 75) - _linear_percentile(kept, 25))


def loop_sparsity(x):
    flat = np.asarray(x).ravel()
    zeros = 0
    for v in flat:
        if v == 0:                                                   # -0.0 == 0; 1e-12 != 0
            zeros += 1
    return float(zeros) / float(len(flat))


def test_independent_answers_pass():
    assert_passes(L.check_mlp_params, loop_mlp_params)
    assert_passes(L.check_batch_macs, loop_batch_macs)
    assert_passes(L.check_latency_summary, loop_latency_summary)
    assert_passes(L.check_sparsity, loop_sparsity)
