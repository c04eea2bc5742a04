"""The replication corpus: real text from pinned Debian and PyPI packages.

``python -m experiments.corpus build [--out corpus]`` downloads the pinned packages
(``apt-get download NAME=VERSION``, ``pip download --no-deps NAME==VERSION``), extracts
documents (documentation as text, HTML stripped of tags, books, Python source),
deduplicates them by content hash, splits them by document into a teacher half, a
student half and a validation split (about 1%), trains a byte-level BPE tokenizer
(vocabulary 8192) on a sample of the two training halves, and writes for each split
its token ids (uint16, documents separated by the end-of-text id) as an xz-compressed
``.npy``, plus ``tokenizer.json`` and ``manifest.json`` with the SHA-256 of every input
package and every output file. The corpus lives outside git; the manifest's
``corpus_sha256`` (a hash of the output hashes) names it in every run row.

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
from pathlib import Path

import numpy as np

#: Debian 12 (bookworm) packages: documentation, a book, and Python source.
DEBIAN_PINS = [
    ("python3.11-doc", "3.11.2-6+deb12u9"),
    ("perl-doc", "5.36.0-7+deb12u4"),
    ("postgresql-doc-15", "15.20-0+deb12u1"),
    ("python-django-doc", "3:3.2.25-0+deb12u7"),
    ("rust-doc", "1.63.0+dfsg1-2"),
    ("linux-doc-6.1", "6.1.192-3"),
    ("libpython3.11-stdlib", "3.11.2-6+deb12u9"),
    ("python3-django", "3:3.2.25-0+deb12u7"),
]
#: PyPI wheels (Python source and bundled docs), one "name==version" a line.
PYPI_PINS_FILE = Path(__file__).with_name("pypi_pins.txt")

VOCAB_SIZE = 8192
EOS = "<|endoftext|>"
VAL_FRACTION = 0.01
MIN_DOC_BYTES = 200
MAX_DOC_BYTES = 1_000_000
TOKENIZER_SAMPLE_BYTES = 40_000_000
#: At most this many characters of PyPI text, so that the mix stays about 90M tokens.
PYPI_MAX_CHARS = 150_000_000
TEXT_SUFFIXES = (".txt", ".rst", ".md", ".py", ".pod", ".pm", ".pl", ".html", ".htm", ".tex")
SPLITS = ("teacher", "student", "validation")

_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_BLANKS = re.compile(r"\n\s*\n\s*\n+")
_SPACES = re.compile(r"[ \t]+")


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
    """Text of one file if it is a document we keep (by suffix, after gunzip), else None."""
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
        name = name[:-3]
    lower = name.lower()
    if not lower.endswith(TEXT_SUFFIXES):
        return None
    text = raw[:MAX_DOC_BYTES].decode("utf-8", errors="ignore")
    if lower.endswith((".html", ".htm")):
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").strip()
    if len(text.encode("utf-8")) < MIN_DOC_BYTES:
        return None
    return text


def documents_of_deb(path: Path):
    """(member name, text) of every document inside a .deb's data archive."""
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        for m in tar:
            if m.isfile():
                text = document_text(m.name, tar.extractfile(m).read())
                if text:
                    yield m.name, text


def documents_of_wheel(path: Path):
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.endswith("/"):
                text = document_text(name, z.read(name))
                if text:
                    yield name, text


def download(out: Path) -> list[dict]:
    """Fetch every pinned package into out/downloads (skipping those present)."""
    deb_dir, pypi_dir = out / "downloads" / "deb", out / "downloads" / "pypi"
    deb_dir.mkdir(parents=True, exist_ok=True)
    pypi_dir.mkdir(parents=True, exist_ok=True)
    for name, version in DEBIAN_PINS:
        if not list(deb_dir.glob(f"{name}_*.deb")):
            subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=deb_dir, check=True)
    for pin in PYPI_PINS_FILE.read_text().split():
        name = pin.split("==")[0].replace("-", "_").lower()
        if not [p for p in pypi_dir.iterdir() if p.name.lower().startswith(name + "-")]:
            r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                "--only-binary=:all:", "--python-version", "3.12",
                                "--platform", "manylinux_2_28_x86_64", "--platform",
                                "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
                                "-d", str(pypi_dir), pin])
            if r.returncode:
                print(f"skipped {pin}: pip could not fetch it", file=sys.stderr)
    return inputs_of(out)


def inputs_of(out: Path) -> list[dict]:
    rows = []
    for p in sorted((out / "downloads" / "deb").glob("*.deb")) + sorted((out / "downloads" / "pypi").glob("*.whl")):
        rows.append({"file": p.name, "kind": "deb" if p.suffix == ".deb" else "wheel",
                     "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    return rows


def split_of(doc_hash: str) -> str:
    """Document-level split from the content hash: ~1% validation, the rest halved."""
    u = int(doc_hash[:8], 16) / 16**8
    if u < VAL_FRACTION:
        return "validation"
    return "teacher" if int(doc_hash[8:10], 16) % 2 == 0 else "student"


def collect(out: Path):
    """Deduplicated documents {hash: (source, text)} of every downloaded package."""
    docs, per_source = {}, {}
    for p in sorted((out / "downloads" / "deb").glob("*.deb")):
        src = p.name.split("_")[0]
        for _, text in documents_of_deb(p):
            h = sha256_bytes(text.encode("utf-8"))
            if h not in docs:
                docs[h] = (src, text)
                per_source[src] = per_source.get(src, 0) + len(text)
    for p in sorted((out / "downloads" / "pypi").glob("*.whl")):
        if per_source.get("pypi", 0) >= PYPI_MAX_CHARS:
            break
        for _, text in documents_of_wheel(p):
            h = sha256_bytes(text.encode("utf-8"))
            if h not in docs:
                docs[h] = ("pypi", text)
                per_source["pypi"] = per_source.get("pypi", 0) + len(text)
    return docs, per_source


def train_tokenizer(texts, vocab_size: int = VOCAB_SIZE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def encode_documents(tok, texts, batch: int = 256) -> np.ndarray:
    """Token ids of the documents, each followed by the end-of-text id, as uint16."""
    eos = tok.token_to_id(EOS)
    parts = []
    for i in range(0, len(texts), batch):
        for enc in tok.encode_batch(texts[i:i + batch]):
            parts.append(np.asarray(enc.ids + [eos], dtype=np.uint16))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)


def save_xz(arr: np.ndarray, path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, arr)
    path.write_bytes(lzma.compress(buf.getvalue(), preset=6))


def load_split(corpus_dir, name: str) -> np.ndarray:
    """Token ids of one split ('teacher', 'student', 'validation') as uint16."""
    if name not in SPLITS:
        raise ValueError(f"name must be one of {SPLITS}, got {name!r}")
    corpus_dir = Path(corpus_dir)
    raw = corpus_dir / f"{name}.npy"
    if raw.exists():
        return np.load(raw)
    return np.load(io.BytesIO(lzma.decompress((corpus_dir / f"{name}.npy.xz").read_bytes())))


def corpus_sha256(manifest: dict) -> str:
    """One hash naming the corpus: SHA-256 of the sorted output hashes."""
    outs = "".join(f"{k}:{v['sha256']}\n" for k, v in sorted(manifest["outputs"].items()))
    return sha256_bytes(outs.encode())


def build_from_documents(docs: dict, out: Path, inputs: list[dict], per_source: dict,
                         vocab_size: int = VOCAB_SIZE, sample_bytes: int = TOKENIZER_SAMPLE_BYTES) -> dict:
    """Split, tokenize, save and describe a corpus from {hash: (source, text)}."""
    out.mkdir(parents=True, exist_ok=True)
    by_split = {s: [] for s in SPLITS}
    for h in sorted(docs):
        by_split[split_of(h)].append(h)
    train_hashes = sorted(by_split["teacher"] + by_split["student"])
    sample, size = [], 0
    for h in train_hashes:  # hash order is a fixed pseudo-random order
        if size >= sample_bytes:
            break
        sample.append(docs[h][1])
        size += len(sample[-1])
    tok = train_tokenizer(sample, vocab_size)
    tok.save(str(out / "tokenizer.json"))
    outputs = {"tokenizer.json": {"sha256": sha256_file(out / "tokenizer.json")}}
    stats = {}
    for s in SPLITS:
        texts = [docs[h][1] for h in by_split[s]]
        ids = encode_documents(tok, texts)
        save_xz(ids, out / f"{s}.npy.xz")
        np.save(out / f"{s}.npy", ids)  # uncompressed cache, not in the manifest
        outputs[f"{s}.npy.xz"] = {"sha256": sha256_file(out / f"{s}.npy.xz"),
                                  "bytes": (out / f"{s}.npy.xz").stat().st_size,
                                  "tokens": int(ids.size), "documents": len(texts),
                                  "text_bytes": int(sum(len(t.encode("utf-8")) for t in texts)),
                                  "ids_sha256": sha256_bytes(ids.tobytes())}
        stats[s] = int(ids.size)
    manifest = {"vocab_size": vocab_size, "eos": EOS, "val_fraction": VAL_FRACTION,
                "tokenizer_sample_bytes": size, "documents": len(docs),
                "chars_per_source": per_source, "tokens": stats,
                "total_tokens": int(sum(stats.values())), "inputs": inputs, "outputs": outputs}
    manifest["corpus_sha256"] = corpus_sha256(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def build(out: Path, skip_download: bool = False) -> dict:
    inputs = inputs_of(out) if skip_download else download(out)
    docs, per_source = collect(out)
    return build_from_documents(docs, out, inputs, per_source)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="download pinned packages and build the corpus")
    b.add_argument("--out", default="corpus", type=Path)
    b.add_argument("--skip-download", action="store_true")
    args = ap.parse_args(argv)
    m = build(args.out, args.skip_download)
    print(json.dumps({k: m[k] for k in ("documents", "tokens", "total_tokens", "corpus_sha256")}, indent=1))


if __name__ == "__main__":
    main()
