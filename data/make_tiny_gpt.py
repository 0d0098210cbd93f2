"""Build the tiny language model's corpus and train its weights (see data/README.md).

    python data/make_tiny_gpt.py corpus   # data/python_docstrings.txt from this Python's standard library
    python data/make_tiny_gpt.py train    # data/tiny_gpt.npz: TinyGPT trained with PyTorch
    python data/make_tiny_gpt.py          # both

Deterministic: the corpus depends only on the CPython version (3.11.7 wrote the shipped file);
training is seeded, uses torch's deterministic kernels and 1 thread, so the same CPU and the same
torch (2.13.0+cpu) give the same weights bit for bit (TinyGPT.save writes a byte-reproducible .npz).
Another CPU or BLAS may round differently; the weights then differ slightly and the perplexity by a
few thousandths. Run time measured for `train` on a loaded 2-core machine: see data/README.md.
"""
import ast
import hashlib
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from course_lib.core.text import CORPUS_PATH, DOC_SEPARATOR, VOCAB, corpus_split, encode  # noqa: E402
from course_lib.core.transformer import WEIGHTS_PATH, GPTConfig, TinyGPT, mean_nll  # noqa: E402
from course_lib.frameworks import import_torch  # noqa: E402
from course_lib.frameworks.torch_transformer import from_torch, to_torch  # noqa: E402

# Modules under a licence of their own besides the PSF's ("Licenses and Acknowledgements for
# Incorporated Software" in the Python documentation): left out so that the corpus is PSF-only.
EXCLUDED = {"asynchat", "asyncore", "trace", "uu"}
SEED, STEPS, BATCH, LR, WARMUP, THREADS = 0, 600, 16, 1e-2, 50, 1


def stdlib_docstrings(root=None):
    """Return the docstrings (module, class, function; >= 40 characters) of the top-level stdlib modules.

    Files in sorted order, nodes in ast.walk order; docstrings cleaned by ast.get_docstring (indent
    removed); a docstring with a character outside VOCAB, or with three newlines in a row, is left out;
    repeated docstrings are kept once.
    """
    root = Path(sysconfig.get_paths()["stdlib"] if root is None else root)
    docs, seen = [], set()
    for path in sorted(root.glob("*.py")):
        if path.stem in EXCLUDED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in nodes:
            d = ast.get_docstring(node, clean=True)
            if d and len(d) >= 40 and DOC_SEPARATOR not in d and set(d) <= set(VOCAB) and d not in seen:
                seen.add(d)
                docs.append(d)
    return docs


def write_corpus(path=CORPUS_PATH):
    """Write the docstrings, joined by DOC_SEPARATOR, as ASCII text, and the PSF licence beside them."""
    Path(path).write_text(DOC_SEPARATOR.join(stdlib_docstrings()) + "\n", encoding="ascii")
    licence = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    (Path(path).parent / "LICENSE-PSF.txt").write_bytes(licence.read_bytes())
    return path


def batches(tokens, steps, batch, context, seed):
    """Yield (x, y) int64 batches of random windows: y is x shifted by one token."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, tokens.size - context - 1, batch)
        idx = starts[:, None] + np.arange(context)
        yield tokens[idx], tokens[idx + 1]


def learning_rate(step, steps=STEPS):
    """Linear warm-up for WARMUP steps, then cosine decay from LR to LR / 10."""
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, steps - WARMUP)
    return LR / 10 + 0.5 * (LR - LR / 10) * (1 + np.cos(np.pi * progress))


def train(path=WEIGHTS_PATH, steps=STEPS, seed=SEED):
    """Train a TinyGPT (GPTConfig defaults) with AdamW on the train split; save it; return the model."""
    torch = import_torch(seed, threads=THREADS)
    config, split = GPTConfig(), corpus_split()
    module = to_torch(TinyGPT.init(config, seed)).train()
    opt = torch.optim.AdamW(module.parameters(), lr=LR, betas=(0.9, 0.99), weight_decay=0.01)
    t0 = time.perf_counter()
    for step, (x, y) in enumerate(batches(encode(split["train"]), steps, BATCH, config.context, seed)):
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, steps)
        logits = module(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, config.vocab_size), torch.from_numpy(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  train loss {loss.item():.3f}  {time.perf_counter() - t0:.0f} s", flush=True)
    model = TinyGPT(config, from_torch(module))
    model.save(path)
    val = mean_nll(model, encode(split["val"]))
    print(f"trained {steps} steps in {time.perf_counter() - t0:.0f} s; val perplexity {np.exp(val):.3f}; "
          f"sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()}")
    return model


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("corpus", "all"):
        print("wrote", write_corpus())
    if what in ("train", "all"):
        train()
