"""What the LLM scenario serves: a decoder that prefills one prompt and advances many sequences one token at once.

`Decoder` is the small interface the continuous-batching loop (`serve.llm_server`) and the test endpoint
(`serve.openai_server`) drive:
- `prefill(prompt) -> Sequence`: run the prompt, return the sequence holding its first new token and its cache;
- `step(seqs)`: one decode iteration for every sequence given, appending one token to each.

`CachedDecoder` implements it over `benchbench.generate`'s cached decoders (`generate.build.build_decoder`: the
zoo's gpt2, lstm_lm, mamba and whisper's text decoder, `hf:` causal LMs, user factories), greedy. Each sequence
keeps its own cache (KV cache or recurrent state) in `Sequence.state`; a decode step feeds only the sequence's
last token against that cache, so no step reprocesses the prompt or the tokens already generated.

Within one iteration the sequences are decoded one after another, one token each: the running sequences hold
caches of different lengths, and `generate.Decoder.forward(ids, cache)` takes one cache with no attention mask
or per-sequence positions, so caches of different lengths cannot be stacked into one batched call for any
family (right-padding a KV cache would need a mask the interface does not carry). Requests still join and leave
the batch at iteration boundaries (continuous batching); what is not shared is the matrix multiply across them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from benchbench.generate.decoder import Decoder as CachedModel
from benchbench.generate.decoder import max_context


@dataclass
class Sequence:
    """One request's tokens so far (prompt then generated) and whatever state its decoder keeps (its cache)."""

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


class CachedDecoder:
    """Greedy decoding with each sequence's own cache (see the module docstring): a prefill embeds the prompt
    once, a step embeds one token per sequence."""

    def __init__(self, model: CachedModel, device: torch.device | str = "cpu") -> None:
        self.model = model
        self.device = torch.device(device)
        self.vocab_size = model.vocab_size
        self.max_positions = max_context(model)

    def _next(self, ids: list[int], cache: Any) -> tuple[int, Any]:
        """Feed `ids` after `cache`; the greedy next token (its `int` waits for the device) and the new cache."""
        with torch.no_grad():
            logits, cache = self.model.forward(torch.tensor([ids], device=self.device), cache)
        return int(logits[0, -1].argmax()), cache

    def prefill(self, prompt: list[int]) -> Sequence:
        token, cache = self._next(list(prompt), None)
        return Sequence([*prompt, token], len(prompt), cache)

    def step(self, seqs: list[Sequence]) -> None:
        for seq in seqs:
            token, seq.state = self._next(seq.tokens[-1:], seq.state)
            seq.tokens.append(token)
