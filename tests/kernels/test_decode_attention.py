"""Split-KV decode attention vs its fp32 reference: paged and contiguous caches, GQA, ragged lengths, awkward
sizes (interpreter on CPU); SDPA against the reference; NaN never passes."""

import pytest
import torch

from benchbench.kernels.decode_attention import (
    decode_attention,
    decode_attention_ref,
    decode_attention_sdpa,
    decode_attention_triton,
    decode_bytes,
    make_paged_inputs,
)

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 2e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def _fp32_ref(args, kwargs):
    q, k, v = (t.float() for t in args)
    return decode_attention_ref(q, k, v, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "shape",
    [
        {"B": 1, "H": 1, "T": 1, "D": 16, "page": 1},  # sizes of 1
        {"B": 3, "H": 6, "Hkv": 2, "T": 37, "D": 24, "page": 5},  # primes, head dim not a power of two, GQA 3
        {"B": 2, "H": 4, "Hkv": 1, "T": 50, "D": 64, "page": 16},  # multi-query; chunks of 16 cross pages
    ],
)
def test_paged_matches_reference(shape, dtype):
    args, kwargs = make_paged_inputs(shape, dtype, "cpu", ragged=True, seed=3)
    got = decode_attention_triton(*args, **kwargs)
    ref = _fp32_ref(args, kwargs)
    assert got.shape == args[0].shape and got.dtype == dtype and torch.isfinite(got).all()
    torch.testing.assert_close(got.float(), ref, atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_contiguous_cache_with_lengths_and_4d_query(dtype):
    g = torch.Generator().manual_seed(5)
    B, H, Hkv, T, D = 2, 4, 2, 23, 32
    q = torch.randn(B, H, 1, D, generator=g).to(dtype)
    k = torch.randn(B, Hkv, T, D, generator=g).to(dtype)
    v = torch.randn(B, Hkv, T, D, generator=g).to(dtype)
    lens = torch.tensor([23, 7], dtype=torch.int32)
    got = decode_attention_triton(q, k, v, seq_lens=lens)
    ref = decode_attention_ref(q.float(), k.float(), v.float(), seq_lens=lens)
    torch.testing.assert_close(got.float(), ref, atol=TOL[dtype], rtol=TOL[dtype])
    # the second sequence's tokens past its length do not count: changing them changes nothing
    k2 = k.clone()
    k2[1, :, 7:] = 1e4
    torch.testing.assert_close(decode_attention_triton(q, k2, v, seq_lens=lens), got)
    # the entry for a generation loop: the reference on the CPU, same answer
    torch.testing.assert_close(decode_attention(q, k, v, seq_lens=lens).float(), ref, atol=TOL[dtype],
                               rtol=TOL[dtype])  # fmt: skip


def test_sdpa_matches_reference_on_paged_and_contiguous():
    args, kwargs = make_paged_inputs({"B": 2, "H": 4, "Hkv": 2, "T": 19, "D": 16, "page": 4}, torch.float32, "cpu",
                                     ragged=True)  # fmt: skip
    torch.testing.assert_close(decode_attention_sdpa(*args, **kwargs), _fp32_ref(args, kwargs), atol=1e-5,
                               rtol=1e-5)  # fmt: skip


def test_nan_in_a_valid_key_is_never_hidden():
    args, kwargs = make_paged_inputs({"B": 1, "H": 2, "T": 9, "D": 16, "page": 4}, torch.float32, "cpu")
    q, k, v = args
    page = int(kwargs["block_table"][0, 0])
    k[page, 1, 0, 3] = float("nan")  # KV head 0: query head 0 sees it, head 1 does not
    for out in (decode_attention_triton(q, k, v, **kwargs), decode_attention_ref(q, k, v, **kwargs)):
        assert torch.isnan(out[:, 0]).all() and torch.isfinite(out[:, 1]).all()


def test_malformed_calls_are_refused_with_the_shapes():
    q = torch.randn(2, 4, 16)
    k = torch.randn(2, 3, 8, 16)
    with pytest.raises(ValueError, match="heads a multiple of KV heads"):
        decode_attention_triton(q, k, k)
    with pytest.raises(ValueError, match="needs seq_lens"):
        paged = torch.randn(2, 3, 2, 16)  # (pages, page size, Hkv, D)
        decode_attention_ref(q, paged, paged, block_table=torch.zeros(2, 1, dtype=torch.int32))


def test_bytes_count_the_cache_once_per_kv_head():
    shape = {"B": 2, "H": 8, "Hkv": 2, "T": 128, "D": 64, "page": 16}
    # K and V: 2 × B·T·Hkv·D elements; q and o: 2 × B·H·D; the block table: 16 pages × 4 bytes
    assert decode_bytes(shape, torch.float16) == 2 * (2 * 2 * 128 * 2 * 64 + 2 * 2 * 8 * 64) + 4 * 16
