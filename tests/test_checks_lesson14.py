"""Lesson 14 checkers pass the reference and an independently written answer, and reject realistic
wrong answers, naming the mistake."""
import numpy as np

from course_lib.checks import lesson14 as L
from course_lib.lowrank import lora, svd
from checker_harness import assert_passes, checker_tests


def energy_by_loop(s, keep):  # written apart from the reference: a plain loop
    total, acc = float(np.sum(np.square(s))), 0.0
    for r, value in enumerate(s, start=1):
        acc += value * value
        if acc >= keep * total - 1e-12:
            return r
    return len(s)


def break_even_by_search(n_out, n_in):
    r = 0
    while (r + 1) * (n_out + n_in) < n_out * n_in:
        r += 1
    return r


def lora_einsum(x, W, b, A, B, alpha):
    return np.einsum("...i,oi->...o", x, W) + b + alpha / len(A) * np.einsum("...r,or->...o", np.einsum("...i,ri->...r", x, A), B)


CHECKERS = {
    "rank_for_energy": (L.check_rank_for_energy, L._rank_for_energy, {
        "s not s^2": (L.energy_of_s_not_s2, "SQUARED"),
        "strict": (L.energy_strict, "use >="),
        "index": (L.energy_index, "a count, starting at 1")}),
    "break_even_rank": (L.check_break_even_rank, L._break_even, {
        "not strict": (L.break_even_not_strict, "strict"),
        "float": (L.break_even_float, "round DOWN"),
        "half": (L.break_even_half, "rule of thumb"),
        "product": (L.break_even_product, "r (n_out + n_in)")}),
    "lora_forward": (L.check_lora_forward, lora.lora_forward, {
        "alpha": (L.lora_alpha_not_over_r, "not by alpha"),
        "r/alpha": (L.lora_r_over_alpha, "not r / alpha"),
        "no bias": (L.lora_no_bias, "bias"),
        "scaled all": (L.lora_scaled_all, "only the adapter"),
        "no scaling": (L.lora_no_scaling, "multiplied by alpha / r")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_independent_answers_pass():
    assert_passes(L.check_rank_for_energy, energy_by_loop)
    assert_passes(L.check_break_even_rank, break_even_by_search)
    assert_passes(L.check_lora_forward, lora_einsum)


def test_energy_reference_agrees_with_the_library():
    W = np.random.default_rng(0).normal(size=(9, 7))
    s = np.linalg.svd(W, compute_uv=False)
    for keep in (0.1, 0.5, 0.9, 0.99, 1.0):
        assert L._rank_for_energy(s, keep) == svd.rank_for_energy(W, keep)
