"""Example inputs for a Hugging Face model, read from its config and its forward signature.

- `input_ids` (and `attention_mask`, all ones, where forward takes one): token ids below `vocab_size`, for
  `seq_len` tokens (default `DEFAULT_TOKENS`, capped by the config's maximum positions);
- `decoder_input_ids` for encoder-decoder models, at the decoder's own length cap;
- `pixel_values`: (B, num_channels, image_size, image_size) from the (vision) config;
- `input_features` (Whisper-style): (B, num_mel_bins, 2 × max_source_positions) log-mel frames, which is
  the only length Whisper's encoder accepts; (B, frames, features) for Speech2Text-style configs;
- `input_values`: raw audio, `seq_len` samples (default one second at the config's `sampling_rate`, or
  at 16 kHz, the rate of wav2vec 2.0 / HuBERT feature extractors, when the config has none).
Each input comes from torch's global generator, so a caller seeds once for reproducible inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from benchbench.core.errors import BadInputError

DEFAULT_TOKENS = 128
DEFAULT_SAMPLE_RATE = 16_000  # wav2vec 2.0 / HuBERT feature extractors; used when the config names no rate
_POSITION_FIELDS = ("max_position_embeddings", "n_positions", "max_target_positions", "max_length", "n_ctx")


@dataclass(frozen=True)
class InputPlan:
    """Which inputs a model gets, in forward's order, and what `seq_len` means for it."""

    names: tuple[str, ...]
    modality: str
    seq_unit: str | None  # "tokens", "samples" or None (no sequence axis to vary)
    default_seq: int | None
    make: Callable[[int, int | None], tuple]
    source: str  # where the sizes came from, for the target's description


def _sub(config: Any, *names: str) -> Any:
    """The first nested config that exists (`text_config`, `vision_config`, ...), else the config itself."""
    for n in names:
        sub = getattr(config, n, None)
        if sub is not None:
            return sub
    return config


def _max_positions(cfg: Any) -> int | None:
    for f in _POSITION_FIELDS:
        v = getattr(cfg, f, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def _image_size(cfg: Any) -> tuple[int, int]:
    size = getattr(cfg, "image_size", None) or 224
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    if isinstance(size, dict):
        return int(size.get("height", 224)), int(size.get("width", 224))
    return int(size), int(size)


def _params(model: Any) -> list[str]:
    return list(inspect.signature(model.forward).parameters)


@dataclass
class _Draft:
    """An input plan being assembled: one maker per input, where its sizes came from, the sequence axis."""

    makers: dict[str, Callable[[int, int | None], torch.Tensor]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    seq_unit: str | None = None
    default_seq: int | None = None
    modality: str = "text"


def _add_token_ids(draft: _Draft, config: Any, params: list[str], seq_len: int | None) -> None:
    """`input_ids` below the vocabulary size (and an all-ones `attention_mask` where forward takes one)."""
    text = _sub(config, "text_config", "decoder")
    vocab = getattr(text, "vocab_size", None) or getattr(config, "vocab_size", None)
    if not vocab:
        raise BadInputError(f"{type(config).__name__} has no vocab_size to draw input_ids from")
    cap = _max_positions(text) or _max_positions(config)
    default_seq = min(DEFAULT_TOKENS, cap) if cap else DEFAULT_TOKENS
    if seq_len is not None and cap is not None and seq_len > cap:
        raise BadInputError(f"--seq-len {seq_len} > the model's maximum positions {cap}")
    draft.seq_unit, draft.default_seq = "tokens", default_seq
    draft.makers["input_ids"] = lambda bs, sl, n=default_seq: torch.randint(0, vocab, (bs, sl or n))
    if "attention_mask" in params:
        draft.makers["attention_mask"] = lambda bs, sl, n=default_seq: torch.ones(
            bs, sl or n, dtype=torch.long
        )
    draft.sources.append(
        f"input_ids below vocab_size {vocab}, {default_seq} tokens by default (max positions {cap})"
    )


def _add_pixels(draft: _Draft, config: Any) -> None:
    """`pixel_values` at the (vision) config's image size and channel count."""
    vision = _sub(config, "vision_config")
    h, w = _image_size(vision)
    channels = int(getattr(vision, "num_channels", 3) or 3)
    draft.makers["pixel_values"] = lambda bs, sl: torch.randn(bs, channels, h, w)
    draft.sources.append(f"pixel_values {channels}×{h}×{w} from image_size")
    draft.modality = "multimodal" if "input_ids" in draft.makers else "image"


def _add_audio_features(draft: _Draft, config: Any) -> None:
    """`input_features`: Whisper's mel frames (2 × max_source_positions) or Speech2Text's frames × features."""
    draft.modality = "audio"
    mels = getattr(config, "num_mel_bins", None)
    source_positions = getattr(config, "max_source_positions", None)
    if mels and source_positions:
        frames = 2 * int(source_positions)  # the conv stem halves the frames to max_source_positions
        draft.makers["input_features"] = lambda bs, sl: torch.randn(bs, int(mels), frames)
        draft.sources.append(f"input_features {mels} mel bins × {frames} frames (2 × max_source_positions)")
    elif getattr(config, "input_feat_per_channel", None):
        feats = int(config.input_feat_per_channel) * int(getattr(config, "input_channels", 1) or 1)
        frames = 2 * DEFAULT_TOKENS
        draft.makers["input_features"] = lambda bs, sl: torch.randn(bs, frames, feats)
        draft.sources.append(f"input_features {frames} frames × {feats} features")
    else:
        raise BadInputError(f"{type(config).__name__}: cannot tell the input_features shape from its config")


def _set_raw_audio(draft: _Draft, config: Any) -> None:
    """`input_values` alone: raw audio, one second at the config's sampling rate by default."""
    rate = int(getattr(config, "sampling_rate", None) or DEFAULT_SAMPLE_RATE)
    draft.modality, draft.default_seq, draft.seq_unit = "audio", rate, "samples"
    draft.makers = {"input_values": lambda bs, sl: torch.randn(bs, sl or rate)}
    draft.sources.append(f"input_values: 1 s of audio at {rate} Hz")


def _add_decoder_ids(draft: _Draft, config: Any) -> None:
    """`decoder_input_ids` at the decoder's length cap; the sequence axis when there are no `input_ids`."""
    dec = _sub(config, "decoder", "text_config")
    vocab = getattr(dec, "vocab_size", None) or config.vocab_size
    cap = _max_positions(dec) or _max_positions(config)
    dec_default = min(DEFAULT_TOKENS, cap) if cap else DEFAULT_TOKENS
    if "input_ids" not in draft.makers:  # the sequence axis is the decoder's
        draft.seq_unit, draft.default_seq = "tokens", dec_default
    draft.makers["decoder_input_ids"] = lambda bs, sl: torch.randint(0, vocab, (bs, sl or dec_default))
    draft.sources.append(f"decoder_input_ids, {dec_default} tokens by default")


def plan_inputs(model: Any, seq_len: int | None) -> InputPlan:
    """The inputs to give `model` (a transformers PreTrainedModel), from its config and forward signature."""
    config = model.config
    main = getattr(model, "main_input_name", "input_ids")
    params = _params(model)
    draft = _Draft()
    if main == "input_ids" or ("input_ids" in params and main != "input_values"):
        _add_token_ids(draft, config, params, seq_len)
    if main == "pixel_values" or "pixel_values" in params:
        _add_pixels(draft, config)
    if main == "input_features":
        _add_audio_features(draft, config)
    if main == "input_values":
        _set_raw_audio(draft, config)
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in params:
        _add_decoder_ids(draft, config)
    if main not in draft.makers:
        raise BadInputError(
            f"{type(model).__name__} takes {main!r}, which benchbench cannot make from its config; "
            "allowed: input_ids, pixel_values, input_features, input_values"
        )
    if seq_len is not None and draft.seq_unit is None:
        raise BadInputError(f"{type(model).__name__} has no sequence length; drop --seq-len")
    names = tuple(n for n in params if n in draft.makers)
    makers = draft.makers

    def make(bs: int, sl: int | None) -> tuple:
        return tuple(makers[n](bs, sl) for n in names)

    return InputPlan(names, draft.modality, draft.seq_unit, draft.default_seq, make, "; ".join(draft.sources))
