"""Fit the supervised law (Eq. 1) to the version-2 replication runs at each token cut the
set-up chapter uses and store the optima in data/fits/replication/setup_supervised.csv
(``analysis.replication_setup.store_supervised_fits``). Rerun after every GPU block.

    PYTHONPATH=$PWD .venv/bin/python scripts/make_replication_setup_fits.py
"""

from __future__ import annotations

from analysis import replication_setup as S


def main() -> None:
    table = S.store_supervised_fits(S.load())
    print(table.drop(columns=["runs_sha256"]).to_string(index=False))
    print(f"written to {S.FITS}")


if __name__ == "__main__":
    main()
