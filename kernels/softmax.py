"""Row-wise softmax over the last dim: reference, torch.softmax, torch.compile and a Triton kernel."""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor, nn

from benchbench.kernels._common import lazy_compile, row_block, too_wide
from benchbench.kernels.registry import OpSpec, register_kernel, register_op

LOOP_ABOVE = 8192  # rows whose block would exceed this use the looped kernels, BLOCK_N = LOOP_ABOVE


@register_kernel("softmax", "eager", baseline=True, default=True)
def softmax_ref(x: Tensor) -> Tensor:
    """exp(x - max) / sum, in fp32, cast back to x's dtype."""
    xf = x.float()
    e = torch.exp(xf - xf.amax(-1, keepdim=True))
    return (e / e.sum(-1, keepdim=True)).to(x.dtype)


@register_kernel("softmax", "torch")
def softmax_torch(x: Tensor) -> Tensor:
    """PyTorch's torch.softmax."""
    return torch.softmax(x, dim=-1)


register_kernel("softmax", "compile")(lazy_compile(softmax_ref))


@triton.jit
def _softmax_fwd(X, Y, N, BLOCK_N: tl.constexpr):
    """One row per program: X, Y (M, N) contiguous; the row's offset in int64 (M·N may pass 2³¹)."""
    row = tl.program_id(0).to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(X + row + cols, mask=mask, other=-float("inf")).to(tl.float32)
    e = tl.exp(x - tl.max(x, axis=0))
    tl.store(Y + row + cols, (e / tl.sum(e, axis=0)).to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_fwd_online(X, Y, N, BLOCK_N: tl.constexpr):
    """Rows wider than one block: one pass for the running max and rescaled sum, one to write."""
    row = tl.program_id(0).to(tl.int64) * N
    m = tl.full((BLOCK_N,), -float("inf"), tl.float32)
    s = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x = tl.load(X + row + cols, mask=cols < N, other=-float("inf")).to(tl.float32)
        m_new = tl.maximum(m, x)
        s = s * tl.exp(tl.where(m_new == -float("inf"), 0.0, m - m_new)) + tl.where(
            x == -float("inf"), 0.0, tl.exp(x - m_new)
        )
        m = m_new
    mx = tl.max(m, axis=0)
    total = tl.sum(s * tl.exp(tl.where(m == -float("inf"), -float("inf"), m - mx)), axis=0)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x = tl.load(X + row + cols, mask=cols < N, other=-float("inf")).to(tl.float32)
        tl.store(Y + row + cols, (tl.exp(x - mx) / total).to(Y.dtype.element_ty), mask=cols < N)


@triton.jit
def _softmax_bwd(Y, DY, DX, N, BLOCK_N: tl.constexpr):
    """dx = y ∘ (dy - Σ y·dy), one row per program; Y, DY, DX (M, N) contiguous."""
    row = tl.program_id(0).to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    y = tl.load(Y + row + cols, mask=mask, other=0.0).to(tl.float32)
    dy = tl.load(DY + row + cols, mask=mask, other=0.0).to(tl.float32)
    dx = y * (dy - tl.sum(y * dy, axis=0))
    tl.store(DX + row + cols, dx.to(DX.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_bwd_looped(Y, DY, DX, N, BLOCK_N: tl.constexpr):
    """Rows wider than one block: a pass for Σ y·dy, a pass to write dx (no row held in registers, no spill)."""
    row = tl.program_id(0).to(tl.int64) * N
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        y = tl.load(Y + row + cols, mask=cols < N, other=0.0).to(tl.float32)
        dy = tl.load(DY + row + cols, mask=cols < N, other=0.0).to(tl.float32)
        acc += y * dy
    dot = tl.sum(acc, axis=0)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        y = tl.load(Y + row + cols, mask=cols < N, other=0.0).to(tl.float32)
        dy = tl.load(DY + row + cols, mask=cols < N, other=0.0).to(tl.float32)
        tl.store(DX + row + cols, (y * (dy - dot)).to(DX.dtype.element_ty), mask=cols < N)


class _SoftmaxFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x2 = x.reshape(-1, x.shape[-1]).contiguous()  # (M, N)
        y = torch.empty_like(x2)
        block, warps = row_block(x2.shape[1])
        if x2.shape[0] and block > LOOP_ABOVE:
            _softmax_fwd_online[(x2.shape[0],)](x2, y, x2.shape[1], LOOP_ABOVE, num_warps=8)
        elif x2.shape[0]:
            _softmax_fwd[(x2.shape[0],)](x2, y, x2.shape[1], block, num_warps=warps)
        ctx.save_for_backward(y)
        ctx.shape = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, dy):
        (y,) = ctx.saved_tensors
        dx = torch.empty_like(y)
        dy2 = dy.reshape(y.shape).contiguous()
        block, warps = row_block(y.shape[1])
        if y.shape[0] and block > LOOP_ABOVE:
            _softmax_bwd_looped[(y.shape[0],)](y, dy2, dx, y.shape[1], LOOP_ABOVE, num_warps=8)
        elif y.shape[0]:
            _softmax_bwd[(y.shape[0],)](y, dy2, dx, y.shape[1], block, num_warps=warps)
        return dx.reshape(ctx.shape)


@register_kernel("softmax", "triton", interpreted_on_cpu=True, check=lambda x, *a, **k: too_wide(x))
def softmax_triton(x: Tensor) -> Tensor:
    """Triton row softmax, one row per program, fp32 accumulation."""
    return _SoftmaxFn.apply(x)


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    return (torch.randn(shape["M"], shape["N"], generator=g).to(device=device, dtype=dtype),), {}


def softmax_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N), write y (M·N): 2·M·N elements."""
    return float(torch.empty(0, dtype=dtype).element_size() * 2 * shape["M"] * shape["N"])


def softmax_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward from the saved output: read y and dy, write dx: 3·M·N elements (x is not needed).

    The looped kernel (rows past LOOP_ABOVE) reads y and dy twice; the formula is the op's minimum, so its
    GB/s is the useful rate, not the bus's."""
    return float(torch.empty(0, dtype=dtype).element_size() * 3 * shape["M"] * shape["N"])


def _module_call(mod: nn.Softmax, x: Tensor) -> tuple[tuple, dict]:
    if mod.dim not in (-1, x.dim() - 1):
        raise ValueError(f"softmax kernels reduce over the last dim, not dim={mod.dim}")
    return (x,), {}


register_op(
    OpSpec(
        name="softmax",
        make_inputs=_make_inputs,
        shapes=({"M": 1024, "N": 1024}, {"M": 4096, "N": 4096}, {"M": 4096, "N": 8192, "set": "gpu"}),
        flops=lambda s: 4.0 * s["M"] * s["N"],
        bytes_moved=softmax_bytes,
        backward_bytes_moved=softmax_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 8192}, {"M": 4, "N": 8193}, {"M": 4, "N": 65536}),
        ci_compile_shapes=(
            {"M": 4, "N": 4096, "dtype": "float16"},
            {"M": 4, "N": 65536, "dtype": "bfloat16"},
        ),
        module_types=(nn.Softmax,),
        module_call=_module_call,
        description="softmax over the last dimension",
    )
)
