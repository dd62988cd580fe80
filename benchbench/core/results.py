"""The records every layer shares: the run envelope's parts, correctness checks, and identifiers.

Each role keeps its own records beside the code that fills them (`measure/records.py`, `deploy/records.py`,
`health/records.py`, `estimate/records.py`, `kernels/swap_records.py`, `kernelbench/records.py`,
`serve/records.py`, `runs/gpu_check_records.py`), and `benchbench.record.run` assembles the run (`RunResult`,
`RunSettings`) where every role it holds is visible. What stays here is what layers below those roles need:
- a job's identity and what can go wrong with it (`Job`, `StageError`, `JobOutcome`), and the shard it is in;
- the one correctness record (`Tolerance`, `TensorParity`, `Parity`: `benchbench.core.parity`, used from
  kernels up to deployment);
- the repository and the noise verdict of a run (`GitState`, `NoiseVerdict`: `core.env`, `core.noise`);
- time stamps and run ids.

Missing measurements are None, never 0. A property named in a class's `__derived__` is written to JSON for
readers and ignored on load.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds, the timestamp of every record."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A new run id: the UTC time and six random hex digits, sortable by time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


# ---- correctness (one check for kernel compare, swap and ONNX parity: benchbench.core.parity) ---------


@dataclass(frozen=True)
class Tolerance:
    """The bound a tensor must meet against its reference.

    rel: the relative error ||got - want|| / ||want|| (2-norms over the tensor), scale-free; the verdict.
    atol, rtol: the elementwise bound |got - want| <= atol + rtol * |want| (numpy.allclose's rule), used only
    where `rel` is None (records written before the relative check, and callers that ask for it).
    """

    atol: float = 0.0
    rtol: float = 0.0
    rel: float | None = None


@dataclass
class WorstElement:
    """One of the elements farthest from the reference: its index, both values and the errors."""

    index: list[int]
    got: float | None
    want: float | None


@dataclass
class TensorParity:
    """One tensor against its reference: the verdict, why it failed, and the worst elements."""

    name: str
    dtype: str
    shape: list[int]
    ok: bool
    ok_loose: bool
    tol: Tolerance
    loose_tol: Tolerance
    reason: str | None = None  # why not ok: "NaN in output 0", a shape mismatch, elements outside tol
    max_abs: float | None = None  # secondary figure: max |got - want|
    max_rel: float | None = None  # max |got - want| / max |want|
    n_bad: int = 0
    worst: list[WorstElement] = field(default_factory=list)
    case: dict[str, Any] | None = None  # the inputs it was judged on (e.g. batch size, sequence length)
    rel_err: float | None = None  # ||got - want|| / ||want||: what the verdict is judged on
    ref_rms: float | None = None  # root mean square of the reference's finite elements
    inconclusive: str | None = None  # why no verdict can be given (a numerically zero or constant reference)

    __derived__ = ("verdict",)

    @property
    def verdict(self) -> str:
        """'ok', 'loose' (within the loose tolerance only), 'inconclusive' or 'fail'."""
        if self.ok:
            return "ok"
        if self.inconclusive:
            return "inconclusive"
        return "loose" if self.ok_loose else "fail"


@dataclass
class Parity:
    """Every compared tensor; ok when each is, with the first failure's reason."""

    ok: bool
    ok_loose: bool
    outputs: list[TensorParity]
    reason: str | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)
    # what was done to reach a verdict when the first check was inconclusive (e.g. weights re-initialised),
    # and the first check's reasons
    remedy: str | None = None
    inconclusive_before: list[str] = field(default_factory=list)

    __derived__ = ("verdict",)

    @property
    def verdict(self) -> str:
        """'fail' when a tensor fails (or the counts differ), else 'inconclusive' when one is, else 'loose' or 'ok'."""
        verdicts = {o.verdict for o in self.outputs}
        if "fail" in verdicts or (not self.ok_loose and not verdicts - {"ok", "loose"}):
            return "fail"
        for v in ("inconclusive", "loose"):
            if v in verdicts:
                return v
        return "ok" if self.ok else "fail"

    @property
    def is_inconclusive(self) -> bool:
        """Whether the check could not judge (too small or flat an output), rather than pass or fail."""
        return self.verdict == "inconclusive"

    @property
    def max_abs(self) -> float | None:
        """The largest absolute error over the checked tensors (None when none was compared)."""
        values = [o.max_abs for o in self.outputs if o.max_abs is not None]
        return max(values) if values else None

    @property
    def max_rel(self) -> float | None:
        """The largest relative error over the checked tensors (None when none was compared)."""
        values = [o.max_rel for o in self.outputs if o.max_rel is not None]
        return max(values) if values else None


# ---- serving (benchbench.serve) -------------------------------------------------------------------


@dataclass
class StageError:
    """A stage that failed for one model: which stage, the exception type and its one-line message."""

    stage: str
    error: str
    type: str = "Exception"

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException) -> StageError:
        """The error of `stage` from `exc`: its type and one-line message."""
        from benchbench.core.errors import one_line

        return cls(stage=stage, error=one_line(exc, with_type=False), type=type(exc).__name__)


@dataclass
class JobOutcome:
    """How a job's worker ended when it returned no result: it crashed (a signal, an exit, an out-of-memory
    kill) or ran past the job timeout and was killed."""

    kind: str  # "crashed" or "timeout"
    detail: str  # one line: "killed by SIGSEGV", "exited with code 3", "ran past the 300 s job timeout"
    signal: str | None = None  # "SIGSEGV", "SIGKILL", ...
    exit_code: int | None = None
    stderr_tail: list[str] = field(default_factory=list)  # the worker's last lines on stderr and stdout
    elapsed_s: float | None = None


@dataclass(frozen=True)
class Job:
    """One job of a run: a model at one size, batch size and dtype, run in a worker."""

    model: str  # a zoo name or a user factory pkg.module:factory
    size: str  # "user" for a user factory, which has no sizes
    batch_size: int
    dtype: str

    @property
    def key(self) -> str:
        """The job's key in the journal and the manifest: "model size bsN dtype"."""
        return f"{self.model} {self.size} bs{self.batch_size} {self.dtype}"


def parse_shard(text: str | None, what: str = "--shard") -> tuple[int, int] | None:
    """'2/4' → (2, 4): the I-th of N shards, 1 <= I <= N; anything else is one BadInputError line."""
    if text is None:
        return None
    from benchbench.core.errors import BadInputError

    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise BadInputError(f"{what} must look like I/N (e.g. 1/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise BadInputError(f"{what} {text!r}: need 1 <= I <= N")
    return i, n


class Shard(str):
    """The I-th of N shards of a run's jobs, parsed once from 'I/N' (`Shard.parse`): `index` and `count` are
    its numbers, and it is written to JSON as the same 'I/N' text older files hold."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, what: str = "--shard") -> Shard:
        """'2/4' → Shard 2 of 4; anything else is one BadInputError line naming `what`."""
        i, n = parse_shard(text, what)  # type: ignore[misc]
        shard = cls(f"{i}/{n}")
        shard.index, shard.count = i, n
        return shard

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            lambda v: v if isinstance(v, cls) else cls.parse(v, "shard"), core_schema.str_schema()
        )


@dataclass
class GitState:
    """The repository a run was started in (the user's project, not benchbench)."""

    repo: str
    commit: str | None
    dirty: bool | None
    branch: str | None = None


@dataclass
class NoiseVerdict:
    """How much a run's numbers can be trusted: quiet, noisy or unusable, with the reasons
    (thresholds and rules in `benchbench.core.noise`)."""

    verdict: str  # "quiet", "noisy" or "unusable"
    reasons: list[str] = field(default_factory=list)
    load1: float | None = None  # at the start
    cpus: int | None = None
    load_per_cpu: float | None = None
    steal: float | None = None  # share of CPU time stolen during the run
    governor: str | None = None
    threads: int | None = None  # torch threads
    procs_running: int | None = None  # runnable threads machine-wide at the start
    latencies: int = 0
    time_capped: int = 0
    ci_rel_width_median: float | None = None  # (hi - lo) / p50 of the median's CI, over the run's latencies
    ci_rel_width_max: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One sentence: the verdict and why."""
        why = "; ".join(self.reasons) if self.reasons else "no sign of noise"
        return f"{self.verdict} ({why})"


# ---- three GPU timers, and the five-minute GPU check ---------------------------------------------
