"""Mamba: selective state-space language model (no attention, no MLP).

Paper: Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", 2023.
Base configuration (Mamba-130M, state-spaces/mamba-130m): width 768, 24 layers, vocabulary 50,277
padded to a multiple of 8 (50,280), d_state 16, expand 2 (inner 1,536), d_conv 4,
dt_rank = ceil(768 / 16) = 48, RMSNorm, LM head tied to the embedding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbench.kernels.registry import dispatch
from benchbench.kernels.rms_norm import RMSNorm
from benchbench.models.gpt2 import lm_inputs
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class MambaConfig:
    d_model: int = 768
    layers: int = 24
    vocab_size: int = 50277
    pad_vocab_multiple: int = 8
    d_state: int = 16
    expand: int = 2
    d_conv: int = 4

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def dt_rank(self) -> int:
        return math.ceil(self.d_model / 16)

    @property
    def padded_vocab(self) -> int:
        m = self.pad_vocab_multiple
        return (self.vocab_size + m - 1) // m * m


class MambaMixer(nn.Module):
    """in_proj → causal depthwise conv → SiLU → x_proj (Δ, B, C) → selective scan gated by z → out_proj."""

    def __init__(self, cfg: MambaConfig) -> None:
        super().__init__()
        e, n, r = cfg.d_inner, cfg.d_state, cfg.dt_rank
        self.d_state, self.dt_rank = n, r
        self.in_proj = nn.Linear(cfg.d_model, 2 * e, bias=False)
        self.conv1d = nn.Conv1d(e, e, cfg.d_conv, groups=e, padding=cfg.d_conv - 1)
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(e, r + 2 * n, bias=False)
        self.dt_proj = nn.Linear(r, e)
        # S4D-real initialisation: A = -(1..N) per channel, stored as log.
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(e, 1))
        self.D = nn.Parameter(torch.ones(e))
        self.out_proj = nn.Linear(e, cfg.d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, L, d_model) → (B, L, d_model)."""
        length = x.shape[1]
        u, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) each
        u = self.act(self.conv1d(u)[..., :length])  # causal: keep the first L outputs
        dt, b, c = self.x_proj(u.transpose(1, 2)).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (B, E, L); bias goes to the scan
        y = dispatch("selective_scan")(
            u,
            delta,
            -torch.exp(self.A_log.float()),  # (E, N)
            b.transpose(1, 2),  # (B, N, L)
            c.transpose(1, 2),
            self.D.float(),
            z=z,
            delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True,
        )  # (B, E, L)
        return self.out_proj(y.transpose(1, 2))


class MambaBlock(nn.Module):
    """x += Mixer(RMSNorm(x))."""

    def __init__(self, cfg: MambaConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(cfg.d_model, eps=1e-5)
        self.mixer = MambaMixer(cfg)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mixer(self.norm(x))


class Mamba(nn.Module):
    """Embedding, Mamba blocks, final RMSNorm, logits through the tied embedding (padded vocabulary)."""

    def __init__(self, cfg: MambaConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(cfg.padded_vocab, cfg.d_model)
        self.layers = nn.ModuleList(MambaBlock(cfg) for _ in range(cfg.layers))
        self.norm_f = RMSNorm(cfg.d_model, eps=1e-5)
        self.lm_head = nn.Linear(cfg.d_model, cfg.padded_vocab, bias=False)
        self.lm_head.weight = self.embedding.weight  # tied

    def forward(self, input_ids: Tensor) -> Tensor:
        """input_ids: (B, L) int64 → logits (B, L, padded_vocab)."""
        x = self.embedding(input_ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm_f(x))


def mamba_macs(cfg: MambaConfig, batch_size: int, seq_len: int | None) -> int:
    """Per layer: in_proj, x_proj, dt_proj, out_proj and the scan's 2·E·N per token (state update
    h = exp(ΔA)·h + ΔBu and readout C·h, the profiler's convention), plus the depthwise conv over
    the L + d_conv - 1 padded outputs it computes; then the LM head."""
    d, e, n, r = cfg.d_model, cfg.d_inner, cfg.d_state, cfg.dt_rank
    per_token = d * 2 * e + e * (r + 2 * n) + r * e + e * d + 2 * e * n
    conv = e * cfg.d_conv * (seq_len + cfg.d_conv - 1)
    layer = seq_len * per_token + conv
    return batch_size * (cfg.layers * layer + seq_len * d * cfg.padded_vocab)


def _mamba_params(cfg: MambaConfig) -> int:
    """Parameter count in the reference (mamba_ssm MambaLMHeadModel) layout, tied head counted once."""
    d, e, n, r = cfg.d_model, cfg.d_inner, cfg.d_state, cfg.dt_rank
    mixer = d * 2 * e + (e * cfg.d_conv + e) + e * (r + 2 * n) + (r * e + e) + e * n + e + e * d
    return cfg.padded_vocab * d + cfg.layers * (mixer + d) + d


_BASE = MambaConfig()


@register_model(
    "mamba",
    modality="text",
    sizes={
        "tiny": MambaConfig(d_model=64, layers=2, vocab_size=1000, d_state=8),
        "base": _BASE,
    },
    inputs=lm_inputs,
    seq_len={"tiny": 32, "base": 2048},
    paper="Gu & Dao 2023, Mamba: Linear-Time Sequence Modeling with Selective State Spaces (Mamba-130M)",
    reference=Reference(
        params=_mamba_params(_BASE),
        params_source="state-spaces/mamba-130m: written out from the mamba_ssm MambaLMHeadModel layout "
        "(d_model 768, 24 layers, vocab padded to 50,280, tied head) = 129,135,360; the paper rounds to 130M",
    ),
    input_names=("input_ids",),
    analytic_macs=mamba_macs,
)
def mamba(cfg: MambaConfig) -> Mamba:
    """Mamba selective-SSM language model."""
    return Mamba(cfg)
