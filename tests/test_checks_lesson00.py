"""Lesson 00 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib import measure
from course_lib.checks import lesson00 as L
from course_lib.sparsity import sparsity
from checker_harness import checker_tests


CHECKERS = {
    "mlp_params": (L.check_mlp_params, measure.mlp_params, [
        lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),                      # forgot the biases
        lambda s: sum(a * b + a for a, b in zip(s[:-1], s[1:])),                  # biases of the input side
        lambda s: sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 2)),     # off by one: last layer lost
    ]),
    "batch_macs": (L.check_batch_macs, lambda s, n: n * measure.dense_macs(s), [
        lambda s, n: measure.dense_macs(s),                                       # forgot the batch
        lambda s, n: 2 * n * measure.dense_macs(s),                               # FLOPs, not MACs
        lambda s, n: n * measure.mlp_params(s),                                   # counted biases as MACs
    ]),
    "latency_summary": (L.check_latency_summary, measure.latency_summary, [
        lambda x, w: (float(np.median(x)), float(np.subtract(*np.percentile(x, [75, 25])))),   # kept warm-up
        lambda x, w: (float(np.mean(np.asarray(x)[w:])), float(np.std(np.asarray(x)[w:]))),   # mean and std
        lambda x, w: measure.latency_summary(x, max(w - 1, 0)),                  # off by one: kept a warm-up run
    ]),
    "sparsity": (L.check_sparsity, sparsity, [
        lambda x: np.count_nonzero(x) / np.size(x),                               # density (Distiller's erratum)
        lambda x: float(np.mean(np.abs(x) < 1e-9)),                               # a tolerance, not exact zeros
        lambda x: float(np.sum(np.asarray(x) == 0) / len(x)),                     # len of the first axis
    ]),
}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
