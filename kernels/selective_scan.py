"""Mamba's selective scan: the pure-PyTorch reference recurrence.

Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", 2023, Algorithm 2:
    h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t,    y_t = C_t · h_t + D u_t,    y ← y · silu(z)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import lazy_compile
from benchbench.kernels.registry import OpSpec, register_kernel, register_op


def _discretize(u, delta, A, B, delta_bias, delta_softplus) -> tuple[Tensor, Tensor]:
    """exp(Δ A) and Δ B u, both (batch, channels, length, state), in fp32."""
    u, delta, A, B = u.float(), delta.float(), A.float(), B.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    dA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))  # (B, D, L, N)
    dBu = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)  # (B, D, L, N)
    return dA, dBu


def _skip_and_gate(y: Tensor, u: Tensor, D: Tensor | None, z: Tensor | None) -> Tensor:
    if D is not None:
        y = y + u.float() * D.float()[None, :, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(u.dtype)


# The scan is bound by memory traffic and by the cost of a Python step, not by arithmetic. Each step updates a state
# of about STEP_ELEMENTS (batch × chunks × state × channels) elements: big enough to pay for its dispatch, small
# enough to stay in a core's L2 cache with its operands (measured here: an addcmul costs ~0.3 ns an element up to
# ~128 K elements, ~4 ns from 256 K on), and below ATen's grain size (32,768), so that no op of the scan is split
# across threads: thousands of parallel regions a layer stall whenever another process holds a core (a Mamba base
# forward took 66 s instead of 5 s on two loaded cores). exp(ΔA) and ΔBu are made step by step too, never for the
# whole (B, D, L, N) at once (200 MB a layer at Mamba base).
STEP_ELEMENTS = 30_000


def _scan_plan(batch: int, channels: int, length: int, state: int) -> tuple[int, int]:
    """(steps per chunk, channels per block): one chunk (the plain recurrence) when a step over all channels is
    big enough, in blocks of channels when it is too big; else as many chunks as fill a step, but no more than
    sqrt(2L) (beyond that the Python steps of the chunk carry outgrow those of the chunks)."""
    per_channel = batch * state
    if per_channel * channels >= STEP_ELEMENTS // 2:
        return length, max(1, STEP_ELEMENTS // per_channel)
    chunks = max(1, min(STEP_ELEMENTS // (per_channel * channels), math.isqrt(2 * length)))
    return -(-length // chunks), channels


def _steps_first(t: Tensor, chunks: int, size: int) -> Tensor:
    """(B, X, L) → (size, B, chunks, X) contiguous, the step within its chunk first; past L padded with zeros (Δ = 0
    there: identity steps). Contiguous, so that one step's slice is one block of memory; a free view when t is the
    transpose of a (B, L, X) projection, as Mamba's Δ, B and C are, and the sequence is one chunk."""
    steps = t.permute(2, 0, 1)  # (L, B, X)
    pad = chunks * size - steps.shape[0]
    if pad:
        steps = torch.cat([steps, steps.new_zeros(pad, *steps.shape[1:])])
    return steps.reshape(chunks, size, *steps.shape[1:]).permute(1, 2, 0, 3).contiguous()


def _run_chunks(
    delta: Tensor, du: Tensor, At: Tensor, B: Tensor, C: Tensor | None, h: Tensor | None
) -> tuple[Tensor | None, Tensor]:
    """The recurrence over the steps of every chunk at once, from the states `h` (B, chunks, N, D; None: zero).

    delta, du = Δ·u (size, B, chunks, D); At = Aᵀ (N, D); B, C (size, B, chunks, N). Returns y = C·h at every step
    (size, B, chunks, D; None when C is None) and the states after the last step. The channels are the last axis,
    so that every broadcast runs along a contiguous row. Out of place, so that autograd differentiates it."""
    ys = []
    for t, (delta_t, du_t, B_t) in enumerate(zip(delta.unsqueeze(-2), du.unsqueeze(-2), B.unsqueeze(-1))):
        bu = du_t * B_t  # (B, chunks, N, D)
        h = bu if h is None else torch.addcmul(bu, torch.exp(delta_t * At), h)
        if C is not None:
            ys.append((h * C[t].unsqueeze(-1)).sum(-2))
    return (torch.stack(ys) if C is not None else None), h


def _run_chunks_into(
    delta: Tensor, du: Tensor, At: Tensor, B: Tensor, C: Tensor | None, h: Tensor | None
) -> tuple[Tensor | None, Tensor]:
    """`_run_chunks` without autograd, each step written into the same buffers instead of new tensors. The same
    arithmetic in the same order."""
    a, bu, state = (delta.new_empty(*delta.shape[1:3], *At.shape) for _ in range(3))  # (B, chunks, N, D)
    if h is not None:
        state.copy_(h)
    y = delta.new_empty(delta.shape) if C is not None else None
    readout = zip(C.unsqueeze(-1), y) if C is not None else None
    for delta_t, du_t, B_t in zip(delta.unsqueeze(-2), du.unsqueeze(-2), B.unsqueeze(-1)):
        torch.mul(du_t, B_t, out=bu)
        if h is None:
            h = state.copy_(bu)
        else:
            torch.addcmul(bu, torch.mul(delta_t, At, out=a).exp_(), state, out=state)
        if readout is not None:
            C_t, y_t = next(readout)
            torch.sum(torch.mul(state, C_t, out=a), dim=-2, out=y_t)
    return y, state


def _scan_block(delta: Tensor, du: Tensor, At: Tensor, B: Tensor, C: Tensor, run=_run_chunks) -> Tensor:
    """One block of channels, shapes as in `_run_chunks` → y (size, B, chunks, D). With several chunks: each run
    from a zero state to its end, the states entering the chunks carried across the chunk ends (the decay over a
    chunk is exp(A·ΣΔ)), then each run again from its entering state, reading out y: the loop's own recurrence,
    step for step, from the right state."""
    entering = None
    chunks = delta.shape[2]
    if chunks > 1:
        _, ends = run(delta, du, At, B, None, None)  # (B, chunks, N, D)
        decay = torch.exp(delta.sum(0).unsqueeze(-2) * At)
        states = [torch.zeros_like(ends[:, 0])]
        for c in range(1, chunks):
            states.append(torch.addcmul(ends[:, c - 1], decay[:, c - 1], states[-1]))
        entering = torch.stack(states, dim=1)
    y, _ = run(delta, du, At, B, C, entering)
    return y


def _chunked_scan(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, *, autograd: bool = True
) -> Tensor:
    """C_t · h_t for h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t from h_0 = 0, all fp32, Δ already biased and softplussed.

    u, delta (B, D, L); A (D, N); B, C (B, N, L) → (B, D, L), laid out as the transpose of a contiguous (B, L, D)
    (what out_proj reads). Each Python step updates the state of one block of channels, or of several chunks of
    the sequence at once when the state is small (`_scan_plan`), so that a step is big enough to pay for its
    dispatch and small enough to stay in cache. No division and no growing exponent (every exp is of A times a
    sum of Δ over steps that really follow each other), so it agrees with the loop to rounding whatever the decay.
    `autograd=False` reuses buffers (under no_grad only: nothing it computes can be differentiated).
    """
    batch, channels, length = u.shape
    if length == 0:
        return u.new_zeros(batch, 0, channels).transpose(1, 2)
    size, block = _scan_plan(batch, channels, length, A.shape[1])
    chunks = -(-length // size)
    delta_s, u_s, B_s, C_s = (_steps_first(t, chunks, size) for t in (delta, u, B, C))
    du_s = delta_s * u_s
    At = A.t().contiguous()  # (N, D): the channels last, as in every (…, N, D) tensor below
    run = _run_chunks if autograd else _run_chunks_into
    blocks = [
        _scan_block(
            delta_s[..., i : i + block], du_s[..., i : i + block], At[:, i : i + block], B_s, C_s, run
        )
        for i in range(0, channels, block)
    ]
    y = blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=-1)  # (size, B, chunks, D)
    y = y.permute(1, 2, 0, 3).reshape(batch, chunks * size, channels)[:, :length]
    return y.contiguous().transpose(1, 2)


@torch.library.custom_op("benchbench::chunked_scan", mutates_args=())
def chunked_scan_op(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> Tensor:
    """`_chunked_scan` as one torch op, so that a tracer or a dispatch mode sees the scan as one node instead of the
    thousands of small steps inside it (each costs tens of microseconds there: fvcore's jit.trace of Mamba base
    took minutes), and the steps run at full speed below them. Its backward recomputes the scan under autograd."""
    with torch.no_grad():  # differentiated by its backward, which recomputes it under autograd
        return _chunked_scan(u, delta, A, B, C, autograd=False)


@chunked_scan_op.register_fake
def _chunked_scan_fake(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> Tensor:
    return u.new_empty(u.shape[0], u.shape[2], u.shape[1]).transpose(1, 2)


def _chunked_scan_save(ctx, inputs: tuple, output: Tensor) -> None:
    ctx.save_for_backward(*inputs)


def _chunked_scan_backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
    inputs = [t.detach().requires_grad_(needed) for t, needed in zip(ctx.saved_tensors, ctx.needs_input_grad)]
    wanted = [t for t in inputs if t.requires_grad]
    with torch.enable_grad():
        y = _chunked_scan(*inputs)
    grads = iter(torch.autograd.grad(y, wanted, grad, allow_unused=True, materialize_grads=True))
    return tuple(next(grads) if t.requires_grad else None for t in inputs)


chunked_scan_op.register_autograd(_chunked_scan_backward, setup_context=_chunked_scan_save)


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
    """Selective scan in PyTorch, computed in fp32 and returned in u's dtype: the chunked form of the recurrence.

    u, delta, z: (batch, channels, length); A: (channels, state); B, C: (batch, state, length);
    D, delta_bias: (channels,). Returns y: (batch, channels, length). Equal to `selective_scan_loop` (the
    step-by-step oracle) to rounding, several times faster on the CPU (see `_chunked_scan`).
    """
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    args = (u.float(), delta, A.float(), B.float(), C.float())
    # the TorchScript ONNX exporter has no symbolic for the op: it traces the steps themselves
    y = _chunked_scan(*args) if torch.onnx.is_in_onnx_export() else chunked_scan_op(*args)
    return _skip_and_gate(y, u, D, z)


def selective_scan_loop(
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
    """The sequential scan, one Python step per position: the test oracle of every other form (same signature)."""
    dA, dBu = _discretize(u, delta, A, B, delta_bias, delta_softplus)
    C = C.float()
    batch, channels, length = u.shape
    h = dA.new_zeros(batch, channels, A.shape[1])  # (B, D, N)
    ys = []
    for t in range(length):
        h = dA[:, :, t] * h + dBu[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=2) if ys else u.new_zeros(batch, channels, 0, dtype=torch.float32)
    return _skip_and_gate(y, u, D, z)


def _scan_step(h: Tensor, x: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """One step of the recurrence: h (B, D, N); x = (exp(ΔA)_t, ΔBu_t (B, D, N), C_t (B, N))."""
    da, dbu, c = x
    h = da * h + dbu
    return h, torch.einsum("bdn,bn->bd", h, c)


@register_kernel(
    "selective_scan", "torch_scan", export=True,
    description="the same recurrence as torch's scan higher-order op: torch.export keeps the length symbolic "
    "(an ONNX Scan), where the eager loop is unrolled at the example's length; used while exporting",
)  # fmt: skip
def selective_scan_torch_scan(
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
    """`selective_scan_ref`'s recurrence written with `torch._higher_order_ops.scan` over the length axis.

    Same signature, shapes and fp32 arithmetic as the loop (step for step), so its outputs equal the loop's up
    to rounding; in eager mode torch runs the scan through dynamo, so the loop stays the default there.
    """
    from torch._higher_order_ops.scan import scan

    dA, dBu = _discretize(u, delta, A, B, delta_bias, delta_softplus)
    batch, channels, _ = u.shape
    h0 = dA.new_zeros(batch, channels, A.shape[1])  # (B, D, N)
    xs = (dA.permute(2, 0, 1, 3), dBu.permute(2, 0, 1, 3), C.float().permute(2, 0, 1))  # length first
    _, ys = scan(_scan_step, h0, xs)  # ys: (L, B, D)
    return _skip_and_gate(ys.permute(1, 2, 0).contiguous(), u, D, z)


MAX_STATE = 256


@triton.jit
def _combine(a1, b1, a2, b2):
    """Compose two affine steps h -> a h + b (first then second)."""
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _scan_fwd(
    U, DELTA, A, Bm, Cm, Dv, Z, DBIAS, Y, D_CH, L, N,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DBIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    CHUNK: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    pid = tl.program_id(0)  # one (batch, channel) pair
    b = (pid // D_CH).to(tl.int64)  # int64: B·D·L and B·N·L may pass 2³¹
    d = (pid % D_CH).to(tl.int64)
    ns = tl.arange(0, BLOCK_N)
    nmask = ns < N
    a_row = tl.load(A + d * N + ns, mask=nmask, other=0.0).to(tl.float32)  # (N,)
    dbias = tl.load(DBIAS + d).to(tl.float32) if HAS_DBIAS else 0.0
    dskip = tl.load(Dv + d).to(tl.float32) if HAS_D else 0.0
    h = tl.zeros((BLOCK_N,), dtype=tl.float32)  # state carried across chunks
    row = (b * D_CH + d) * L
    for start in range(0, L, CHUNK):
        ts = start + tl.arange(0, CHUNK)
        tmask = ts < L
        u = tl.load(U + row + ts, mask=tmask, other=0.0).to(tl.float32)  # (T,)
        dt = tl.load(DELTA + row + ts, mask=tmask, other=0.0).to(tl.float32) + dbias
        if SOFTPLUS:
            dt = tl.where(dt > 20.0, dt, tl.log(1.0 + tl.exp(tl.minimum(dt, 20.0))))
        m2 = tmask[:, None] & nmask[None, :]
        bc = b * N * L + ns[None, :] * L + ts[:, None]  # (T, N) offsets into (B, N, L)
        bt = tl.load(Bm + bc, mask=m2, other=0.0).to(tl.float32)
        ct = tl.load(Cm + bc, mask=m2, other=0.0).to(tl.float32)
        da = tl.where(m2, tl.exp(dt[:, None] * a_row[None, :]), 1.0)  # (T, N)
        dbu = tl.where(m2, (dt * u)[:, None] * bt, 0.0)  # (T, N)
        ca, cb = tl.associative_scan((da, dbu), 0, _combine)  # prefix of the chunk's affine steps
        hs = ca * h[None, :] + cb  # (T, N) state at each step
        y = tl.sum(hs * ct, axis=1)  # (T,)
        h = tl.sum(tl.where((tl.arange(0, CHUNK) == CHUNK - 1)[:, None], hs, 0.0), axis=0)
        if HAS_D:
            y += dskip * u
        if HAS_Z:
            z = tl.load(Z + row + ts, mask=tmask, other=0.0).to(tl.float32)
            y = y * z / (1.0 + tl.exp(-z))
        tl.store(Y + row + ts, y.to(Y.dtype.element_ty), mask=tmask)


def _scan_check(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False) -> str | None:
    """Why the Triton scan cannot take this call, or None."""
    if torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (u, delta, A, B, C, D, z, delta_bias)
    ):
        return "the Triton selective scan has no backward"
    if u.dim() != 3 or B.dim() != 3 or C.dim() != 3:
        return (
            "needs u (batch, channels, length) and B, C (batch, state, length); grouped B/C are not supported"
        )
    if A.is_complex():
        return "complex A is not supported"
    if A.shape[1] > MAX_STATE:
        return f"state size {A.shape[1]} > {MAX_STATE}"
    return None


@register_kernel(
    "selective_scan", "triton", backward=False, interpreted_on_cpu=True, check=_scan_check,
    description="Triton chunked parallel scan (tl.associative_scan per chunk, carried state); forward only",
)  # fmt: skip
def selective_scan_triton(
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
    """Forward-only Triton selective scan (no backward: use the eager reference for training).

    Same signature and shapes as `selective_scan_ref`; one program per (batch, channel) scans the length in
    chunks with `tl.associative_scan` over (exp(Δ A), Δ B u) and carries the state between chunks.
    """
    reason = _scan_check(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    if reason:
        raise ValueError(reason)
    batch, channels, length = u.shape
    n = A.shape[1]
    u, delta, A, B, C = (t.contiguous() for t in (u, delta, A, B, C))
    y = torch.empty_like(u)
    if u.numel() == 0:
        return y
    z_ = z.contiguous() if z is not None else u
    grid = (batch * channels,)
    _scan_fwd[grid](
        u, delta, A, B, C, D if D is not None else u, z_, delta_bias if delta_bias is not None else u, y,
        channels, length, n, D is not None, z is not None, delta_bias is not None, bool(delta_softplus),
        CHUNK=min(64, triton.next_power_of_2(length)), BLOCK_N=triton.next_power_of_2(n),
    )  # fmt: skip
    return y


def scan_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward of the OpSpec's call: read u, delta, z (B·D·L each) and B, C (B·N·L each) in `dtype`, and A (D·N),
    D and delta_bias (D each) in fp32; write y (B·D·L): e·B·(4·D·L + 2·N·L) + 4·(D·N + 2·D) bytes."""
    e = torch.empty(0, dtype=dtype).element_size()
    b, d, length, n = shape["B"], shape["D"], shape["L"], shape["N"]
    return float(e * b * (4 * d * length + 2 * n * length) + 4 * (d * n + 2 * d))


def scan_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward: read u, delta, z, dy (B·D·L each) and B, C (B·N·L each), write du, ddelta, dz (B·D·L each) and
    dB, dC (B·N·L each) in `dtype`: e·B·(7·D·L + 4·N·L); read A, D, delta_bias and write their gradients in fp32:
    8·(D·N + 2·D) bytes. (y is not needed: the backward recomputes the states.)"""
    e = torch.empty(0, dtype=dtype).element_size()
    b, d, length, n = shape["B"], shape["D"], shape["L"], shape["N"]
    return float(e * b * (7 * d * length + 4 * n * length) + 8 * (d * n + 2 * d))


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    b, d, length, n = shape["B"], shape["D"], shape["L"], shape["N"]
    u = torch.randn(b, d, length, generator=g)
    delta = 0.5 * torch.randn(b, d, length, generator=g)
    A = -torch.rand(d, n, generator=g) - 0.5
    Bm, Cm = torch.randn(2, b, n, length, generator=g)
    Dv, z, dbias = (
        torch.randn(d, generator=g),
        torch.randn(b, d, length, generator=g),
        torch.randn(d, generator=g),
    )
    u, delta, Bm, Cm = (t.to(device=device, dtype=dtype) for t in (u, delta, Bm, Cm))
    args = (u, delta, A.to(device), Bm, Cm)
    return args, {"D": Dv.to(device), "z": z.to(device=device, dtype=dtype), "delta_bias": dbias.to(device),
                  "delta_softplus": True}  # fmt: skip


register_op(
    OpSpec(
        name="selective_scan",
        make_inputs=_make_inputs,
        shapes=({"B": 1, "D": 64, "L": 256, "N": 16}, {"B": 2, "D": 768, "L": 2048, "N": 16, "set": "gpu"}),
        flops=lambda s: 9.0 * s["B"] * s["D"] * s["L"] * s["N"],
        bytes_moved=scan_bytes,
        backward_bytes_moved=scan_backward_bytes,
        compile_shapes=({"B": 1, "D": 8, "L": 100, "N": 16}, {"B": 1, "D": 8, "L": 256, "N": 64}),
        ci_compile_shapes=({"B": 1, "D": 8, "L": 256, "N": 16, "dtype": "bfloat16"},),
        aliases=("scan",),
        description="Mamba selective scan over (batch, channels, length, state)",
    )
)

# the yardstick where PyTorch has no fused op: torch.compile of the reference (the chunked scan, unrolled)
register_kernel("selective_scan", "compile", backward=False)(lazy_compile(selective_scan_ref))
