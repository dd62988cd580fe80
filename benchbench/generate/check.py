"""Correctness of a decoder's cache: greedy tokens with the cache equal recomputation, the cache grows one position
per decode step, and a decode step embeds one token per sequence (it does not reprocess the prompt)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from benchbench.generate.decoder import Decoder, cache_bytes, cache_positions
from benchbench.generate.kv import CacheAccount
from benchbench.generate.records import CacheFigures
from benchbench.generate.request import greedy_by_recompute, run_request


@dataclass
class CacheCheck:
    """What `check_cache` saw; `ok` when every check held."""

    tokens_cached: list[list[int]]
    tokens_recomputed: list[list[int]]
    positions: list[int | None]  # cache positions after each call
    tokens_seen: list[int]  # positions embedded by each call
    bytes_held: list[int] = field(default_factory=list)

    @property
    def same_tokens(self) -> bool:
        return self.tokens_cached == self.tokens_recomputed

    @property
    def grows_by_one(self) -> bool:
        """Attention caches cover one more position per step; a recurrent state keeps its size."""
        if self.positions and self.positions[0] is not None:
            return all(b - a == 1 for a, b in zip(self.positions, self.positions[1:]))
        return len(set(self.bytes_held)) == 1

    @property
    def one_token_per_step(self) -> bool:
        return bool(self.tokens_seen) and all(n == 1 for n in self.tokens_seen[1:])

    @property
    def ok(self) -> bool:
        return self.same_tokens and self.grows_by_one and self.one_token_per_step


def check_cache(decoder: Decoder, prompt: torch.Tensor, gen_len: int) -> CacheCheck:
    """Greedy-decode `prompt` with the cache and by recomputation; record what the cache did on the way."""
    positions: list[int | None] = []
    held: list[int] = []

    def on_step(cache: object) -> None:
        positions.append(cache_positions(cache))
        held.append(cache_bytes(cache))

    decoder.tokens_seen.clear()
    remove = decoder.count_tokens()
    try:
        trace = run_request(decoder, prompt, gen_len, on_step=on_step)
    finally:
        remove()
    seen = list(decoder.tokens_seen)
    oracle = greedy_by_recompute(decoder, prompt, gen_len)
    return CacheCheck(trace.tokens.tolist(), oracle.tolist(), positions, seen, held)


def cache_figures(
    decoder: Decoder, account: CacheAccount, contexts: list[int], device: str = "cpu"
) -> CacheFigures:
    """Bytes the cache of one sequence holds after prefilling each context length, beside the analytic figure."""
    measured = []
    with torch.no_grad():
        for ctx in contexts:
            ids = torch.zeros(1, ctx, dtype=torch.long, device=device)
            _, cache = decoder.forward(ids, None)
            measured.append([ctx, cache_bytes(cache)])
    agrees = all(abs(held - account.bytes_at(ctx)) <= 0.01 * account.bytes_at(ctx) for ctx, held in measured)
    return CacheFigures(
        account.family, account.formula, account.bytes_per_token, account.state_bytes, measured, agrees
    )
