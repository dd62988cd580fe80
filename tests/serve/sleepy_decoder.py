"""A decoder of known cost: a prefill sleeps PREFILL_MS, a decode step sleeps STEP_MS whatever its batch.

Sleeping needs almost no CPU, so the times hold on a loaded machine. With continuous batching of at most B
sequences and L output tokens per request, the loop can finish at most B requests per (L - 1) steps plus their
prefills: capacity = B / ((L - 1) × STEP_MS + B × PREFILL_MS) requests per millisecond."""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchbench.serve.decoder import Sequence

PREFILL_MS = 2.0
STEP_MS = 4.0


@dataclass
class SleepyDecoder:
    vocab_size: int = 100
    max_positions: int | None = None
    steps: int = 0

    def prefill(self, prompt: list[int]) -> Sequence:
        time.sleep(PREFILL_MS / 1e3)
        return Sequence([*prompt, 0], len(prompt))

    def step(self, seqs: list[Sequence]) -> None:
        time.sleep(STEP_MS / 1e3)
        self.steps += 1
        for s in seqs:
            s.tokens.append(self.steps % self.vocab_size)


def capacity_qps(max_batch: int, output_tokens: int) -> float:
    return max_batch / (((output_tokens - 1) * STEP_MS + max_batch * PREFILL_MS) / 1e3)
