"""Fuzzing the error contract: every subcommand's options and every file loader, driven with generated bad values
and files. Whatever comes in: the exit code is 0, 1 or 2, no traceback, and a failure says so in one line.

What it covers: each option of `list`, `profile`, `export`, `swap`, `kernels compare`, `estimate`, `card`,
`health`, `serve`, `run`, `report`, `gate`, `history`, `compare` and `merge` with generated values; and generated
results files (report, gate, compare, merge, history add), budgets files (gate), suite files (run --suite-file),
pytest-benchmark files (gate) and history databases (history). It checks validation, up to the measurement:
an input that passes every check reaches the work, which is replaced by a marker that ends the example, so the
fuzz stays within seconds (the real work of each command is tested elsewhere). Set BENCHBENCH_FUZZ_REPORT=FILE to
get the count of inputs and exit codes per command, and BENCHBENCH_FUZZ_SCALE=K for K times the examples.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchbench.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")


class ReachedTheWork(BaseException):
    pass


WORK = [  # (module, function): where each command's measuring starts
    ("benchbench.measure.profile", "profile_target"), ("benchbench.deploy.readiness", "check_readiness"),
    ("benchbench.kernelbench.swap_check", "check_swap"), ("benchbench.kernelbench.compare", "compare_op"),
    ("benchbench.health.check", "check_health"), ("benchbench.report.card", "build_card"),
    ("benchbench.runs.run", "start_run"), ("benchbench.runs.run", "execute"),
    ("benchbench.measure.memory", "check_batch_fits"), ("benchbench.measure.profile", "profile"),
    ("benchbench.serve.scenarios", "serve_target"), ("benchbench.generate.run", "generate"),
    ("benchbench.matrix.matrix", "run_matrix"), ("benchbench.site.build", "build_site"),
    ("benchbench.serve.llm_scenario", "serve_llm_decoder"), ("benchbench.serve.openai_client", "serve_llm_endpoint"),
]  # fmt: skip
SEEN: dict[str, Counter] = defaultdict(Counter)
SCALE = int(os.environ.get("BENCHBENCH_FUZZ_SCALE", "1"))  # more examples of each, for a longer fuzz by hand


@pytest.fixture(scope="module", autouse=True)
def _work_replaced_by_a_marker():
    import importlib

    saved = []
    for mod_name, fn in WORK:
        mod = importlib.import_module(mod_name)
        saved.append((mod, fn, getattr(mod, fn)))

        def reached(*a, **k):
            raise ReachedTheWork

        setattr(mod, fn, reached)
    yield
    for mod, fn, original in saved:
        setattr(mod, fn, original)
    report = os.environ.get("BENCHBENCH_FUZZ_REPORT")
    if report:
        rows = [f"| {cmd} | {sum(c.values())} | " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))) + " |"
                for cmd, c in sorted(SEEN.items())]  # fmt: skip
        Path(report).write_text(
            "| command | inputs | exit codes |\n|---|---:|---|\n" + "\n".join(rows) + "\n"
        )


def drive(name: str, argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
        except ReachedTheWork:
            code = "work"
    SEEN[name][code] += 1
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text, (argv, text)
    assert code in (0, 1, 2, "work"), (argv, code, err.getvalue())
    if code not in (0, "work"):
        assert err.getvalue().strip().count("\n") == 0, (argv, err.getvalue())


NASTY = ["nan", "inf", "-inf", "-1", "0", "1e400", "", " ", "[/]", "[red]x[/]", "<script>", "\x00", "9" * 30, "1.5",
         "abc", "-0", "1/0", "0/0", "3/2", "a:b", "../..", "/dev/null", "%s", "'", "--", "-", "1,x", "1,,2", "M=0",
         "M=1e9", "B=-1", "cuda:9", "bf16", "float8", "mlp", "tiny", "huge"]  # fmt: skip
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=12), st.integers(-(10**12), 10**12).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr))  # fmt: skip

OPTIONS = {  # command → (the command before its options, the options to fuzz)
    "list": (["list"], ["--modality"]),
    "profile": (["profile", "mlp", "--no-memory"], ["--size", "--batch-size", "--seq-len", "--device", "--dtype",
                                                    "--mode", "--threads", "--depth"]),
    "export": (["export", "mlp", "--no-quantize"], ["--size", "--batch-size", "--seq-len", "--exporter", "--opset",
                                                    "--device"]),
    "swap": (["swap", "bert"], ["--ops", "--impl", "--size", "--batch-size", "--device", "--dtype", "--rounds",
                                "--intercept"]),
    "kernels": (["kernels", "compare", "layernorm"], ["--impl", "--shapes", "--device", "--dtype"]),
    "estimate": (["estimate", "mlp", "--hardware", "l4"], ["--size", "--train-samples", "--epochs", "--utilization",
                                                           "--batch-size", "--dtype", "--latency-budget-ms"]),
    "card": (["card", "mlp", "--no-scaling"], ["--size", "--hardware", "--train-samples", "--latency-budget-ms",
                                               "--modality"]),
    "health": (["health", "mlp"], ["--size", "--batch-size", "--seq-len", "--steps", "--budget", "--dataset-size",
                                   "--max-params-per-sample"]),
    "serve": (["serve", "mlp", "--qps", "50"], ["--size", "--scenario", "--backend", "--qps", "--p99-ms",
                                                "--max-batch", "--max-delay-ms", "--queries", "--min-duration-s",
                                                "--max-duration-s", "--max-probes", "--batch-sizes", "--threads",
                                                "--price-per-hour", "--seq-len", "--seed", "--device"]),
    "run": (["run"], ["--suite", "--models", "--device", "--shard", "--workers", "--executor", "--job-timeout"]),
    "generate": (["generate", "gpt2"], ["--size", "--prompt-lens", "--gen-len", "--batch-sizes", "--backend",
                                        "--dtype", "--device", "--threads", "--repeats"]),
    "deploy": (["deploy", "mlp"], ["--size", "--runtimes", "--precisions", "--batch-size", "--threads", "--samples",
                                   "--max-quality-drop", "--seq-len"]),
    "serve llm": (["serve", "gpt2", "--scenario", "llm", "--ttft-ms", "100", "--tpot-ms", "50"],
                  ["--ttft-ms", "--tpot-ms", "--goodput-share", "--prompt-tokens", "--output-tokens", "--requests",
                   "--endpoint", "--max-batch"]),
    "site": (["site", "--no-history", "--results", "nothing.json"], ["--max-regression", "--out"]),
    "history": (["history"], ["--limit"]),
    "gate": (["gate", "results", "--budgets", "b.toml"], ["--max-regression", "--alpha", "--retry"]),
    "compare": (["compare", "a", "b"], ["--alpha"]),
}  # fmt: skip
COMMAND_OPTIONS = [(cmd, opt) for cmd, (_, opts) in OPTIONS.items() for opt in opts]
FAST = settings(max_examples=4 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("command, option", COMMAND_OPTIONS)
@given(value=VALUES)
@FAST
def test_any_option_value(command, option, value, tmp_path, monkeypatch):
    head, _ = OPTIONS[command]
    monkeypatch.chdir(tmp_path)  # relative outputs land in a temporary folder
    tail = ["--out", "o", "--no-history"] if command == "run" else []
    drive(command, [*head, option, value, *tail])


# ---- files ------------------------------------------------------------------------------------------------

VALID_RUN = {
    "schema_version": 2, "kind": "run", "suite": "s", "device": "cpu",
    "profiles": [{"model": "m", "modality": "image", "size": "tiny", "batch_size": 1, "device": "cpu",
                  "dtype": "float32", "params": {"total": 1, "trainable": 1, "by_module": {}, "bytes": 4},
                  "latency": {"n": 3, "mean_ms": 1.0, "stdev_ms": 0.1, "min_ms": 0.9, "p50_ms": 1.0, "p90_ms": 1.1,
                              "p99_ms": 1.2, "max_ms": 1.2, "batch_size": 1, "throughput_per_s": 1000.0,
                              "device": "cpu", "threads": 1, "samples_ms": [0.9, 1.0, 1.1]}}],
}  # fmt: skip
JSONISH = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                       max_leaves=8)  # fmt: skip


def _paths(d: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_run(draw) -> bytes:
    """A valid results file with one key given a random value, or removed; or random bytes or JSON."""
    kind = draw(st.sampled_from(["mutate", "drop", "bytes", "json", "rename"]))
    if kind == "rename":  # a valid file whose model is called anything at all: it must render as text
        d = json.loads(json.dumps(VALID_RUN))
        d["profiles"][0]["model"] = draw(st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=16)))
        return json.dumps(d).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(JSONISH)).encode()
    d = json.loads(json.dumps(VALID_RUN))
    path = draw(st.sampled_from(_paths(d)))
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    if kind == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSONISH)
    return json.dumps(d).encode()


FILE_COMMANDS = {
    "report": lambda f, tmp: ["report", str(f), "--out", str(tmp / "r.md")],
    "gate": lambda f, tmp: ["gate", str(f), "--budgets", str(tmp / "ok.toml")],
    "compare": lambda f, tmp: ["compare", str(f), str(f)],
    "merge": lambda f, tmp: ["merge", str(f), "--out", str(tmp / "merged"), "--no-history"],
    "history add": lambda f, tmp: ["history", "add", str(f), "--db", str(tmp / "h.sqlite")],
}


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@given(content=mutated_run())
@settings(max_examples=20 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_results_file(command, content, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("f")
    (tmp / "ok.toml").write_text("[[budget]]\np50_ms = 5\n")
    f = tmp / "results.json"
    f.write_bytes(content)
    drive(f"{command} (results file)", FILE_COMMANDS[command](f, tmp))


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_a_deeply_nested_results_file_is_bad_input(command, tmp_path, capsys):
    """'[' * 100000 overflows any recursive JSON reader: one line, exit 2, never a RecursionError (exit 3)."""
    (tmp_path / "ok.toml").write_text("[[budget]]\np50_ms = 5\n")
    f = tmp_path / "results.json"
    f.write_text("[" * 100_000 + "]" * 100_000)
    assert main(FILE_COMMANDS[command](f, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and err.count("\n") == 1


TOMLISH = st.one_of(st.binary(max_size=48), st.text(max_size=48).map(str.encode),
                    st.sampled_from([b"[[budget]]\np50_ms = nan\n", b"[[budget]]\nmodel = 3\n", b"budget = 1\n",
                                     b"[[budget]]\np50_ms = -1\n", b"[[budget]]\nonnx_ready = false\n",
                                     b"models = 3\n", b"models = ['mlp']\n[timing]\nwarmup = -1\n",
                                     b"models = ['mlp']\nbatch_sizes = [true]\n", b"[[budget]]\np50_ms = 1e400\n"]))  # fmt: skip


@given(content=TOMLISH)
@settings(max_examples=15 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_budgets_file(content, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("b")
    f = tmp / "results.json"
    f.write_text(json.dumps(VALID_RUN))
    (tmp / "b.toml").write_bytes(content)
    drive("gate (budgets file)", ["gate", str(f), "--budgets", str(tmp / "b.toml")])


@given(content=TOMLISH)
@settings(max_examples=15 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_suite_file(content, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s")
    (tmp / "s.toml").write_bytes(content)
    drive("run (suite file)", ["run", "--suite-file", str(tmp / "s.toml"), "--out", str(tmp / "o")])


@given(stats=st.dictionaries(st.sampled_from(["min", "max", "mean", "median", "stddev", "rounds", "data"]),
                             JSONISH, max_size=7))  # fmt: skip
@settings(max_examples=15 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_pytest_benchmark_file(stats, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("p")
    (tmp / "ok.toml").write_text("[[budget]]\np50_ms = 5\n")
    f = tmp / "bench.json"
    f.write_text(json.dumps({"machine_info": {}, "benchmarks": [{"name": "t", "stats": stats}]}))
    drive("gate (pytest-benchmark file)", ["gate", str(f), "--budgets", str(tmp / "ok.toml")])


@given(schema=st.sampled_from(["", "CREATE TABLE runs (x INTEGER);", "CREATE TABLE runs (run_id TEXT); CREATE TABLE profiles (run_id TEXT);",
                               "PRAGMA user_version = 99;", "CREATE TABLE other (a);"]), junk=st.binary(max_size=32))  # fmt: skip
@settings(max_examples=10 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_history_database(schema, junk, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h")
    db = tmp / "h.sqlite"
    if junk and not schema:
        db.write_bytes(junk)
    else:
        sqlite3.connect(db).executescript(schema)
    drive("history (database)", ["history", "--db", str(db)])
