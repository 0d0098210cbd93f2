"""course_lib.coding.entropy_coding: relative-index CSR round trips and pads as Han et al. 2016, Fig. 2;
Huffman code lengths match the textbook example and a reference heapq implementation's total bits;
byte counts equal the lengths of the packed streams."""
import heapq
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.coding import entropy_coding as E
from course_lib.coding import sparse_formats as sf


def _reference_huffman_bits(symbols):
    """Total bits of a Huffman code, the classic heapq recipe (merge the two lightest; sum of merges)."""
    counts = list(np.unique(symbols, return_counts=True)[1])
    if len(counts) == 1:
        return int(counts[0])
    heapq.heapify(counts)
    total = 0
    while len(counts) > 1:
        a, b = heapq.heappop(counts), heapq.heappop(counts)
        total += a + b                       # every symbol under the new node gets one more bit
        heapq.heappush(counts, a + b)
    return int(total)


def test_han_fig_2_filler_zero():
    # 3-bit gaps (at most 7): entries at columns 1, 4 and 15 -> gaps 1, 3, then 11 > 7: a filler at column 11
    w = np.zeros((1, 16), dtype=np.int64)
    w[0, [1, 4, 15]] = [5, 6, 7]
    data, gaps, indptr = E.to_relative_csr(w, 3)
    assert data.tolist() == [5, 6, 0, 7] and gaps.tolist() == [1, 3, 7, 4] and indptr.tolist() == [0, 4]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10 ** 6), st.integers(1, 6), st.floats(0.0, 1.0))
def test_relative_csr_round_trip_and_gaps_fit(seed, bits, density):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 40, 2))
    w = rng.integers(1, 9, shape) * (rng.random(shape) < density)
    data, gaps, indptr = E.to_relative_csr(w, bits)
    assert gaps.max(initial=0) <= 2 ** bits - 1
    assert np.array_equal(E.from_relative_csr(data, gaps, indptr, shape), w)
    assert np.count_nonzero(data) == np.count_nonzero(w)   # fillers are the only zeros stored
    # with wide gaps nothing is padded, and the columns are CSR's (sparse_formats.to_csr)
    d2, g2, p2 = E.to_relative_csr(w, 16)
    _, cols, ptr = sf.to_csr(w)
    assert np.array_equal(p2, ptr) and d2.size == np.count_nonzero(w)
    assert all(np.array_equal(np.cumsum(g2[a:z]), cols[a:z]) for a, z in zip(p2[:-1], p2[1:]))


def test_relative_csr_bytes_counts_every_stream_rounded_up():
    w = np.zeros((3, 40))
    w[0, [0, 39]] = 1.0          # gap 39 with 3 bits: 5 fillers (7 * 5 = 35, then 4)
    w[2, 5] = 2.0
    data, gaps, indptr = E.to_relative_csr(w, 3)
    assert data.size == 8
    assert E.relative_csr_bytes(w, 5, 3) == math.ceil(8 * 5 / 8) + math.ceil(8 * 3 / 8) + 4 * 4


def test_huffman_textbook_example():
    # Cormen et al., "Introduction to Algorithms", Fig. 16.5: a:45 b:13 c:12 d:16 e:9 f:5 -> 224 bits
    sym = np.repeat(np.arange(6), [45, 13, 12, 16, 9, 5])
    assert E.huffman_code_lengths(sym) == {0: 1, 1: 3, 2: 3, 3: 3, 4: 4, 5: 4}
    assert E.huffman_bits(sym) == 224


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=300))
def test_huffman_is_optimal_prefix_free_and_round_trips(values):
    sym = np.array(values, dtype=np.int64)
    lengths = E.huffman_code_lengths(sym)
    assert E.huffman_bits(sym) == _reference_huffman_bits(sym)          # same total: both optimal
    if len(lengths) > 1:
        assert sum(2.0 ** -n for n in lengths.values()) == 1.0          # Kraft equality: a full tree
        assert E.entropy_bits(sym) <= E.huffman_bits(sym) < E.entropy_bits(sym) + sym.size + 1e-9
    codes = list(E.canonical_codes(lengths).values())
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # prefix-free
    packed, n, L = E.huffman_encode(sym)
    assert n == E.huffman_bits(sym) and packed.size == math.ceil(n / 8)
    assert np.array_equal(E.huffman_decode(packed, n, L), sym)
    assert E.huffman_bytes(sym, 41) == packed.size + 41


def test_one_symbol_gets_one_bit_and_bad_input_is_named():
    assert E.huffman_code_lengths(np.zeros(5, int)) == {0: 1}
    with pytest.raises(TypeError, match="symbols must be integers"):
        E.huffman_code_lengths(np.array([0.5]))
    with pytest.raises(ValueError, match="alphabet_size must exceed every symbol"):
        E.huffman_bytes(np.array([3, 4]), 4)
