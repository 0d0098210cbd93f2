"""Checkers for lesson 00 (measuring models). References come from course_lib.measure and .sparsity."""
import numpy as np

from .. import measure
from ..sparsity import sparsity
from ._core import Case, allclose, exact, run_checks


def check_mlp_params(fn):
    """Exercise 0.1: parameters of a dense MLP with biases."""
    hint = "each layer has n_in * n_out weights plus n_out biases; sum over consecutive pairs of sizes"
    cases = [Case("the digits MLP [64, 256, 128, 10]", ([64, 256, 128, 10],), hint=hint),
             Case("one layer [3, 2]", ([3, 2],), hint=hint),
             Case("widths of 1 [1, 1, 1]", ([1, 1, 1],), hint=hint),
             Case("LeNet-300-100 [784, 300, 100, 10]", ([784, 300, 100, 10],), hint=hint),
             Case("a bottleneck [10, 2, 10]", ([10, 2, 10],), hint="the list is not symmetric in general; pair sizes[i] with sizes[i+1]")]
    return run_checks(fn, measure.mlp_params, cases, "0.1")


def _batch_macs(sizes, batch):
    return batch * measure.dense_macs(sizes)


def check_batch_macs(fn):
    """Exercise 0.2: multiply-accumulates of one forward pass of a batch."""
    hint = "a dense layer does n_in * n_out MACs per example; biases and activations are not MACs; times the batch"
    cases = [Case("one example through [64, 256, 128, 10]", ([64, 256, 128, 10], 1), hint=hint),
             Case("a batch of 32 through [64, 256, 128, 10]", ([64, 256, 128, 10], 32), hint=hint),
             Case("a single layer [5, 3], batch 7", ([5, 3], 7), hint=hint),
             Case("widths of 1 [1, 1], batch 1", ([1, 1], 1), hint="one weight, one multiply-accumulate")]
    return run_checks(fn, _batch_macs, cases, "0.2")


def check_latency_summary(fn):
    """Exercise 0.3: drop the warm-up runs, then median and IQR."""
    rng = np.random.default_rng(3)
    samples = np.concatenate([[9e-3, 4e-3], rng.lognormal(np.log(1e-3), 0.2, size=40)])
    hint = ("skip the first `warmup` samples, then use the median (np.median / np.percentile 50) and "
            "the interquartile range q75 - q25 (np.percentile, default linear interpolation)")
    cases = [Case("two slow warm-up runs then 40 timed runs", (samples, 2), hint=hint),
             Case("no warm-up to drop", (samples[2:], 0), hint=hint),
             Case("an odd count with an outlier", (np.array([5.0, 1.0, 2.0, 3.0, 100.0, 2.5, 1.5]), 1), hint=hint),
             Case("a list, not an array", ([3.0, 1.0, 2.0, 2.0], 1), hint="np.asarray(samples) first")]
    return run_checks(fn, measure.latency_summary, cases, "0.3", compare=allclose(1e-12))


def check_sparsity(fn):
    """Exercise 0.4: fraction of exact zeros."""
    hint = "count entries that are exactly 0 (np.count_nonzero counts the others) and divide by the size"
    cases = [Case("a vector with two zeros", (np.array([0.0, 1.5, 0.0, -2.0]),), hint=hint),
             Case("tiny but non-zero values", (np.array([1e-12, 0.0, -1e-30, 3.0]),), hint="1e-12 is not zero: compare with == 0, not a tolerance"),
             Case("negative zero", (np.array([-0.0, 0.0, 1.0]),), hint="-0.0 == 0 is True"),
             Case("a 3-d tensor", (np.where(np.arange(24).reshape(2, 3, 4) % 3 == 0, 0.0, 1.0),), hint="use the total size, not the length of the first axis"),
             Case("integers", (np.array([0, 0, 0, 7]),), hint="return a float fraction, e.g. 0.75, even for integer input"),
             Case("no zeros at all", (np.ones((2, 2)),), hint=hint)]
    return run_checks(fn, sparsity, cases, "0.4", compare=allclose(1e-12))
