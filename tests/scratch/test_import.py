import subprocess
import sys
from pathlib import Path

import harness.scratch

ROOT = Path(__file__).resolve().parents[2]


def test_importing_scratch_does_not_import_jax():
    # scratch is what gets verified against JAX; it must not lean on JAX itself.
    code = "import harness.scratch, sys; assert 'jax' not in sys.modules, 'jax was imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_public_api_is_exported():
    for name in harness.scratch.__all__:
        assert hasattr(harness.scratch, name), name
