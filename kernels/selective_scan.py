"""Mamba's selective scan: the pure-PyTorch reference recurrence.

Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", 2023, Algorithm 2:
    h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t,    y_t = C_t · h_t + D u_t,    y ← y · silu(z)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbench.kernels.registry import register_kernel


@register_kernel("selective_scan", "eager", baseline=True, default=True)
def selective_scan_ref(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
) -> Tensor:
    """Sequential selective scan, computed in fp32 and returned in u's dtype.

    u, delta, z: (batch, channels, length); A: (channels, state); B, C: (batch, state, length);
    D, delta_bias: (channels,). Returns y: (batch, channels, length).
    """
    dtype = u.dtype
    u, delta, A, B, C = u.float(), delta.float(), A.float(), B.float(), C.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, channels, length = u.shape
    dA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))  # (B, D, L, N)
    dBu = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)  # (B, D, L, N)
    h = u.new_zeros(batch, channels, A.shape[1])  # (B, D, N)
    ys = []
    for t in range(length):
        h = dA[:, :, t] * h + dBu[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=2)  # (B, D, L)
    if D is not None:
        y = y + u * D.float()[None, :, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype)
