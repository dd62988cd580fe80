"""One interface over every decoder benchbench knows: `Decoder.forward(input_ids, cache) -> (logits, cache)`.

A model is a decoder in one of two ways (the README's "Generation" section says this to users):
- step style: it has `forward_cached(input_ids, cache=None) -> (logits, cache)`: logits (B, T, vocab) for the
  T new tokens and the cache after them (the zoo's gpt2, lstm_lm and mamba; a user factory may give one);
- Hugging Face style: `forward(input_ids=..., past_key_values=..., use_cache=True)` returns an object with
  `.logits` and `.past_key_values` (or a tuple (logits, cache)): transformers' causal LMs, GPT-2, Llama,
  Qwen2/Mistral-style GQA, Mamba (whose cache is `cache_params`, with `cache_position`), and user models
  written the same way.
The cache is opaque to the caller: `cache_tensors` finds the tensors it holds (for byte accounting) and
`cache_positions` how many positions it covers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from benchbench.core.errors import BadInputError


@dataclass
class Decoder:
    """A built decoder ready for incremental decoding. `forward(ids, cache)` returns (logits, cache);
    `tokens_seen` counts the token positions the model embedded (the proof that a decode step reads one token,
    not the whole context), `model` is the nn.Module, `kind` names the interface used."""

    name: str
    model: nn.Module
    forward: Callable[[Tensor, Any], tuple[Tensor, Any]]
    kind: str
    vocab_size: int
    config: Any = None
    tokens_seen: list[int] = field(default_factory=list)

    def count_tokens(self) -> Callable[[], None]:
        """Record the positions each call embeds in `tokens_seen` (a hook on the input embedding); returns remove."""
        emb = input_embedding(self.model)
        if emb is None:
            raise BadInputError(f"{self.name} has no input embedding to count tokens at")

        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            self.tokens_seen.append(int(args[0].shape[-1]))

        return emb.register_forward_hook(hook).remove


CONTEXT_KEYS = ("max_positions", "n_positions", "max_position_embeddings", "n_text_ctx", "n_ctx")


def max_context(decoder: Decoder) -> int | None:
    """The most positions the decoder embeds (prompt plus generated), from its config; None when unbounded or
    unknown (recurrent models)."""
    config = decoder.config
    for key in CONTEXT_KEYS:
        value = config.get(key) if isinstance(config, dict) else getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def input_embedding(model: nn.Module) -> nn.Module | None:
    """The token embedding module: transformers' `get_input_embeddings()`, else the first nn.Embedding."""
    getter = getattr(model, "get_input_embeddings", None)
    if callable(getter):
        try:
            emb = getter()
        except (NotImplementedError, AttributeError):
            emb = None
        if emb is not None:
            return emb
    return next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)


def _step_style(model: nn.Module) -> Callable[[Tensor, Any], tuple[Tensor, Any]]:
    def forward(ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
        return model.forward_cached(ids, cache)

    return forward


CACHE_ARGS = ("past_key_values", "cache", "cache_params")  # transformers 4's name, 5's, and Mamba's in 4


def _hf_cache_arg(model: nn.Module) -> str | None:
    params = inspect.signature(type(model).forward).parameters
    if "use_cache" not in params:
        return None
    return next((name for name in CACHE_ARGS if name in params), None)


def _hf_style(model: nn.Module, arg: str) -> Callable[[Tensor, Any], tuple[Tensor, Any]]:
    """transformers' own forward (the class's, not benchbench's positional wrapper) with the cache on."""
    original = type(model).forward
    params = inspect.signature(original).parameters
    extra = {"return_dict": True} if "return_dict" in params else {}

    def forward(ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
        out = original(model, input_ids=ids, use_cache=True, **{arg: cache}, **extra)
        if isinstance(out, tuple):
            return out[0], out[1]
        held = next((getattr(out, k) for k in (arg, *CACHE_ARGS) if getattr(out, k, None) is not None), None)
        return out.logits, held

    return forward


def _vocab_size(model: nn.Module, config: Any) -> int:
    for key in ("vocab_size", "padded_vocab"):
        value = config.get(key) if isinstance(config, dict) else getattr(config, key, None)
        if isinstance(value, int):
            return value
    emb = input_embedding(model)
    if isinstance(emb, nn.Embedding):
        return emb.num_embeddings
    raise BadInputError("cannot tell the model's vocabulary size: give its config a vocab_size")


def as_decoder(name: str, model: nn.Module, config: Any = None) -> Decoder:
    """Wrap a built model as a Decoder, or refuse it in one line saying what a decoder must offer."""
    config = config if config is not None else getattr(model, "config", None)
    if callable(getattr(model, "forward_cached", None)):
        kind, fwd = "step", _step_style(model)
    elif _hf_cache_arg(model) is not None:
        kind, fwd = "hf", _hf_style(model, _hf_cache_arg(model))
    else:
        raise BadInputError(
            f"{name} is not a decoder benchbench can run token by token: give it forward_cached(input_ids, "
            "cache=None) -> (logits, cache), or an HF-style forward(input_ids, past_key_values, use_cache) "
            "returning logits and the cache (for hf: names, the causal-lm head: hf:NAME:causal-lm)"
        )
    return Decoder(name, model, fwd, kind, _vocab_size(model, config), config)


def cache_tensors(cache: Any) -> list[Tensor]:
    """Every tensor a cache holds, each storage once: nested tuples/lists/dicts, dataclasses, and transformers'
    Cache objects (their layers' keys and values, or Mamba's conv and ssm states)."""
    found: dict[int, Tensor] = {}
    _collect(cache, found, depth=0)
    return list(found.values())


def _collect(obj: Any, found: dict[int, Tensor], depth: int) -> None:
    if depth > 6 or obj is None:
        return
    if isinstance(obj, Tensor):
        if obj.numel():
            found.setdefault(obj.untyped_storage().data_ptr() or id(obj), obj)
        return
    if isinstance(obj, (list, tuple)):
        items: Any = obj
    elif isinstance(obj, dict):
        items = obj.values()
    elif hasattr(obj, "__dict__") and not isinstance(obj, (nn.Module, type)):
        items = vars(obj).values()
    else:
        return
    for item in items:
        _collect(item, found, depth + 1)


def cache_bytes(cache: Any) -> int:
    """Bytes of the tensors a cache holds."""
    return sum(t.numel() * t.element_size() for t in cache_tensors(cache))


def cache_positions(cache: Any) -> int | None:
    """Positions an attention cache covers (its keys' sequence length); None for a recurrent state."""
    getter = getattr(cache, "get_seq_length", None)
    if callable(getter):
        try:
            return int(getter())
        except ValueError:  # transformers 5: a cache of recurrent ("linear attention") layers only
            return None
    if isinstance(cache, list) and cache and isinstance(cache[0], tuple) and len(cache[0]) >= 2:
        k = cache[0][0]
        if isinstance(k, Tensor) and k.dim() == 4:
            return int(k.shape[2])
    return None
