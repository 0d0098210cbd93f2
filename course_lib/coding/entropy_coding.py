"""Store a pruned, shared layer in few bytes: relative-index CSR and Huffman codes, from scratch.

The last two stages of Deep Compression (Han, Mao & Dally 2016, ICLR, sec. 2 and 4):
- relative-index CSR: each kept entry stores its column as the GAP to the previous entry of its row
  (the first one: its column), in `index_bits` bits. A gap larger than 2^index_bits - 1 cannot be
  stored, so a FILLER ZERO is inserted 2^index_bits - 1 columns after the previous entry (their
  Fig. 2), as often as needed. Values: one code of `value_bits` bits each (fillers hold code 0);
  row starts: indptr (rows + 1 numbers), as in CSR (sparse_formats.to_csr).
- Huffman coding (Huffman 1952, "A Method for the Construction of Minimum-Redundancy Codes", Proc.
  IRE): frequent symbols get short codes; the codes are canonical (DEFLATE, RFC 1951, sec. 3.2.2),
  so storing one code length per symbol of the alphabet is enough to rebuild them.
Byte counts are exact: each stream is packed bit by bit and rounded up to whole bytes.
"""
import heapq
import math

import numpy as np

from ..core import validation as v
from ..core.validation import Array, Integer, Mapping, Sequence, validate

SYMBOLS = Array(integer=True)  # codebook indices, gaps


# ----------------------------------------------------------------------------- relative-index CSR
@validate(w=Array(ndim=2), index_bits=Integer(minimum=1))
def to_relative_csr(w, index_bits):
    """Return (data, gaps, indptr) of a 2-D array with relative column indices and filler zeros.

    gap = column - previous column in the row (the first entry: its column); a gap > 2^index_bits - 1
    is bridged by filler entries (value 0, gap 2^index_bits - 1), Han et al. 2016, Fig. 2.
    """
    top = 2 ** index_bits - 1
    data, gaps, indptr = [], [], [0]
    for row in w:
        prev = 0
        for c in np.flatnonzero(row):
            while c - prev > top:            # the paper's padding: a filler zero every `top` columns
                data.append(0)
                gaps.append(top)
                prev += top
            data.append(row[c])
            gaps.append(c - prev)
            prev = c
        indptr.append(len(data))
    return np.array(data, dtype=w.dtype), np.array(gaps, dtype=np.int64), np.array(indptr, dtype=np.int64)


@validate(data=Array(allow_empty=True), gaps=Array(allow_empty=True, integer=True), indptr=Array(integer=True),
          shape=Sequence(Integer(minimum=0), min_len=2, least="(rows, cols)"))
def from_relative_csr(data, gaps, indptr, shape):
    """Rebuild the dense array: in each row, column = cumulative sum of the gaps (fillers write 0)."""
    if gaps.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" or gaps.shape != data.shape:
        raise ValueError("gaps must be integers, one per entry of data, and indptr integers")
    rows, cols = (int(s) for s in shape)
    if len(indptr) != rows + 1 or indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0):
        raise ValueError(f"indptr must rise from 0 to len(data) = {data.size} in rows + 1 = {rows + 1} steps")
    out = np.zeros((rows, cols), dtype=data.dtype)
    for r in range(rows):
        a, z = indptr[r], indptr[r + 1]
        c = np.cumsum(gaps[a:z])
        if c.size and c[-1] >= cols:
            raise ValueError(f"row {r} reaches column {c[-1]}, beyond shape {tuple(shape)}")
        out[r, c] = data[a:z]
    return out


@validate(w=Array(ndim=2), value_bits=Integer(minimum=1), index_bits=Integer(minimum=1), ptr_bits=Integer(minimum=1))
def relative_csr_bytes(w, value_bits, index_bits, ptr_bits=32):
    """Return the exact bytes of w in relative-index CSR: each stream packed, rounded up to whole bytes.

    ceil(entries * value_bits / 8) + ceil(entries * index_bits / 8) + ceil((rows + 1) * ptr_bits / 8),
    entries = non-zeros + filler zeros.
    """
    data, _, indptr = to_relative_csr(w, index_bits)
    return (math.ceil(data.size * value_bits / 8) + math.ceil(data.size * index_bits / 8)
            + math.ceil(indptr.size * ptr_bits / 8))


# ----------------------------------------------------------------------------- Huffman coding
def _counts(symbols):
    s = v.as_array(symbols, "symbols").reshape(-1)
    if s.dtype.kind not in "iu":
        raise TypeError(f"symbols must be integers (codebook indices, gaps), got dtype {s.dtype}")
    values, counts = np.unique(s, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


@validate(symbols=SYMBOLS)
def huffman_code_lengths(symbols):
    """Return {symbol: code length in bits} of a Huffman code for the symbols' frequencies.

    Repeatedly merge the two least frequent trees (heapq; ties: the earlier-made tree first, leaves in
    increasing symbol order); a symbol's length is its leaf's depth. One distinct symbol gets 1 bit.
    """
    counts = _counts(symbols)
    if len(counts) == 1:
        return {s: 1 for s in counts}
    heap = [(c, i, [s]) for i, (s, c) in enumerate(sorted(counts.items()))]
    heapq.heapify(heap)
    depth = dict.fromkeys(counts, 0)
    made = len(heap)
    while len(heap) > 1:
        c1, _, a = heapq.heappop(heap)
        c2, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (c1 + c2, made, a + b))
        made += 1
    return depth


@validate(lengths=Mapping(Integer(minimum=1)))
def canonical_codes(lengths):
    """Return {symbol: code string} of the canonical code with these lengths (RFC 1951, 3.2.2).

    Symbols sorted by (length, symbol) get consecutive codes; a longer code continues the count shifted left.
    """
    code, prev, out = 0, 0, {}
    for s, n in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= n - prev
        out[s] = format(code, f"0{n}b")
        code, prev = code + 1, n
    return out


@validate(symbols=SYMBOLS)
def huffman_encode(symbols):
    """Return (packed bytes as uint8, number of bits, code lengths): the symbols Huffman-coded."""
    lengths = huffman_code_lengths(symbols)
    codes = canonical_codes(lengths)
    bits = "".join(codes[s] for s in np.asarray(symbols).reshape(-1).tolist())
    packed = np.packbits(np.frombuffer(bits.encode(), dtype=np.uint8) - ord("0"))
    return packed, len(bits), lengths


@validate(packed=Array(allow_empty=True, integer=True), n_bits=Integer(minimum=0), lengths=Mapping(Integer(minimum=1)))
def huffman_decode(packed, n_bits, lengths):
    """Return the symbols of a canonical Huffman bit stream (the inverse of huffman_encode)."""
    decode = {c: s for s, c in canonical_codes(lengths).items()}
    bits = np.unpackbits(packed.astype(np.uint8), count=n_bits)
    out, cur = [], ""
    for b in bits.tolist():
        cur += "1" if b else "0"
        if cur in decode:
            out.append(decode[cur])
            cur = ""
    if cur:
        raise ValueError("the bit stream ends inside a code: n_bits or lengths do not match the data")
    return np.array(out, dtype=np.int64)


@validate(symbols=SYMBOLS)
def huffman_bits(symbols):
    """Return the bits of the Huffman-coded symbols: sum over symbols of count * code length."""
    counts = _counts(symbols)
    lengths = huffman_code_lengths(symbols)
    return sum(counts[s] * lengths[s] for s in counts)


@validate(symbols=SYMBOLS, alphabet_size=Integer(minimum=1))
def huffman_bytes(symbols, alphabet_size):
    """Return the exact bytes of a Huffman-coded stream: ceil(bits / 8) + one byte per alphabet symbol
    (its canonical code length, 0 if unused: the table a decoder needs, as DEFLATE stores it)."""
    a = alphabet_size
    counts = _counts(symbols)
    if min(counts) < 0 or max(counts) >= a:
        raise ValueError(f"alphabet_size must exceed every symbol (symbols in [0, {max(counts)}]), got {a}")
    return math.ceil(huffman_bits(symbols) / 8) + a


@validate(symbols=SYMBOLS)
def entropy_bits(symbols):
    """Return n H = -sum_s count_s log2(count_s / n): the fewest bits any symbol-by-symbol code needs."""
    counts = np.array(list(_counts(symbols).values()), dtype=np.float64)
    return float(-np.sum(counts * np.log2(counts / counts.sum())))
