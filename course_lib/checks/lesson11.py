"""Checkers for lesson 11 (the capstone: Deep Compression). References come from course_lib.coding.entropy_coding
and course_lib.coding.weight_sharing.

The wrong answers below are the known mistakes the verdicts name (each detector gives one hint);
tests/test_checks_lesson11.py runs them, and the wrong answers that need no hint of their own, as mutants.
"""
import math

import numpy as np

from ..coding import entropy_coding as E
from ..coding import weight_sharing as S
from ._core import Case, Mistake, allclose, exact, run_checks


def _sparse(seed, shape, density):
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=shape), 2) * (rng.random(shape) < density)


def _entries(w, top, filler):
    n = 0
    for row in np.asarray(w):
        prev = 0
        for c in np.flatnonzero(row):
            n += filler(c - prev, top) + 1
            prev = c
    return n


def _bytes(entries, rows, value_bits, index_bits, ptr_bits=32):
    return math.ceil(entries * value_bits / 8) + math.ceil(entries * index_bits / 8) + math.ceil((rows + 1) * ptr_bits / 8)


def _fillers(gap, top):
    return (gap - 1) // top if gap > top else 0


# --- known wrong answers: 11.1
def csr_no_fillers(w, value_bits, index_bits):          # ignores the padding rule
    return _bytes(np.count_nonzero(w), len(w), value_bits, index_bits)


def csr_fillers_at_2_pow_bits(w, value_bits, index_bits):  # largest gap taken as 2^bits, not 2^bits - 1
    return _bytes(_entries(w, 2 ** index_bits, _fillers), len(w), value_bits, index_bits)


def csr_absolute_gaps(w, value_bits, index_bits):        # gaps measured from column 0, never reset in a row
    n = 0
    for row in np.asarray(w):
        for c in np.flatnonzero(row):
            n += _fillers(c, 2 ** index_bits - 1) + 1
    return _bytes(n, len(w), value_bits, index_bits)


def csr_no_pointer(w, value_bits, index_bits):           # forgot the row pointer
    n = _entries(w, 2 ** index_bits - 1, _fillers)
    return math.ceil(n * value_bits / 8) + math.ceil(n * index_bits / 8)


def csr_fractional(w, value_bits, index_bits):           # bits / 8 without rounding each stream up
    n = _entries(w, 2 ** index_bits - 1, _fillers)
    return (n * (value_bits + index_bits) + (len(w) + 1) * 32) / 8


def csr_total_rounded_once(w, value_bits, index_bits):   # all bits summed, then one ceil
    n = _entries(w, 2 ** index_bits - 1, _fillers)
    return math.ceil((n * (value_bits + index_bits) + (len(w) + 1) * 32) / 8)


def csr_floor_per_stream(w, value_bits, index_bits):     # each stream rounded DOWN
    n = _entries(w, 2 ** index_bits - 1, _fillers)
    return n * value_bits // 8 + n * index_bits // 8 + (len(w) + 1) * 32 // 8


def check_rel_csr_bytes(fn):
    """Exercise 11.1: bytes of relative-index CSR with filler zeros, each stream rounded up."""
    wide = np.zeros((2, 40))
    wide[0, [0, 39]], wide[1, 22] = 1.5, -2.0
    exact_top = np.zeros((1, 16))
    exact_top[0, [7, 14, 15]] = 1.0                      # gaps 7 and 7 fit 3 bits exactly; no filler
    hint = "entries = non-zeros + fillers; bytes = ceil(entries*value_bits/8) + ceil(entries*index_bits/8) + (rows+1)*4"
    cases = [Case("short gaps, no filler", (_sparse(0, (4, 6), 0.5), 32, 5), hint=hint),
             Case("gaps beyond 3 bits need fillers", (wide, 5, 3),
                  hint="a gap above 2**index_bits - 1 = 7 needs filler zeros, one every 7 columns"),
             Case("gaps of exactly 2**bits - 1 fit", (exact_top, 6, 3),
                  hint="a gap of 7 fits in 3 bits: a filler only for gaps > 2**index_bits - 1"),
             Case("gaps restart in every row", (_sparse(1, (6, 50), 0.05), 4, 2),
                  hint="each row's first entry stores its column; gaps never cross rows"),
             Case("streams rounded up separately", (_sparse(2, (3, 9), 0.4), 5, 3),
                  hint="round each stream up to whole bytes: ceil(bits / 8), and return an int"),
             Case("an empty matrix", (np.zeros((3, 4)), 6, 5), hint="no entries: only the row pointer's bytes")]
    mistakes = [Mistake(csr_no_fillers, "no filler zeros: a gap larger than 2**index_bits - 1 cannot be stored, "
                                        "so a filler entry goes in every 2**index_bits - 1 columns"),
                Mistake(csr_fillers_at_2_pow_bits, "the largest gap index_bits can hold is 2**index_bits - 1, "
                                                   "not 2**index_bits"),
                Mistake(csr_absolute_gaps, "the gap is measured from the previous entry of the same row, not "
                                           "from column 0"),
                Mistake(csr_no_pointer, "the row pointer is missing: rows + 1 numbers of 32 bits"),
                Mistake(csr_fractional, "round each stream up to whole bytes (ceil) and return an int"),
                Mistake(csr_total_rounded_once, "that rounds the TOTAL bits up once; the three streams are stored "
                                                "separately, so round EACH stream up to whole bytes"),
                Mistake(csr_floor_per_stream, "that rounds each stream DOWN (floor, //): a stream of 13 bits "
                                              "still needs 2 bytes, so round up: -(-bits // 8) or math.ceil")]
    return run_checks(fn, E.relative_csr_bytes, cases, "11.1", compare=exact, mistakes=mistakes)


# --- known wrong answers: 11.2
def huffman_fixed_length(symbols):                       # a fixed-length code, ceil(log2(#symbols)) bits
    k = np.unique(symbols).size
    return int(np.size(symbols) * max(math.ceil(math.log2(k)), 1))


def huffman_entropy(symbols):                            # the entropy bound, not a code
    return E.entropy_bits(symbols)


def huffman_one_symbol_zero(symbols):                    # a lone symbol coded with 0 bits
    return 0 if np.unique(symbols).size == 1 else E.huffman_bits(symbols)


def huffman_max_merge(symbols):                          # merges the two MOST frequent trees
    counts = sorted(np.unique(symbols, return_counts=True)[1].tolist())
    if len(counts) == 1:
        return counts[0]
    total = 0
    while len(counts) > 1:
        a, b = counts.pop(), counts.pop()
        total += a + b
        counts = sorted(counts + [a + b])
    return int(total)


def check_huffman_total_bits(fn):
    """Exercise 11.2: the total bits of a Huffman code for the symbols' own frequencies."""
    clrs = np.repeat(np.arange(6), [45, 13, 12, 16, 9, 5])
    hint = "merge the two least frequent counts repeatedly; the total bits = the sum of all merged counts"
    cases = [Case("Cormen et al.'s example (224 bits)", (clrs,), hint=hint),
             Case("two symbols: 1 bit each", (np.array([3, 3, 3, 7]),), hint="two symbols get codes 0 and 1"),
             Case("skewed frequencies", (np.repeat(np.arange(5), [100, 1, 1, 1, 1]),),
                  hint="the frequent symbol gets a 1-bit code; a fixed-length code would waste bits"),
             Case("one distinct symbol", (np.full(9, 4),), hint="the contract: a single symbol takes 1 bit each"),
             Case("uniform over 8 symbols", (np.arange(64) % 8,), hint="8 equally frequent symbols: 3 bits each")]
    mistakes = [Mistake(huffman_fixed_length, "that is a fixed-length code; Huffman gives frequent symbols "
                                              "shorter codes"),
                Mistake(huffman_entropy, "that is the entropy bound n*H, not the bits of a real code (an int)"),
                Mistake(huffman_one_symbol_zero, "one distinct symbol takes 1 bit per occurrence (the contract)"),
                Mistake(huffman_max_merge, "merge the two LEAST frequent trees, not the most frequent")]
    return run_checks(fn, E.huffman_bits, cases, "11.2", compare=exact, mistakes=mistakes)


# --- known wrong answers: 11.3
def rate_no_codebook(n, bits, value_bits):               # forgot the k centroids
    return value_bits / bits


def rate_k_not_log(n, bits, value_bits):                  # k bits per index instead of log2(k)
    k = 2 ** bits
    return n * value_bits / (n * k + k * value_bits)


def rate_inverted(n, bits, value_bits):                   # shared over dense
    return 1.0 / S.compression_rate(n, bits, value_bits)


def rate_codebook_bits(n, bits, value_bits):              # centroids counted with `bits` bits
    k = 2 ** bits
    return n * value_bits / (n * bits + k * bits)


def check_sharing_rate(fn):
    """Exercise 11.3: Han et al.'s eq. 1, r = n b / (n log2(k) + k b)."""
    hint = "r = n * value_bits / (n * bits + 2**bits * value_bits)"
    cases = [Case("the paper's example: 16 weights, 4 centroids", (16, 2, 32), hint=hint),
             Case("a large layer, 5 bits", (235_200, 5, 32), hint=hint),
             Case("a small layer: the codebook matters", (500, 6, 32),
                  hint="the k centroids cost k * value_bits bits, a lot for a small layer"),
             Case("16-bit weights, 4-bit indices", (1000, 4, 16), hint=hint)]
    mistakes = [Mistake(rate_no_codebook, "the codebook is missing: add 2**bits centroids of value_bits bits"),
                Mistake(rate_k_not_log, "an index takes bits = log2(k) bits, not k"),
                Mistake(rate_inverted, "that is shared / dense; the rate is dense / shared (> 1)"),
                Mistake(rate_codebook_bits, "each centroid is a full float of value_bits bits, not `bits` bits")]
    return run_checks(fn, lambda n, b, vb: S.compression_rate(n, b, vb), cases, "11.3",
                      compare=allclose(1e-9), mistakes=mistakes)
