"""The requests of an LLM probe: Poisson arrivals (`serve.loadgen`'s seeded schedule) with prompt and output
lengths drawn, seeded, from stated distributions.

A length is `N` (always N tokens) or `LO:HI` (uniform over the integers LO..HI inclusive). Lengths are drawn from
their own generator (seed + 1), so two probes at different rates with one seed ask for the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchbench.core.errors import BadInputError
from benchbench.serve.loadgen import poisson_offsets


@dataclass(frozen=True)
class Lengths:
    """Uniform over lo..hi inclusive (lo == hi: fixed)."""

    lo: int
    hi: int

    @classmethod
    def parse(cls, text: str, what: str) -> Lengths:
        """'64' or '32:128'; one BadInputError naming `what` otherwise."""
        try:
            parts = [int(x) for x in text.split(":")]
        except ValueError:
            parts = []
        if len(parts) == 1:
            parts *= 2
        if len(parts) != 2 or not 1 <= parts[0] <= parts[1]:
            raise BadInputError(f"{what} must be N or LO:HI with 1 <= LO <= HI tokens, got {text!r}")
        return cls(parts[0], parts[1])

    @property
    def mean(self) -> float:
        return (self.lo + self.hi) / 2

    def describe(self) -> str:
        return f"{self.lo}" if self.lo == self.hi else f"uniform {self.lo}..{self.hi}"

    def draw(self, n: int, rng: np.random.Generator) -> list[int]:
        return rng.integers(self.lo, self.hi + 1, size=n).tolist()


@dataclass(frozen=True)
class Request:
    """Due `offset_s` after the probe starts, with a prompt of token ids and an output length."""

    offset_s: float
    prompt: list[int]
    output_tokens: int


def draw_requests(
    n: int, rate: float, prompt: Lengths, output: Lengths, vocab: int, seed: int
) -> list[Request]:
    """`n` requests arriving as a Poisson process at `rate` per second (conditioned on n arrivals)."""
    offsets = poisson_offsets(rate, n, seed)
    rng = np.random.default_rng(seed + 1)
    prompts = prompt.draw(n, rng)
    outputs = output.draw(n, rng)
    return [
        Request(float(t), rng.integers(0, vocab, size=p).tolist(), o)
        for t, p, o in zip(offsets, prompts, outputs)
    ]
