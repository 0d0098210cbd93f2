"""Checkers for lesson 06 (gradual pruning). References come from course_lib.pruning.schedules and .prune."""
from ..pruning import prune
from ..pruning.schedules import ConstantSparsity, PolynomialDecay
from ._core import Case, Mistake, allclose, exact, run_checks


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


def reached_sparsity(schedule, n_steps):
    """Return the target sparsity of the last mask update in steps 1..n_steps (0.0 if there is none)."""
    done = prune.update_steps(schedule, n_steps)
    return float(schedule.sparsity(done[-1])) if done else 0.0


def check_reached_sparsity(fn):
    """Exercise 6.4: the sparsity a run really reaches when it stops before the schedule ends."""
    hint = ("find the steps t in 1..n_steps where schedule.should_prune(t) (course_lib.pruning.prune.update_steps), "
            "take the LAST one, and return schedule.sparsity(t) there; 0.0 if there is no update at all")
    cases = [Case("the tutorial's run: 1,600 steps of a schedule ending at step 5,000",
                  (PolynomialDecay(0.0, 0.75, begin_step=1000, end_step=5000, frequency=100), 1600), hint=hint),
             Case("a run long enough to finish the schedule",
                  (PolynomialDecay(0.0, 0.9, begin_step=100, end_step=500, frequency=25), 850), hint=hint),
             Case("a run that stops before the first update",
                  (PolynomialDecay(0.0, 0.5, begin_step=200, end_step=400, frequency=50), 150),
                  hint="no step has pruned yet: the model is still dense (0.0)"),
             Case("the last step between two updates",
                  (PolynomialDecay(0.2, 0.8, begin_step=0, end_step=1000, frequency=100), 950), hint=hint)]
    wrong = [Mistake(lambda sch, n: float(sch.sparsity(n)),
                     "that is the schedule's curve at step n_steps, but masks change only on update steps: "
                     "take the sparsity of the last update at or before n_steps."),
             Mistake(lambda sch, n: float(sch.sparsity(10 ** 9)),
                     "that is the final sparsity the schedule aims at; the run stops before reaching it.")]
    return run_checks(fn, reached_sparsity, cases, "6.4", compare=allclose(1e-6), mistakes=wrong)
