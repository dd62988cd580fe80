"""What the LLM scenario serves: a decoder that prefills one prompt and advances many sequences one token at once.

`Decoder` is the small interface the continuous-batching loop (`serve.llm_server`) drives:
- `prefill(prompt) -> Sequence`: run the prompt, return the sequence holding its first new token;
- `step(seqs)`: one decode step for every sequence given, batched, appending one token to each.

`RecomputeDecoder` implements it for any causal LM mapping token ids (B, T) to logits (B, T, V) (the zoo's gpt2,
an `hf:*:causal-lm` model): greedy, without a KV cache, by recomputing each sequence in full. A batch of
sequences of different lengths is right-padded: with causal attention a position never sees the padding after
it, and each sequence's next token is read at its own last position, so the tokens equal unbatched decoding.
It is the fallback until `benchbench/generate/`'s cached decoders serve here (the lead swaps them in at merge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch


@dataclass
class Sequence:
    """One request's tokens so far (prompt then generated) and whatever state its decoder keeps."""

    tokens: list[int]
    prompt_len: int
    state: Any = None

    @property
    def generated(self) -> int:
        return len(self.tokens) - self.prompt_len


class Decoder(Protocol):
    """Prefill one prompt; advance a batch of sequences by one token each."""

    vocab_size: int
    max_positions: int | None

    def prefill(self, prompt: list[int]) -> Sequence: ...

    def step(self, seqs: list[Sequence]) -> None: ...


def _logits(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return out[0]
    return out.logits


@dataclass
class RecomputeDecoder:
    """Greedy decoding by recomputing the whole sequence each step (no cache); see the module docstring."""

    model: torch.nn.Module
    vocab_size: int
    max_positions: int | None = None
    call: Callable[[torch.Tensor], Any] | None = field(default=None, repr=False)

    def _next(self, batch: list[list[int]]) -> list[int]:
        longest = max(len(t) for t in batch)
        ids = torch.zeros(len(batch), longest, dtype=torch.long)
        for i, t in enumerate(batch):
            ids[i, : len(t)] = torch.tensor(t)
        with torch.inference_mode():
            logits = _logits((self.call or self.model)(ids))
        last = torch.tensor([len(t) - 1 for t in batch])
        return logits[torch.arange(len(batch)), last].argmax(-1).tolist()

    def prefill(self, prompt: list[int]) -> Sequence:
        seq = Sequence(list(prompt), len(prompt))
        seq.tokens.append(self._next([seq.tokens])[0])
        return seq

    def step(self, seqs: list[Sequence]) -> None:
        for seq, tok in zip(seqs, self._next([s.tokens for s in seqs])):
            seq.tokens.append(tok)


POSITION_FIELDS = ("max_positions", "max_len", "n_positions", "max_position_embeddings")


def recompute_decoder(model: torch.nn.Module, config: Any = None) -> RecomputeDecoder:
    """A `RecomputeDecoder` over a causal LM taking input ids (a zoo decoder, or a transformers model, called with
    its cache off): the vocabulary is the width of its logits, the positions its config's, when it names them."""
    config = config if config is not None else getattr(model, "config", None)
    call = None
    if hasattr(getattr(model, "config", None), "use_cache"):

        def call(ids: torch.Tensor) -> Any:
            return model(input_ids=ids, use_cache=False)

    model.eval()
    with torch.inference_mode():
        vocab = _logits((call or model)(torch.zeros(1, 1, dtype=torch.long))).shape[-1]
    positions = next((int(getattr(config, k)) for k in POSITION_FIELDS if getattr(config, k, None)), None)
    return RecomputeDecoder(model, int(vocab), positions, call)
