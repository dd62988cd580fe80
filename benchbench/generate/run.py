"""`benchbench generate`'s measurement, as a library call: build the decoder, check its cache, size it, and time
requests for every backend × batch size × prompt length."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from benchbench.core.dtypes import parse_dtype
from benchbench.generate.build import build_decoder, decoder_account
from benchbench.generate.check import cache_figures, check_cache
from benchbench.generate.decoder import Decoder
from benchbench.generate.measure import measure_point, random_prompt
from benchbench.generate.records import GenerationRecord

BACKENDS = ("eager", "compile")


@dataclass(frozen=True)
class GenerateSettings:
    """What to measure: every backend × batch size × prompt length, `gen_len` tokens per request."""

    prompt_lens: tuple[int, ...] = (16, 64)
    gen_len: int = 16
    batch_sizes: tuple[int, ...] = (1,)
    backends: tuple[str, ...] = ("eager",)
    repeats: int = 5
    dtype: str = "float32"
    device: str = "cpu"
    size: str | None = "tiny"
    task: str | None = None
    memory: bool = True
    seed: int = 0
    threads: int | None = None  # torch's intra-op CPU threads (None: torch's default)


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
    """Measure `model` as `settings` ask; `say` hears progress lines."""
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    decoder, target = build_decoder(
        model,
        size=settings.size,
        dtype=settings.dtype,
        device=settings.device,
        task=settings.task,
        seed=settings.seed,
    )
    dtype = parse_dtype(settings.dtype)
    check = check_cache(decoder, random_prompt(decoder.vocab_size, 1, min(settings.prompt_lens), 0, settings.device),
                        min(4, settings.gen_len) + 1)  # fmt: skip
    notes = [f"cache check: greedy tokens with the cache {'equal' if check.same_tokens else 'DIFFER FROM'} "
             f"recomputation; decode steps embed {sorted(set(check.tokens_seen[1:]))} token(s) per call"]  # fmt: skip
    account = decoder_account(decoder, dtype)
    contexts = sorted({1, *settings.prompt_lens, max(settings.prompt_lens) + settings.gen_len})
    figures = cache_figures(decoder, account, contexts, settings.device) if account else None
    record = GenerationRecord(
        model=target.name, size=target.size, decoder=decoder.kind, dtype=settings.dtype, device=settings.device,
        points=[], cache=figures, notes=notes + list(target.notes), cache_check_ok=check.ok,
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
    return record
