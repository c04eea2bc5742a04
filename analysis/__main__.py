"""``python -m analysis``: the practitioners' command line (see analysis.cli)."""

import sys

from analysis.cli import main

sys.exit(main())
