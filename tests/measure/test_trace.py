"""`--trace DIR` writes torch.profiler's Chrome/Perfetto trace: a file Perfetto's JSON importer reads."""

import json

from benchbench.measure.trace import trace_file_name


def _perfetto_events(path) -> list[dict]:
    """The trace-event JSON as Perfetto's importer needs it: an object with a list `traceEvents` whose complete
    events ("X") carry a name, a phase, a start `ts` and a duration `dur` in microseconds, and pid/tid."""
    data = json.loads(path.read_text())
    events = data["traceEvents"]
    assert isinstance(events, list) and events
    complete = [e for e in events if e.get("ph") == "X"]
    assert complete
    for e in complete:
        assert (
            isinstance(e["name"], str)
            and isinstance(e["ts"], (int, float))
            and isinstance(e["dur"], (int, float))
        )
        assert "pid" in e and "tid" in e
    return complete


def test_profile_trace_of_a_cpu_job_opens_as_a_perfetto_trace(cli, tmp_path):
    code, out, _ = cli(["profile", "resnet18", "--size", "tiny", "--no-memory", "--trace", str(tmp_path)])
    assert code == 0
    (path,) = tmp_path.glob("*.trace.json")
    assert path.name == "resnet18-tiny-bs1-float32.trace.json" and str(path) in out.replace("\n", "")
    names = {e["name"] for e in _perfetto_events(path)}
    assert "aten::conv2d" in names  # the model's own ops are in it, not only the profiler's frame


def test_a_trace_file_name_is_safe_whatever_the_model_name():
    name = trace_file_name("../x/evil\n# model:make", "user", 2, "float32")
    assert "/" not in name and "\n" not in name and name.endswith(".trace.json")


def test_trace_into_a_file_is_refused(cli, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = cli(["profile", "mlp", "--trace", str(f)])
    assert code == 2 and "--trace" in err


def test_run_trace_writes_a_trace_per_job_linked_from_the_report(cli, tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('models = ["mlp"]\nstages = []\njob_timeout_s = 300\n')
    code, _, _ = cli(
        ["run", "--suite-file", str(suite), "--trace", "--out", str(tmp_path / "out"), "--no-history"]
    )
    assert code == 0
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    (trace,) = (run_dir / "traces").glob("*.trace.json")
    _perfetto_events(trace)
    rel = f"traces/{trace.name}"
    assert f'<a href="{rel}">' in (run_dir / "report.html").read_text()
    assert f"]({rel})" in (run_dir / "report.md").read_text()


def test_generate_trace_holds_one_request(cli, tmp_path):
    code, _, _ = cli(["generate", "gpt2", "--size", "tiny", "--prompt-lens", "8", "--gen-len", "3", "--repeats", "2",
                      "--no-memory", "--trace", str(tmp_path)])  # fmt: skip
    assert code == 0
    (trace,) = tmp_path.glob("*.trace.json")
    assert trace.name == "gpt2-generate-tiny-bs1-float32.trace.json"
    assert any(e["name"].startswith("aten::") for e in _perfetto_events(trace))
