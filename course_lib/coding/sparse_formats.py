"""Store a sparse matrix: dense, CSR and bitmask formats, their bytes, and a CSR product, from scratch.

CSR (compressed sparse row), as scipy.sparse.csr_matrix and torch.sparse_csr_tensor store it:
    data    the non-zero values, row by row, left to right
    indices the column of each value
    indptr  row r's values are data[indptr[r]:indptr[r + 1]]   (len = rows + 1, indptr[0] = 0)
"""
import math

import numpy as np

from ..core import validation as v
from ..core.validation import Array, Integer, Sequence, validate

SHAPE = Sequence(Integer(minimum=0), min_len=0)  # a tuple of non-negative integers
DATA, INDICES, INDPTR = Array(allow_empty=True), Array(allow_empty=True, integer=True), Array(integer=True)


@validate(w=Array(ndim=2))
def to_csr(w):
    """Return (data, indices, indptr) of a 2-D array in CSR form (explicit zeros are dropped)."""
    rows, cols = np.nonzero(w)                       # row-major order, as CSR needs
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=w.shape[0]))])
    return w[rows, cols], cols.astype(np.int64), indptr.astype(np.int64)


@validate(data=DATA, indices=INDICES, indptr=INDPTR, shape=SHAPE)
def csr_to_dense(data, indices, indptr, shape):
    """Rebuild the dense array from CSR arrays."""
    data, indices, indptr = _check_csr(data, indices, indptr)
    shape = _shape(shape)
    if len(shape) != 2 or len(indptr) != shape[0] + 1 or (indices.size and indices.max() >= shape[1]):
        raise ValueError(f"shape must be (rows, cols) with rows = len(indptr) - 1 = {len(indptr) - 1} and cols > "
                         f"every column index, got {shape}")
    out = np.zeros(shape, dtype=data.dtype)
    for r in range(shape[0]):
        out[r, indices[indptr[r]:indptr[r + 1]]] = data[indptr[r]:indptr[r + 1]]
    return out


@validate(data=DATA, indices=INDICES, indptr=INDPTR, X=Array())
def csr_matmul(data, indices, indptr, X):
    """Return A @ X for A in CSR form: y_r = sum_k data_k X[indices_k] over row r's entries."""
    data, indices, indptr = _check_csr(data, indices, indptr)
    if indices.size and X.shape[0] <= indices.max():
        raise ValueError(f"X must have {int(indices.max()) + 1} rows or more (one per column of A), got {X.shape[0]}")
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    out = np.zeros((len(indptr) - 1,) + X.shape[1:], dtype=np.result_type(data, X))
    np.add.at(out, rows, data.reshape((-1,) + (1,) * (X.ndim - 1)) * X[indices])
    return out


@validate(w=Array())
def to_bitmask(w):
    """Return (bits, values): one bit per entry (packed 8 per byte, row-major) and the non-zeros."""
    return np.packbits((w != 0).reshape(-1)), w[w != 0]


@validate(bits=Array(integer=True), values=DATA, shape=SHAPE)
def from_bitmask(bits, values, shape):
    """Rebuild the dense array from a packed bitmask and its non-zero values."""
    shape = _shape(shape)
    n = math.prod(shape)
    bits = bits.astype(np.uint8)
    if bits.size != math.ceil(n / 8):
        raise ValueError(f"shape {shape} needs {math.ceil(n / 8)} bytes of bits, got {bits.size}")
    keep = np.unpackbits(bits, count=n).astype(bool)
    out = np.zeros(n, dtype=np.asarray(values).dtype)
    out[keep] = values
    return out.reshape(shape)


def _shape(shape):
    if not hasattr(shape, "__len__") or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in shape):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def _check_csr(data, indices, indptr):
    data = v.as_array(data, "data", allow_empty=True)
    indices = v.as_array(indices, "indices", allow_empty=True)
    indptr = v.as_array(indptr, "indptr")
    if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise TypeError(f"indices and indptr must be integer arrays, got {indices.dtype} and {indptr.dtype}")
    if data.shape != indices.shape or indptr[-1] != data.size or np.any(np.diff(indptr) < 0):
        raise ValueError("data and indices must have one entry per non-zero, and indptr must rise from 0 to that count")
    return data, indices, indptr


@validate(shape=SHAPE, value_bits=Integer(minimum=1))
def dense_bytes(shape, value_bits=32):
    """Bytes of a dense array: n * b / 8."""
    return math.prod(shape) * value_bits / 8


@validate(shape=Sequence(Integer(minimum=0), min_len=1), nnz=Integer(minimum=0), value_bits=Integer(minimum=1),
          index_bits=Integer(minimum=1))
def csr_bytes(shape, nnz, value_bits=32, index_bits=32):
    """Bytes of CSR: nnz (b + b_idx) / 8 + (rows + 1) b_idx / 8."""
    if nnz > math.prod(shape):
        raise ValueError(f"nnz must be <= the number of entries {math.prod(shape)}, got {nnz}")
    return (nnz * (value_bits + index_bits) + (shape[0] + 1) * index_bits) / 8


@validate(shape=SHAPE, nnz=Integer(minimum=0), value_bits=Integer(minimum=1))
def bitmask_bytes(shape, nnz, value_bits=32):
    """Bytes of a bitmask format: ceil(n / 8) + nnz b / 8."""
    if nnz > math.prod(shape):
        raise ValueError(f"nnz must be <= the number of entries {math.prod(shape)}, got {nnz}")
    return math.ceil(math.prod(shape) / 8) + nnz * value_bits / 8
