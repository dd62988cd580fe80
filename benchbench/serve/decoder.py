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

from benchbench.core.errors import BadInputError


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
TOKEN_INPUTS = ("input_ids", "attention_mask")  # what a causal LM's positional forward may take, in order


def _positional_call(model: torch.nn.Module, names: tuple[str, ...]) -> Callable[[torch.Tensor], Any] | None:
    """For a model whose forward takes `names` positionally (benchbench's `hf:` targets): ids, and a mask of ones
    (right padding needs none: a causal position never sees what follows it). None for a plain ids → logits model."""
    if not names or names == ("input_ids",):
        return None
    if names != TOKEN_INPUTS[: len(names)]:
        raise BadInputError(f"--scenario llm needs a causal LM taking input_ids (and attention_mask); this model "
                            f"takes {', '.join(names)}: give a causal LM (the zoo's gpt2, hf:NAME:causal-lm)")  # fmt: skip

    def call(ids: torch.Tensor) -> Any:
        return model(ids, torch.ones_like(ids))

    return call


def recompute_decoder(
    model: torch.nn.Module, config: Any = None, input_names: tuple[str, ...] = ()
) -> RecomputeDecoder:
    """A `RecomputeDecoder` over a causal LM taking token ids (a zoo decoder; an `hf:` target, whose forward takes
    `input_names` positionally): the vocabulary is the width of its logits, the positions its config's."""
    config = config if config is not None else getattr(model, "config", None)
    call = _positional_call(model, tuple(input_names))
    model.eval()
    try:
        with torch.inference_mode():
            out = _logits((call or model)(torch.zeros(1, 2, dtype=torch.long)))
    except Exception as exc:  # not a model of token ids: say so in one line
        raise BadInputError(
            f"--scenario llm needs a causal LM taking token ids; {type(model).__name__} failed on "
            f"two tokens: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 3:
        raise BadInputError(f"--scenario llm needs logits (batch, tokens, vocab); {type(model).__name__} returns "
                            f"{getattr(out, 'shape', type(out).__name__)}: give it a causal-LM head (hf:NAME:causal-lm)")  # fmt: skip
    positions = next((int(getattr(config, k)) for k in POSITION_FIELDS if getattr(config, k, None)), None)
    return RecomputeDecoder(model, int(out.shape[-1]), positions, call)
