"""One request through a decoder: the prompt's prefill, then one decode step per further token, each timestamped.

This is the generation core the measured figures and the LLM serving scenario share: `run_request` returns the
clock reading after every generated token, so TTFT is `token_times[0] - start` and the gaps after it are the
time per output token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from benchbench.generate.decoder import Decoder


@dataclass
class RequestTrace:
    """One request's timeline (seconds on `time.perf_counter`'s clock) and its greedy tokens.

    `token_times[i]` is when generated token i was ready (token 0 comes from the prefill), `contexts[i]` the
    context length the step that made it attended to; `tokens` (batch, gen_len); `cache` the cache at the end."""

    start: float
    token_times: list[float]
    contexts: list[int]
    tokens: Tensor
    cache: Any

    @property
    def ttft_s(self) -> float:
        return self.token_times[0] - self.start

    @property
    def tpot_s(self) -> list[float]:
        """Seconds of each decode step (the gaps between consecutive tokens)."""
        return [b - a for a, b in zip(self.token_times, self.token_times[1:])]

    @property
    def e2e_s(self) -> float:
        return self.token_times[-1] - self.start


def synchronizer(device: torch.device | str) -> Callable[[], None]:
    """A function that waits for the device's queued work (a no-op on the CPU)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


@torch.no_grad()
def run_request(
    decoder: Decoder,
    prompt: Tensor,
    gen_len: int,
    *,
    sync: Callable[[], None] | None = None,
    on_step: Callable[[Any], None] | None = None,
) -> RequestTrace:
    """Prefill `prompt` (batch, prompt_len) then decode greedily until `gen_len` tokens per sequence exist.

    The first token comes from the prefill's last logits (TTFT = prefill + first token); each later token is one
    decode step feeding the previous token and the cache. `sync` waits for the device before each timestamp;
    `on_step(cache)` sees the cache after every call (the tests' proof that it grows)."""
    if gen_len < 1:
        raise ValueError(f"gen_len must be >= 1, got {gen_len}")
    sync = sync or synchronizer(prompt.device)
    sync()
    start = time.perf_counter()
    logits, cache = decoder.forward(prompt, None)
    token = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
    sync()
    times, contexts, tokens = [time.perf_counter()], [prompt.shape[1]], [token]
    if on_step is not None:
        on_step(cache)
    for _ in range(gen_len - 1):
        contexts.append(contexts[-1] + 1)
        logits, cache = decoder.forward(token, cache)
        token = logits[:, -1].argmax(-1, keepdim=True)
        sync()
        times.append(time.perf_counter())
        tokens.append(token)
        if on_step is not None:
            on_step(cache)
    return RequestTrace(start, times, contexts, torch.cat(tokens, dim=1), cache)


@torch.no_grad()
def greedy_by_recompute(decoder: Decoder, prompt: Tensor, gen_len: int) -> Tensor:
    """The oracle: greedy tokens made by running the whole sequence again at every step, with no cache."""
    seq = prompt
    out = []
    for _ in range(gen_len):
        logits, _ = decoder.forward(seq, None)
        token = logits[:, -1].argmax(-1, keepdim=True)
        out.append(token)
        seq = torch.cat([seq, token], dim=1)
    return torch.cat(out, dim=1)
