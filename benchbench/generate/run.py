"""`benchbench generate`'s measurement, as a library call: build the decoder, check its cache, size it, and time
requests for every backend × batch size × prompt length."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from benchbench.core.dtypes import parse_dtype
from benchbench.core.errors import BadInputError
from benchbench.generate.build import build_decoder, decoder_account
from benchbench.generate.check import cache_figures, check_cache
from benchbench.generate.decoder import Decoder, max_context
from benchbench.generate.kv import CacheAccount
from benchbench.generate.measure import measure_point, random_prompt
from benchbench.generate.records import CacheFigures, GenerationRecord
from benchbench.kernels.registry import get_kernel, route_kernels, use_kernels

BACKENDS = ("eager", "compile")
CHECK_PROMPT, CHECK_TOKENS = 16, 5  # the cache check's prompt (at most) and tokens


@dataclass(frozen=True)
class GenerateSettings:
    """What to measure: every backend × batch size × prompt length, `gen_len` tokens per request."""

    prompt_lens: tuple[int, ...] = (16, 64)
    gen_len: int = 16
    batch_sizes: tuple[int, ...] = (1,)
    backends: tuple[str, ...] = ("eager",)
    repeats: int = 6  # the fewest requests whose median CI reaches 95% coverage
    dtype: str = "float32"
    device: str = "cpu"
    size: str | None = "tiny"
    task: str | None = None
    memory: bool = True
    seed: int = 0
    threads: int | None = None  # torch's intra-op CPU threads (None: torch's default)
    fit_context: bool = False  # shorten prompts that would run past the model's positions (the run's stage)
    decode_attention: str | None = None  # an implementation of the decode_attention op for the decode steps


def fitted(settings: GenerateSettings, model: str, limit: int | None) -> GenerateSettings:
    """`settings` with every prompt plus `gen_len` within the model's `limit` positions: prompts shortened when
    `fit_context`, else one BadInputError line naming the limit."""
    if limit is None or all(p + settings.gen_len <= limit for p in settings.prompt_lens):
        return settings
    room = limit - settings.gen_len
    if not settings.fit_context or room < 1:
        raise BadInputError(f"{model} embeds at most {limit} positions: prompts of {max(settings.prompt_lens)} plus "
                            f"{settings.gen_len} generated tokens do not fit; lower --prompt-lens or --gen-len")  # fmt: skip
    return replace(settings, prompt_lens=tuple(sorted({min(p, room) for p in settings.prompt_lens})))


def compiled(decoder: Decoder) -> tuple[Decoder | None, str | None]:
    """The decoder with its forward through torch.compile (dynamic shapes), tried once; or (None, why not)."""
    fn = torch.compile(decoder.forward, dynamic=True)
    try:
        with torch.no_grad():
            _, cache = fn(torch.zeros(1, 2, dtype=torch.long, device=_device_of(decoder)), None)
            fn(torch.zeros(1, 1, dtype=torch.long, device=_device_of(decoder)), cache)
    except Exception as exc:
        return (
            None,
            f"torch.compile failed here: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}",
        )
    return Decoder(decoder.name, decoder.model, fn, decoder.kind, decoder.vocab_size, decoder.config), None


def _device_of(decoder: Decoder) -> torch.device:
    return next(decoder.model.parameters()).device


def generate(
    model: str, settings: GenerateSettings, say: Callable[[str], None] = lambda _: None
) -> GenerationRecord:
    """Measure `model` as `settings` ask; `say` hears progress lines. With `settings.decode_attention`, every
    decode step's attention runs that implementation of the `decode_attention` op (the zoo's attention decoders);
    a decoder that never calls it is refused in one line."""
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    if settings.decode_attention is None:
        return _generate(model, settings, say)
    calls = [0]
    impl = get_kernel("decode_attention", settings.decode_attention).fn  # an unknown name: one line

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return impl(*args, **kwargs)

    with use_kernels(decode_attention=settings.decode_attention), route_kernels(decode_attention=counted):
        record = _generate(model, settings, say, calls)
    record.notes.append(
        f"decode attention: {settings.decode_attention} ({calls[0]} calls, one per layer and step)"
    )
    return record


def _generate(
    model: str, settings: GenerateSettings, say: Callable[[str], None], decode_calls: list[int] | None = None
) -> GenerationRecord:
    decoder, target = build_decoder(
        model,
        size=settings.size,
        dtype=settings.dtype,
        device=settings.device,
        task=settings.task,
        seed=settings.seed,
    )
    settings = fitted(settings, target.name, max_context(decoder))
    dtype = parse_dtype(settings.dtype)
    check_len = min(CHECK_PROMPT, *settings.prompt_lens)  # correctness needs no long prompt
    check = check_cache(
        decoder, random_prompt(decoder.vocab_size, 1, check_len, 0, settings.device), CHECK_TOKENS
    )
    if decode_calls is not None and decode_calls[0] == 0:
        raise BadInputError(f"--decode-attention applies to the zoo's attention decoders (gpt2, whisper_*); "
                            f"{target.name}'s decode steps never call the decode_attention op")  # fmt: skip
    notes = [f"cache check: greedy tokens with the cache {'equal' if check.same_tokens else 'DIFFER FROM'} "
             f"recomputation; decode steps embed {sorted(set(check.tokens_seen[1:]))} token(s) per call"]  # fmt: skip
    account = decoder_account(decoder, dtype)
    contexts = sorted({1, check_len, 2 * check_len})  # more contexts come from the timed requests' caches
    figures = cache_figures(decoder, account, contexts, settings.device) if account else None
    record = GenerationRecord(
        model=target.name, size=target.size, decoder=decoder.kind, dtype=settings.dtype, device=settings.device,
        points=[], cache=figures, notes=notes + [n for n in target.notes if "use_cache" not in n],
        cache_check_ok=check.ok,
        env={"torch": torch.__version__, "threads": torch.get_num_threads()},
    )  # fmt: skip
    for backend in settings.backends:
        runner, why = (decoder, None) if backend == "eager" else compiled(decoder)
        if runner is None:
            record.skipped[backend] = why or "not available"
            say(f"{backend}: skipped ({why})")
            continue
        for bs in settings.batch_sizes:
            for plen in settings.prompt_lens:
                say(f"{backend}: batch {bs}, prompt {plen}, {settings.gen_len} tokens")
                record.points.append(measure_point(
                    runner, backend=backend, batch_size=bs, prompt_len=plen, gen_len=settings.gen_len,
                    repeats=settings.repeats, device=settings.device, seed=settings.seed, memory=settings.memory,
                ))  # fmt: skip
    if figures is not None and account is not None:
        add_request_caches(figures, account, record)
    return record


def add_request_caches(figures: CacheFigures, account: CacheAccount, record: GenerationRecord) -> None:
    """The bytes each timed point's cache held at its end (per sequence), beside the analytic figure."""
    for p in record.points:
        ctx = p.prompt_len + p.gen_len - 1  # the last token is never fed back
        if [ctx, p.cache_bytes_end // p.batch_size] not in figures.measured:
            figures.measured.append([ctx, p.cache_bytes_end // p.batch_size])
    figures.measured.sort()
    figures.agrees = all(
        abs(b - account.bytes_at(c)) <= 0.01 * account.bytes_at(c) for c, b in figures.measured
    )
