"""`python3 -m harness.cli`: the `gradcheck` command."""

import sys

from harness.cli.main import main

sys.exit(main())
