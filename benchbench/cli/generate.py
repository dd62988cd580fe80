"""`benchbench generate MODEL`: what a decoder costs per token here, with its KV cache on (TTFT, TPOT, tokens/s,
end-to-end latency, peak memory, cache bytes), each figure a median with its 95% CI and sample count."""

from __future__ import annotations

import argparse
import sys

from benchbench.cli.common import (
    MODEL_HELP,
    TASK_HELP,
    add_json_option,
    check_output,
    check_output_dir,
    emit_json,
    positive_int,
)


def int_list(text: str) -> list[int]:
    """A comma-separated list of integers >= 1."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must list integers >= 1, e.g. 16,64")
    return sorted(set(values))


def backend_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in ("eager", "compile")]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"{text!r}: backends are eager and compile (comma-separated)")
    return list(dict.fromkeys(names))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate", help="decoders token by token: TTFT, TPOT, tokens/s, KV cache bytes (cache on)"
    )
    p.add_argument("model", help=MODEL_HELP + "; a decoder: gpt2, lstm_lm, mamba, hf:NAME/hf:DIR (causal-lm head) "
                   "or a factory whose model has forward_cached or an HF-style cached forward")  # fmt: skip
    p.add_argument("--size", default=None, help="zoo size preset (default tiny); not for library models")
    p.add_argument("--task", default=None, help=TASK_HELP + " (default causal-lm for hf: names)")
    p.add_argument(
        "--prompt-lens",
        type=int_list,
        default=[16, 64],
        help="prompt lengths, comma-separated (default 16,64)",
    )
    p.add_argument(
        "--gen-len", type=positive_int, default=16, help="tokens generated per request (default 16)"
    )
    p.add_argument(
        "--batch-sizes", type=int_list, default=[1], help="sequences per request, comma-separated (default 1)"
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        default=6,
        help="timed requests per point (default 6: the fewest for a 95%% median CI)",
    )
    p.add_argument("--dtype", default="float32", help="float32 (default), float16, bfloat16")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    p.add_argument(
        "--backend", type=backend_list, default=["eager"], help="eager (default), compile, or eager,compile"
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch CPU threads (default torch's); 1 keeps a loaded machine's thread hand-offs out of the step times",
    )
    p.add_argument("--decode-attention", metavar="IMPL",
                   help="run each decode step's attention through this implementation of the decode_attention op "
                        "(eager, sdpa, compile, triton: `benchbench list --kernels`); the zoo's attention decoders")  # fmt: skip
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory request")
    p.add_argument("--plots", metavar="DIR", help="write TTFT/TPOT/cache-bytes plots (SVG) into DIR")
    p.add_argument("--trace", metavar="DIR",
                   help="also write a Chrome/Perfetto trace of one request (prefill and every decode step) into DIR")  # fmt: skip
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.errors import BadInputError, CheckFailedError
    from benchbench.generate.records import to_json
    from benchbench.generate.run import GenerateSettings, generate
    from benchbench.sources.target import default_size

    check_output(args.json, suffixes=(".json",), what="--json file")
    check_output_dir(args.plots, what="--plots folder")
    check_output_dir(args.trace, what="--trace folder")
    say = print if args.json != "-" else (lambda *a: print(*a, file=sys.stderr))
    settings = GenerateSettings(
        prompt_lens=tuple(args.prompt_lens), gen_len=args.gen_len, batch_sizes=tuple(args.batch_sizes),
        backends=tuple(args.backend), repeats=args.repeats, dtype=args.dtype, device=args.device,
        size=args.size or default_size(args.model, "tiny"), task=args.task, memory=not args.no_memory,
        threads=args.threads, decode_attention=args.decode_attention,
    )  # fmt: skip
    if args.repeats < 2 and args.gen_len < 2:
        raise BadInputError(
            "--repeats 1 with --gen-len 1 gives one sample: no confidence interval; raise either"
        )
    record = generate(args.model, settings, say=lambda line: print(f"  {line}", file=sys.stderr))
    emit_json(args.json, to_json(record))
    _print(record, say)
    if args.plots:
        from benchbench.report.generation import write_generation_plots

        for path in write_generation_plots(record, args.plots):
            say(f"plot: {path}")
    if args.trace:
        trace = trace_request(args.model, settings, args.trace)
        say(f"trace of one request ({settings.prompt_lens[0]} prompt tokens, {settings.gen_len} generated): "
            f"{trace.path} (open in ui.perfetto.dev)")  # fmt: skip
    if not record.cache_check_ok:
        raise CheckFailedError(f"{record.model}: greedy tokens with the cache differ from recomputation")
    return 0


def trace_request(model: str, settings, out_dir: str):
    """torch.profiler's trace of one request of the first prompt length and batch size, prefill and decode."""
    import torch

    from benchbench.generate.build import build_decoder
    from benchbench.generate.measure import random_prompt
    from benchbench.generate.request import run_request
    from benchbench.measure.trace import trace_calls, trace_file_name

    decoder, target = build_decoder(model, size=settings.size, dtype=settings.dtype, device=settings.device,
                                    task=settings.task, seed=settings.seed)  # fmt: skip
    prompt = random_prompt(
        decoder.vocab_size, settings.batch_sizes[0], settings.prompt_lens[0], 0, settings.device
    )

    def one_request() -> None:
        with torch.no_grad():
            run_request(decoder, prompt, settings.gen_len)

    name = trace_file_name(f"{target.name}-generate", target.size, settings.batch_sizes[0], settings.dtype)
    return trace_calls(one_request, f"{out_dir}/{name}", device=settings.device, steps=1)


def _print(record, say) -> None:
    from benchbench.report.generation import cache_line, fmt_estimate

    say(
        f"{record.model} ({record.size}), {record.dtype} on {record.device} ({record.env.get('threads')} threads), "
        f"decoder interface {record.decoder}"
    )
    for note in record.notes:
        say(f"  {note}")
    for p in record.points:
        say(
            f"{p.backend}, batch {p.batch_size}, prompt {p.prompt_len}, {p.gen_len} tokens, {p.repeats} requests:"
        )
        say(f"  TTFT            {fmt_estimate(p.ttft_ms)} ms")
        say(f"  TPOT            {fmt_estimate(p.tpot_ms)} ms")
        say(f"  prefill         {fmt_estimate(p.prefill_tokens_per_s, '.4g')} tokens/s")
        say(f"  decode          {fmt_estimate(p.decode_tokens_per_s, '.4g')} tokens/s")
        say(f"  end-to-end      {fmt_estimate(p.e2e_ms)} ms")
        for pos in p.tpot_by_position:
            say(f"  TPOT at context {pos.start}-{pos.end - 1}: {fmt_estimate(pos.tpot_ms)} ms")
        if p.peak_bytes is not None:
            say(f"  peak memory     {p.peak_bytes / 2**20:.2f} MiB ({p.peak_memory_method})")
    for backend, why in record.skipped.items():
        say(f"{backend}: skipped ({why})")
    say(cache_line(record).replace("\\", ""))
