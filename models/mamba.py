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
        u = self.act(self.conv1d(u)[..., :length]).transpose(1, 2).contiguous()  # causal: the first L outputs
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (B, E, L); bias goes to the scan
        y = dispatch("selective_scan")(
            u.transpose(1, 2),  # (B, E, L), laid out (B, L, E) like x_proj's input: one transpose for both
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

    def forward_cached(self, x: Tensor, state: MambaState | None) -> tuple[Tensor, MambaState]:
        """`forward` that also returns the recurrent state after x, or continues from `state` one step at a time."""
        if state is not None:
            outs = []
            for t in range(x.shape[1]):
                y, state = self.step(x[:, t], state)
                outs.append(y)
            return torch.stack(outs, dim=1), state
        length = x.shape[1]
        pre, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) each
        d_conv = self.conv1d.kernel_size[0]
        conv_state = F.pad(pre, (max(0, d_conv - length), 0))[..., -d_conv:]  # the last d_conv conv inputs
        u = self.act(self.conv1d(pre)[..., :length]).transpose(1, 2).contiguous()  # (B, L, E), as in forward
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        u = u.transpose(1, 2)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)
        A = -torch.exp(self.A_log.float())
        y = dispatch("selective_scan")(
            u, delta, A, b.transpose(1, 2), c.transpose(1, 2), self.D.float(), z=z,
            delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
        )  # fmt: skip
        delta = F.softplus(delta.float() + self.dt_proj.bias.float()[None, :, None])
        h = scan_final_state(u.float(), delta, A, b.transpose(1, 2).float())
        return self.out_proj(y.transpose(1, 2)), MambaState(conv_state, h)

    def step(self, x: Tensor, state: MambaState) -> tuple[Tensor, MambaState]:
        """One token: x (B, d_model) and the state before it → (B, d_model) and the state after it (Algorithm 2's
        recurrence, h = exp(ΔA)·h + ΔB·u, y = C·h + D·u, gated by silu(z))."""
        u, z = self.in_proj(x).chunk(2, dim=-1)  # (B, E) each
        conv_state = torch.cat([state.conv[..., 1:], u[..., None]], dim=-1)
        u = self.act((conv_state * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt).float())  # (B, E)
        A = -torch.exp(self.A_log.float())
        h = torch.exp(delta[..., None] * A) * state.ssm + (delta * u.float())[..., None] * b.float()[:, None]
        y = (h * c.float()[:, None]).sum(-1) + self.D.float() * u.float()
        y = y * F.silu(z.float())
        return self.out_proj(y.to(x.dtype)), MambaState(conv_state, h)


@dataclass
class MambaState:
    """A Mamba layer's recurrent state: the last d_conv inputs of the conv (B, E, d_conv), in the model's dtype,
    and the scan's state h (B, E, d_state), in fp32 as the scan computes it. Its size does not grow with context."""

    conv: Tensor
    ssm: Tensor


def scan_final_state(u: Tensor, delta: Tensor, A: Tensor, B: Tensor) -> Tensor:
    """The scan's state after the last position, h_L = Σ_s exp(A·Σ_{t>s} Δ_t)·Δ_s·B_s·u_s, from h_0 = 0.

    u, delta (B, E, L) with Δ already biased and softplussed; A (E, N); B (B, N, L) → (B, E, N). The decay
    exponent sums Δ from the end backwards, so the recent positions that weigh most are summed most exactly."""
    after = delta.flip(-1).cumsum(-1).flip(-1) - delta  # Σ_{t>s} Δ_t, (B, E, L)
    weight = torch.exp(after[..., None] * A[:, None, :])  # (B, E, L, N)
    return torch.einsum("beln,bel,bnl->ben", weight, delta * u, B)


class MambaBlock(nn.Module):
    """x += Mixer(RMSNorm(x))."""

    def __init__(self, cfg: MambaConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(cfg.d_model, eps=1e-5)
        self.mixer = MambaMixer(cfg)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mixer(self.norm(x))

    def forward_cached(self, x: Tensor, state: MambaState | None) -> tuple[Tensor, MambaState]:
        y, state = self.mixer.forward_cached(self.norm(x), state)
        return x + y, state


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

    def forward_cached(
        self, input_ids: Tensor, cache: list[MambaState] | None = None
    ) -> tuple[Tensor, list[MambaState]]:
        """Incremental decoding: input_ids (B, T) after the tokens summarised by `cache` (one MambaState per layer;
        None: start of the sequence); returns logits (B, T, padded_vocab) and the states after input_ids. The
        prompt runs through the parallel scan, later tokens through the recurrent step."""
        x = self.embedding(input_ids)
        states = []
        for i, layer in enumerate(self.layers):
            x, state = layer.forward_cached(x, None if cache is None else cache[i])
            states.append(state)
        return self.lm_head(self.norm_f(x)), states


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
