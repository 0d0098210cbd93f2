"""The torch twin of course_lib.core.transformer.TinyGPT, built from torch's own layers.

    module = to_torch(model)                 # TorchTinyGPT with the numpy model's weights (float32)
    module(torch.tensor(tokens))             # the same logits as model.forward(tokens)
    cache = module.new_cache(); module(first, cache); module(next_token, cache)   # KV-cache generation
    params = from_torch(module)              # name -> float32 numpy array, back into TinyGPT(config, params)

The twin uses nn.Embedding, nn.LayerNorm (eps 1e-5), nn.Linear, nn.GELU(approximate="tanh") and
F.scaled_dot_product_attention(is_causal=True), so the oracle tests compare our numpy code with
torch's kernels, not with a copy of it. data/make_tiny_gpt.py trains this module.
"""
import numpy as np

from ._imports import import_torch
from ..core.transformer import GPTConfig, TinyGPT, param_shapes

torch = import_torch()
F = torch.nn.functional


class Block(torch.nn.Module):
    """Pre-LN block: x + c_proj(SDPA(c_attn(ln_1(x)))), then x + c_proj(GELU(c_fc(ln_2(x))))."""

    def __init__(self, config):
        super().__init__()
        d, f = config.d_model, config.d_ff
        self.n_head = config.n_head
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d, eps=1e-5), torch.nn.LayerNorm(d, eps=1e-5)
        self.attn = torch.nn.ModuleDict({"c_attn": torch.nn.Linear(d, 3 * d), "c_proj": torch.nn.Linear(d, d)})
        self.mlp = torch.nn.ModuleDict({"c_fc": torch.nn.Linear(d, f), "c_proj": torch.nn.Linear(f, d)})
        self.gelu = torch.nn.GELU(approximate="tanh")

    def forward(self, x, kv=None):
        """kv: None, or this block's [K, V] list of a cache (updated in place with the new tokens)."""
        b, t, d = x.shape
        q, k, v = self.attn["c_attn"](self.ln_1(x)).split(d, dim=-1)
        q, k, v = (a.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for a in (q, k, v))
        if kv is None or kv[0] is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # the new queries see every cached key and the new keys up to their own position
            k, v = torch.cat([kv[0], k], dim=2), torch.cat([kv[1], v], dim=2)
            mask = torch.ones(t, k.shape[2], dtype=torch.bool).tril(diagonal=k.shape[2] - t)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        if kv is not None:
            kv[0], kv[1] = k, v
        x = x + self.attn["c_proj"](y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp["c_proj"](self.gelu(self.mlp["c_fc"](self.ln_2(x))))


class TorchTinyGPT(torch.nn.Module):
    """logits = lm_head(ln_f(blocks(wte(tokens) + wpe(positions)))), parameter names as TinyGPT's."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.wte = torch.nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = torch.nn.Embedding(config.context, config.d_model)
        self.h = torch.nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = torch.nn.LayerNorm(config.d_model, eps=1e-5)
        self.lm_head = torch.nn.Linear(config.d_model, config.vocab_size)

    def new_cache(self):
        """Return an empty KV cache: one [K, V] list per block, filled by forward(tokens, cache)."""
        return [[None, None] for _ in self.h]

    def forward(self, tokens, cache=None):
        """Return logits (batch, time, vocab); with a cache, tokens continue the cached ones."""
        past = 0 if cache is None or cache[0][0] is None else cache[0][0].shape[2]
        t = tokens.shape[1]
        x = self.wte(tokens) + self.wpe(torch.arange(past, past + t, device=tokens.device))
        for l, block in enumerate(self.h):
            x = block(x, None if cache is None else cache[l])
        return self.lm_head(self.ln_f(x))


def _torch_name(name):
    return name + ".weight" if name in ("wte", "wpe") else name


def to_torch(model):
    """Return a float32 TorchTinyGPT holding a copy of a TinyGPT's parameters."""
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    module = TorchTinyGPT(model.config)
    state = {_torch_name(k): torch.from_numpy(np.array(a, dtype=np.float32)) for k, a in model.params.items()}
    module.load_state_dict(state, strict=True)
    return module.eval()


def from_torch(module):
    """Return name -> float32 numpy array of a TorchTinyGPT's parameters (TinyGPT's names)."""
    if not isinstance(module, TorchTinyGPT):
        raise TypeError(f"module must be a TorchTinyGPT, got {type(module).__name__}")
    state = module.state_dict()
    return {k: state[_torch_name(k)].detach().cpu().numpy().astype(np.float32).copy()
            for k in param_shapes(module.config)}
