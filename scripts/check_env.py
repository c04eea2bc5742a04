"""Check that an existing virtual environment satisfies requirements.txt's pins.

``make VENV=/some/venv book`` reuses an environment that this Makefile did not create; it
runs this script instead of installing, so a shared environment is never modified. Every
``name==version`` line must be installed at exactly that version; ``-e .`` (the book's
``analysis`` package) is provided through PYTHONPATH. Exit status 1 lists what differs.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if match:
            found[re.sub(r"\[.*\]", "", match.group(1))] = match.group(2)
    return found


def main(argv: list[str]) -> int:
    requirements = Path(argv[1] if len(argv) > 1 else "requirements.txt")
    problems = []
    for name, wanted in pins(requirements).items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed (want {wanted})")
            continue
        if have != wanted:
            problems.append(f"{name}: {have} installed, {wanted} pinned")
    if problems:
        print(f"{sys.prefix} does not match {requirements}:\n  " + "\n  ".join(problems)
              + "\nInstall the pins there, or drop VENV= to let make create .venv.",
              file=sys.stderr)
        return 1
    print(f"{sys.prefix} matches every pin of {requirements}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
