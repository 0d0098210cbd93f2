"""Weight sharing by k-means from scratch: a codebook of k = 2^bits centroids and one index per weight.

Han, Mao & Dally 2016, "Deep Compression: Compressing Deep Neural Networks with Pruning, Trained
Quantization and Huffman Coding", ICLR, sec. 3. The n weights of a layer are clustered into k groups
C = {c_1, ..., c_k} by minimising the within-cluster sum of squares (eq. 2)

    argmin_C  sum_i sum_{w in c_i} |w - c_i|^2,

then stored as k float centroids plus n indices of log2(k) bits (eq. 1: the compression rate
r = n b / (n log2(k) + k b)). Pruned weights (mask False, or exactly 0) are not clustered: they keep
index -1 and stay 0. Shared weights are fine-tuned through their centroids: the gradient of a centroid
is the sum of its weights' gradients (eq. 3), or their mean.
Framework twins (tests/test_weight_sharing.py): scikit-learn's KMeans(algorithm="lloyd") from the same
initial centroids; tfmot's clustering (LinearCentroidsInitialisation, nearest-centroid pulling indices,
GradientAggregation SUM and AVG); torch autograd through a gather for eq. 3.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Bits, Choice, Integer, Mapping, Optional, Seed, validate

INDICES = Array(allow_empty=True, integer=True)  # a centroid per weight, -1 = pruned

INITS = ("linear", "density", "random")


def _weights(w, mask):
    w = v.as_array(w, "w").astype(np.float64)
    if mask is None:
        return w, w != 0
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != w.shape:
        raise ValueError(f"mask must be a bool array of w's shape {w.shape}, got {m.dtype} {m.shape}")
    return w, m


@validate(w=Array(), k=Integer(minimum=1), method=Choice(*INITS), seed=Seed())
def init_centroids(w, k, method="linear", seed=0):
    """Return k initial centroids for the values w (Han et al. 2016, sec. 3.2, Fig. 4).

    linear:  evenly spaced in [min w, max w] (the paper's choice: it keeps the rare large weights);
    density: the quantiles at (j + 1/2) / k, j = 0..k-1 (evenly spaced on the CDF's y axis, then
             read off its x axis: dense where weights are dense);
    random:  k distinct weights drawn at random (Forgy), with np.random.default_rng(seed).
    """
    w = w.astype(np.float64).reshape(-1)
    if method == "linear":
        return np.linspace(w.min(), w.max(), k)
    if method == "density":
        return np.quantile(w, (np.arange(k) + 0.5) / k)
    if k > w.size:
        raise ValueError(f"k must be <= the number of weights ({w.size}) for random init, got {k}")
    rng = np.random.default_rng(seed)
    return rng.choice(w, size=k, replace=False)


@validate(w=Array(), centroids=Array())
def assign(w, centroids):
    """Return the index of the nearest centroid of every value: argmin_j |w - c_j| (lowest j on ties)."""
    w = w.astype(np.float64)
    c = centroids.astype(np.float64).reshape(-1)
    return np.abs(w.reshape(-1, 1) - c.reshape(1, -1)).argmin(axis=1).reshape(w.shape)


@validate(w=Array(), centroids=Array(), max_iter=Integer(minimum=1))
def kmeans(w, centroids, max_iter=300):
    """Run Lloyd's algorithm on the values w from the given centroids; return (centroids, labels).

    Repeat: label each value with its nearest centroid, move each centroid to the mean of its
    values; stop when no label changes (scikit-learn's KMeans(algorithm="lloyd", tol=0) criterion)
    or after max_iter rounds. A centroid that loses all its values stays where it is.
    """
    w = w.astype(np.float64).reshape(-1)
    c = centroids.astype(np.float64).reshape(-1).copy()
    labels = assign(w, c)
    for _ in range(max_iter):
        sums = np.bincount(labels, weights=w, minlength=c.size)
        counts = np.bincount(labels, minlength=c.size)
        c = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        new = assign(w, c)
        if np.array_equal(new, labels):
            break
        labels = new
    return c, labels


@validate(w=Array(), bits=Bits(), mask=Optional(Array()), init=Choice(*INITS), seed=Seed(), max_iter=Integer(minimum=1),
          k=Optional(Integer(minimum=1)))
def share_weights(w, bits, mask=None, init="linear", seed=0, max_iter=300, k=None):
    """Cluster the kept weights of one layer into k = 2^bits shared values; return (codebook, indices).

    indices has w's shape: the centroid of each kept weight, -1 for a pruned one (mask False, or
    w == 0 when no mask is given). Rebuild the layer with `reconstruct(codebook, indices)`.
    k < 2^bits clusters leave codes free, e.g. k = 2^bits - 1 keeps one code for the zero that
    relative-index CSR stores as a filler (entropy_coding.to_relative_csr); fewer distinct weights
    than k give fewer clusters.
    """
    w, m = _weights(w, mask)
    k_max = 2 ** bits if k is None else k
    if k_max > 2 ** bits:
        raise ValueError(f"k must be <= 2^bits = {2 ** bits}, got {k_max}")
    indices = np.full(w.shape, -1, dtype=np.int64)
    kept = w[m]
    if kept.size == 0:
        return np.zeros(0), indices
    k = min(k_max, np.unique(kept).size)
    c, labels = kmeans(kept, init_centroids(kept, k, init, seed), max_iter)
    indices[m] = labels
    return c, indices


@validate(codebook=Array(allow_empty=True), indices=INDICES)
def reconstruct(codebook, indices):
    """Return the shared weights W_ij = codebook[indices_ij], and 0 where indices_ij = -1."""
    c = codebook.astype(np.float64).reshape(-1)
    idx = _indices(indices, c.size)
    return np.where(idx >= 0, c[np.maximum(idx, 0)] if c.size else 0.0, 0.0)


def _indices(indices, k):
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < -1 or idx.max() >= k):
        raise ValueError(f"indices must be in [-1, {k - 1}] (-1 = pruned), got values in [{idx.min()}, {idx.max()}]")
    return idx


def _cluster_sums(values, idx, k):
    """Return (sum of values, count) per cluster index 0..k-1; pruned entries (index -1) count nowhere."""
    keep = idx >= 0
    return np.bincount(idx[keep], weights=values[keep], minlength=k), np.bincount(idx[keep], minlength=k)


@validate(grad=Array(), indices=INDICES, k=Integer(minimum=1), reduce=Choice("sum", "mean"))
def centroid_gradients(grad, indices, k, reduce="sum"):
    """Return dL/dc_j = sum (or mean) of dL/dW_ij over the weights with index j (Han et al. 2016, eq. 3).

        dL/dc_k = sum_ij dL/dW_ij 1(I_ij = k)
    reduce="mean" divides by the cluster's size (0 for an empty cluster); pruned weights (-1) count nowhere.
    """
    g = grad.astype(np.float64)
    idx = _indices(indices, k)
    if idx.shape != g.shape:
        raise ValueError(f"indices must have grad's shape {g.shape}, got {idx.shape}")
    sums, counts = _cluster_sums(g, idx, k)
    if reduce == "sum":
        return sums
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


@validate(w=Array(), indices=INDICES, k=Integer(minimum=1))
def tie_weights(w, indices, k):
    """Return (codebook, W): each centroid set to the mean of its weights, and W = codebook[indices].

    After a (momentum) SGD step on the shared weights, the cluster means equal one step of the same
    optimiser on the centroids with the MEAN gradient (the update is linear in the gradient), so tying
    the weights after every step fine-tunes the centroids as Han et al. 2016, sec. 3.3 (averaged).
    """
    w = w.astype(np.float64)
    idx = _indices(indices, k)
    if idx.shape != w.shape:
        raise ValueError(f"indices must have w's shape {w.shape}, got {idx.shape}")
    sums, counts = _cluster_sums(w, idx, k)
    c = sums / np.maximum(counts, 1)
    return c, np.where(idx >= 0, c[np.maximum(idx, 0)], 0.0)


@validate(indices=Mapping(INDICES))
def tie_hook(indices):
    """Return on_step(step, model) for nn.train: tie every shared layer (a dict layer -> indices).

    nn.train calls it before each step; call it once more after training to tie the last step's update.
    """
    table = {int(l): (np.asarray(i), int(np.max(i)) + 1) for l, i in indices.items()}

    def on_step(step, model):
        for l, (idx, k) in table.items():
            model.W[l] = tie_weights(model.W[l], idx, max(k, 1))[1]
    return on_step


@validate(n=Integer(minimum=1), bits=Bits(), value_bits=Integer(minimum=1))
def compression_rate(n, bits, value_bits=32):
    """Return r = n b / (n log2(k) + k b), k = 2^bits: dense over codebook storage (Han et al. 2016, eq. 1)."""
    return n * value_bits / (n * bits + 2 ** bits * value_bits)


@validate(n=Integer(minimum=0), bits=Bits(), value_bits=Integer(minimum=1))
def codebook_bits(n, bits, value_bits=32):
    """Return the bits of a shared layer: n indices of `bits` bits plus 2^bits centroids of value_bits."""
    return n * bits + 2 ** bits * value_bits
