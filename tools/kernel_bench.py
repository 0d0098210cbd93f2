"""Time course_lib's numpy kernels against their torch CPU twins: same inputs, one thread each.

    python3 course.py bench --kernels

Each line prints both times (the minimum of interleaved runs: the least disturbed by other processes)
and the ratio numpy / torch; a ratio above 1.0 comes with the reason it is not lower.
"""
import os
import textwrap
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
from threadpoolctl import threadpool_limits  # noqa: E402

import course_lib  # noqa: E402,F401
from course_lib.distillation import kd as D# noqa: E402
from course_lib.quantization import primitives as Q# noqa: E402
from course_lib.pruning.masks import global_magnitude_masks, magnitude_mask# noqa: E402
from course_lib.core.measure import format_seconds# noqa: E402

N = 4_000_000


def _best(fns, repeat):
    """Return the minimum seconds of each function, calls interleaved so that noise hits both alike."""
    best = [np.inf] * len(fns)
    for f in fns:
        f()  # warm-up: first-touch page faults, lazy initialisation
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def _cases(torch):
    """Yield (name, numpy function, torch function, reason if slower) on the issue's shapes."""
    import torch.nn.utils.prune as prune

    rng = np.random.default_rng(0)
    w = rng.normal(size=N).astype(np.float32)
    tw = torch.from_numpy(w)
    ones = torch.ones_like(tw)
    l1 = prune.L1Unstructured(amount=0.5)
    yield ("magnitude mask, torch rule, 4M", lambda: magnitude_mask(w, 0.5, rule="torch"),
           lambda: l1.compute_mask(tw, ones), "")

    def tfmot_twin(t=tw, s=0.5):  # tfmot's _update_mask in torch: k-th largest |w| by kthvalue, keep >=
        a = t.abs()
        k = max(round(a.numel() * (1 - s)), 1)
        return a >= torch.kthvalue(a.view(-1), a.numel() - k + 1).values
    yield ("magnitude mask, tfmot rule, 4M", lambda: magnitude_mask(w, 0.5, rule="tfmot"), tfmot_twin, "")

    ws = [rng.normal(scale=s, size=(1000, 2000)).astype(np.float32) for s in (1.0, 0.3)]
    tws = [torch.from_numpy(x) for x in ws]

    def global_twin():  # prune.global_unstructured's work without modules: one L1Unstructured mask, split
        flat = torch.cat([t.abs().view(-1) for t in tws])
        mask = prune.L1Unstructured(amount=0.5).compute_mask(flat, torch.ones_like(flat))
        return [m.view_as(t) for m, t in zip(torch.split(mask, [t.numel() for t in tws]), tws)]
    yield ("global masks, 2 x 2M", lambda: global_magnitude_masks(ws, 0.5), global_twin, "")

    x = (rng.normal(size=(1000, 4000)) * 2).astype(np.float32)
    tx = torch.from_numpy(x)
    scale, zp = Q.qparams(float(x.min()), float(x.max()))
    yield ("fake-quantize per tensor, 4M", lambda: Q.fake_quantize(x, scale, zp, -128, 127, rule="torch"),
           lambda: torch.fake_quantize_per_tensor_affine(tx, scale, zp, -128, 127), "")
    s_c, z_c = Q.qparams(x.min(axis=1), x.max(axis=1))
    ts, tz = torch.from_numpy(s_c), torch.from_numpy(z_c.astype(np.int32))
    yield ("fake-quantize per channel, 4M", lambda: Q.fake_quantize(x, s_c, z_c, -128, 127, axis=0, rule="torch"),
           lambda: torch.fake_quantize_per_channel_affine(tx, ts, tz, 0, -128, 127), "")

    z = rng.normal(size=(4096, 1000)).astype(np.float32)
    t = rng.normal(size=(4096, 1000)).astype(np.float32)
    y = rng.integers(0, 1000, size=4096)
    tz_, tt_, ty_ = torch.from_numpy(z), torch.from_numpy(t), torch.from_numpy(y)
    F = torch.nn.functional

    def kd_twin(T=4.0, alpha=0.9):  # Hinton et al. 2015 in torch, as the PyTorch distillation tutorial
        soft = F.kl_div(F.log_softmax(tz_ / T, dim=1), F.softmax(tt_ / T, dim=1), reduction="batchmean")
        return alpha * T * T * soft + (1 - alpha) * F.cross_entropy(tz_, ty_)
    yield ("KD loss, 4096 x 1000 logits", lambda: D.kd_loss(z, t, y, 4.0, 0.9), kd_twin, "")

    yield from _int8_gemm(torch, rng)


def _int8_gemm(torch, rng, n=256, k=1024, m=1024):
    """int8 x int8 -> int32 -> requantized int8, per-channel weights, vs torch's fbgemm quantized linear."""
    q_x = rng.integers(-128, 128, size=(n, k)).astype(np.int8)
    q_w = rng.integers(-127, 128, size=(m, k)).astype(np.int8)
    x_s, x_z, w_s = 0.02, 3, rng.uniform(0.001, 0.01, size=m)
    y_s, y_z = 2.0, -5
    xq = torch._make_per_tensor_quantized_tensor(torch.from_numpy(q_x.astype(np.uint8) ^ 0x80).view(torch.uint8),
                                                 x_s, x_z + 128)  # quint8 = int8 + 128, as fbgemm wants
    wq = torch._make_per_channel_quantized_tensor(torch.from_numpy(q_w), torch.from_numpy(w_s),
                                                  torch.zeros(m, dtype=torch.int64), 0)
    packed = torch.ops.quantized.linear_prepack(wq, None)
    yield (f"int8 GEMM + requantize, {n} x {k} x {m}",
           lambda: Q.int8_dense(q_x, x_s, x_z, q_w, w_s, y_s, y_z),
           lambda: torch.ops.quantized.linear(xq, packed, y_s, y_z + 128),
           "numpy has no int8 matrix product; the exact int32 sums go through float32 sgemm (int_matmul), "
           "1 multiply-add per 32-bit lane, where torch's fbgemm uses int8 dot-product instructions "
           "(AVX-512 VNNI vpdpbusd / AVX2 vpmaddubsw), 4 per lane. The line below shows the float32 floor.")
    a32, b32 = q_x.astype(np.float32), np.ascontiguousarray(q_w.T, dtype=np.float32)
    ta, tb = torch.from_numpy(a32), torch.from_numpy(b32)
    yield (f"  float32 GEMM alone, {n} x {k} x {m}", lambda: a32 @ b32, lambda: ta @ tb,
           "both call a float32 GEMM (OpenBLAS vs oneDNN/MKL); the gap is their kernels' own")


def run(repeat=7):
    """Print one line per kernel: numpy seconds, torch seconds and numpy / torch."""
    import warnings

    from course_lib.frameworks import import_torch
    warnings.filterwarnings("ignore", message=".*quantized tensor.*deprecated")  # fbgemm's linear: timing only
    torch = import_torch(threads=1)
    torch.use_deterministic_algorithms(False)  # quantized linear has no "deterministic" variant; timing only
    print(f"\n{'kernel (one thread)':44s} {'numpy':>10s} {'torch':>10s} {'ratio':>7s}")
    with threadpool_limits(1):
        for name, ours, twin, why in _cases(torch):
            t_np, t_torch = _best([ours, twin], repeat)
            r = t_np / t_torch
            print(f"{name:44s} {format_seconds(t_np):>10s} {format_seconds(t_torch):>10s} {r:6.2f}x", flush=True)
            if r > 1:
                print(textwrap.fill(f"why > 1: {why or 'not known: a regression, look at this kernel'}",
                                    width=100, initial_indent="    ", subsequent_indent="    "))


if __name__ == "__main__":
    run()
