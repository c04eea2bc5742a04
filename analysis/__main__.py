"""``python -m analysis``: the practitioners' command line (see analysis.cli)."""

import sys

try:
    from analysis.cli import main
except KeyboardInterrupt:  # Ctrl-C while numpy is being imported: no traceback
    sys.stderr.write("python -m analysis: interrupted\n")
    sys.exit(130)

sys.exit(main())
