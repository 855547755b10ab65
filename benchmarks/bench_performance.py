"""Timing gradcheck's full and probe modes against the floor, the classic loop and torch.

(The probe mode's power and its comparison with torch and jax are in bench_probes.py.)

Run from the repository root (a script, not a test; it takes a few minutes):

    python3 benchmarks/bench_performance.py            # writes benchmarks/RESULTS.md + PNG
    python3 benchmarks/bench_performance.py --quick    # smaller scaling sweep, for a smoke run

Everything is measured in one run on one machine, so ratios are comparable even though the
machine is shared (absolute times drift with the load, which RESULTS.md records).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

from harness import oracle, scratch  # noqa: E402
from harness.data import mnist_like_batch  # noqa: E402
from harness.files import write_atomic  # noqa: E402
from harness.judge.check import check  # noqa: E402

HERE = Path(__file__).resolve().parent
PARAMS = (0, 1, 2, 3)  # W1, b1, W2, b2, as in cases/seed_network.py (not the inputs x)
# (inputs, hidden) of networks with about 1e2 .. 1e6 parameters (10 classes, batch 100).
SCALING_SHAPES = [(5, 5), (50, 16), (196, 50), (784, 120), (784, 1250)]


def network_args(inputs: int, hidden: int, classes: int = 10, batch: int = 100) -> tuple:
    """The seed's network at another size, set up as in cases/seed_network.py."""
    params = scratch.init_two_layer_params(inputs, hidden, classes, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=batch, input_size=inputs, classes=classes, seed=0)
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def parameter_count(args: tuple) -> int:
    return sum(a.size for a in args[:4])


def classic_numerical_gradient(f, x, h=1e-4):
    """The textbook loop (chapter 4 of the seed), the baseline every checker is compared with."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = tmp_val + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def one_evaluation_samples(args: tuple, count: int) -> list[float]:
    return [timed(lambda: scratch.two_layer_loss(*args)) for _ in range(count)]


class SampledLoss:
    """The seed network's loss, timing one extra evaluation at the fixed point every EVERY calls.

    The floor's samples are then spread over the very run they are compared with, under the same
    load: on this shared machine a burst of samples before or after a 25 s loop saw other
    conditions (one run measured the textbook loop at 0.96x and the next at 1.16x "the floor").
    The samples' own time (their sum) is subtracted from the run's.
    """

    EVERY = 40
    __name__ = "two_layer_loss"

    def __init__(self, args: tuple) -> None:
        self.args = args
        self.calls = 0
        self.samples: list[float] = []

    def __call__(self, *call_args):
        self.calls += 1
        if self.calls % self.EVERY == 0:
            self.samples.append(timed(lambda: scratch.two_layer_loss(*self.args)))
        return scratch.two_layer_loss(*call_args)


def full_mode_against_floor(args: tuple, repeats: int) -> dict:
    """Our full check, our loop alone and the classic loop, each against the floor sampled
    during its own run (`SampledLoss`): seconds are medians over repeats with the sampling taken
    out, ratios are medians of each run's seconds / (2n x the median of its own samples)."""
    n = parameter_count(args)
    runs = {
        "loop": lambda loss: [
            scratch.numerical_gradient(lambda _: loss(*args), p, h=6e-6) for p in args[:4]
        ],
        "check": lambda loss: check(loss, oracle.two_layer_loss, *args, wrt=PARAMS, mode="full"),
        "classic": lambda loss: [
            classic_numerical_gradient(lambda _: loss(*args), p, h=1e-4) for p in args[:4]
        ],
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    samples: list[float] = []
    for _ in range(repeats):
        for name, run in runs.items():
            loss = SampledLoss(args)
            start = time.perf_counter()
            result = run(loss)
            own = time.perf_counter() - start - sum(loss.samples)
            if name == "check":
                assert result.ok, result
            seconds[name].append(own)
            ratios[name].append(own / (2 * n * statistics.median(loss.samples)))
            samples += loss.samples
    evaluation = statistics.median(samples)
    return {
        "n": n,
        "evaluation": evaluation,
        "samples": len(samples),
        "floor": 2 * n * evaluation,
        # Under load single evaluations are skewed (preemptions): a long loop pays the mean.
        "floor_mean": 2 * n * statistics.fmean(samples),
        **{name: statistics.median(times) for name, times in seconds.items()},
        "ratio": {name: statistics.median(values) for name, values in ratios.items()},
    }


def batched_gain(repeats: int) -> dict:
    """The batched opt-in on a least-squares loss that accepts a leading axis of copies of W."""
    rng = np.random.default_rng(0)
    inputs, targets = rng.random((100, 200)), rng.random((100, 10))
    weights = 0.01 * rng.standard_normal((200, 10))

    def loss(W):
        # W is (200, 10) or (B, 200, 10): matmul broadcasts, the sum keeps the copy axis.
        return 0.5 * np.sum((inputs @ W - targets) ** 2, axis=(-2, -1)) / len(inputs)

    samples = [timed(lambda: loss(weights)) for _ in range(200)]
    loop = [timed(lambda: scratch.numerical_gradient(loss, weights)) for _ in range(repeats)]
    block = [
        timed(lambda: scratch.numerical_gradient_batched(loss, weights)) for _ in range(repeats)
    ]
    return {
        "n": weights.size,
        "floor": 2 * weights.size * statistics.median(samples),
        "loop": statistics.median(loop),
        "batched": statistics.median(block),
    }


FAST_PROBE = """
import json, sys, time
sys.path.insert(0, {here!r})
from bench_performance import network_args
from harness import oracle, scratch
from harness.judge.check import check
args = network_args({inputs}, {hidden})
run = lambda: check(
    scratch.two_layer_loss, oracle.two_layer_loss, *args, wrt=(0, 1, 2, 3), mode="probe"
)
start = time.perf_counter(); result = run(); cold = time.perf_counter() - start
assert result.ok, result
warm = []
for _ in range({warm_repeats}):
    start = time.perf_counter(); run(); warm.append(time.perf_counter() - start)
print(json.dumps({{"cold": cold, "warm": sorted(warm)[len(warm) // 2]}}))
"""


def fast_mode(inputs: int, hidden: int, cold_repeats: int, warm_repeats: int = 21) -> dict:
    """Cold (first call in a fresh process, after the imports) and warm fast-mode times."""
    cold, warm = [], []
    code = FAST_PROBE.format(
        here=str(HERE), inputs=inputs, hidden=hidden, warm_repeats=warm_repeats
    )
    for _ in range(cold_repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        measured = json.loads(out.strip().splitlines()[-1])
        cold.append(measured["cold"])
        warm.append(measured["warm"])
    return {"cold": statistics.median(cold), "warm": statistics.median(warm)}


def torch_gradcheck(args: tuple, repeats: int) -> dict | None:
    """torch.autograd.gradcheck on the same network, both modes; None when torch is absent."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
    x = torch.from_numpy(args[4])
    labels = torch.from_numpy(args[5])
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args[:4]]

    def loss(W1, b1, W2, b2):
        hidden = torch.sigmoid(x @ W1 + b1)
        y = torch.softmax(hidden @ W2 + b2, dim=-1)
        return -torch.log(y[torch.arange(len(labels)), labels] + 1e-7).sum() / len(labels)

    result = {"version": torch.__version__}
    for name, fast in (("torch_fast", True), ("torch_full", False)):
        times = []
        for _ in range(repeats if fast else 1):
            start = time.perf_counter()
            assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-5, fast_mode=fast)
            times.append(time.perf_counter() - start)
        result[name] = statistics.median(times)
        if fast:
            # The first call after `import torch`, the counterpart of our cold row (torch has no
            # compilation step, but its first call pays for lazy initialisation).
            result["torch_fast_first"] = times[0]
    return result


def suite_run(fast: bool, repeats: int) -> float:
    """Median wall time of `gradcheck run` of the shipped cases (imports included), run as a user
    runs it: OPENBLAS_NUM_THREADS is taken out of its environment (OpenBLAS uses both cores)."""
    command = [sys.executable, "-m", "harness.cli", "run", "-q", "--report-dir", "/tmp/gc-bench"]
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            command + ([] if fast else ["--full"]),
            cwd=ROOT,
            check=True,
            capture_output=True,
            env=env,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scaling(full_cap: int, quick: bool) -> list[dict]:
    rows = []
    for inputs, hidden in SCALING_SHAPES[: 3 if quick else None]:
        args = network_args(inputs, hidden)
        n = parameter_count(args)
        evaluation = statistics.median(one_evaluation_samples(args, 100))
        full = None
        if n <= full_cap:
            full = timed(
                lambda a=args: check(
                    scratch.two_layer_loss, oracle.two_layer_loss, *a, wrt=PARAMS, mode="full"
                )
            )
        fast = fast_mode(inputs, hidden, cold_repeats=1, warm_repeats=7)
        rows.append({"n": n, "floor": 2 * n * evaluation, "full": full, **fast})
        print(f"scaling n={n}: {rows[-1]}", flush=True)
    return rows


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jax

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset (OpenBLAS: 2)"),
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(n, [r["floor"] for r in rows], "k--", label="floor: 2n × one evaluation")
    measured = [r for r in rows if r["full"] is not None]
    ax.loglog([r["n"] for r in measured], [r["full"] for r in measured], "o-", label="full mode")
    ax.loglog(n, [r["cold"] for r in rows], "s-", label="probe mode, cold")
    ax.loglog(n, [r["warm"] for r in rows], "^-", label="probe mode, warm")
    ax.set_xlabel("parameters")
    ax.set_ylabel("seconds")
    ax.set_title("gradcheck on D-H-10 networks, batch 100, float64")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the short timings")
    parser.add_argument("--full-repeats", type=int, default=1, help="repeats of full-mode runs")
    parser.add_argument(
        "--full-cap", type=int, default=20_000, help="largest n timed in full mode when scaling"
    )
    parser.add_argument("--quick", action="store_true", help="smaller scaling sweep")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    options = parser.parse_args()

    info = machine()
    started = time.time()
    args = network_args(784, 50)
    print("full mode vs floor ...", flush=True)
    full = full_mode_against_floor(args, options.full_repeats)
    print(full, flush=True)
    print("probe mode ...", flush=True)
    fast = fast_mode(784, 50, cold_repeats=options.repeats)
    print(fast, flush=True)
    print("torch ...", flush=True)
    torch_times = torch_gradcheck(args, options.repeats)
    print(torch_times, flush=True)
    print("batched ...", flush=True)
    batched = batched_gain(options.repeats)
    print(batched, flush=True)
    print("gradcheck run ...", flush=True)
    suite = {"full": suite_run(False, options.repeats), "fast": suite_run(True, options.repeats)}
    print(suite, flush=True)
    print("scaling ...", flush=True)
    rows = scaling(options.full_cap, options.quick)
    info["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    info["run took"] = f"{time.time() - started:.0f} s"
    plot_path = Path(options.out).with_name("scaling.png")
    plot(rows, plot_path)
    write_atomic(
        Path(options.out),
        render(info, full, fast, torch_times, suite, rows, batched, options.repeats),
    )
    raw = {
        "machine": info,
        "network": full,
        "fast": fast,
        "torch": torch_times,
        "suite": suite,
        "scaling": rows,
        "batched": batched,
    }
    write_atomic(Path(options.out).with_name("results.json"), json.dumps(raw, indent=1))
    print(f"wrote {options.out} and {plot_path}")


def render(info, full, fast, torch_times, suite, rows, batched, repeats: int) -> str:
    floor = full["floor"]
    table = [
        ["one loss evaluation (median)", full["evaluation"], full["evaluation"] / floor],
        ["floor: 2n × one evaluation", floor, 1.0],
        [
            "floor with the mean evaluation: 2n × mean",
            full["floor_mean"],
            full["floor_mean"] / floor,
        ],
        ["full mode: scratch.numerical_gradient loop", full["loop"], full["ratio"]["loop"]],
        ["full mode: check() (value, loop, judging, JAX)", full["check"], full["ratio"]["check"]],
        ["classic textbook loop (np.nditer, h=1e-4)", full["classic"], full["ratio"]["classic"]],
        ["probe mode, cold (first call, after imports)", fast["cold"], fast["cold"] / floor],
        ["probe mode, warm", fast["warm"], fast["warm"] / floor],
    ]
    if torch_times:
        table.append(
            [
                "torch gradcheck(fast_mode=True), first call after import",
                torch_times["torch_fast_first"],
                torch_times["torch_fast_first"] / floor,
            ]
        )
        table.append(
            [
                "torch gradcheck(fast_mode=True)",
                torch_times["torch_fast"],
                torch_times["torch_fast"] / floor,
            ]
        )
        table.append(
            [
                "torch gradcheck (default)",
                torch_times["torch_full"],
                torch_times["torch_full"] / floor,
            ]
        )
    rendered = tabulate(
        [[name, f"{seconds:.4g}", f"{ratio:.3g}"] for name, seconds, ratio in table],
        headers=["what (784-50-10, 39,760 parameters, batch 100, float64)", "seconds", "× floor"],
        tablefmt="github",
    )
    scaling_rows = [
        [
            r["n"],
            f"{r['floor']:.3g}",
            f"{r['full']:.3g}" if r["full"] is not None else f"~{r['floor']:.3g} (extrapolated)",
            f"{r['cold']:.3g}",
            f"{r['warm']:.3g}",
        ]
        for r in rows
    ]
    scaling_table = tabulate(
        scaling_rows,
        headers=["parameters", "floor s", "full mode s", "probe cold s", "probe warm s"],
        tablefmt="github",
    )
    torch_note = (
        f"torch {torch_times['version']} (CPU), `gradcheck(eps=1e-6, atol=1e-5)` on the same "
        "network written in torch"
        if torch_times
        else "torch is not installed: the torch rows were skipped (`pip install torch==2.13.0` "
        "and rerun to include them)"
    )
    timed_rows = [r for r in rows if r["full"] is not None]
    timed_ratio = f"{timed_rows[-1]['full'] / timed_rows[-1]['floor']:.2g}" if timed_rows else "—"
    machine_lines = "\n".join(f"- {k}: {v}" for k, v in info.items())
    verdicts = [
        ("full mode (check) ≤ 1.10 × floor", full["ratio"]["check"] <= 1.10),
        ("full mode (loop) ≤ 1.10 × floor", full["ratio"]["loop"] <= 1.10),
        ("probe mode warm ≤ 50 ms", fast["warm"] <= 0.050),
        ("probe mode cold ≤ 2 s", fast["cold"] <= 2.0),
        ("`gradcheck run --full` < 60 s", suite["full"] < 60),
        ("`gradcheck run` (default) ≤ 10 s", suite["fast"] <= 10),
    ]
    if torch_times:
        verdicts.append(
            (
                "probe mode warm faster than torch fast_mode",
                fast["warm"] < torch_times["torch_fast"],
            )
        )
        verdicts.append(
            (
                "probe mode cold faster than torch fast_mode's first call",
                fast["cold"] < torch_times["torch_fast_first"],
            )
        )
    verdict_lines = "\n".join(f"- {'yes' if ok else 'NO'}: {text}" for text, ok in verdicts)
    return f"""# Benchmark results

Written by `python3 benchmarks/bench_performance.py` in one run on one machine. The machine is
shared by several workers: absolute times move with the load (see the load averages); ratios come
from the same run. The floor is sampled during each full-mode run itself: every 40th call of the
loss also times one extra evaluation ({full["samples"]} samples in all), whose time is taken out
of the run's; each full-mode row gives the median of its runs (`--full-repeats`) and, as × floor,
the median of each run's time over 2n × the median of that run's own samples (the other rows
are over the floor of all samples). Probe mode cold from fresh processes (one cold call each, JAX
tracing and compilation included, Python/JAX imports excluded), warm from 21 calls after it. On
a loaded machine single evaluations are skewed (a few are preempted), so the median understates
what a loop of 2n evaluations pays; the floor of the mean evaluation is given beside it. OpenBLAS
with 2 threads on 2 busy cores made single evaluations vary about 40-fold, so runs set
`OPENBLAS_NUM_THREADS=1` (recorded under Machine), except `gradcheck run`, timed as a user runs it.

## Seed network

{rendered}

`gradcheck run` of the shipped suite (whole command, imports included, median of
{repeats} runs each, with OpenBLAS's default threads as a user runs it): the default
(probes above 5,000 entries, every entry below) {suite["fast"]:.1f} s, `--full`
{suite["full"]:.1f} s.

{torch_note}.

The `batched=True` opt-in, on a least-squares loss `0.5 Σ (X W − Y)² / N` with W of
{batched["n"]} entries (X 100 × 200) that accepts a leading axis of copies of W: per-entry loop
{batched["loop"]:.3g} s ({batched["loop"] / batched["floor"]:.2f} × its floor of
{batched["floor"]:.3g} s), blocks of copies {batched["batched"]:.3g} s
({batched["batched"] / batched["floor"]:.2f} × the floor,
{batched["loop"] / batched["batched"]:.1f}× faster than the loop). The seed network's
`two_layer_loss` reduces to one number, so it cannot opt in.

## Done means

{verdict_lines}

## Scaling with the parameter count

D-H-10 networks, batch 100. Full mode is timed up to the cap given by `--full-cap`; above it the
floor (2n × one measured evaluation) stands in: full mode is 2n evaluations, so its cost grows like
the floor (at the largest timed size it measured {timed_ratio} × the floor, JAX compilation
included). Probe mode's cold time is dominated by JAX tracing and compilation; its warm time by 2k
evaluations plus the JAX gradient.

{scaling_table}

![scaling](scaling.png)

## Machine

{machine_lines}
"""


if __name__ == "__main__":
    main()
