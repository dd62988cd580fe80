"""RMSNorm over the last dim: the zoo's module, the reference, F.rms_norm, torch.compile and a Triton kernel.

Triton: the forward takes one row per program with fp32 statistics; the backward's persistent programs loop
over their rows in a pipelined `tl.range`, giving dx per row and one partial row of the weight gradient per
program, summed by a second small kernel (`_common.sum_partials`); rows wider than NORM_REGISTER_N go in chunks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor, nn

from benchbench.kernels._common import (
    NORM_MAX_N,
    launch_norm_backward,
    lazy_compile,
    local_multiprocessors,
    multiprocessors,
    norm_backward_plan,
    partial_rows,
    row_block,
    sum_partials,
    too_wide,
)
from benchbench.kernels.registry import OpSpec, register_kernel, register_op


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich, 2019): x / rms(x) * weight, statistics in fp32."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


@register_kernel("rmsnorm", "eager", baseline=True, default=True)
def rms_norm_ref(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """RMSNorm written out in fp32 and cast back to x's dtype."""
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    if weight is not None:
        y = y * weight.float()
    return y.to(x.dtype)


@register_kernel("rmsnorm", "torch")
def rms_norm_torch(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """PyTorch's F.rms_norm."""
    return F.rms_norm(x, x.shape[-1:], weight, eps)


register_kernel("rmsnorm", "compile")(lazy_compile(rms_norm_ref))


@triton.jit
def _rms_fwd(X, W, Y, RSTD, N, eps, HAS_W: tl.constexpr, BLOCK_N: tl.constexpr):
    """One row per program. X, Y (M, N) contiguous; W (N,); RSTD (M,) fp32. Row offsets in int64."""
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / N + eps)
    y = x * rstd
    if HAS_W:
        y = y * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(Y + base + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(RSTD + row, rstd)


@triton.jit
def _rms_bwd(
    X, W, DY, DX, DW, RSTD, M, N,
    HAS_W: tl.constexpr, HAS_DW: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, STAGES: tl.constexpr,
):  # fmt: skip
    """A persistent program over row blocks pid, pid + P, ...: dx for each row, and this program's sum of dw
    over its rows, written as ONE partial row.

    X, DY, DX (M, N) contiguous; W (N,); DW (P, N) fp32 partials; RSTD (M,) fp32. Row offsets in int64. Masks,
    not a branch, cover the last block, so the loop pipelines."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    cmask = cols < N
    if HAS_W:
        w = tl.load(W + cols, mask=cmask, other=0.0).to(tl.float32)
    else:
        w = tl.where(cmask, 1.0, 0.0)
    dw = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for start in tl.range(pid * BLOCK_M, M, tl.num_programs(0) * BLOCK_M, num_stages=STAGES):
        rows = start + tl.arange(0, BLOCK_M)
        rmask = rows < M
        mask = rmask[:, None] & cmask[None, :]
        offs = rows.to(tl.int64)[:, None] * N + cols[None, :]
        x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(DY + offs, mask=mask, other=0.0).to(tl.float32)
        rstd = tl.load(RSTD + rows, mask=rmask, other=0.0)[:, None]
        xhat = x * rstd
        g = dy * w[None, :]
        c = tl.sum(xhat * g, axis=1)[:, None] / N
        tl.store(DX + offs, ((g - xhat * c) * rstd).to(DX.dtype.element_ty), mask=mask)
        if HAS_DW:
            dw += dy * xhat
    if HAS_DW:
        tl.store(DW + pid * N + cols, tl.sum(dw, axis=0), mask=cmask)


@triton.jit
def _rms_bwd_chunked(
    X, W, DY, DX, DW, RSTD, M, N,
    HAS_W: tl.constexpr, HAS_DW: tl.constexpr, BLOCK_N: tl.constexpr, STAGES: tl.constexpr,
):  # fmt: skip
    """`_rms_bwd` for rows too wide for registers: rows pid, pid + P, ..., each in BLOCK_N-column chunks, in two
    passes (the row sum, then dx); dw is added into this program's own partial row in place (P·N·4 bytes,
    small enough to stay in L2), which the program zeroes first. Same pointers as `_rms_bwd`."""
    pid = tl.program_id(0)
    part = pid * N
    chunk = tl.arange(0, BLOCK_N)
    if HAS_DW:
        for c in range(0, N, BLOCK_N):
            tl.store(DW + part + c + chunk, tl.zeros((BLOCK_N,), dtype=tl.float32), mask=c + chunk < N)
    for row in range(pid, M, tl.num_programs(0)):
        base = tl.cast(row, tl.int64) * N  # the interpreter gives `row` as a Python int
        rstd = tl.load(RSTD + row)
        s = tl.zeros((BLOCK_N,), dtype=tl.float32)
        for c in tl.range(0, N, BLOCK_N, num_stages=STAGES):  # pass 1: Σ x̂·g over the row
            cols = c + chunk
            mask = cols < N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32) if HAS_W else 1.0
            s += x * rstd * dy * w
        c1 = tl.sum(s, axis=0) / N
        for c in range(0, N, BLOCK_N):  # pass 2 (not pipelined: it updates the partial row in place)
            cols = c + chunk
            mask = cols < N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32) if HAS_W else 1.0
            xhat = x * rstd
            tl.store(DX + base + cols, ((dy * w - xhat * c1) * rstd).to(DX.dtype.element_ty), mask=mask)
            if HAS_DW:
                tl.store(
                    DW + part + cols, tl.load(DW + part + cols, mask=mask, other=0.0) + dy * xhat, mask=mask
                )


class _RMSNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()  # (M, N)
        m, n = x2.shape
        y = torch.empty_like(x2)
        rstd = torch.empty(m, device=x.device, dtype=torch.float32)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        if m:
            _rms_fwd[(m,)](x2, w, y, rstd, n, eps, weight is not None, block, num_warps=warps)
        ctx.save_for_backward(x2, weight, rstd)
        ctx.shape = shape
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, rstd = ctx.saved_tensors
        m, n = x2.shape
        dy2 = dy.reshape(m, n).contiguous()
        dx = torch.empty_like(x2)
        plan = norm_backward_plan(m, n, multiprocessors(x2.device))
        has_dw = weight is not None and ctx.needs_input_grad[1]
        dw_part = partial_rows(plan, n, has_dw, dx)
        w = weight.contiguous() if weight is not None else x2
        args = (x2, w, dy2, dx, dw_part, rstd, m, n, weight is not None, has_dw)
        launch_norm_backward(plan, m, _rms_bwd, _rms_bwd_chunked, args)
        dw = sum_partials(dw_part, weight.dtype) if has_dw else None  # stage 2: P partial rows → one
        return dx.reshape(ctx.shape), dw, None


@register_kernel(
    "rmsnorm", "triton", interpreted_on_cpu=True, check=lambda x, *a, **k: too_wide(x, NORM_MAX_N)
)
def rms_norm_triton(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """Triton RMSNorm, one row per program, fp32 statistics, two-stage weight gradient."""
    why = too_wide(x, NORM_MAX_N)
    if why:
        raise ValueError(f"rmsnorm/triton: {why}")
    return _RMSNormFn.apply(x, weight, eps)


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(shape["M"], shape["N"], generator=g).to(device=device, dtype=dtype)
    w = (1 + 0.1 * torch.randn(shape["N"], generator=g)).to(device=device, dtype=dtype)
    return (x, w, 1e-6), {}


def rms_norm_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N) and w (N), write y (M·N): 2·M·N + N elements (the saved rstd, 4 bytes a row, is an
    implementation's choice and not counted)."""
    return float(torch.empty(0, dtype=dtype).element_size() * (2 * shape["M"] * shape["N"] + shape["N"]))


def rms_norm_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward, as the Triton kernels move it: read x, dy (M·N each), w (N) and rstd (M, fp32); write dx
    (M·N); write and read back the fp32 partial rows of dw (P·N, P the persistent programs on this machine's
    device: `norm_backward_plan`); write dw (N). Each tensor once from DRAM (re-reads of w, and the wide-row
    path's second pass over a row, hit the caches): e·(3·M·N + 2·N) + 4·M + 2·4·P·N bytes."""
    e = torch.empty(0, dtype=dtype).element_size()
    m, n = shape["M"], shape["N"]
    partials = norm_backward_plan(m, n, local_multiprocessors()).partial_bytes(n, gradients=1)
    return float(e * (3 * m * n + 2 * n) + 4 * m + partials)


def _module_call(mod: nn.Module, x: Tensor) -> tuple[tuple, dict]:
    eps = getattr(mod, "eps", None)
    return (x, mod.weight, torch.finfo(x.dtype).eps if eps is None else eps), {}


register_op(
    OpSpec(
        name="rmsnorm",
        make_inputs=_make_inputs,
        shapes=({"M": 1024, "N": 1024}, {"M": 4096, "N": 4096}, {"M": 4096, "N": 8192, "set": "gpu"}),
        flops=lambda s: 4.0 * s["M"] * s["N"],
        bytes_moved=rms_norm_bytes,
        backward_bytes_moved=rms_norm_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 8192}, {"M": 4, "N": NORM_MAX_N}),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        aliases=("rms_norm",),
        module_types=(RMSNorm, nn.RMSNorm),
        module_call=_module_call,
        description="RMSNorm over the last dimension with a weight",
    )
)
