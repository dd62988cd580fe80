"""Build a decoder by name (zoo, `hf:NAME`/`hf:DIR` with the causal-lm head, or a user factory), in a dtype on a
device, and size its cache from its config."""

from __future__ import annotations

from typing import Any

import torch

from benchbench.core.device import check_dtype, parse_device
from benchbench.core.dtypes import parse_dtype
from benchbench.core.errors import BadInputError
from benchbench.generate.decoder import Decoder, as_decoder
from benchbench.generate.kv import CacheAccount, cache_account
from benchbench.generate.whisper import WHISPER_MODELS, whisper_decoder
from benchbench.sources.target import Target, is_user_model, load_target

ZOO_DECODERS = ("gpt2", "lstm_lm", "mamba", *WHISPER_MODELS)


def _task_for(model: str, task: str | None) -> str | None:
    """hf: names are decoders with their causal-lm head, unless the name or --task picks another."""
    if not model.startswith("hf:") or task is not None:
        return task
    from benchbench.sources.hf import TASKS

    return None if model.rpartition(":")[2] in TASKS else "causal-lm"


def build_decoder(
    model: str, *, size: str | None = "tiny", dtype: str = "float32", device: str = "cpu",
    task: str | None = None, seed: int = 0,
) -> tuple[Decoder, Target]:  # fmt: skip
    """The model as a Decoder (eval mode, in `dtype` on `device`) and the Target it was built as."""
    dev = parse_device(device)
    dt = parse_dtype(dtype)
    check_dtype(dev, dt)
    if not (model.startswith("hf:") or is_user_model(model) or model in ZOO_DECODERS):
        from benchbench.models.registry import get_model_spec

        get_model_spec(model)  # an unknown name gets the registry's own one-line error
        raise BadInputError(
            f"{model} is not a decoder; zoo decoders: {', '.join(ZOO_DECODERS)}; or hf:NAME / hf:DIR (causal-lm), "
            "or a user factory whose model has forward_cached or an HF-style cached forward"
        )
    target = load_target(model, size=size, batch_size=1, seed=seed, task=_task_for(model, task))
    net = target.model.eval().to(device=dev, dtype=dt)
    if target.name in WHISPER_MODELS:  # the text decoder, over one clip's encoding
        target.inputs = tuple(
            t.to(device=dev, dtype=dt) if t.is_floating_point() else t for t in target.inputs
        )
        net = whisper_decoder(target)
        return as_decoder(target.name, net, net.config), target
    config = target.spec.config(target.size) if target.spec is not None else getattr(net, "config", None)
    return as_decoder(target.name, net, config), target


def decoder_account(decoder: Decoder, dtype: torch.dtype) -> CacheAccount | None:
    """The analytic cache of one sequence in `dtype`, or None when the config names no known family."""
    element = torch.empty(0, dtype=dtype).element_size()
    own = getattr(decoder.model, "cache_account", None)
    if callable(own):  # a decoder that sizes its own cache (Whisper's: self- and cross-attention)
        return own(element)
    if decoder.config is None:
        return None
    # the zoo's Mamba keeps its scan state in fp32 (as its scan computes); transformers' keeps the model's dtype
    ssm = 4 if decoder.kind == "step" else element
    try:
        return cache_account(decoder.config, element, ssm_bytes=ssm)
    except BadInputError:
        return None


def describe(target: Target) -> dict[str, Any]:
    return {"library": target.library, "description": target.description}
