"""Fit the supervised law (Eq. 1) to the version-2 replication runs at each token cut the
set-up chapter uses and store the optima in data/fits/replication/setup_supervised.csv
(``analysis.replication_setup.store_supervised_fits``), and the bootstrap of the fit rule's fit
in setup_rule_bootstrap.csv (``store_rule_bootstrap``, about half a minute). Rerun after every GPU block.

    PYTHONPATH=$PWD .venv/bin/python scripts/make_replication_setup_fits.py
"""

from __future__ import annotations

from analysis import replication_setup as S


def main() -> None:
    runs = S.load()
    table = S.store_supervised_fits(runs)
    print(table.drop(columns=["runs_sha256", "excluded"]).to_string(index=False))
    print(f"written to {S.FITS}")
    S.store_rule_bootstrap(runs)
    b = S.rule_bootstrap(runs)
    print(f"fit rule's bootstrap: {len(b.samples)} resamples, {b.n_failed} failed; 90% intervals:")
    for k, (lo, hi) in b.intervals.items():
        print(f"  {k}: {lo:.4g} to {hi:.4g}")
    print(f"written to {S.BOOTSTRAP}")


if __name__ == "__main__":
    main()
