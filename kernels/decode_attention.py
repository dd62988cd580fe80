"""Decode attention: one query token per sequence against a long KV cache, contiguous or paged, with GQA.

`decode_attention(q, k_cache, v_cache, *, seq_lens=None, block_table=None, scale=None)` is the plain function a
generation loop calls (its reference `decode_attention_ref` beside it); the registry routes the op
`decode_attention` to `eager` (the reference), `sdpa` (F.scaled_dot_product_attention on the gathered cache) and
`triton`.

Layouts:
- q: (B, H, D) or (B, H, 1, D).
- contiguous cache: k_cache, v_cache (B, Hkv, T, D); `seq_lens` (B,) says how many leading tokens of each
  sequence are valid (default all T).
- paged cache (vLLM's layout): k_cache, v_cache (pages, page_size, Hkv, D) and `block_table` (B, max_pages) int:
  token t of sequence b lives in page block_table[b, t // page_size] at slot t % page_size; `seq_lens` required.

The Triton kernel is split-KV (flash-decoding, Dao et al. 2023): one query token leaves a single (batch, head)
far too little work for a GPU, so the keys of each (batch, KV head) are split into chunks handled by separate
programs, each keeping an online softmax over its chunk for all the query heads of its group (GQA: the group is
the M dimension of one tile, so K and V are read once per KV head, not once per query head), and writing a
partial output with its log-sum-exp; a second kernel combines the chunks. The contiguous cache is the paged one
with one page per sequence (a strided view, no copy).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import RECORDING, interpreting, lazy_compile
from benchbench.kernels.registry import OpSpec, register_kernel, register_op

LOG2E = 1.4426950408889634
MAX_HEAD_DIM = 256
PROGRAMS_PER_SM = 4  # split so that B × Hkv × splits covers every multiprocessor a few times
INTERPRETER_SPLIT_TOKENS = 16  # the interpreter's chunk: small, so tests cross chunk boundaries


def _paged_view(q: Tensor, k_cache: Tensor, v_cache: Tensor, seq_lens: Tensor | None, block_table: Tensor | None
                ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    """(q as (B, H, D), k and v as (pages, page_size, Hkv, D) views, seq_lens (B,), block_table (B, pages))."""
    q3 = q.reshape(q.shape[0], q.shape[1], q.shape[-1])
    B = q3.shape[0]
    if block_table is None:  # contiguous (B, Hkv, T, D): page b is sequence b, a strided view
        k, v = k_cache.transpose(1, 2), v_cache.transpose(1, 2)
        block_table = torch.arange(B, device=q.device, dtype=torch.int32)[:, None]
        if seq_lens is None:
            seq_lens = torch.full((B,), k_cache.shape[2], dtype=torch.int32, device=q.device)
    else:
        k, v = k_cache, v_cache
    return q3, k, v, seq_lens, block_table


def decode_check(q: Tensor, k_cache: Tensor, v_cache: Tensor, *, seq_lens: Tensor | None = None,
                 block_table: Tensor | None = None, scale: float | None = None) -> str | None:  # fmt: skip
    """Why a call is malformed (None if it is well formed)."""
    if q.dim() not in (3, 4) or (q.dim() == 4 and q.shape[2] != 1):
        return f"q must be (B, H, D) or (B, H, 1, D), got {tuple(q.shape)}"
    if k_cache.dim() != 4 or k_cache.shape != v_cache.shape:
        return f"k_cache and v_cache must have one 4-d shape, got {tuple(k_cache.shape)} and {tuple(v_cache.shape)}"
    B, H, D = q.shape[0], q.shape[1], q.shape[-1]
    hkv = k_cache.shape[2] if block_table is not None else k_cache.shape[1]
    if k_cache.shape[-1] != D or H % hkv:
        return f"cache {tuple(k_cache.shape)} does not fit q {tuple(q.shape)} (head dim, heads a multiple of KV heads)"
    if block_table is not None:
        if seq_lens is None:
            return "a paged cache (block_table) needs seq_lens"
        if (
            block_table.dim() != 2
            or block_table.shape[0] != B
            or block_table.dtype not in (torch.int32, torch.int64)
        ):
            return f"block_table must be (B={B}, pages) int32/int64, got {tuple(block_table.shape)} {block_table.dtype}"
    elif k_cache.shape[0] != B:
        return f"contiguous cache must be (B={B}, Hkv, T, D), got {tuple(k_cache.shape)}"
    if seq_lens is not None and (seq_lens.shape != (B,) or seq_lens.is_floating_point()):
        return f"seq_lens must be (B={B},) integers, got {tuple(seq_lens.shape)} {seq_lens.dtype}"
    return None


def _checked(q, k_cache, v_cache, seq_lens, block_table, scale):
    why = decode_check(q, k_cache, v_cache, seq_lens=seq_lens, block_table=block_table, scale=scale)
    if why:
        raise ValueError(f"decode_attention: {why}")
    return 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)


def _gather(k: Tensor, v: Tensor, block_table: Tensor, T: int) -> tuple[Tensor, Tensor]:
    """Paged (pages, P, Hkv, D) → contiguous (B, Hkv, T, D) for the first T tokens of each sequence."""
    P = k.shape[1]
    t = torch.arange(T, device=k.device)
    pages = block_table[:, t // P].long()  # (B, T)
    return k[pages, t % P].transpose(1, 2), v[pages, t % P].transpose(1, 2)


@register_kernel("decode_attention", "eager", baseline=True, default=True, backward=False)
def decode_attention_ref(q: Tensor, k_cache: Tensor, v_cache: Tensor, *, seq_lens: Tensor | None = None,
                         block_table: Tensor | None = None, scale: float | None = None) -> Tensor:  # fmt: skip
    """The reference: gather the cache, mask past each sequence's length, softmax(q kᵀ · scale) v in fp32."""
    scale = _checked(q, k_cache, v_cache, seq_lens, block_table, scale)
    q3, k, v, lens, table = _paged_view(q, k_cache, v_cache, seq_lens, block_table)
    T = int(lens.max()) if lens.numel() else 0
    kc, vc = _gather(k, v, table, T)  # (B, Hkv, T, D)
    group = q3.shape[1] // kc.shape[1]
    kc, vc = kc.float().repeat_interleave(group, 1), vc.float().repeat_interleave(group, 1)
    s = torch.einsum("bhd,bhtd->bht", q3.float(), kc) * scale
    valid = torch.arange(T, device=q.device)[None, :] < lens[:, None].to(q.device)  # (B, T)
    s = s.masked_fill(~valid[:, None, :], float("-inf"))
    empty = (lens == 0).to(q.device)[:, None, None]  # a sequence of length 0 attends to nothing: output 0
    p = s.softmax(-1).masked_fill(empty, 0.0)  # (a NaN anywhere else stays a NaN)
    return torch.einsum("bht,bhtd->bhd", p, vc).to(q.dtype).reshape(q.shape)


@register_kernel("decode_attention", "sdpa", backward=False)
def decode_attention_sdpa(q: Tensor, k_cache: Tensor, v_cache: Tensor, *, seq_lens: Tensor | None = None,
                          block_table: Tensor | None = None, scale: float | None = None) -> Tensor:  # fmt: skip
    """F.scaled_dot_product_attention with one query; a paged cache is gathered first (counted in its time)."""
    scale = _checked(q, k_cache, v_cache, seq_lens, block_table, scale)
    q3, k, v, lens, table = _paged_view(q, k_cache, v_cache, seq_lens, block_table)
    if block_table is None:
        kc, vc, T = k_cache, v_cache, k_cache.shape[2]
    else:
        T = int(lens.max())
        kc, vc = _gather(k, v, table, T)
    mask = (torch.arange(T, device=q.device)[None, :] < lens[:, None].to(q.device))[:, None, None, :]
    out = F.scaled_dot_product_attention(q3[:, :, None, :], kc, vc, attn_mask=mask, scale=scale,
                                         enable_gqa=kc.shape[1] != q3.shape[1])  # fmt: skip
    return out.masked_fill((lens == 0).to(q.device)[:, None, None, None], 0.0).reshape(q.shape)


# the yardstick beside PyTorch's fused op (SDPA): torch.compile of the reference (its gather and masked softmax)
register_kernel("decode_attention", "compile", backward=False)(lazy_compile(decode_attention_ref))


@triton.jit
def _decode_split(
    Q, K, V, LENS, TABLE, PART_O, PART_L,  # Q (B, H, D); K, V (pages, P, Hkv, D); PART_O (B, H, S, D) fp32; PART_L (B, H, S)
    sqb, sqh, sqd, skp, skt, skh, skd, svp, svt, svh, svd, stb, stp,
    H, GROUP, P, S, CHUNK, qk_scale,  # S splits of CHUNK tokens; qk_scale = scale · log2 e
    D: tl.constexpr, BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
    DOT_PREC: tl.constexpr,
):  # fmt: skip
    """One program: the GROUP query heads of one (batch, KV head) against the tokens of one chunk."""
    bhk = tl.program_id(0)
    split = tl.program_id(1)
    HKV = H // GROUP
    b = (bhk // HKV).to(tl.int64)
    hk = (bhk % HKV).to(tl.int64)
    offs_g = tl.arange(0, BLOCK_G)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    g_ok = offs_g < GROUP
    d_ok = offs_d < D
    heads = hk * GROUP + offs_g
    q = tl.load(Q + b * sqb + heads[:, None] * sqh + offs_d[None, :] * sqd, mask=g_ok[:, None] & d_ok[None, :],
                other=0.0)  # fmt: skip
    seq_len = tl.load(LENS + b).to(tl.int32)
    lo = split * CHUNK
    hi = tl.minimum(lo + CHUNK, seq_len)
    m_i = tl.full((BLOCK_G,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_G,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_G, BLOCK_D), dtype=tl.float32)
    for start in range(lo, hi, BLOCK_N):
        tok = start + offs_n
        n_ok = tok < hi
        page = tl.load(TABLE + b * stb + (tok // P) * stp, mask=n_ok, other=0).to(tl.int64)
        slot = (tok % P).to(tl.int64)
        kt = tl.load(K + page[None, :] * skp + slot[None, :] * skt + hk * skh + offs_d[:, None] * skd,
                     mask=n_ok[None, :] & d_ok[:, None], other=0.0)  # fmt: skip
        s = tl.dot(q, kt, input_precision=DOT_PREC) * qk_scale  # (BLOCK_G, BLOCK_N), base 2
        s = tl.where(n_ok[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.math.exp2(m_i - m_new)
        p = tl.math.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(V + page[:, None] * svp + slot[:, None] * svt + hk * svh + offs_d[None, :] * svd,
                    mask=n_ok[:, None] & d_ok[None, :], other=0.0)  # fmt: skip
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=DOT_PREC)
        m_i = m_new
    empty = l_i == 0.0  # a chunk past the sequence's end: no weight in the combine
    o = acc / tl.where(empty, 1.0, l_i)[:, None]
    lse = tl.where(empty, float("-inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    row = (b * H + heads) * S + split  # (BLOCK_G,)
    tl.store(PART_O + row[:, None] * BLOCK_D + offs_d[None, :], o, mask=g_ok[:, None])
    tl.store(PART_L + row, lse, mask=g_ok)


@triton.jit
def _decode_combine(
    PART_O, PART_L, OUT,  # PART_O (B·H, S, BLOCK_D) fp32, PART_L (B·H, S); OUT (B, H, D) contiguous
    S, D: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """One program per (batch, head): the chunks' outputs weighted by exp2(lse - max lse)."""
    bh = tl.program_id(0).to(tl.int64)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, BLOCK_D)
    s_ok = offs_s < S
    lse = tl.load(PART_L + bh * S + offs_s, mask=s_ok, other=float("-inf"))
    m = tl.max(lse, 0)
    m_safe = tl.where(m == float("-inf"), 0.0, m)
    w = tl.math.exp2(lse - m_safe)  # 0 for empty chunks
    o = tl.load(
        PART_O + (bh * S + offs_s[:, None]) * BLOCK_D + offs_d[None, :], mask=s_ok[:, None], other=0.0
    )
    total = tl.sum(w, 0)
    out = tl.sum(o * w[:, None], 0) / tl.where(total == 0.0, 1.0, total)
    tl.store(OUT + bh * D + offs_d, out.to(OUT.dtype.element_ty), mask=offs_d < D)


def _splits(B: int, hkv: int, T: int, block_n: int, device: torch.device) -> tuple[int, int]:
    """(splits, tokens per split): enough programs to fill the GPU, each chunk a multiple of BLOCK_N."""
    if device.type != "cuda":
        chunk = INTERPRETER_SPLIT_TOKENS
        return max(1, triton.cdiv(T, chunk)), chunk
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    want = max(1, triton.cdiv(PROGRAMS_PER_SM * sms, B * hkv))
    splits = max(1, min(want, triton.cdiv(T, block_n)))
    chunk = triton.cdiv(triton.cdiv(T, splits), block_n) * block_n
    return triton.cdiv(T, chunk), chunk


def decode_triton_check(q: Tensor, k_cache: Tensor, v_cache: Tensor, **kwargs) -> str | None:
    """Why the Triton kernel cannot take this call (None if it can)."""
    why = decode_check(q, k_cache, v_cache, **kwargs)
    if why:
        return why
    if q.shape[-1] > MAX_HEAD_DIM:
        return f"head dim {q.shape[-1]} > {MAX_HEAD_DIM}"
    if not (q.dtype == k_cache.dtype == v_cache.dtype) or q.dtype not in (
        torch.float32,
        torch.float16,
        torch.bfloat16,
    ):
        return f"q/k/v dtypes {q.dtype}, {k_cache.dtype}, {v_cache.dtype}: need one of float32, float16, bfloat16"
    if q.device.type == "cpu" and not interpreting() and not RECORDING.get():
        return "on the CPU the Triton kernel runs only in the interpreter (TRITON_INTERPRET=1)"
    return None


@register_kernel("decode_attention", "triton", interpreted_on_cpu=True, backward=False, check=decode_triton_check,
                 description="Triton split-KV decode attention (flash-decoding), paged KV cache, GQA")  # fmt: skip
def decode_attention_triton(q: Tensor, k_cache: Tensor, v_cache: Tensor, *, seq_lens: Tensor | None = None,
                            block_table: Tensor | None = None, scale: float | None = None) -> Tensor:  # fmt: skip
    """Split-KV decode attention: chunks of the cache in parallel, then one combine per (batch, head)."""
    why = decode_triton_check(q, k_cache, v_cache, seq_lens=seq_lens, block_table=block_table, scale=scale)
    if why:
        raise ValueError(f"decode_attention/triton: {why}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    if interpreting() and q.dtype == torch.bfloat16:  # the interpreter has no real bf16 dot (PITFALLS)
        return decode_attention_triton(q.float(), k_cache.float(), v_cache.float(), seq_lens=seq_lens,
                                       block_table=block_table, scale=scale).to(q.dtype)  # fmt: skip
    q3, k, v, lens, table = _paged_view(q, k_cache, v_cache, seq_lens, block_table)
    B, H, D = q3.shape
    hkv = k.shape[2]
    T = table.shape[1] * k.shape[1]  # the most tokens a sequence can hold: an upper bound of seq_lens
    block_d = max(16, triton.next_power_of_2(D))
    block_n = 16 if interpreting() else (64 if block_d <= 128 else 32)
    block_g = max(16, triton.next_power_of_2(H // hkv))  # tl.dot needs 16 rows: spare rows are masked
    splits, chunk = _splits(B, hkv, T, block_n, q.device)
    part_o = torch.empty(B * H, splits, block_d, device=q.device, dtype=torch.float32)
    part_l = torch.empty(B * H, splits, device=q.device, dtype=torch.float32)
    out = torch.empty(B, H, D, device=q.device, dtype=q.dtype)
    lens = lens.to(device=q.device, dtype=torch.int32)
    if B * H:
        _decode_split[(B * hkv, splits)](
            q3, k, v, lens, table, part_o, part_l, *q3.stride(), *k.stride(), *v.stride(), *table.stride(),
            H, H // hkv, k.shape[1], splits, chunk, scale * LOG2E,
            D=D, BLOCK_G=block_g, BLOCK_N=block_n, BLOCK_D=block_d,
            DOT_PREC="ieee" if q.dtype == torch.float32 else "tf32", num_warps=4,
        )  # fmt: skip
        _decode_combine[(B * H,)](part_o, part_l, out, splits, D=D, BLOCK_S=max(2, triton.next_power_of_2(splits)),
                                  BLOCK_D=block_d, num_warps=4)  # fmt: skip
    return out.reshape(q.shape)


def decode_attention(q: Tensor, k_cache: Tensor, v_cache: Tensor, *, seq_lens: Tensor | None = None,
                     block_table: Tensor | None = None, scale: float | None = None) -> Tensor:  # fmt: skip
    """The entry a generation loop calls: the Triton kernel where it takes the call (a GPU, or the interpreter),
    else the reference. Same arguments and result as `decode_attention_ref`."""
    kw = {"seq_lens": seq_lens, "block_table": block_table, "scale": scale}
    if q.device.type == "cuda" and decode_triton_check(q, k_cache, v_cache, **kw) is None:
        return decode_attention_triton(q, k_cache, v_cache, **kw)
    return decode_attention_ref(q, k_cache, v_cache, **kw)


# ---- benchmark description ----------------------------------------------------------------------------


def make_paged_inputs(shape: dict, dtype: torch.dtype, device: str, *, ragged: bool = False,
                      seed: int = 0) -> tuple[tuple, dict]:  # fmt: skip
    """A paged cache of B sequences of T tokens (`ragged`: lengths T, T-3, T-6, ..., at least 1) in shuffled
    pages of `page` tokens; q (B, H, D)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    B, H, T, D, P = shape["B"], shape["H"], shape["T"], shape["D"], shape.get("page", 16)
    hkv = shape.get("Hkv", H)
    per_seq = triton.cdiv(T, P)
    pages = B * per_seq
    table = torch.randperm(pages, generator=g).reshape(B, per_seq).to(torch.int32)
    lens = torch.tensor([max(1, T - 3 * b) if ragged else T for b in range(B)], dtype=torch.int32)
    q = torch.randn(B, H, D, generator=g).to(dtype)
    k = torch.randn(pages, P, hkv, D, generator=g).to(dtype)
    v = torch.randn(pages, P, hkv, D, generator=g).to(dtype)
    args = tuple(t.to(device) for t in (q, k, v))
    return args, {"seq_lens": lens.to(device), "block_table": table.to(device)}


def decode_flops(shape: dict) -> float:
    """4·B·H·T·D: q·kᵀ and p·v for one query against T keys per head."""
    return 4.0 * shape["B"] * shape["H"] * shape["T"] * shape["D"]


def decode_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Read K and V once (e·B·T·Hkv·D each: GQA shares them across the group), q and write o (e·B·H·D each),
    and the block table (4 bytes per page). The split kernel's fp32 partials (B·H·splits·(D+1)·4 bytes, written
    and read once) are the implementation's choice: at T ≥ 8k they are under 1% of the cache and not counted."""
    e = torch.empty(0, dtype=dtype).element_size()
    B, H, T, D = shape["B"], shape["H"], shape["T"], shape["D"]
    hkv = shape.get("Hkv", H)
    pages = B * -(-T // shape.get("page", 16))
    return float(e * (2 * B * T * hkv * D + 2 * B * H * D) + 4 * pages)


register_op(
    OpSpec(
        name="decode_attention",
        make_inputs=make_paged_inputs,
        shapes=(
            {"B": 2, "H": 4, "Hkv": 2, "T": 64, "D": 64, "page": 16},
            {"B": 8, "H": 32, "Hkv": 8, "T": 8192, "D": 128, "page": 64, "set": "gpu"},
            {"B": 1, "H": 32, "Hkv": 8, "T": 32768, "D": 128, "page": 64, "set": "gpu"},
        ),
        flops=decode_flops,
        bytes_moved=decode_bytes,
        aliases=("flash_decoding",),
        description="one query token against a paged KV cache (split-KV), GQA via Hkv",
        compile_shapes=tuple(
            {"B": 2, "H": 32, "Hkv": kv, "T": 512, "D": d, "page": 64} for d in (64, 128) for kv in (8, 32)
        ),
        ci_compile_shapes=({"B": 2, "H": 32, "Hkv": 8, "T": 512, "D": 128, "page": 64, "dtype": "bfloat16"},),
    )
)
