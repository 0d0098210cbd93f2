"""Checkers for lesson 00 (measuring models). References come from course_lib.core.measure and .sparsity."""
import statistics

import numpy as np

from ..core import measure
from ..pruning.sparsity import density, sparsity
from ._core import Case, Mistake, allclose, exact, run_checks


def _pairs(sizes):
    return list(zip(sizes[:-1], sizes[1:]))


def check_mlp_params(fn):
    """Exercise 0.1: parameters of a dense MLP with biases (an int)."""
    hint = "each layer has n_in * n_out weights plus n_out biases; sum over consecutive pairs of sizes"
    mistakes = [Mistake(lambda s: sum(a * b for a, b in _pairs(s)),
                        "you counted the weights but not the biases: each layer also has n_out biases"),
                Mistake(lambda s: sum(a * b + a for a, b in _pairs(s)),
                        "a layer has one bias per OUTPUT unit (n_out), not per input"),
                Mistake(lambda s: sum(a * b + b for a, b in _pairs(s)[:-1]),
                        "you lost the last layer: pair sizes[i] with sizes[i + 1] for i up to len(sizes) - 2")]
    cases = [Case("the digits MLP [64, 256, 128, 10]", ([64, 256, 128, 10],), hint=hint),
             Case("one layer [3, 2]", ([3, 2],), hint=hint),
             Case("widths of 1 [1, 1, 1]", ([1, 1, 1],), hint=hint),
             Case("LeNet-300-100 [784, 300, 100, 10]", ([784, 300, 100, 10],), hint=hint),
             Case("a bottleneck [10, 2, 10]", ([10, 2, 10],), hint="the list is not symmetric in general; pair sizes[i] with sizes[i+1]")]
    return run_checks(fn, measure.mlp_params, cases, "0.1", mistakes=mistakes)


def _batch_macs(sizes, batch):
    return batch * measure.dense_macs(sizes)


def check_batch_macs(fn):
    """Exercise 0.2: multiply-accumulates of one forward pass of a batch (an int)."""
    hint = "a dense layer does n_in * n_out MACs per example; biases and activations are not MACs; times the batch"
    mistakes = [Mistake(lambda s, n: measure.dense_macs(s), "you counted one example: multiply by `batch`"),
                Mistake(lambda s, n: 2 * n * measure.dense_macs(s),
                        "you counted FLOPs (a multiply and an add): one multiply-accumulate is ONE MAC"),
                Mistake(lambda s, n: n * measure.mlp_params(s),
                        "you counted the biases: adding a bias is not a multiply-accumulate")]
    cases = [Case("one example through [64, 256, 128, 10]", ([64, 256, 128, 10], 1), hint=hint),
             Case("a batch of 32 through [64, 256, 128, 10]", ([64, 256, 128, 10], 32), hint=hint),
             Case("a single layer [5, 3], batch 7", ([5, 3], 7), hint=hint),
             Case("widths of 1 [1, 1], batch 1", ([1, 1], 1), hint="one weight, one multiply-accumulate")]
    return run_checks(fn, _batch_macs, cases, "0.2", mistakes=mistakes)


def _exclusive_quartiles(x, warmup):
    q1, med, q3 = statistics.quantiles(np.asarray(x, dtype=float)[warmup:].tolist(), n=4)
    return statistics.median(np.asarray(x, dtype=float)[warmup:].tolist()), q3 - q1


def check_latency_summary(fn):
    """Exercise 0.3: drop the warm-up runs, then median and IQR (np.percentile's linear method)."""
    hint = ("skip the first `warmup` samples (samples[warmup:]), then return the median and "
            "q75 - q25, both from np.percentile (its default, linear interpolation)")
    mistakes = [Mistake(lambda x, w: measure.latency_summary(x, 0),
                        "you kept the warm-up samples: drop the first `warmup` of them (samples[warmup:])"),
                Mistake(lambda x, w: measure.latency_summary(x, w - 1),
                        "off by one in the warm-up: you kept one warm-up sample; samples[warmup:] drops exactly `warmup`"),
                Mistake(lambda x, w: measure.latency_summary(x, w + 1),
                        "off by one in the warm-up: you dropped one sample too many; samples[warmup:] drops exactly `warmup`"),
                Mistake(_exclusive_quartiles,
                        "statistics.quantiles defaults to the 'exclusive' method; the task asks for np.percentile's "
                        "linear interpolation (statistics.quantiles(..., method='inclusive') is the same)"),
                Mistake(lambda x, w: (float(np.mean(np.asarray(x)[w:])), float(np.std(np.asarray(x)[w:]))),
                        "that is the mean and standard deviation: the task asks for the median and the IQR")]
    rng = np.random.default_rng(3)
    samples = np.concatenate([[9e-3, 4e-3], rng.lognormal(np.log(1e-3), 0.2, size=40)])
    cases = [Case("two slow warm-up runs then 40 timed runs", (samples, 2), hint=hint),
             Case("no warm-up to drop", (samples[2:], 0), hint=hint),
             Case("an odd count with an outlier", (np.array([5.0, 1.0, 2.0, 3.0, 100.0, 2.5, 1.5]), 1), hint=hint),
             Case("a list, not an array", ([3.0, 1.0, 2.0, 2.0], 1), hint="np.asarray(samples) first")]
    # 1e-12: every correct method (np.percentile, np.quantile, statistics 'inclusive') agrees to ~1e-18 here
    return run_checks(fn, measure.latency_summary, cases, "0.3", compare=allclose(1e-12), mistakes=mistakes)


def check_sparsity(fn):
    """Exercise 0.4: fraction of exact zeros (a float)."""
    hint = "count entries that are exactly 0 (np.count_nonzero counts the others) and divide by the size"
    mistakes = [Mistake(density, "you returned the density (the fraction of NON-zeros); sparsity is the "
                                 "fraction of entries equal to 0, i.e. 1 - density"),
                Mistake(lambda x: float(np.mean(np.abs(np.asarray(x)) < 1e-6)),
                        "you counted tiny values as zeros: 1e-12 is not zero, compare with == 0, not a tolerance")]
    cases = [Case("a vector with three zeros", (np.array([0.0, 1.5, 0.0, -2.0, 0.0]),), hint=hint),
             Case("tiny but non-zero values", (np.array([1e-12, 0.0, -1e-30, 3.0, 0.0, 0.0, 2.0]),), hint="1e-12 is not zero: compare with == 0, not a tolerance"),
             Case("negative zero", (np.array([-0.0, 0.0, 1.0]),), hint="-0.0 == 0 is True"),
             Case("a 3-d tensor", (np.where(np.arange(24).reshape(2, 3, 4) % 3 == 0, 0.0, 1.0),), hint="use the total size (x.size), not the length of the first axis"),
             Case("integers", (np.array([0, 0, 0, 7]),), hint="return a float fraction, e.g. 0.75, even for integer input"),
             Case("no zeros at all", (np.ones((2, 2)),), hint=hint)]
    return run_checks(fn, sparsity, cases, "0.4", compare=allclose(1e-12), mistakes=mistakes)
