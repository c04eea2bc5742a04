"""Loaders for the public scaling-law tables the book tests its fitter on.

The tables are other people's runs and are never copied into this repository.
Each loader finds its file by, in order (see ``shared/data/README.md``):

1. the directory in the environment variable ``DSL_DATA_DIR``; when it is set, it is the
   only place looked in: a folder that does not exist, or that lacks the file, is a
   ``DataError`` (never a silent fall back to another copy);
2. otherwise ``shared/data`` beside the checkout (``<repo>/../shared/data``);
3. for the Chinchilla table only: a download from its pinned upstream commit into
   the user cache (``$XDG_CACHE_HOME`` or ``~/.cache``, ``distillation-scaling-book``).
   The derived tables (Gadre et al., OLMo 2 ladder, and the paper's Fig. 1 points,
   whose upstream file is a parquet) have no single upstream CSV and are available
   only from a local copy.

Every file is checked against its SHA-256 and a schema (required columns, numeric
types, positive values); each loader returns a pandas DataFrame with the standard
columns ``N`` (parameters), ``D`` (tokens) and ``loss`` (nats/token) in front of
the original columns (the distillation table: ``N_S``, ``D_S``, ``L_T``, ``L_S``).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis._checks import integer, shown

__all__ = [
    "TABLES",
    "DataError",
    "data_path",
    "load_chinchilla",
    "load_gadre",
    "load_olmo_ladder",
    "load_fig1_points",
    "Correction",
    "FIG1_CORRECTIONS",
    "EPOCH_CHINCHILLA_FIT",
    "HOFFMANN_CHINCHILLA_FIT",
]


class DataError(RuntimeError):
    """A data file is missing, malformed or fails its checksum."""


@dataclass(frozen=True)
class Table:
    filename: str
    sha256: str
    rows: int
    required: tuple            # columns that must exist and be numeric, > 0
    url: str | None            # pinned upstream file, when one exists


TABLES = {
    "chinchilla": Table(
        "chinchilla_epoch_svg_extracted.csv",
        "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30", 245,
        ("Model Size", "Training FLOP", "loss"),
        "https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/"
        "92258837425e1b5f2851d624287f0120583a3d0e/data/svg_extracted_data.csv"),
    "gadre": Table(
        "gadre2024_overtraining_final_losses.csv",
        "7f0e8a07d68799dbe32ab0e533694e777ab71b767e47274ab0a761a1d0933ba0", 104,
        ("params", "params_no_embed", "tokens", "multiplier", "loss_c4_val"), None),
    "olmo": Table(
        "olmo2_ladder_final_losses.csv",
        "ca9d2e4fa2fb5d13bf5ecbb10333285dba6a8a63226c79ff4d9fe0bee5a6a8b2", 30,
        ("N", "D", "chinchilla_multiplier", "loss_c4_en"), None),
    "fig1": Table(
        "busbridge2025_fig1_points.csv",
        "669a5a52f648a6d4f262787235c14590ad5ffb1c0702b6c8ae300c2c117c255a", 354,
        ("NS", "DS", "LT", "LS"), None),
}

#: Besiroglu et al. 2024's fit on this table (Huber, delta = 1e-3, 5 highest losses dropped).
EPOCH_CHINCHILLA_FIT = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
#: Hoffmann et al. 2022's published fit (their Approach 3).
HOFFMANN_CHINCHILLA_FIT = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "distillation-scaling-book"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verify(path: Path, table: Table) -> Path:
    digest = _sha256(path)
    if digest != table.sha256:
        raise DataError(f"checksum mismatch for {path}: SHA-256 {digest}, expected {table.sha256}. "
                        "The file is corrupt or not the pinned version; replace it with the "
                        "one described in shared/data/README.md.")
    return path


def _download(table: Table) -> Path:
    target = _cache_dir() / table.filename
    if target.exists():
        return _verify(target, table)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(table.url, timeout=30) as resp:  # noqa: S310 (pinned https URL)
            tmp.write_bytes(resp.read())
    except OSError as exc:
        raise DataError(f"{table.filename} not found locally and the download from {table.url} "
                        f"failed: {exc}") from exc
    try:
        _verify(tmp, table)
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    return target


def data_path(name: str, *, download: bool = True) -> Path:
    """Path of the verified file of table ``name`` ("chinchilla", "gadre", "olmo", "fig1")."""
    if not isinstance(name, str) or name not in TABLES:
        raise ValueError(f"name must be one of {sorted(TABLES)}; got {shown(name)}")
    _flag("download", download)
    table = TABLES[name]
    chosen = os.environ.get("DSL_DATA_DIR")
    if chosen:
        folder = Path(chosen)
        if not folder.is_dir():
            raise DataError(f"DSL_DATA_DIR={shown(chosen)} is not a directory; point it at the folder that "
                            f"holds {table.filename} (see shared/data/README.md), or unset it")
        if not (folder / table.filename).is_file():
            raise DataError(f"DSL_DATA_DIR={shown(chosen)} does not hold {table.filename}; copy the file "
                            f"there (see shared/data/README.md), or unset DSL_DATA_DIR")
        return _verify(folder / table.filename, table)
    candidates = [_repo_root().parent / "shared" / "data" / table.filename]
    for path in candidates:
        if path.is_file():
            return _verify(path, table)
    if table.url is None:
        raise DataError(f"{table.filename} not found (looked in {', '.join(map(str, candidates))}). "
                        "This derived table is available only from a local copy: set DSL_DATA_DIR "
                        "to a directory that holds it (see shared/data/README.md).")
    if not download:
        raise DataError(f"{table.filename} not found (looked in {', '.join(map(str, candidates))}) "
                        "and download=False")
    return _download(table)


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {shown(value)}")
    return bool(value)


def _read(name: str, path: Path | None) -> pd.DataFrame:
    """Read and schema-check a table; ``path`` overrides the search (no checksum then,
    so tests and readers can load a modified copy on purpose). The errors about a file
    given as ``path`` name the argument."""
    table = TABLES[name]
    explicit = path is not None
    if path is None:
        path = data_path(name)
    else:
        from os import PathLike

        if not isinstance(path, (str, PathLike)) or isinstance(path, bool):
            raise TypeError(f"path must be None or a path (a string or pathlib.Path); got {shown(path)}")
        if str(path) == "" or not Path(path).is_file():
            raise DataError(f"path {shown(str(path))} does not exist or is not a file")
        path = Path(path)
    where = f"path {path}" if explicit else str(path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{where} is not a readable CSV: {exc}") from exc
    missing = [c for c in table.required if c not in df.columns]
    if missing:
        raise DataError(f"{where}: missing required columns {missing}; found {list(df.columns)}")
    if df.empty:
        raise DataError(f"{where} has a header but no rows")
    for col in table.required:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise DataError(f"{where}: column {shown(col)} must be numeric; got dtype {df[col].dtype}")
        values = df[col].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            raise DataError(f"{where}: column {shown(col)} must be finite and > 0; row "
                            f"{int(np.flatnonzero(bad)[0])} holds {shown(values[bad][0])}")
    return df


def _check_loss_column(df: pd.DataFrame, loss_column, path) -> None:
    """``loss_column`` must name a loss column of the table (one whose name starts with
    "loss") holding finite, positive numbers: ``ValueError`` for a name that is not one,
    ``DataError`` for a loss column whose values are not losses."""
    losses = [c for c in df.columns if str(c).startswith("loss")]
    if not isinstance(loss_column, str) or loss_column not in losses:
        raise ValueError(f"loss_column must be one of the loss columns {losses}; got {shown(loss_column)}")
    if not pd.api.types.is_numeric_dtype(df[loss_column]):
        raise DataError(f"{f'path {path}' if path else 'the table'}: column {shown(loss_column)} must be numeric; "
                        f"got dtype {df[loss_column].dtype}")
    vals = df[loss_column].to_numpy(float)
    bad = ~np.isfinite(vals) | (vals <= 0)
    if bad.any():
        raise DataError(f"{f'path {path}' if path else 'the table'}: column {shown(loss_column)} must hold finite losses > 0; "
                        f"{int(bad.sum())} of {vals.size} rows do not (row {int(np.flatnonzero(bad)[0])} "
                        f"holds {shown(vals[bad][0])})")


def _standard(df: pd.DataFrame, N, D, loss, **extra) -> pd.DataFrame:
    """``N, D, loss`` (and ``extra``) in front; original columns with the same
    names are dropped (they hold the same values)."""
    front = {"N": N, "D": D, "loss": loss, **extra}
    front = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in front.items()}, index=df.index)
    rest = df.drop(columns=[c for c in front.columns if c in df.columns])
    return pd.concat([front, rest], axis=1).reset_index(drop=True)


def load_chinchilla(*, drop_highest: int = 0, path: str | Path | None = None) -> pd.DataFrame:
    """Epoch's extraction of Hoffmann et al.'s Fig. 4 runs (245 rows).

    ``N`` = "Model Size", ``C`` = "Training FLOP", ``D`` = C / (6 N) (Epoch's
    convention), ``loss`` = final training loss.  ``drop_highest=5`` reproduces
    Besiroglu et al.'s protocol (drop the 5 highest-loss rows; 240 remain).
    """
    df = _read("chinchilla", path)
    drop_highest = integer("drop_highest", drop_highest, 0, len(df) - 1)
    if drop_highest:
        df = df.drop(df["loss"].nlargest(int(drop_highest)).index)
    N = df["Model Size"].to_numpy(float)
    C = df["Training FLOP"].to_numpy(float)
    return _standard(df, N, C / (6.0 * N), df["loss"], C=C)


def load_gadre(*, dataset: str | None = None, loss_column: str = "loss_c4_val",
               path: str | Path | None = None) -> pd.DataFrame:
    """Gadre et al. 2024's over-training runs (104 rows).

    ``N`` = ``params_no_embed``, ``D`` = ``tokens``, ``loss`` = ``loss_column``
    (C4 validation by default), ``M`` = tokens per parameter = 20 x multiplier.
    ``dataset`` keeps one of "c4_original", "rpj", "rw_original".
    """
    df = _read("gadre", path)
    _check_loss_column(df, loss_column, path)
    if dataset is not None:
        known = sorted(df["dataset"].unique())
        if not isinstance(dataset, str) or dataset not in known:
            raise ValueError(f"dataset must be one of {known}; got {shown(dataset)}")
        df = df[df["dataset"] == dataset]
    return _standard(df, df["params_no_embed"], df["tokens"], df[loss_column],
                     M=20.0 * df["multiplier"].to_numpy(float))


def load_olmo_ladder(*, loss_column: str = "loss_c4_en",
                     path: str | Path | None = None) -> pd.DataFrame:
    """The OLMo 2 model ladder's final losses (30 runs: 190M to 3B, 0.5x-10x Chinchilla).

    ``N``, ``D`` as the OLMo team counts them; ``loss`` = ``loss_column`` (C4 by default).
    """
    df = _read("olmo", path)
    _check_loss_column(df, loss_column, path)
    return _standard(df, df["N"], df["D"], df[loss_column].to_numpy(float))


# ------------------------------------------------------- the paper's own runs (Fig. 1)


@dataclass(frozen=True)
class Correction:
    """One proven error of a digitised table: ``column`` of the listed ``rows`` (0-based
    positions in the file) holds ``digitised`` and should hold ``corrected``; ``evidence``
    names the check that proves it (computed in ``analysis.paper_runs`` and in the
    chapter "The paper's own runs")."""

    rows: tuple
    column: str
    digitised: float
    corrected: float
    evidence: str


#: The errors the data check of the Fig. 1 points proves (book/paper_runs.md). The legend
#: colours of the two largest students were swapped: with the labels as digitised, the
#: "4.82B" student beats the "7.75B" one at both token counts they share, with the same
#: teacher, by several times the largest spread of runs with equal inputs; with them swapped,
#: each of the two has a budget of ~20.3 N_total like every other student's smallest (Table 13).
FIG1_CORRECTIONS = (
    Correction((348, 349, 350), "NS", 7.75e9, 4.82e9,
               "size ordering at equal (D_S, L_T); D_S / N_total of the smallest budget"),
    Correction((351, 352, 353), "NS", 4.82e9, 7.75e9,
               "size ordering at equal (D_S, L_T); D_S / N_total of the smallest budget"),
)


def _table13_sizes() -> dict[float, tuple[str, float, float]]:
    """Legend size (parameters, as the figure names it) -> (Table 13 name, N, N_total)."""
    from analysis.flops import PAPER_TABLE13

    scale = {"M": 1e6, "B": 1e9}
    return {round(float(r.name[:-1]) * scale[r.name[-1]]): (r.name, r.N * 1e9, r.N_total * 1e9)
            for r in PAPER_TABLE13}


def load_fig1_points(*, corrected: bool = True, path: str | Path | None = None) -> pd.DataFrame:
    """The 354 distillation runs of Busbridge et al. 2025 read off their Fig. 1 by
    Li et al. 2026 (one row per run, in file order).

    ``N_S`` is the student's exact non-embedding parameter count from the paper's Table 13
    for the size its legend names (``size_label``; ``N_S_total`` the total count);
    ``D_S`` the distillation tokens, ``L_T`` the teacher's and ``L_S`` the student's
    cross-entropy (nats/token), as digitised. With ``corrected=True`` (the default) the
    ``FIG1_CORRECTIONS`` are applied; ``size_label_digitised`` keeps the label as
    digitised and ``corrected`` marks the rows that changed. ``row`` is the position in
    the file.
    """
    _flag("corrected", corrected)
    df = _read("fig1", path)
    sizes = _table13_sizes()
    ns = df["NS"].to_numpy(float).copy()
    unknown = sorted({v for v in ns if round(v) not in sizes})
    if unknown:
        raise DataError(f"column 'NS' holds sizes that are not Table 13 models: {unknown}")
    digitised = ns.copy()
    if corrected:
        for fix in FIG1_CORRECTIONS:
            rows = np.asarray(fix.rows)
            if rows.max() >= len(df) or not np.all(df[fix.column].to_numpy(float)[rows] == fix.digitised):
                raise DataError(f"correction of rows {fix.rows}: column {shown(fix.column)} no longer holds "
                                f"{shown(fix.digitised)}; the table is not the pinned version")
            ns[rows] = fix.corrected
    label = [sizes[round(v)][0] for v in ns]
    out = pd.DataFrame({
        "N_S": [sizes[round(v)][1] for v in ns],
        "D_S": df["DS"].to_numpy(float),
        "L_T": df["LT"].to_numpy(float),
        "L_S": df["LS"].to_numpy(float),
        "size_label": label,
        "size_label_digitised": [sizes[round(v)][0] for v in digitised],
        "N_S_total": [sizes[round(v)][2] for v in ns],
        "corrected": ns != digitised,
        "row": np.arange(len(df)),
    })
    return out
