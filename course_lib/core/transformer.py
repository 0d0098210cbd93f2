"""A tiny decoder-only transformer (a character-level GPT) in numpy, float32 throughout.

    model = load_tiny_gpt()                     # the pretrained weights of data/tiny_gpt.npz
    logits = model.forward(encode("def f(x):")[None])   # (batch, time, vocab) float32
    model.to_torch()                            # a torch.nn.Module with the same weights and logits

The architecture is GPT-2's (Radford et al. 2019, "Language Models are Unsupervised Multitask
Learners", sec. 2.3): token + position embeddings, n_layer pre-LayerNorm blocks
    x <- x + Attn(LN_1(x)),   x <- x + MLP(LN_2(x)),
a final LayerNorm and a linear head to the vocabulary. Attention is causal multi-head scaled
dot-product attention (Vaswani et al. 2017, "Attention Is All You Need", NeurIPS, eqs. 1-2); the MLP
is Linear(d, 4d) -> GELU -> Linear(4d, d) with GELU's tanh approximation (Hendrycks & Gimpel 2016,
"Gaussian Error Linear Units", sec. 2), as GPT-2 and the torch twin (nn.GELU(approximate="tanh")) use.

Parameters live in one dict `model.params` (name -> float32 array), named as GPT-2's:
`wte`, `wpe`, `h.{l}.ln_1.weight`, `h.{l}.attn.c_attn.weight` (the fused q, k, v projection),
`h.{l}.attn.c_proj`, `h.{l}.mlp.c_fc`, `h.{l}.mlp.c_proj`, `ln_f`, `lm_head`. Linear weights are
(out, in) as torch.nn.Linear: y = x W^T + b. Compression lessons edit `model.params` in place.
Every linear layer reports its input to an optional hook(name, x): the calibration inputs X of
lessons 12-14 (H = 2 X X^T) come from `calibration_inputs`, never from a re-typed forward pass.
"""
import json
import math
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import validation as v
from .lazy import LazyModule
from .text import PATH, VOCAB, decode, encode, windows  # noqa: F401  (encode/decode are part of this module's contract)
from .validation import Array, Callable, InstanceOf, Integer, Mapping, Optional, Positive, validate

# The torch twin, for the contract method TinyGPT.to_torch(): the core's one reference to a later part,
# loaded (with torch) on first use, so importing the core never imports torch (tests/test_layout.py).
TORCH_TWIN = LazyModule("course_lib.frameworks.torch_transformer")

WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "data" / "tiny_gpt.npz"


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a TinyGPT: vocabulary, context length, width, heads, blocks (d_ff = 4 d_model)."""

    vocab_size: int = len(VOCAB)
    context: int = 128
    d_model: int = 128
    n_head: int = 4
    n_layer: int = 4

    def __post_init__(self):
        if self.d_model % self.n_head:
            raise ValueError(f"n_head must divide d_model={self.d_model}, got {self.n_head}")

    @property
    def d_ff(self):
        return 4 * self.d_model


GPTConfig.__init__ = validate(**{f: Integer(minimum=1) for f in ("vocab_size", "context", "d_model", "n_head",
                                                                   "n_layer")})(GPTConfig.__init__)
CONFIG = InstanceOf(GPTConfig, GPTConfig)


class _FloatArray(v.Constraint):
    """A float numpy array (the forward pass's arrays: their values are not scanned, to stay fast);
    `axes` names the dimensions when their number is fixed."""

    def __init__(self, axes=None):
        self.axes = axes

    def check(self, x, name):
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            raise TypeError(f"{name} must be a float numpy array, got {type(x).__name__} "
                            f"{getattr(x, 'dtype', '')}".rstrip())
        if self.axes is not None and x.ndim != len(self.axes):
            raise ValueError(f"{name} must have shape ({', '.join(self.axes)}), got {x.shape}")
        return x

    def good(self):
        return np.ones((2,) * (len(self.axes) if self.axes else 2), np.float32)

    def bad(self):
        return [[1.0], np.ones(2, int)] + ([np.ones((2,) * (len(self.axes) + 1), np.float32)] if self.axes else [])


FLOATS = _FloatArray()


@validate(config=CONFIG)
def param_shapes(config):
    """Return name -> shape of every parameter of a TinyGPT of this config, in forward order."""
    d, f = config.d_model, config.d_ff
    shapes = {"wte": (config.vocab_size, d), "wpe": (config.context, d)}
    for l in range(config.n_layer):
        for name, (n_out, n_in) in (("ln_1", (d, None)), ("attn.c_attn", (3 * d, d)), ("attn.c_proj", (d, d)),
                                    ("ln_2", (d, None)), ("mlp.c_fc", (f, d)), ("mlp.c_proj", (d, f))):
            shapes[f"h.{l}.{name}.weight"] = (n_out,) if n_in is None else (n_out, n_in)
            shapes[f"h.{l}.{name}.bias"] = (n_out,)
    shapes |= {"ln_f.weight": (d,), "ln_f.bias": (d,), "lm_head.weight": (config.vocab_size, d),
               "lm_head.bias": (config.vocab_size,)}
    return shapes


@validate(x=FLOATS, gamma=FLOATS, beta=FLOATS, eps=Positive())
def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise over the last axis: y = (x - mean) / sqrt(var + eps) * gamma + beta.

    var is the biased variance (divide by d), as torch.nn.LayerNorm (Ba, Kiros & Hinton 2016,
    "Layer Normalization", eq. 4).
    """
    for a, name in ((gamma, "gamma"), (beta, "beta")):
        if np.shape(a) != x.shape[-1:]:
            raise ValueError(f"{name} must have shape {x.shape[-1:]} (the last axis of x), got {np.shape(a)}")
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + np.float32(eps)) * gamma + beta


@validate(x=FLOATS)
def gelu(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel 2016)."""
    c = np.float32(math.sqrt(2.0 / math.pi))
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(c * (x + np.float32(0.044715) * (x * x * x))))


@validate(x=FLOATS, W=FLOATS, b=FLOATS)
def linear(x, W, b):
    """y = x W^T + b, W of shape (out, in): as torch.nn.Linear (x of any leading shape, (..., in))."""
    if np.ndim(W) != 2 or W.shape[1] != x.shape[-1] or np.shape(b) != W.shape[:1]:
        raise ValueError(f"W must have shape (out, {x.shape[-1]}) and b (out,), got {np.shape(W)} and {np.shape(b)}")
    return (x.reshape(-1, x.shape[-1]) @ W.T + b).reshape(x.shape[:-1] + (W.shape[0],))


@validate(z=FLOATS, axis=Integer())
def softmax(z, axis=-1):
    """softmax(z)_i = exp(z_i - max z) / sum_j exp(z_j - max z); masked entries (-inf) get 0."""
    axis = v.axis(axis, z.ndim)  # an axis of z
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@validate(t_query=Integer(minimum=1), t_key=Integer(minimum=1))
def causal_mask(t_query, t_key):
    """Return the (t_query, t_key) bool mask of allowed pairs: query i (at position t_key - t_query + i) sees keys j <= it.

    Without a cache t_query == t_key and this is the lower triangle (Vaswani et al. 2017, sec. 3.2.3).
    """
    if t_query > t_key:
        raise ValueError(f"t_query must be <= t_key (queries are the last t_query keys), got {t_query} > {t_key}")
    offset = t_key - t_query
    return np.arange(t_key)[None, :] <= offset + np.arange(t_query)[:, None]


@validate(q=FLOATS, k=FLOATS, v_=FLOATS)
def attention(q, k, v_):
    """Causal scaled dot-product attention: softmax(q k^T / sqrt(d_k) + M) v (Vaswani et al. 2017, eq. 1).

    q: (..., t_q, d_k); k, v_: (..., t_k, d_k); M is -inf where causal_mask is False.
    """
    if k.shape != v_.shape or q.shape[:-2] != k.shape[:-2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q, k and v_ must be (..., t, d_k) with k and v_ alike, got {q.shape}, {k.shape}, {v_.shape}")
    scores = q @ np.ascontiguousarray(np.swapaxes(k, -1, -2)) / np.float32(math.sqrt(q.shape[-1]))
    scores = np.where(causal_mask(q.shape[-2], k.shape[-2]), scores, np.float32(-np.inf))
    return softmax(scores) @ v_


@validate(x=_FloatArray(("batch", "time", "d")), n_head=Integer(minimum=1))
def split_heads(x, n_head):
    """(batch, time, d) -> (batch, n_head, time, d / n_head): head h holds features h d_k .. (h+1) d_k - 1."""
    b, t, d = x.shape
    if n_head > d or d % n_head:
        raise ValueError(f"n_head must divide d={d}, got {n_head}")
    return np.ascontiguousarray(x.reshape(b, t, n_head, d // n_head).transpose(0, 2, 1, 3))


@validate(x=_FloatArray(("batch", "n_head", "time", "d_k")))
def merge_heads(x):
    """(batch, n_head, time, d_k) -> (batch, time, n_head d_k): Concat(head_1, ..., head_h) (Vaswani eq. 2)."""
    b, h, t, dk = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * dk)


class KVCache:
    """The keys and values of every token seen so far, one (batch, n_head, t, d_k) pair per block.

    `update(l, k, v)` appends the new tokens' k, v and returns the full K, V that attention uses.
    A compressed cache (lesson 13) overrides `update` and keeps the same interface.
    """

    @validate(n_layer=Integer(minimum=1))
    def __init__(self, n_layer):
        self.n_layer = n_layer
        self.k, self.v = [None] * self.n_layer, [None] * self.n_layer

    @property
    def length(self):
        """Tokens stored so far (0 for a fresh cache)."""
        return 0 if self.k[0] is None else self.k[0].shape[2]

    def update(self, layer, k, v_):
        """Append k, v (batch, n_head, t_new, d_k) to block `layer`; return the full (K, V)."""
        layer = v.integer(layer, "layer", minimum=0, maximum=self.n_layer - 1)
        if self.k[layer] is None:
            self.k[layer], self.v[layer] = k, v_
        else:
            self.k[layer] = np.concatenate([self.k[layer], k], axis=2)
            self.v[layer] = np.concatenate([self.v[layer], v_], axis=2)
        return self.k[layer], self.v[layer]

    @property
    def nbytes(self):
        """Bytes the stored keys and values take."""
        return int(sum(a.nbytes for a in self.k + self.v if a is not None))


class TinyGPT:
    """A decoder-only transformer: logits = head(LN_f(blocks(wte[tokens] + wpe[positions])))."""

    @validate(config=CONFIG, params=Mapping(Array()))
    def __init__(self, config, params):
        shapes = param_shapes(config)
        if set(params) != set(shapes):
            raise ValueError(f"params must hold exactly the parameters of the config; missing "
                             f"{sorted(set(shapes) - set(params))}, unknown {sorted(set(params) - set(shapes))}")
        self.config = config
        self.params = {}
        for name, shape in shapes.items():
            a = np.asarray(params[name])
            if a.shape != shape:
                raise ValueError(f"params[{name!r}] must have shape {shape}, got {a.shape}")
            self.params[name] = a.astype(np.float32)

    @classmethod
    def init(cls, config, seed=0):
        """Return a randomly initialised model: N(0, 0.02) weights, c_proj N(0, 0.02 / sqrt(2 n_layer)) (GPT-2)."""
        rng = np.random.default_rng(v.integer(seed, "seed", minimum=0))
        params = {}
        for name, shape in param_shapes(config).items():
            if name.endswith("bias"):
                params[name] = np.zeros(shape, np.float32)
            elif ".ln_" in name or name.startswith("ln_"):
                params[name] = np.ones(shape, np.float32)
            else:
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") else 0.02
                params[name] = rng.normal(0.0, std, shape).astype(np.float32)
        return cls(config, params)

    def copy(self):
        """Return an independent copy (compression lessons edit a copy's params in place)."""
        return TinyGPT(self.config, {k: a.copy() for k, a in self.params.items()})

    @property
    def n_params(self):
        return int(sum(a.size for a in self.params.values()))

    def linear_names(self):
        """Return the names of the linear layers, in forward order (weight = params[name + '.weight'])."""
        names = [f"h.{l}.{n}" for l in range(self.config.n_layer)
                 for n in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
        return names + ["lm_head"]

    def _linear(self, name, x, hook):
        if hook is not None:
            hook(name, x)
        return linear(x, self.params[name + ".weight"], self.params[name + ".bias"])

    def _ln(self, name, x):
        return layer_norm(x, self.params[name + ".weight"], self.params[name + ".bias"])

    def _check_tokens(self, tokens, past=0):
        t = v.as_array(tokens, "tokens")
        if not np.issubdtype(t.dtype, np.integer):
            raise TypeError(f"tokens must hold integers (token ids), got dtype {t.dtype}")
        if t.ndim != 2:
            raise ValueError(f"tokens must have shape (batch, time), got shape {t.shape}")
        if t.min() < 0 or t.max() >= self.config.vocab_size:
            raise ValueError(f"tokens must be in [0, {self.config.vocab_size - 1}], got values in [{t.min()}, {t.max()}]")
        if past + t.shape[1] > self.config.context:
            raise ValueError(f"tokens must have time <= {self.config.context - past} (context {self.config.context}"
                             f", {past} cached), got {t.shape[1]}")
        return t

    def block(self, l, x, cache=None, hook=None):
        """One pre-LN block: x + Attn(LN_1(x)), then x + MLP(LN_2(x)) (Radford et al. 2019, sec. 2.3)."""
        p, H = f"h.{l}.", self.config.n_head
        qkv = self._linear(p + "attn.c_attn", self._ln(p + "ln_1", x), hook)
        q, k, v_ = (split_heads(a, H) for a in np.split(qkv, 3, axis=-1))
        if cache is not None:
            k, v_ = cache.update(l, k, v_)
        x = x + self._linear(p + "attn.c_proj", merge_heads(attention(q, k, v_)), hook)
        h = gelu(self._linear(p + "mlp.c_fc", self._ln(p + "ln_2", x), hook))
        return x + self._linear(p + "mlp.c_proj", h, hook)

    @validate(tokens=Array(), cache=Optional(InstanceOf(KVCache, lambda: KVCache(1))), hook=Optional(Callable()))
    def forward(self, tokens, cache=None, hook=None):
        """Return float32 logits (batch, time, vocab) for int tokens (batch, time).

        With a KVCache the tokens continue the cached ones (positions past .. past + time - 1) and the
        cache grows by `time`. hook(name, x), if given, receives every linear layer's input x.
        """
        past = 0 if cache is None else cache.length
        t = self._check_tokens(tokens, past)
        x = self.params["wte"][t] + self.params["wpe"][past:past + t.shape[1]]
        for l in range(self.config.n_layer):
            x = self.block(l, x, cache, hook)
        return self._linear("lm_head", self._ln("ln_f", x), hook)

    def new_cache(self):
        """Return an empty KVCache for this model."""
        return KVCache(self.config.n_layer)

    def calibration_inputs(self, tokens):
        """Return name -> X (batch * time, in_features): the input of every linear layer on `tokens`."""
        xs = {}
        self.forward(tokens, hook=lambda name, x: xs.setdefault(name, x.reshape(-1, x.shape[-1]).copy()))
        return xs

    def generate(self, prompt, n_new, temperature=0.0, seed=0, use_cache=True):
        """Return prompt + n_new tokens: greedy (temperature 0) or sampled from softmax(logits / temperature)."""
        p = self._check_tokens(np.asarray(prompt)[None] if np.ndim(prompt) == 1 else prompt)
        if p.shape[0] != 1:
            raise ValueError(f"prompt must be one sequence (1-d, or shape (1, time)), got shape {p.shape}")
        n_new = v.integer(n_new, "n_new", minimum=0, maximum=self.config.context - p.shape[1])
        temperature = v.real(temperature, "temperature", low=0.0)
        rng, out = np.random.default_rng(v.integer(seed, "seed", minimum=0)), list(p[0])
        cache = self.new_cache() if use_cache else None
        feed = p
        for _ in range(n_new):
            logits = self.forward(feed, cache=cache)[0, -1].astype(np.float64)
            if temperature == 0.0:
                nxt = int(np.argmax(logits))
            else:
                cdf = np.cumsum(softmax(logits / temperature))
                nxt = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)
            out.append(nxt)
            feed = np.array([[nxt]]) if use_cache else np.array([out])
        return np.array(out, dtype=np.int64)

    def to_torch(self):
        """Return a torch.nn.Module with these weights whose forward(LongTensor (batch, time)) gives the same logits."""
        return TORCH_TWIN.to_torch(self)

    def save(self, path):
        """Write the config and float32 parameters to an .npz file, byte for byte reproducibly.

        np.savez stamps each member with the current time; here every member gets 1980-01-01, so the
        same weights always give the same file (and the same SHA-256).
        """
        arrays = {"config": np.array(json.dumps(asdict(self.config), sort_keys=True))} | self.params
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, a in arrays.items():
                with z.open(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), "w") as f:
                    np.lib.format.write_array(f, a, allow_pickle=False)


@validate(path=PATH)
def load_tiny_gpt(path=None):
    """Return the pretrained TinyGPT of data/tiny_gpt.npz (or of another file written by `save`)."""
    path = WEIGHTS_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must name a weights file (run python data/make_tiny_gpt.py), got {str(path)!r}")
    with np.load(path, allow_pickle=False) as f:
        config = GPTConfig(**json.loads(str(f["config"])))
        return TinyGPT(config, {k: f[k] for k in f.files if k != "config"})


@validate(model=InstanceOf(TinyGPT, lambda: TinyGPT.init(GPTConfig(n_layer=1, context=4, d_model=8, n_head=2))),
          tokens=Array(ndim=1, integer=True), batch_size=Integer(minimum=1))
def mean_nll(model, tokens, batch_size=32):
    """Return the mean negative log-likelihood (nats per token) of a token stream, in full-context windows.

    NLL = -1/N sum_i log softmax(logits_i)[y_i] over non-overlapping windows (text.windows) of
    model.config.context tokens; perplexity = exp(NLL), bits per token = NLL / ln 2.
    """
    X, Y = windows(tokens, model.config.context)
    total, n = 0.0, 0
    for s in range(0, len(X), batch_size):
        x, y = X[s:s + batch_size], Y[s:s + batch_size]
        z = model.forward(x).astype(np.float64)
        z -= z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        total -= float(np.take_along_axis(logp, y[..., None], axis=-1).sum())
        n += y.size
    return total / n

