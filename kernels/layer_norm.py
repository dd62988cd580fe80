"""LayerNorm over the last dim: reference, PyTorch's fused op, torch.compile and a Triton kernel.

The Triton forward keeps one row per program (fp32 statistics). The backward runs one persistent program per
SM or so, each looping over its rows in a pipelined `tl.range`: dx per row, and the program's sums of the
weight/bias gradients in registers, written as one partial row per program and summed by a second small kernel
(`_common.sum_partials`). Rows wider than NORM_REGISTER_N go in chunks (`_ln_bwd_chunked`).
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


@register_kernel("layernorm", "eager", baseline=True, default=True)
def layer_norm_ref(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """LayerNorm written out in fp32 and cast back to x's dtype."""
    xf = x.float()
    mean = xf.mean(-1, keepdim=True)
    var = (xf - mean).pow(2).mean(-1, keepdim=True)
    y = (xf - mean) * torch.rsqrt(var + eps)
    if weight is not None:
        y = y * weight.float()
    if bias is not None:
        y = y + bias.float()
    return y.to(x.dtype)


@register_kernel("layernorm", "torch")
def layer_norm_torch(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """PyTorch's fused F.layer_norm."""
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


register_kernel("layernorm", "compile")(lazy_compile(layer_norm_ref))


@triton.jit
def _ln_fwd(X, W, B, Y, MEAN, RSTD, N, eps, HAS_W: tl.constexpr, HAS_B: tl.constexpr, BLOCK_N: tl.constexpr):
    """One row per program. X, Y (M, N) contiguous; W, B (N,); MEAN, RSTD (M,) fp32. Row offsets in int64."""
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / N
    xc = tl.where(mask, x - mean, 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(xc * xc, axis=0) / N + eps)
    y = xc * rstd
    if HAS_W:
        y = y * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    if HAS_B:
        y = y + tl.load(B + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(Y + base + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(MEAN + row, mean)
    tl.store(RSTD + row, rstd)


@triton.jit
def _ln_bwd(
    X, W, DY, DX, DW, DB, MEAN, RSTD, M, N,
    HAS_W: tl.constexpr, HAS_DW: tl.constexpr, HAS_DB: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, STAGES: tl.constexpr,
):  # fmt: skip
    """A persistent program over row blocks pid, pid + P, ...: dx for each row, and this program's sums of dw
    and db over its rows, written as ONE partial row each.

    X, DY, DX (M, N) contiguous; W (N,); DW, DB (P, N) fp32 partials; MEAN, RSTD (M,) fp32. Row offsets in
    int64. Masks, not a branch, cover the last block, so the loop pipelines."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    cmask = cols < N
    if HAS_W:
        w = tl.load(W + cols, mask=cmask, other=0.0).to(tl.float32)
    else:
        w = tl.where(cmask, 1.0, 0.0)
    dw = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    db = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for start in tl.range(pid * BLOCK_M, M, tl.num_programs(0) * BLOCK_M, num_stages=STAGES):
        rows = start + tl.arange(0, BLOCK_M)
        rmask = rows < M
        mask = rmask[:, None] & cmask[None, :]
        offs = rows.to(tl.int64)[:, None] * N + cols[None, :]
        x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(DY + offs, mask=mask, other=0.0).to(tl.float32)
        mean = tl.load(MEAN + rows, mask=rmask, other=0.0)[:, None]
        rstd = tl.load(RSTD + rows, mask=rmask, other=0.0)[:, None]
        xhat = tl.where(mask, (x - mean) * rstd, 0.0)
        g = dy * w[None, :]
        c1 = tl.sum(xhat * g, axis=1)[:, None] / N
        c2 = tl.sum(g, axis=1)[:, None] / N
        tl.store(DX + offs, ((g - (xhat * c1 + c2)) * rstd).to(DX.dtype.element_ty), mask=mask)
        if HAS_DW:
            dw += dy * xhat
        if HAS_DB:
            db += dy
    if HAS_DW:
        tl.store(DW + pid * N + cols, tl.sum(dw, axis=0), mask=cmask)
    if HAS_DB:
        tl.store(DB + pid * N + cols, tl.sum(db, axis=0), mask=cmask)


@triton.jit
def _ln_bwd_chunked(
    X, W, DY, DX, DW, DB, MEAN, RSTD, M, N,
    HAS_W: tl.constexpr, HAS_DW: tl.constexpr, HAS_DB: tl.constexpr, BLOCK_N: tl.constexpr, STAGES: tl.constexpr,
):  # fmt: skip
    """`_ln_bwd` for rows too wide for registers: rows pid, pid + P, ..., each in BLOCK_N-column chunks, in two
    passes (the row sums, then dx); dw and db are added into this program's own partial rows in place (P·N·4
    bytes each, small enough to stay in L2), which the program zeroes first. Same pointers as `_ln_bwd`."""
    pid = tl.program_id(0)
    part = pid * N
    chunk = tl.arange(0, BLOCK_N)
    for c in range(0, N, BLOCK_N):
        if HAS_DW:
            tl.store(DW + part + c + chunk, tl.zeros((BLOCK_N,), dtype=tl.float32), mask=c + chunk < N)
        if HAS_DB:
            tl.store(DB + part + c + chunk, tl.zeros((BLOCK_N,), dtype=tl.float32), mask=c + chunk < N)
    for row in range(pid, M, tl.num_programs(0)):
        base = tl.cast(row, tl.int64) * N  # the interpreter gives `row` as a Python int
        mean = tl.load(MEAN + row)
        rstd = tl.load(RSTD + row)
        s1 = tl.zeros((BLOCK_N,), dtype=tl.float32)
        s2 = tl.zeros((BLOCK_N,), dtype=tl.float32)
        for c in tl.range(0, N, BLOCK_N, num_stages=STAGES):  # pass 1: Σ x̂·g and Σ g over the row
            cols = c + chunk
            mask = cols < N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32) if HAS_W else 1.0
            g = dy * w
            s1 += tl.where(mask, (x - mean) * rstd, 0.0) * g
            s2 += g
        c1 = tl.sum(s1, axis=0) / N
        c2 = tl.sum(s2, axis=0) / N
        for c in range(0, N, BLOCK_N):  # pass 2 (not pipelined: it updates the partial rows in place)
            cols = c + chunk
            mask = cols < N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32) if HAS_W else 1.0
            xhat = tl.where(mask, (x - mean) * rstd, 0.0)
            g = dy * w
            tl.store(DX + base + cols, ((g - (xhat * c1 + c2)) * rstd).to(DX.dtype.element_ty), mask=mask)
            if HAS_DW:
                tl.store(
                    DW + part + cols, tl.load(DW + part + cols, mask=mask, other=0.0) + dy * xhat, mask=mask
                )
            if HAS_DB:
                tl.store(DB + part + cols, tl.load(DB + part + cols, mask=mask, other=0.0) + dy, mask=mask)


class _LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()  # (M, N)
        m, n = x2.shape
        y = torch.empty_like(x2)
        mean = torch.empty(m, device=x.device, dtype=torch.float32)
        rstd = torch.empty(m, device=x.device, dtype=torch.float32)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        b = bias.contiguous() if bias is not None else x2
        if m:
            _ln_fwd[(m,)](
                x2, w, b, y, mean, rstd, n, eps, weight is not None, bias is not None, block, num_warps=warps
            )
        ctx.save_for_backward(x2, weight, bias, mean, rstd)
        ctx.shape = shape
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, bias, mean, rstd = ctx.saved_tensors
        m, n = x2.shape
        dy2 = dy.reshape(m, n).contiguous()
        dx = torch.empty_like(x2)
        plan = norm_backward_plan(m, n, multiprocessors(x2.device))
        has_dw, has_db = (
            weight is not None and ctx.needs_input_grad[1],
            bias is not None and ctx.needs_input_grad[2],
        )
        dw_part, db_part = partial_rows(plan, n, has_dw, dx), partial_rows(plan, n, has_db, dx)
        w = weight.contiguous() if weight is not None else x2
        args = (x2, w, dy2, dx, dw_part, db_part, mean, rstd, m, n, weight is not None, has_dw, has_db)
        launch_norm_backward(plan, m, _ln_bwd, _ln_bwd_chunked, args)
        dw = sum_partials(dw_part, weight.dtype) if has_dw else None  # stage 2: P partial rows → one
        db = sum_partials(db_part, bias.dtype) if has_db else None
        return dx.reshape(ctx.shape), dw, db, None


@register_kernel(
    "layernorm", "triton", interpreted_on_cpu=True, check=lambda x, *a, **k: too_wide(x, NORM_MAX_N)
)
def layer_norm_triton(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """Triton LayerNorm, one row per program, fp32 statistics, two-stage weight gradients."""
    why = too_wide(x, NORM_MAX_N)
    if why:
        raise ValueError(f"layernorm/triton: {why}")
    return _LayerNormFn.apply(x, weight, bias, eps)


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    m, n = shape["M"], shape["N"]
    x = torch.randn(m, n, generator=g).to(device=device, dtype=dtype)
    w = (1 + 0.1 * torch.randn(n, generator=g)).to(device=device, dtype=dtype)
    b = (0.1 * torch.randn(n, generator=g)).to(device=device, dtype=dtype)
    return (x, w, b, 1e-5), {}


def layer_norm_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N), w and b (N each), write y (M·N): 2·M·N + 2·N elements.

    The per-row mean and rstd (8 bytes a row, fp32) that a training forward saves are an implementation's
    choice, not the op's interface, and are not counted (1/N of the traffic)."""
    e = torch.empty(0, dtype=dtype).element_size()
    return float(e * (2 * shape["M"] * shape["N"] + 2 * shape["N"]))


def layer_norm_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward, as the Triton kernels move it: read x and dy (M·N each), w (N), mean and rstd (M each, fp32);
    write dx (M·N); write and read back the fp32 partial rows of dw and db (P·N each, P the persistent programs
    on this machine's device: `norm_backward_plan`); write dw and db (N each). Each tensor once from DRAM: the
    programs' re-reads of w, and the wide-row path's second pass over a row, hit the caches.

    e·(3·M·N + 3·N) + 8·M + 2·2·4·P·N bytes. Not 2× the forward: y is not read back. The partial rows are
    8·P/(3·M·e) of the rows per gradient: on an H200 (P = 132), bf16, 1.1% of the bytes at M = 32768, N = 4096
    and 7.9% at M = 4096, N = 8192 (gpu-check's shape). They are likely still in L2 when read back, so their
    count is an upper bound on their DRAM traffic."""
    e = torch.empty(0, dtype=dtype).element_size()
    m, n = shape["M"], shape["N"]
    partials = norm_backward_plan(m, n, local_multiprocessors()).partial_bytes(n, gradients=2)
    return float(e * (3 * m * n + 3 * n) + 8 * m + partials)


register_op(
    OpSpec(
        name="layernorm",
        make_inputs=_make_inputs,
        shapes=(
            {"M": 1024, "N": 1024},
            {"M": 4096, "N": 4096},
            {"M": 4096, "N": 8192, "set": "gpu"},
        ),
        flops=lambda s: 8.0 * s["M"] * s["N"],
        bytes_moved=layer_norm_bytes,
        backward_bytes_moved=layer_norm_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 8192}, {"M": 4, "N": NORM_MAX_N}),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        aliases=("layer_norm",),
        module_types=(nn.LayerNorm,),
        module_call=lambda mod, x: ((x, mod.weight, mod.bias, mod.eps), {}),
        description="LayerNorm over the last dimension with affine weight and bias",
    )
)
