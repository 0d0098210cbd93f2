"""Checkers for lesson 06 (gradual pruning). References come from course_lib.schedules and .prune."""
from .. import prune
from ..schedules import ConstantSparsity, PolynomialDecay
from ._core import Case, allclose, exact, run_checks


def _poly(step, initial, final, begin, end, power):
    return PolynomialDecay(initial, final, begin, end, power=power, frequency=1).sparsity(step)


def check_polynomial_sparsity(fn):
    """Exercise 6.1: the sparsity of PolynomialDecay (Zhu & Gupta) at a step."""
    hint = ("p = clip((step - begin) / (end - begin), 0, 1); s = final + (initial - final) * (1 - p) ** power")
    cases = [Case("half way, cubic", (50, 0.0, 0.8, 0, 100, 3), hint=hint),
             Case("before begin_step", (5, 0.1, 0.9, 10, 110, 3),
                  hint="before begin_step p is clipped to 0: the sparsity is initial_sparsity"),
             Case("after end_step", (500, 0.0, 0.75, 100, 300, 3),
                  hint="after end_step p is clipped to 1: the sparsity stays at final_sparsity"),
             Case("a quarter of the way, non-zero start", (125, 0.2, 0.9, 100, 200, 3), hint=hint),
             Case("linear (power 1)", (30, 0.0, 0.6, 0, 90, 1), hint="power is an argument: use it"),
             Case("at begin_step exactly", (40, 0.3, 0.7, 40, 80, 2), hint="at step = begin_step, p = 0")]
    # 1e-6: tfmot (and the reference) compute in float32; a float64 solution differs by ~1e-8
    return run_checks(fn, _poly, cases, "6.1", compare=allclose(1e-6))


def _update_steps(begin, end, frequency, n_steps):
    return prune.update_steps(ConstantSparsity(0.5, begin, end, frequency), n_steps)


def check_update_steps(fn):
    """Exercise 6.2: the training steps 1..n_steps at which tfmot updates the masks."""
    hint = ("steps run 1..n_steps (the first batch is step 1); update when begin <= t, (t <= end or end == -1) "
            "and (t - begin) % frequency == 0")
    cases = [Case("begin 0, every 10 steps", (0, 50, 10, 45), hint=hint),
             Case("begin 3, every 4 steps", (3, 20, 4, 30),
                  hint="count the frequency from begin_step: (t - begin) % frequency"),
             Case("end step included", (0, 20, 5, 20), hint="end_step itself is a pruning step when on the grid (<=)"),
             Case("end_step = -1 prunes forever", (2, -1, 3, 12), hint="end_step = -1 means no end"),
             Case("every step", (1, 4, 1, 6), hint=hint)]
    return run_checks(fn, _update_steps, cases, "6.2", compare=exact)


def check_matching_width(fn):
    """Exercise 6.3: the widest small dense MLP within a weight budget (equal non-zeros)."""
    hint = ("count weights only (no biases): n_in*h + (n_hidden-1)*h*h + h*n_out; return the LARGEST h "
            "with count <= budget (0 if even h = 1 does not fit)")
    cases = [Case("one hidden layer", (64, 10, 1, 2000), hint=hint),
             Case("two hidden layers", (64, 10, 2, 4096), hint="with 2 hidden layers there is an h*h matrix between them"),
             Case("a budget hit exactly", (4, 2, 1, 24), hint="a count equal to the budget fits (<=)"),
             Case("three hidden layers", (8, 3, 3, 500), hint=hint),
             Case("nothing fits", (10, 10, 1, 5), hint="return 0 when even one hidden unit exceeds the budget")]
    return run_checks(fn, prune.matching_width, cases, "6.3", compare=exact)
