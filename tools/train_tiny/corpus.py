"""Builds the training corpus from text that any Debian machine carries, deterministically.

Output: one JSON line per document {"source", "path", "split", "text"}. Documents, not lines, are
assigned to the held-out split (by a hash of the path), so no held-out text leaks into training
through a shared file. Selection order within each source is by that same hash, so the corpus is
the same on every machine with the same packages, and independent of directory-listing order.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import subprocess
import unicodedata

# Per-source byte budgets: enough text for ~1.5M BPE tokens, which is about what the model can
# read in the training time budget, spread over prose, reference docs and code so the model
# (and the imatrix later computed on held-out text) sees varied input.
SOURCES = {
    "licenses": 400_000,     # /usr/share/common-licenses
    "copyright": 1_200_000,  # /usr/share/doc/*/copyright (deduplicated by content)
    "docs": 600_000,         # README / NEWS files under /usr/share/doc
    "man": 2_000_000,        # English man pages, sections 1, 5, 7, 8, rendered to plain text
    "python": 2_200_000,     # Python standard library sources
    "headers": 600_000,      # C headers under /usr/include
}
MAX_DOC_BYTES = 32_000       # long files are cut at a line boundary so no single file dominates
HELDOUT_PER_MILLE = 50       # 5% of documents


def path_hash(path):
    return int(hashlib.sha1(path.encode()).hexdigest()[:12], 16)


def clean(text):
    """Normalise line ends and drop control characters other than tab and newline: the HF
    tokenizer's \\s and Python's differ on a few C0 controls, so keep them out of the corpus."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if len(text.encode()) > MAX_DOC_BYTES:
        cut = text.encode()[:MAX_DOC_BYTES].decode(errors="ignore")
        text = cut[: cut.rfind("\n") + 1] or cut
    return text.strip("\n") + "\n"


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read(4 * MAX_DOC_BYTES)
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def render_man(path):
    # --nh/--nj: no hyphenation or justification, so words are not split across lines.
    env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8")
    r = subprocess.run(["man", "--nh", "--nj", "-P", "cat", "-l", path], capture_output=True, env=env, timeout=30)
    if r.returncode != 0:
        return None
    return r.stdout.decode("utf-8", errors="ignore")


def candidates(source):
    if source == "licenses":
        paths = [p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p) and not os.path.islink(p)]
    elif source == "copyright":
        paths = glob.glob("/usr/share/doc/*/copyright")
    elif source == "docs":
        paths = [p for pat in ("README*", "NEWS*") for p in glob.glob(f"/usr/share/doc/*/{pat}")]
    elif source == "man":
        paths = [p for s in "1578" for p in glob.glob(f"/usr/share/man/man{s}/*.gz")]
    elif source == "python":
        paths = [p for p in glob.glob("/usr/lib/python3.11/**/*.py", recursive=True)
                 if "/test" not in p and "/site-packages/" not in p and "/dist-packages/" not in p]
    elif source == "headers":
        paths = glob.glob("/usr/include/*.h") + glob.glob("/usr/include/*/*.h")
    else:
        raise ValueError(source)
    return sorted(set(p for p in paths if os.path.isfile(p)), key=lambda p: (path_hash(p), p))


def build(out_path):
    seen = set()
    totals = {}
    with open(out_path, "w", encoding="utf-8") as out:
        for source, budget in SOURCES.items():
            used = 0
            for path in candidates(source):
                if used >= budget:
                    break
                raw = render_man(path) if source == "man" else read_text(path)
                if not raw or len(raw) < 200:
                    continue
                text = clean(raw)
                digest = hashlib.sha1(text.encode()).digest()
                if digest in seen:   # identical copyright files and licences appear many times
                    continue
                seen.add(digest)
                split = "heldout" if path_hash(path) % 1000 < HELDOUT_PER_MILLE else "train"
                out.write(json.dumps({"source": source, "path": path, "split": split, "text": text}) + "\n")
                used += len(text.encode())
            totals[source] = used
            print(f"{source:10s} {used:>9d} bytes", flush=True)
    print(f"total      {sum(totals.values()):>9d} bytes -> {out_path}")


def load(path, split=None):
    with open(path, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    return [d for d in docs if split is None or d["split"] == split]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="work/corpus.jsonl")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    build(args.out)
