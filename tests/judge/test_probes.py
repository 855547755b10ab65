"""Probe mode: Rademacher probes, their 2^-k power, localisation, and the planted bugs.

Expected gradients come from jax.grad (through check) or from closed forms; the power bound is
checked by simulation against its own statement, not against the code that computes it.
"""

import json

import numpy as np
import pytest

from harness import oracle, scratch
from harness.cli.main import main
from harness.data import mnist_like_batch
from harness.judge.check import check
from harness.judge.probes import AUTO_FULL_UP_TO, DEFAULT_PROBES, rademacher
from harness.judge.tolerance import NUMERICAL_SAFETY, default_step
from harness.results import FAIL, KINK, NUMERICAL, PASS

PARAMS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def seed_network():
    params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=100, seed=0)
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def _small_net(hidden=5, classes=3, seed=3):
    params = scratch.init_two_layer_params(8, hidden, classes, weight_init_std=0.5, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.random((6, 8))
    t = np.eye(classes)[rng.integers(0, classes, 6)]
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def _numerical(result):
    return {c.arg: c for c in result.checks if c.check == NUMERICAL}


# --- the signs and the bound ---------------------------------------------------------------------


def test_probes_are_seeded_signs():
    v = rademacher(1000, 7, 1)
    assert v.shape == (7, 1000) and set(np.unique(v)) == {-1.0, 1.0}
    assert np.array_equal(v, rademacher(1000, 7, 1)) and not np.array_equal(
        v, rademacher(1000, 7, 2)
    )
    assert abs(v.mean()) < 0.05  # fair signs


@pytest.mark.parametrize("spread", [0.0, 0.3, 1.0])
def test_a_probe_misses_an_entry_above_its_tolerance_at_most_half_the_time(spread):
    # The statement: if |e_j| s_j > tau for some j, P(|sum_i e_i s_i v_i| <= tau) <= 1/2, whatever
    # the other entries. Simulated with fresh signs (not the checker's), other entries random.
    rng = np.random.default_rng(11)
    n, tau = 200, 1.0
    steps = rng.uniform(0.5, 2.0, n)
    error = spread * rng.normal(size=n) * tau / steps / np.sqrt(n)
    error[17] = 1.01 * tau / steps[17]
    signs = rng.choice([-1.0, 1.0], size=(20000, n))
    missed = np.mean(np.abs(signs @ (error * steps)) <= tau)
    assert missed <= 0.5 + 0.01


# --- the seed network ---------------------------------------------------------------------------


def test_probe_mode_passes_the_seed_network_and_states_its_power(seed_network):
    result = check(
        scratch.two_layer_loss, oracle.two_layer_loss, *seed_network, wrt=PARAMS, mode="probe"
    )
    numerical = _numerical(result)
    assert result.ok and list(numerical) == ["W1", "b1", "W2", "b2"]
    for rec in numerical.values():
        assert rec.verdict == PASS and rec.details["mode"] == "probe"
        assert rec.details["probes"] == DEFAULT_PROBES
        assert rec.details["miss_probability"] == 2.0**-DEFAULT_PROBES
        assert rec.error_ratio < 1
    # 2k evaluations for all four arguments together, against 2n = 79,520 for the full check.
    assert sum(rec.evaluations for rec in numerical.values()) == 2 * DEFAULT_PROBES
    # Per-entry power: the detectable error is the full check's per-entry tolerance
    # 64 eps |f| / h (the seed network's W1 entries are all below 1, so every step is h), plus
    # the prediction's own rounding over 39,760 terms: well under twice it.
    h = default_step(np.float64, "central")
    f = float(scratch.two_layer_loss(*seed_network))
    per_entry = NUMERICAL_SAFETY * np.finfo(np.float64).eps * f / h
    assert per_entry <= numerical["W1"].details["detectable_error"] < 1.5 * per_entry


def _single_entry_bug(pos, index, size):
    """fn with a gradient error of `size` in one entry, same value at the point."""

    def loss(W1, b1, W2, b2, x, t):
        args = (W1, b1, W2, b2, x, t)
        base = args[pos].copy() if loss.base is None else loss.base
        loss.base = base
        return scratch.two_layer_loss(*args) + size * float(args[pos][index] - base[index])

    loss.base = None
    return loss


@pytest.mark.parametrize(
    ("arg", "index"), [("W1", (3, 7)), ("b1", (4,)), ("W2", (10, 3)), ("b2", (6,))]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_error_of_twice_the_tolerance_in_one_entry_is_caught_and_named(
    seed_network, arg, index, seed
):
    pos = ("W1", "b1", "W2", "b2").index(arg)
    h = default_step(np.float64, "central")
    f = float(scratch.two_layer_loss(*seed_network))
    tau = NUMERICAL_SAFETY * np.finfo(np.float64).eps * max(f, 1.0) / h
    fn = _single_entry_bug(pos, index, 2 * tau)
    fn(*seed_network)  # records the point
    result = check(fn, oracle.two_layer_loss, *seed_network, wrt=PARAMS, mode="probe", seed=seed)
    numerical = _numerical(result)
    assert numerical[arg].verdict == FAIL and numerical[arg].worst.index == index
    assert "localised to" in numerical[arg].message
    assert all(rec.verdict == PASS for name, rec in numerical.items() if name != arg)
    # 2k joint, 2k per argument alone, then bisection: O(k m + log2 n), not 2n = 79,520
    assert numerical[arg].evaluations < 400


# --- the same verdicts as the full check on the planted bugs -------------------------------------


def _flipped_bias_loss(index):
    def loss(W1, b1, W2, b2, x, t):
        b1 = b1.copy()
        b1[..., index] = -b1[..., index]  # at b1 = 0 the value is unchanged
        return scratch.two_layer_loss(W1, b1, W2, b2, x, t)

    return loss


def _transposed(W1, b1, W2, b2, x, t):
    return scratch.two_layer_loss(W1, b1, W2.T, b2, x, t)


def _no_half(W1, b1, W2, b2, x, t):
    return 2.0 * scratch.two_layer_loss(W1, b1, W2, b2, x, t) - float(
        scratch.two_layer_loss(*_small_net())
    )


def _one_percent(W1, b1, W2, b2, x, t):
    base = _small_net()[0]
    g = oracle.gradient(oracle.two_layer_loss, _small_net(), (0,))[0]
    return scratch.two_layer_loss(W1, b1, W2, b2, x, t) + 0.01 * g[2, 1] * float(
        W1[2, 1] - base[2, 1]
    )


@pytest.mark.parametrize(
    "fn",
    [_flipped_bias_loss(2), _transposed, _no_half, _one_percent],
    ids=["sign flip in one bias entry", "transposed weight", "missing factor 1/2", "1% in one W1"],
)
def test_probe_verdicts_equal_full_mode_verdicts(fn):
    args = _small_net(hidden=10, classes=10)
    args = _small_net() if fn in (_no_half, _one_percent) else args
    verdicts = {}
    for mode in ("full", "probe"):
        result = check(
            fn, oracle.two_layer_loss, *args, wrt=PARAMS, mode=mode, checks=("numerical",)
        )
        verdicts[mode] = {name: rec.verdict for name, rec in _numerical(result).items()}
    assert verdicts["probe"] == verdicts["full"]
    assert FAIL in verdicts["probe"].values()


def test_a_relu_network_crossing_kinks_is_never_a_false_failure():
    # Pre-activations exactly at 0 in a relu layer: the joint move crosses kinks; bisection finds
    # the kinked entries and they are judged as the full check judges them.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 3))
    w = rng.normal(size=(3, 5))
    w[:, 2] = 0.0  # column 2 of x @ w is exactly 0
    v = rng.normal(size=5)

    def fn(w):
        return float(np.maximum(x @ w, 0.0) @ v @ np.ones(4))

    def reference(w):
        import jax.numpy as jnp

        return jnp.maximum(x @ w, 0.0) @ v @ jnp.ones(4)

    full = check(fn, reference, w.copy(), mode="full").checks[-1].verdict
    probed = check(fn, reference, w.copy(), mode="probe").checks[-1].verdict
    assert probed in (PASS, KINK) and full in (PASS, KINK)


# --- modes, determinism, bookkeeping ------------------------------------------------------------


def test_auto_mode_probes_large_arguments_and_checks_small_ones_entry_by_entry(seed_network):
    result = check(scratch.two_layer_loss, oracle.two_layer_loss, *seed_network, wrt=PARAMS)
    numerical = _numerical(result)
    assert numerical["W1"].size > AUTO_FULL_UP_TO and numerical["W1"].details["mode"] == "probe"
    for name in ("b1", "W2", "b2"):
        assert numerical[name].size <= AUTO_FULL_UP_TO and "mode" not in numerical[name].details
        assert numerical[name].evaluations == 2 * numerical[name].size + 1


def test_probe_mode_is_deterministic():
    args = _small_net()
    one = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="probe", seed=7)
    rademacher.cache_clear()  # the second check must redraw its signs from the seed
    two = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="probe", seed=7)
    other = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="probe", seed=8)
    assert json.dumps([r.to_dict() for r in one.checks]) == json.dumps(
        [r.to_dict() for r in two.checks]
    )
    residuals = [c.details["probe_residuals"] for c in one.checks if c.check == NUMERICAL]
    other_residuals = [c.details["probe_residuals"] for c in other.checks if c.check == NUMERICAL]
    assert residuals != other_residuals


def test_bad_mode_and_probe_count_are_rejected():
    x = np.array([3.0, 4.0])
    with pytest.raises(ValueError, match="auto, full, probe, fast"):
        check(scratch.function_2, oracle.function_2, x, mode="quick")
    with pytest.raises(ValueError, match="positive int"):
        check(scratch.function_2, oracle.function_2, x, mode="probe", probes=0)


def test_arguments_come_back_bit_identical_after_probe_mode():
    args = _small_net()
    before = [np.copy(a) for a in args]
    check(_flipped_bias_loss(2), oracle.two_layer_loss, *args, mode="probe")
    for a, b in zip(args, before, strict=True):
        assert a.tobytes() == b.tobytes()


def test_cli_fast_flag_is_probe_mode(tmp_path):
    status = main(
        ["run", "cases/seed_functions.py", "--fast", "--no-report", "--report-dir", str(tmp_path)]
    )
    assert status == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    modes = {c["details"].get("mode") for r in payload["results"] for c in r["checks"]}
    assert "probe" in modes


# --- disagreements that bisection cannot follow by disagreement alone ------------------------


def _split_error_loss(base, entries, size):
    """The two-layer loss with a gradient error of `size` at each of `entries` (flat) of W1, whose
    point is `base`."""
    base = base.copy()

    def loss(W1, b1, W2, b2, x, t):
        moved = (W1 - base).ravel()
        return scratch.two_layer_loss(W1, b1, W2, b2, x, t) + size * float(moved[entries].sum())

    return loss


@pytest.mark.parametrize(("size", "verdict"), [(0.6e-5, PASS), (1.5e-5, FAIL)])
def test_an_error_split_below_the_tolerance_is_followed_to_entries_not_to_every_entry(
    size, verdict
):
    # tol=1e-5 for numerical checks: an entry fails when its error exceeds 1e-5 (every W1 entry
    # below 1, so every step is h and the probes' tolerance is 1e-5 h). Two entries of W1 in
    # different halves, each off by `size`: their sum disagrees along probes whose signs agree on
    # both, neither half does alone at 0.6e-5. The worse half is followed to an entry, which the
    # full check's rules judge; fresh probes through the rest decide the others. The verdict is
    # the full check's (pass at 0.6e-5, fail at 1.5e-5) without checking every entry.
    args = list(_small_net())
    args[0] = args[0] * (0.9 / np.abs(args[0]).max())
    fn = _split_error_loss(args[0], [3, 30], size)
    verdicts = {}
    for mode in ("full", "probe"):
        result = check(
            fn,
            oracle.two_layer_loss,
            *args,
            mode=mode,
            wrt=(0,),
            tol={"numerical": 1e-5},
            seed=1,
            checks=("numerical",),
        )
        verdicts[mode] = _numerical(result)["W1"]
    assert verdicts["full"].verdict == verdicts["probe"].verdict == verdict
    probed = verdicts["probe"]
    assert probed.details["mode"] == "probe" and "full_check" not in probed.details
    assert "localised to" in probed.message
    assert probed.worst.index in ((0, 3), (6, 0))  # flat 3 and 30 of the (8, 5) W1


def test_only_the_argument_whose_disagreement_is_untraced_gets_every_entry_checked():
    # A kink in every entry of W1 at once (|sum of W1's move| in fn and in the reference): every
    # joint probe crosses it, bisection names kinked entries until MAX_LEAVES and more lie behind
    # them, so W1 gets the full per-entry check. b1, W2 and b2 keep their probe records.
    args = _small_net()
    base = args[0].copy()

    def fn(W1, b1, W2, b2, x, t):
        return scratch.two_layer_loss(W1, b1, W2, b2, x, t) + abs(float((W1 - base).sum()))

    def reference(W1, b1, W2, b2, x, t):
        import jax.numpy as jnp

        return oracle.two_layer_loss(W1, b1, W2, b2, x, t) + jnp.abs(jnp.sum(W1 - base))

    verdicts = {}
    for mode in ("full", "probe"):
        result = check(fn, reference, *args, mode=mode, wrt=PARAMS, checks=("numerical",))
        verdicts[mode] = _numerical(result)
    probed = verdicts["probe"]
    assert {a: r.verdict for a, r in probed.items()} == {
        a: r.verdict for a, r in verdicts["full"].items()
    }
    assert "full_check" in probed["W1"].details
    assert probed["W1"].evaluations >= 2 * args[0].size
    for name in ("b1", "W2", "b2"):
        assert probed[name].details["mode"] == "probe" and "full_check" not in probed[name].details


def test_the_probes_report_their_evaluations_so_a_long_step_can_be_estimated(monkeypatch):
    from harness.judge import progress

    monkeypatch.setattr(progress, "INTERVAL", 0.0)  # every count, not every 0.25 s
    args = _small_net()
    seen: list[dict] = []
    with progress.watching(seen.append):
        check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="probe", probes=6)
    frames = [f for f in seen if f["check"] == "numerical"]
    assert frames[0]["done"] == 0 and frames[0]["total"] == 2 * 6
    assert [f["done"] for f in frames[1:]] == list(range(2, 13, 2))
