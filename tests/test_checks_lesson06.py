"""Lesson 06 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib.pruning import prune as P
from course_lib.checks import lesson06 as L
from course_lib.pruning.schedules import ConstantSparsity, PolynomialDecay
from checker_harness import assert_passes, checker_tests


def _poly_ref(t, si, sf, b, e, pw):
    return PolynomialDecay(si, sf, b, e, power=pw, frequency=1).sparsity(t)


def _poly_no_clip(t, si, sf, b, e, pw):                       # forgot the clip to [0, 1]
    p = (t - b) / (e - b)
    return sf + (si - sf) * (1 - p) ** pw


def _poly_swapped(t, si, sf, b, e, pw):                       # initial and final swapped
    p = min(max((t - b) / (e - b), 0.0), 1.0)
    return si + (sf - si) * (1 - p) ** pw


def _poly_wrong_curve(t, si, sf, b, e, pw):                   # p**power instead of (1 - p)**power
    p = min(max((t - b) / (e - b), 0.0), 1.0)
    return si + (sf - si) * p ** pw


def _poly_cubic_only(t, si, sf, b, e, pw):                    # ignores `power`
    p = min(max((t - b) / (e - b), 0.0), 1.0)
    return sf + (si - sf) * (1 - p) ** 3


def _steps_from_0(b, e, f, n):                                # counts steps from 0
    return [t for t in range(0, n) if ConstantSparsity(0.5, b, e, f).should_prune(t)]


def _steps_mod_global(b, e, f, n):                            # t % f, not (t - begin) % f
    return [t for t in range(1, n + 1) if t >= b and (t <= e or e == -1) and t % f == 0]


def _steps_end_excluded(b, e, f, n):                          # < end
    return [t for t in range(1, n + 1) if t >= b and (t < e or e == -1) and (t - b) % f == 0]


def _steps_ignore_minus_1(b, e, f, n):                        # end = -1 taken literally
    return [t for t in range(1, n + 1) if b <= t <= e and (t - b) % f == 0]


def _width_with_biases(n_in, n_out, k, budget):              # counts biases too
    h = 0
    while P.dense_weight_count([n_in] + [h + 1] * k + [n_out]) + (h + 1) * k + n_out <= budget:
        h += 1
    return h


def _width_first_over(n_in, n_out, k, budget):               # returns the first width over budget
    return P.matching_width(n_in, n_out, k, budget) + 1


def _width_one_layer(n_in, n_out, k, budget):                # ignores the h*h matrices
    return int(budget // (n_in + n_out))


def _width_rounded(n_in, n_out, k, budget):                  # nearest, not largest within budget
    hs = np.arange(1, 500)
    counts = np.array([P.dense_weight_count([n_in] + [h] * k + [n_out]) for h in hs])
    return int(hs[np.argmin(np.abs(counts - budget))])


CHECKERS = {
    "polynomial_sparsity": (L.check_polynomial_sparsity, _poly_ref,
                            [_poly_no_clip, _poly_swapped, _poly_wrong_curve, _poly_cubic_only]),
    "update_steps": (L.check_update_steps, lambda b, e, f, n: P.update_steps(ConstantSparsity(0.5, b, e, f), n),
                     [_steps_from_0, _steps_mod_global, _steps_end_excluded, _steps_ignore_minus_1]),
    "matching_width": (L.check_matching_width, P.matching_width,
                       [_width_with_biases, _width_first_over, _width_one_layer, _width_rounded]),
    "reached_sparsity": (L.check_reached_sparsity, L.reached_sparsity,
                         {"the curve at n_steps": (lambda sch, n: float(sch.sparsity(n)), "update steps"),
                          "the final target": (lambda sch, n: float(sch.sparsity(10 ** 9)), "final sparsity"),
                          "the first update, not the last": lambda sch, n: (float(sch.sparsity(P.update_steps(sch, n)[0]))
                                                                            if P.update_steps(sch, n) else 0.0),
                          "None when nothing pruned": lambda sch, n: (float(sch.sparsity(P.update_steps(sch, n)[-1]))
                                                                      if P.update_steps(sch, n) else None)}),
}


def test_the_tutorial_run_stops_far_below_its_target():
    sched = L.PolynomialDecay(0.0, 0.75, begin_step=1000, end_step=5000, frequency=100)
    assert 0.25 < L.reached_sparsity(sched, 1600) < 0.35


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_float64_solution_passes_float32_reference():
    def f64(t, si, sf, b, e, pw):
        p = np.clip((t - b) / (e - b), 0.0, 1.0)
        return float(sf + (si - sf) * (1.0 - p) ** pw)
    assert L.check_polynomial_sparsity(f64).passed


# --- independently written correct answers (from the task text; no library code)
def plain_polynomial_sparsity(step, initial, final, begin, end, power):
    """6.1: p = (step - begin) / (end - begin) clipped to [0, 1]; s = final + (initial - final)(1 - p)**power,
    in Python floats (float64; test_float64_solution_passes_float32_reference above is a numpy variant)."""
    p = (step - begin) / (end - begin)
    p = 0.0 if p < 0.0 else (1.0 if p > 1.0 else p)
    return float(final + (initial - final) * (1.0 - p) ** power)


def walk_update_steps(begin, end, frequency, n_steps):
    """6.2: walk the grid begin, begin + frequency, ... and keep the steps in 1..n_steps, end inclusive,
    end = -1 for no end; a list of Python ints, increasing."""
    last = n_steps if end == -1 else min(end, n_steps)
    out, t = [], begin
    while t <= last:
        if t >= 1:
            out.append(int(t))
        t += frequency
    return out


def loop_matching_width(n_in, n_out, n_hidden, budget):
    """6.3: the largest h with n_in*h + (n_hidden - 1)*h*h + h*n_out <= budget (no biases); 0 if none fits."""
    def weights(h):
        total, prev = 0, n_in
        for width in [h] * n_hidden + [n_out]:
            total += prev * width
            prev = width
        return total
    best = 0
    for h in range(1, budget + 1):                     # h weights at least: no h above budget can fit
        if weights(h) > budget:
            break
        best = h
    return best


def backward_reached_sparsity(schedule, n_steps):
    """6.4: search back from n_steps for the last step where the schedule updates the masks; its
    sparsity as a float, 0.0 if no step in 1..n_steps updates."""
    for t in range(n_steps, 0, -1):
        if schedule.should_prune(t):
            return float(schedule.sparsity(t))
    return 0.0


def test_independent_answers_pass():
    assert_passes(L.check_polynomial_sparsity, plain_polynomial_sparsity)
    assert_passes(L.check_update_steps, walk_update_steps)
    assert_passes(L.check_matching_width, loop_matching_width)
    assert_passes(L.check_reached_sparsity, backward_reached_sparsity)
