"""Measure lesson 12's layer-wise methods on lesson 05's digits MLP, and their cost vs layer width.

Not a test (it times things): `python3 tools/measure_layerwise.py [--cost]`. The numbers feed the lesson.

Set-up, fixed before the numbers: the MLP 64-128-64-10 (ReLU) of lesson 05, trained 20 epochs with its
recipe, seeds 0, 1, ...; calibration = 256 training images drawn with the model's seed; accuracy on the
test split (360 images). Every layer is compressed in turn on the inputs the ALREADY compressed layers
before it produce (the references' sequential order). Equal budgets: quantization uses the same per-row
asymmetric min-max grid for RTN and GPTQ (same bits, same bytes); pruning removes the same count per
layer up to rounding: lesson 05's magnitude rule prunes round(s * size) of a layer, Wanda
floor(s * in) of each row, SparseGPT floor(s * block) + 1 of each 128-column block (the printed sparsity
is the measured one). Biases stay float.
Decision rule: a method "beats" another when the mean paired difference (same seed) is > 0 AND all
seeds agree in sign; otherwise "no clear difference". One test image is 1/360 = 0.0028 of accuracy.
"""
import argparse
import time

import numpy as np

from course_lib.core.data import load_digits_split
from course_lib.core.layers import digits_cnn
from course_lib.core.measure import format_seconds, mean_std
from course_lib.core.nn import MLP, accuracy, train
from course_lib.pruning.gptq import dequantize_codes, gptq, rtn
from course_lib.pruning.layerwise import compress_layers, hessian_from_inputs, layer_error
from course_lib.pruning.masks import magnitude_mask
from course_lib.pruning.nm_sparsity import nm_mask
from course_lib.pruning.obq import obq
from course_lib.pruning.sparsegpt import sparsegpt
from course_lib.pruning.wanda import input_norms, wanda_mask

SIZES, SEEDS, N_CALIB = [64, 128, 64, 10], [0, 1, 2], 256
TRAIN = dict(lr=0.05, batch_size=32, momentum=0.9)


def grid(W, bits):
    """Return a per-row asymmetric min-max grid (scale, zero_point, q_min, q_max), signed codes."""
    q_min, q_max = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    lo, hi = np.minimum(W.min(1), 0), np.maximum(W.max(1), 0)
    scale = np.maximum((hi - lo) / (q_max - q_min), 1e-12)
    return scale, np.clip(q_min - np.rint(lo / scale), q_min, q_max).astype(np.int64), q_min, q_max


def quantizer(method, bits):
    def f(W, X):
        g = grid(W, bits)
        Q = rtn(W, *g) if method == "rtn" else gptq(W, hessian_from_inputs(X), *g)
        return dequantize_codes(Q, g[0], g[1])
    return f


def pruner(method, s, nm=False):
    def f(W, X):
        H, xn = hessian_from_inputs(X), input_norms(X)
        n, m = (2, 4) if nm else (None, None)
        if method == "magnitude":
            keep = nm_mask(np.abs(W), 2, 4) if nm else magnitude_mask(W, s)
        elif method == "magnitude per row":  # Wanda's granularity with x_norm = 1: separates score from granularity
            keep = wanda_mask(W, np.ones(W.shape[1]), s, n, m)
        elif method == "wanda":
            keep = wanda_mask(W, xn, s, n, m)
        else:
            W_sgpt, keep = sparsegpt(W, H, s, n, m)
            if method == "sparsegpt":
                return W_sgpt
        return W * keep  # magnitude, wanda, and SparseGPT's mask without its update
    return f


compress = compress_cnn = compress_layers  # every layer on the compressed inputs; a conv on its im2col patches


def cnn_table(d, epochs=3):
    """RTN vs GPTQ and magnitude vs Wanda vs SparseGPT on lesson 08's digits CNN (3 epochs of training)."""
    models, calib = {}, {}
    for s in SEEDS:
        models[s] = digits_cnn(seed=s)
        train(models[s], d.X_train, d.y_train, epochs=epochs, seed=s, **TRAIN)
        calib[s] = d.X_train[np.random.default_rng(s).choice(len(d.X_train), N_CALIB, replace=False)]
    print("CNN dense:", mean_std([accuracy(models[s], d.X_test, d.y_test) for s in SEEDS]))
    acc = {}
    rows = [(f"{m} {b} bits", quantizer(m, b)) for b in (4, 3, 2) for m in ("rtn", "gptq")]
    rows += [(f"{m} {int(100 * s)} %", pruner(m, s)) for s in (0.5, 0.7) for m in ("magnitude", "wanda", "sparsegpt")]
    for name, fn in rows:
        runs = [compress_cnn(models[s], calib[s], fn) for s in SEEDS]
        acc[name] = [accuracy(r[0], d.X_test, d.y_test) for r in runs]
        print(f"CNN {name:>15}: acc {mean_std(acc[name])}; rel. layer error "
              + " / ".join(f"{e:.4f}" for e in np.mean([r[1] for r in runs], axis=0)))
    for b in (4, 3, 2):
        print("   ", verdict(acc[f"gptq {b} bits"], acc[f"rtn {b} bits"], f"GPTQ {b}", f"RTN {b}"))
    for s in (50, 70):
        print("   ", verdict(acc[f"sparsegpt {s} %"], acc[f"magnitude {s} %"], f"SparseGPT {s}", f"magnitude {s}"))
        print("   ", verdict(acc[f"wanda {s} %"], acc[f"magnitude {s} %"], f"Wanda {s}", f"magnitude {s}"))


def verdict(a, b, name_a, name_b):
    d = np.array(a) - np.array(b)
    per_seed = ", ".join(f"{x:+.3f}" for x in d)
    win = name_a if d.mean() > 0 and np.all(d > 0) else name_b if d.mean() < 0 and np.all(d < 0) else None
    return f"{name_a} - {name_b}: {per_seed} -> " + (f"{win} beats" if win else f"no clear difference at {len(d)} seeds")


def accuracy_table(d):
    models = {}
    for s in SEEDS:
        models[s] = MLP(SIZES, activation="relu", seed=s)
        train(models[s], d.X_train, d.y_train, epochs=20, seed=s, **TRAIN)
    calib = {s: d.X_train[np.random.default_rng(s).choice(len(d.X_train), N_CALIB, replace=False)] for s in SEEDS}
    print("dense:", mean_std([accuracy(models[s], d.X_test, d.y_test) for s in SEEDS]))
    acc = {}
    for bits in (8, 4, 3, 2):
        for meth in ("rtn", "gptq"):
            runs = [compress(models[s], calib[s], quantizer(meth, bits)) for s in SEEDS]
            acc[meth, bits] = [accuracy(r[0], d.X_test, d.y_test) for r in runs]
            errs = np.mean([r[1] for r in runs], axis=0)
            print(f"{meth:>4} {bits} bits: acc {mean_std(acc[meth, bits])}; rel. layer error "
                  + " / ".join(f"{e:.4f}" for e in errs))
        print("   ", verdict(acc["gptq", bits], acc["rtn", bits], "GPTQ", "RTN"))
    for label, s, nm in (("50 %", 0.5, False), ("70 %", 0.7, False), ("2:4", 0.5, True)):
        for meth in ("magnitude", "magnitude per row", "wanda", "sparsegpt mask only", "sparsegpt"):
            runs = [compress(models[sd], calib[sd], pruner(meth, s, nm)) for sd in SEEDS]
            acc[meth, label] = [accuracy(r[0], d.X_test, d.y_test) for r in runs]
            errs = np.mean([r[1] for r in runs], axis=0)
            zeros = np.mean([sum(np.sum(w == 0) for w in r[0].W) / sum(w.size for w in r[0].W) for r in runs])
            print(f"{label} {meth:>19}: sparsity {zeros:.4f}, acc {mean_std(acc[meth, label])}; rel. layer error "
                  + " / ".join(f"{e:.4f}" for e in errs))
        for a, b in (("sparsegpt", "magnitude"), ("wanda", "magnitude"), ("wanda", "magnitude per row"),
                     ("sparsegpt", "wanda"),
                     ("sparsegpt", "sparsegpt mask only")):
            print("   ", verdict(acc[a, label], acc[b, label], a, b))


def rescaled(model, c=10.0, fraction=0.1, seed=0):
    """Return a copy computing the same function with outlier channels: for each hidden layer, a random
    `fraction` of its ReLU units is multiplied by c (row of W_l and b_l) and divided back by c in the
    next layer's column (ReLU is positively homogeneous). The next layer's inputs then have channels c
    times larger than the rest, carried by weights c times smaller."""
    m, rng = model.copy(), np.random.default_rng(seed)
    for l in range(len(m.W) - 1):
        J = rng.choice(m.W[l].shape[0], int(fraction * m.W[l].shape[0]), replace=False)
        m.W[l][J] *= c
        m.b[l][J] *= c
        m.W[l + 1][:, J] /= c
    return m


def outlier_table(d, c=10.0):
    """Print accuracies on the original and the rescaled (outlier-channel) models, 50 % and 4 bits."""
    models, calib = {}, {}
    for s in SEEDS:
        models[s] = MLP(SIZES, activation="relu", seed=s)
        train(models[s], d.X_train, d.y_train, epochs=20, seed=s, **TRAIN)
        calib[s] = d.X_train[np.random.default_rng(s).choice(len(d.X_train), N_CALIB, replace=False)]
    same = max(np.abs(rescaled(models[s], c, seed=s).forward(d.X_test) - models[s].forward(d.X_test)).max()
               for s in SEEDS)
    print(f"rescaling by c = {c:g}: largest output change {same:.1e} (the same function)")
    fns = {"magnitude 50 %": pruner("magnitude", 0.5), "wanda 50 %": pruner("wanda", 0.5),
           "sparsegpt 50 %": pruner("sparsegpt", 0.5), "rtn 4 bits": quantizer("rtn", 4),
           "gptq 4 bits": quantizer("gptq", 4)}
    for name, fn in fns.items():
        a = [accuracy(compress(models[s], calib[s], fn)[0], d.X_test, d.y_test) for s in SEEDS]
        b = [accuracy(compress(rescaled(models[s], c, seed=s), calib[s], fn)[0], d.X_test, d.y_test) for s in SEEDS]
        print(f"{name:>15}: original {mean_std(a)}, outlier channels {mean_std(b)}; paired "
              + ", ".join(f"{x:+.3f}" for x in np.array(b) - np.array(a)))


def order_table(d, bits_list=(3, 2)):
    """Print each digits layer's relative error for RTN, GPTQ (natural order), GPTQ act-order and OBQ (greedy).

    The dense models' own inputs (no sequential compression), 3 seeds: what the greedy order buys.
    """
    for bits in bits_list:
        errs = []
        for s in SEEDS:
            m = MLP(SIZES, activation="relu", seed=s)
            train(m, d.X_train, d.y_train, epochs=20, seed=s, **TRAIN)
            m.forward(d.X_train[np.random.default_rng(s).choice(len(d.X_train), N_CALIB, replace=False)], keep=True)
            row = []
            for l, W in enumerate(m.W):
                H, g = hessian_from_inputs(m.cache[l][1]), grid(W, bits)
                base = layer_error(W, 0 * W, H)
                for Q in (rtn(W, *g), gptq(W, H, *g), gptq(W, H, *g, act_order=True), obq(W, H, *g)):
                    row.append(layer_error(W, dequantize_codes(Q, g[0], g[1]), H) / base)
            errs.append(np.reshape(row, (len(m.W), 4)))
        errs = np.array(errs)  # seed, layer, method
        for l in range(errs.shape[1]):
            print(f"{bits} bits, layer {l + 1}: rel. error RTN / GPTQ / GPTQ act-order / OBQ = "
                  + " / ".join(f"{e:.4f}" for e in errs[:, l].mean(0))
                  + "; OBQ vs GPTQ per seed: " + ", ".join(f"{x:.3f}x" for x in errs[:, l, 3] / errs[:, l, 1]))


def cost_table(widths=(32, 64, 128, 256), gptq_only=(512, 1024)):
    """Print seconds per square layer (d x d, 2d calibration rows) for OBQ and GPTQ at 4 bits."""
    for d in widths + gptq_only:
        rng = np.random.default_rng(d)
        W, X = rng.normal(size=(d, d)), rng.normal(size=(2 * d, d))
        H, g = hessian_from_inputs(X), grid(W, 4)
        t0 = time.perf_counter()
        gptq(W, H, *g)
        t_gptq = time.perf_counter() - t0
        line = f"d = {d:4d}: GPTQ {format_seconds(t_gptq)}"
        if d in widths:
            t0 = time.perf_counter()
            obq(W, H, *g)
            t_obq = time.perf_counter() - t0
            line += f", OBQ {format_seconds(t_obq)} ({t_obq / t_gptq:.0f}x)"
        print(line, flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cost", action="store_true", help="also time OBQ against GPTQ")
    ap.add_argument("--seeds", type=int, default=3, help="number of seeds (0, 1, ...); 5 where a verdict is at stake")
    ap.add_argument("--order", action="store_true", help="only the OBQ / GPTQ order comparison")
    ap.add_argument("--outliers", action="store_true", help="only the outlier-channel (rescaled) comparison")
    ap.add_argument("--cnn", action="store_true", help="only the digits CNN (no 2:4: conv 1 has 9 inputs)")
    args = ap.parse_args()
    SEEDS[:] = range(args.seeds)
    if args.order:
        order_table(load_digits_split())
    elif args.outliers:
        outlier_table(load_digits_split())
    elif args.cnn:
        cnn_table(load_digits_split())
    else:
        accuracy_table(load_digits_split())
    if args.cost:
        cost_table()
