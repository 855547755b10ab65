"""The adapters' place in the layout: importing harness (check_layer, check_net) does not import
JAX, and the adapters never reach into the scratch code they are used to check."""

import subprocess
import sys

from test_layout import import_graph


def test_importing_harness_does_not_import_jax():
    code = (
        "import sys, harness; harness.check_layer, harness.check_net; print('jax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_adapters_never_import_the_scratch_code():
    graph = import_graph()
    adapters = {m: deps for m, deps in graph.items() if m.startswith("harness.adapters")}
    assert set(adapters) >= {"harness.adapters.layer", "harness.adapters.net"}
    assert {
        m: [d for d in deps if d.startswith("harness.scratch")] for m, deps in adapters.items()
    } == {m: [] for m in adapters}
