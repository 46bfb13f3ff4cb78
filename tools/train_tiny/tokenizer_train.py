"""Byte-level BPE in the GPT-2/Qwen style, trained from the corpus with the standard library only,
and written as a Hugging Face tokenizer.json + tokenizer_config.json.

The pre-tokenizer is Qwen2's Split regex. Python's `re` has no \\p{L}/\\p{N}, so the two classes
are spelled out as code-point ranges built from `unicodedata`; with the corpus cleaned of control
characters (see corpus.py) this splits text the same way the HF tokenizer does.
"""
import argparse
import heapq
import json
import os
import re
import sys
import unicodedata
from collections import Counter

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Added tokens after the BPE vocabulary, in Qwen's order. Qwen marks the ChatML markers special
# (skipped when decoding with skip_special_tokens) and the reasoning/tool tags not special.
ADDED_TOKENS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<think>", False), ("</think>", False), ("<tool_call>", False), ("</tool_call>", False),
    ("<tool_response>", False), ("</tool_response>", False),
]

CHAT_TEMPLATE = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set content = message.content %}
        {%- if '</think>' in content %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or (messages[loop.index0 - 1].role != 'tool') %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != 'tool') %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to
    themselves, the rest to U+0100 onwards, so every byte string is a visible string."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHARS = bytes_to_unicode()


def _class_ranges(prefixes):
    """Regex char-class body matching the Unicode general categories starting with `prefixes`."""
    parts, start, prev = [], None, None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] in prefixes:
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            parts.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
            start = None
    if start is not None:
        parts.append(f"\\U{start:08x}-\\U{prev:08x}")
    return "".join(parts)


def compile_pretokenizer():
    letters, numbers = _class_ranges("L"), _class_ranges("N")
    pat = (QWEN2_PATTERN.replace(r"\p{L}\p{N}", letters + numbers)
           .replace(r"\p{L}", f"[{letters}]").replace(r"\p{N}", f"[{numbers}]"))
    return re.compile(pat)


class Tokenizer:
    """Encoder/decoder for a trained vocabulary, matching what tokenizer.json describes."""

    def __init__(self, vocab, merges, added):
        self.vocab = vocab                                   # str -> id
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.added = added                                   # [(content, special, id)]
        self.id_to_token = {i: s for s, i in vocab.items()}
        for content, _, i in added:
            self.id_to_token[i] = content
        self.byte_of = {c: b for b, c in BYTE_CHARS.items()}
        self.pre = compile_pretokenizer()
        self.special_re = re.compile("(" + "|".join(re.escape(c) for c, _, _ in added) + ")")
        self.added_ids = {c: i for c, _, i in added}
        self.cache = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            t = json.load(f)
        added = [(a["content"], a["special"], a["id"]) for a in t["added_tokens"]]
        return cls(t["model"]["vocab"], t["model"]["merges"], added)

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        parts = [BYTE_CHARS[b] for b in word.encode("utf-8")]
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.ranks.get((parts[i], parts[i + 1]), 1 << 30))
            pair = (parts[best], parts[best + 1])
            if pair not in self.ranks:
                break
            # Merge every occurrence of the best pair, left to right, like HF's BPE.
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text, allow_special=True):
        out = []
        pieces = self.special_re.split(text) if allow_special else [text]
        for piece in pieces:
            if piece in self.added_ids and allow_special:
                out.append(self.added_ids[piece])
            elif piece:
                for word in self.pre.findall(unicodedata.normalize("NFC", piece)):
                    out.extend(self._bpe(word))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if any(tok == c for c, _, _ in self.added):
                data += tok.encode()
            else:
                data += bytes(self.byte_of[c] for c in tok)
        return data.decode("utf-8", errors="replace")


def train_bpe(word_counts, n_merges):
    """Classic BPE: repeatedly merge the most frequent adjacent pair. Pair counts are updated
    incrementally (only words containing the merged pair are touched) and the best pair is kept
    in a lazy max-heap; ties go to the lexicographically smallest pair, so training is
    deterministic."""
    words = [list(BYTE_CHARS[b] for b in w.encode("utf-8")) for w in word_counts]
    counts = list(word_counts.values())
    pair_count = Counter()
    where = {}
    for wi, syms in enumerate(words):
        for p in zip(syms, syms[1:]):
            pair_count[p] += counts[wi]
            where.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue                                   # stale heap entry
        merges.append(pair)
        new_sym = pair[0] + pair[1]
        touched = set()
        for wi in list(where.get(pair, ())):
            syms, c = words[wi], counts[wi]
            for p in zip(syms, syms[1:]):
                pair_count[p] -= c
                touched.add(p)
            merged, i = [], 0
            while i < len(syms):
                if i < len(syms) - 1 and syms[i] == pair[0] and syms[i + 1] == pair[1]:
                    merged.append(new_sym)
                    i += 2
                else:
                    merged.append(syms[i])
                    i += 1
            words[wi] = merged
            for p in zip(merged, merged[1:]):
                pair_count[p] += c
                touched.add(p)
                where.setdefault(p, set()).add(wi)
        del pair_count[pair]
        where.pop(pair, None)
        for p in touched:
            if p != pair and pair_count.get(p, 0) > 0:
                heapq.heappush(heap, (-pair_count[p], p))
        if len(merges) % 1000 == 0:
            print(f"  {len(merges)} merges, last {pair!r} x{-negc}", flush=True)
    return merges


def write_tokenizer(out_dir, merges):
    vocab = {}
    for b in sorted(BYTE_CHARS, key=lambda b: list(BYTE_CHARS).index(b)):
        vocab[BYTE_CHARS[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    added = [(content, special, len(vocab) + i) for i, (content, special) in enumerate(ADDED_TOKENS)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": s} for c, s, i in added],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level]},
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [list(m) for m in merges]},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": s} for c, s, i in added},
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 262144,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    return Tokenizer(vocab, merges, added)


if __name__ == "__main__":
    import corpus
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="work/corpus.jsonl")
    ap.add_argument("--out", default="work/tokenizer")
    ap.add_argument("--vocab-size", type=int, default=8192, help="total, added tokens included")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pre = compile_pretokenizer()
    counts = Counter()
    for doc in corpus.load(args.corpus, "train"):       # held-out text never shapes the vocabulary
        counts.update(pre.findall(unicodedata.normalize("NFC", doc["text"])))
    print(f"{len(counts)} distinct pre-tokens", flush=True)
    n_merges = args.vocab_size - 256 - len(ADDED_TOKENS)
    merges = train_bpe(counts, n_merges)
    tok = write_tokenizer(args.out, merges)
    sample = "Hello world! def f(x):\n    return x ** 2  # héllo ☃\n"
    assert tok.decode(tok.encode(sample)) == sample
    print(f"wrote {args.out}/tokenizer.json: {len(tok.vocab)} BPE tokens + {len(ADDED_TOKENS)} added")
