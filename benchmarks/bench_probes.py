"""Probe mode against full mode, the floor, torch.autograd.gradcheck and jax.test_util.check_grads.

Run from the repository root (a script, not a test; several minutes):

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_probes.py            # writes PROBES.md
    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_probes.py --seeds 10 # a quicker smoke run
    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_probes.py --part time  # the timings again

Everything is measured in one run on one machine, so ratios compare like with like although the
machine is shared. The power table plants one wrong gradient entry of size c * tau (tau: the full
check's per-entry tolerance there) and counts, over seeds, how often each tool catches it:

* gradcheck probes: fn's gradient carries the error (fn + e * (W[j] - W0[j]), same value at the
  point), checked with the default k = 20 and with the k that spends as many fn evaluations as
  torch's fast mode does on four inputs (8: k = 4);
* torch.autograd.gradcheck(fast_mode=True) and jax.test_util.check_grads: each compares its
  autodiff with its own finite differences, so the error goes into the backward pass (an identity
  whose backward adds e at entry j), and the seed picks their random directions.
"""

from __future__ import annotations

import argparse
import json
import os
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
from harness.results import FAIL, NUMERICAL  # noqa: E402

HERE = Path(__file__).resolve().parent
NAMES = ("W1", "b1", "W2", "b2")
PARAMS = (0, 1, 2, 3)
ENTRIES = {"W1": (3, 7), "b1": (4,), "W2": (10, 3), "b2": (6,)}
FACTORS = (0.5, 1.0, 2.0, 4.0)
SCALING = [(5, 5), (50, 16), (196, 50), (784, 120), (784, 1250)]


def network(inputs: int = 784, hidden: int = 50) -> tuple:
    """The seed network (cases/seed_network.py), or the same shape at another size."""
    params = scratch.init_two_layer_params(inputs, hidden, 10, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=100, input_size=inputs, seed=0)
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def probe_check(args: tuple, fn=scratch.two_layer_loss, probes: int = 20, seed: int = 0):
    return check(
        fn,
        oracle.two_layer_loss,
        *args,
        wrt=PARAMS,
        mode="probe",
        probes=probes,
        seed=seed,
        checks=("numerical",),
    )


def cold_probe_seconds(repeats: int) -> float:
    """A probe check of the seed network in a fresh process (imports excluded)."""
    code = (
        f"import time, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from benchmarks.bench_probes import network, probe_check\n"
        "args = network(); start = time.perf_counter(); probe_check(args)\n"
        "print(time.perf_counter() - start)\n"
    )
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def warm_probe_seconds(args: tuple, repeats: int = 21) -> float:
    probe_check(args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        probe_check(args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_seconds(args: tuple) -> float:
    """2n times the median of 300 evaluations of the loss."""
    times = []
    for _ in range(300):
        start = time.perf_counter()
        scratch.two_layer_loss(*args)
        times.append(time.perf_counter() - start)
    return 2 * sum(a.size for a in args[:4]) * statistics.median(times)


def planted_fn(pos: int, index: tuple, size: float, args: tuple):
    """fn whose gradient is off by `size` at one entry, with the same value at the point."""
    base = args[pos].copy()

    def fn(W1, b1, W2, b2, x, t):
        moving = (W1, b1, W2, b2)[pos]
        return scratch.two_layer_loss(W1, b1, W2, b2, x, t) + size * float(
            moving[index] - base[index]
        )

    return fn


# --- torch and jax, each with its own planted backward --------------------------------------------


def torch_tools(args: tuple):
    """(gradcheck of the network with a planted backward error, torch version) or None."""
    try:
        import torch
    except ImportError:
        return None
    # One thread, like gradcheck's own finite-difference loops (harness.judge.differences): on
    # the busy 2-core machine torch's default threads made a fast-mode call 15x slower
    # (1.97 s against 0.135 s, measured side by side).
    torch.set_num_threads(1)
    x = torch.tensor(args[4], dtype=torch.float64)
    labels = torch.tensor(args[5], dtype=torch.int64)
    rows = torch.arange(labels.shape[0])

    class Bump(torch.autograd.Function):
        """value(w) passed through unchanged; its backward adds size * upstream at one entry of w
        (a wrong backward that still scales with the upstream gradient, as a real bug does)."""

        @staticmethod
        def forward(ctx, w, value, size, flat):
            ctx.size, ctx.flat, ctx.shape = size, flat, w.shape
            return value.clone()

        @staticmethod
        def backward(ctx, upstream):
            extra = torch.zeros(ctx.shape, dtype=upstream.dtype)
            extra.view(-1)[ctx.flat] = ctx.size
            return extra * upstream, upstream, None, None

    def run(pos: int, flat: int, size: float, seed: int, fast: bool = True) -> bool:
        params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args[:4]]

        def loss(*p):
            hidden = torch.sigmoid(x @ p[0] + p[1])
            y = torch.softmax(hidden @ p[2] + p[3], dim=1)
            value = -torch.sum(torch.log(y[rows, labels] + 1e-7)) / x.shape[0]
            return Bump.apply(p[pos], value, size, flat)

        torch.manual_seed(seed)
        return torch.autograd.gradcheck(
            loss, params, eps=1e-6, atol=1e-5, fast_mode=fast, raise_exception=False
        )

    return run, torch.__version__


def jax_tools(args: tuple):
    """check_grads of the network with a planted backward error."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    x, t = jnp.asarray(args[4]), jnp.asarray(args[5])

    # Defined once: a custom_vjp made per call is traced afresh every time (seconds per call).
    # The planted error comes in as an array, so every cell reuses the same function.
    @jax.custom_vjp
    def bump(w, value, extra):
        return value

    def fwd(w, value, extra):
        return value, extra

    def bwd(extra, upstream):
        return extra * upstream, upstream, jnp.zeros_like(extra)

    bump.defvjp(fwd, bwd)

    def run(pos: int, flat: int, size: float, seed: int) -> bool:
        extra = np.zeros(args[pos].size)
        extra[flat] = size
        extra = jnp.asarray(extra.reshape(args[pos].shape))

        def loss(*p):
            return bump(p[pos], oracle.two_layer_loss(*p, x, t), extra)

        np.random.seed(seed)  # check_grads draws its direction from NumPy's global generator
        try:
            check_grads(loss, tuple(jnp.asarray(a) for a in args[:4]), order=1, modes=("rev",))
        except AssertionError:
            return False
        return True

    return run


def power_cell(
    args: tuple, name: str, c: float, tau: float, seeds: int, torch_run, jax_run
) -> dict:
    """Fraction of seeds each tool catches a planted error of c * tau in one entry of `name`."""
    pos = NAMES.index(name)
    index = ENTRIES[name]
    flat = int(np.ravel_multi_index(index, args[pos].shape))
    size = c * tau
    fn = planted_fn(pos, index, size, args)
    row = {}
    for label, k in (("probes k=20", 20), ("probes k=4", 4)):
        caught = 0
        for seed in range(seeds):
            rec = next(
                r
                for r in probe_check(args, fn, k, seed).checks
                if r.check == NUMERICAL and r.arg == name
            )
            caught += rec.verdict == FAIL and rec.worst.index == index
        row[label] = caught / seeds
    if torch_run is not None:
        row["torch fast_mode"] = (
            sum(not torch_run(pos, flat, size, s) for s in range(seeds)) / seeds
        )
    row["jax check_grads"] = sum(not jax_run(pos, flat, size, s) for s in range(seeds)) / seeds
    print(name, c, row, flush=True)
    return row


_TOOLS: dict = {}


def _cell_in_worker(job: tuple) -> dict:
    """One cell (or, for name None, the correct network) in a worker process: the network and
    the tools are built once per process."""
    name, c, tau, seeds = job
    if not _TOOLS:
        args = network()
        tool = torch_tools(args)
        _TOOLS.update(args=args, torch=tool[0] if tool else None, jax=jax_tools(args))
    t = _TOOLS
    if name is None:
        return correct_passes(t["args"], seeds, t["torch"], t["jax"])
    return power_cell(t["args"], name, c, tau, seeds, t["torch"], t["jax"])


def power_table_parallel(taus: dict, seeds: int, jobs: int) -> tuple[dict, dict]:
    """The power table and the correct network's pass rates, cells spread over `jobs` spawned
    processes (each cell is still one tool run after another, seed after seed)."""
    import concurrent.futures
    import multiprocessing

    cells = [(name, c, taus[name], seeds) for name in NAMES for c in FACTORS]
    cells.append((None, 0.0, 0.0, seeds))
    context = multiprocessing.get_context("spawn")  # JAX does not survive a fork
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        rows = list(pool.map(_cell_in_worker, cells))
    table = {
        f"{name} c={c:g}": row for (name, c, _, _), row in zip(cells[:-1], rows[:-1], strict=True)
    }
    return table, rows[-1]


def correct_passes(args: tuple, seeds: int, torch_run, jax_run) -> dict:
    """Fraction of seeds each tool passes the correct network (a tool that fails it has no
    power to speak of: its catches above are false alarms)."""
    row = {
        "probes k=20": sum(probe_check(args, seed=s).ok for s in range(seeds)) / seeds,
        "probes k=4": sum(probe_check(args, probes=4, seed=s).ok for s in range(seeds)) / seeds,
    }
    if torch_run is not None:
        row["torch fast_mode"] = sum(torch_run(0, 0, 0.0, s) for s in range(seeds)) / seeds
    row["jax check_grads"] = sum(jax_run(0, 0, 0.0, s) for s in range(seeds)) / seeds
    return row


def probe_evaluations(args: tuple, probes: int) -> int:
    """fn evaluations one probe check of the correct network spends."""
    result = probe_check(args, probes=probes)
    return sum(r.evaluations for r in result.checks if r.check == NUMERICAL)


def time_part(args: tuple, full_seconds: float, repeats: int, torch_run, jax_run) -> dict:
    """Every timing, side by side in one run: probes cold and warm, the floor, torch, jax, and
    the scaling of probe mode."""
    times = {
        "full mode (per entry)": full_seconds,
        "probes, cold": cold_probe_seconds(repeats),
        "probes, warm": warm_probe_seconds(args),
        "2n floor": floor_seconds(args),
    }
    if torch_run is not None:
        for label, fast in (
            ("torch gradcheck fast_mode", True),
            ("torch gradcheck default", False),
        ):
            start = time.perf_counter()
            torch_run(0, 0, 0.0, 0, fast)
            times[label] = time.perf_counter() - start
    start = time.perf_counter()
    jax_run(0, 0, 0.0, 0)
    times["jax check_grads (first call)"] = time.perf_counter() - start
    start = time.perf_counter()
    jax_run(0, 0, 0.0, 1)
    times["jax check_grads (warm)"] = time.perf_counter() - start
    print(times, flush=True)
    print("scaling ...", flush=True)
    scaling = []
    for inputs, hidden in SCALING:
        sized = network(inputs, hidden)
        scaling.append(
            {
                "n": sum(a.size for a in sized[:4]),
                "warm": warm_probe_seconds(sized, 5),
                "floor": floor_seconds(sized),
            }
        )
        print(scaling[-1], flush=True)
    return {"times": times, "scaling": scaling, "time_load": _load()}


def power_part(taus: dict, seeds: int, jobs: int, args: tuple) -> dict:
    """The power table, each tool's pass rate on the correct network, and the evaluations."""
    print("power table ...", flush=True)
    table, passes = power_table_parallel(taus, seeds, jobs)
    return {
        "power": table,
        "correct_passes": passes,
        "evaluations": {k: probe_evaluations(args, k) for k in (20, 4)},
        "seeds": seeds,
        "power_load": _load(),
    }


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per power-table cell")
    parser.add_argument("--repeats", type=int, default=5, help="cold probe runs (median)")
    parser.add_argument(
        "--part",
        choices=("all", "time", "power"),
        default="all",
        help="measure only the timings or only the power table, keeping the other part of "
        "probes.json (each part is measured in one run; PROBES.md says when each ran)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes for the power table's cells (default 2)"
    )
    options = parser.parse_args()
    args = network()
    print("full mode ...", flush=True)
    start = time.perf_counter()
    full = check(
        scratch.two_layer_loss,
        oracle.two_layer_loss,
        *args,
        wrt=PARAMS,
        mode="full",
        checks=("numerical",),
    )
    full_seconds = time.perf_counter() - start
    torch_tool = torch_tools(args)
    torch_run, torch_version = torch_tool if torch_tool else (None, None)
    jax_run = jax_tools(args)
    stored = HERE / "probes.json"
    payload = json.loads(stored.read_text()) if options.part != "all" else {}
    payload.update(
        taus={r.arg: r.tolerance for r in full.checks if r.check == NUMERICAL},
        n=sum(a.size for a in args[:4]),
        torch=torch_version,
    )
    if options.part in ("all", "time"):
        payload.update(time_part(args, full_seconds, options.repeats, torch_run, jax_run))
    if options.part in ("all", "power"):
        payload.update(power_part(payload["taus"], options.seeds, options.jobs, args))
    write_atomic(stored, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    write_atomic(HERE / "PROBES.md", render(payload))


NO_POWER = """## Power

Not measured with this version of the script yet: `--part power` (100 seeds) adds it.
"""


def _render_power(p: dict, taus: str) -> str:
    tools = list(next(iter(p["power"].values())))
    rows = [[cell, *[f"{row[t]:.2f}" for t in tools]] for cell, row in p["power"].items()]
    rows.append(["correct network passes", *[f"{p['correct_passes'][t]:.2f}" for t in tools]])
    ev = {str(k): v for k, v in p.get("evaluations", {}).items()}
    return f"""## Power: fraction of {p["seeds"]} seeds that catch one wrong entry of c × tau

tau is the full check's per-entry tolerance ({taus}).
gradcheck's probes must also name the entry to count. fn evaluations per check of the correct
network: probes k=20 {ev.get("20", "?")}, probes k=4 {ev.get("4", "?")} (torch's fast mode: 2 per
input, 8 here; a probe that disagrees adds the bisection's evaluations).

{tabulate(rows, headers=["planted", *tools], tablefmt="github")}
"""


def render(p: dict) -> str:
    times = p["times"]
    time_rows = [
        [k, f"{v:.4g}", f"{times['full mode (per entry)'] / v:.3g}"] for k, v in times.items()
    ]
    taus = ", ".join(f"{k} {v:.3g}" for k, v in p["taus"].items())
    power = _render_power(p, taus) if p.get("power") else NO_POWER
    scale_rows = [
        [r["n"], f"{r['floor']:.3g}", f"{r['warm']:.3g}", f"{r['floor'] / r['warm']:.0f}"]
        for r in p["scaling"]
    ]
    headers = ["parameters", "2n floor s", "probes warm s", "floor / probes"]
    scale_table = tabulate(scale_rows, headers=headers, tablefmt="github")
    return f"""# Probe mode: benchmark results

Written by `python3 benchmarks/bench_probes.py` in one run on one machine (the seed network,
784-50-10, {p["n"]:,} parameters, float64, batch 100; `OPENBLAS_NUM_THREADS=1`, torch on one
thread). torch: {p["torch"] or "not installed"}. The timings and the power table may come from
separate runs (`--part time|power`); each is one run, and the load average at its end was
{p.get("time_load", "?")} (timings) and {p.get("power_load", "?")} (power).

## Time

{tabulate(time_rows, headers=["what", "seconds", "full mode / this"], tablefmt="github")}

{power}
## Scaling (warm probe check, k = 20)

{scale_table}
"""


if __name__ == "__main__":
    main()
