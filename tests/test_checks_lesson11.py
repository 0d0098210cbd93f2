"""Lesson 11 checkers pass the reference and an independently written answer, and reject realistic wrong
answers, naming the mistake. The mutants that need no hint of their own live here, not in the checker."""
import numpy as np

from course_lib.coding import entropy_coding as E
from course_lib.coding import weight_sharing as S
from course_lib.checks import lesson11 as L
from checker_harness import assert_passes, checker_tests


# --- answers written from the task text alone
def rel_csr_bytes_indep(w, value_bits, index_bits):
    entries = 0
    for row in np.asarray(w):
        last = 0
        for col in range(len(row)):
            if row[col] == 0:
                continue
            while col - last > 2 ** index_bits - 1:      # bridge the gap with fillers
                last += 2 ** index_bits - 1
                entries += 1
            entries += 1
            last = col
    up = lambda bits: (bits + 7) // 8   # noqa: E731
    return up(entries * value_bits) + up(entries * index_bits) + up((len(w) + 1) * 32)


def huffman_total_bits_indep(symbols):
    """Build the tree with explicit nodes and sum count x depth."""
    values, counts = np.unique(symbols, return_counts=True)
    if len(values) == 1:
        return int(counts[0])
    nodes = [(int(c), [int(v)]) for v, c in zip(values, counts)]
    depth = {int(v): 0 for v in values}
    while len(nodes) > 1:
        nodes.sort(key=lambda n: n[0])
        (ca, la), (cb, lb) = nodes[0], nodes[1]
        for v in la + lb:
            depth[v] += 1
        nodes = nodes[2:] + [(ca + cb, la + lb)]
    return int(sum(int(c) * depth[int(v)] for v, c in zip(values, counts)))


def sharing_rate_indep(n, bits, value_bits):
    dense = n * value_bits
    shared = n * bits + (1 << bits) * value_bits
    return dense / shared


# --- wrong answers that need no detector of their own
def csr_int_bytes_of_total(w, value_bits, index_bits):   # truncates the total bytes
    return int(E.relative_csr_bytes(w, value_bits, index_bits) - 0.5)

CHECKERS = {
    "rel_csr_bytes": (L.check_rel_csr_bytes, E.relative_csr_bytes, {
        "no fillers": (L.csr_no_fillers, "no filler zeros"),
        "2^bits": (L.csr_fillers_at_2_pow_bits, "2**index_bits - 1"),
        "absolute gaps": (L.csr_absolute_gaps, "previous entry of the same row"),
        "no pointer": (L.csr_no_pointer, "row pointer is missing"),
        "fractional": (L.csr_fractional, "round each stream up"),
        "total rounded once": (L.csr_total_rounded_once, "round EACH stream up"),
        "floor per stream": (L.csr_floor_per_stream, "rounds each stream DOWN"),
        "one byte short": (csr_int_bytes_of_total, "Hint:")}),
    "huffman_total_bits": (L.check_huffman_total_bits, E.huffman_bits, {
        "fixed length": (L.huffman_fixed_length, "fixed-length code"),
        "entropy": (L.huffman_entropy, "entropy bound"),
        "one symbol 0 bits": (L.huffman_one_symbol_zero, "1 bit per occurrence"),
        "most frequent merged": (L.huffman_max_merge, "LEAST frequent")}),
    "sharing_rate": (L.check_sharing_rate, S.compression_rate, {
        "no codebook": (L.rate_no_codebook, "codebook is missing"),
        "k not log2 k": (L.rate_k_not_log, "log2(k)"),
        "inverted": (L.rate_inverted, "dense / shared"),
        "codebook in index bits": (L.rate_codebook_bits, "full float")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_independent_answers_pass():
    assert_passes(L.check_rel_csr_bytes, rel_csr_bytes_indep)
    assert_passes(L.check_huffman_total_bits, huffman_total_bits_indep)
    assert_passes(L.check_sharing_rate, sharing_rate_indep)
