"""Order-2 (trigram) interpolated Kneser-Ney baseline over the same token ids the model sees.

A trained network that cannot beat this has learned nothing beyond local token statistics, so it
is the yardstick the training script reports against. Discounts are per order, estimated from
count-of-counts as D = n1 / (n1 + 2·n2) (Ney et al.); the unigram floor is the add-one smoothed
continuation distribution, so every vocabulary entry has non-zero probability.
"""
import math
from collections import Counter, defaultdict

import numpy as np


def _discount(counts):
    coc = Counter(c for c in counts.values() if c <= 2)
    n1, n2 = coc[1], coc[2]
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


class KneserNeyTrigram:
    def __init__(self, ids, vocab_size):
        V = self.V = vocab_size
        ids = [int(t) for t in ids]
        tri = Counter(zip(ids, ids[1:], ids[2:]))
        # Lower orders use continuation counts: how many distinct left contexts precede an n-gram.
        bi_cont = Counter((v, w) for (_, v, w) in tri)                 # N1+(· v w)
        uni_cont = Counter(w for (_, w) in bi_cont)                    # N1+(· · w) over bigram types
        self.D3, self.D2 = _discount(tri), _discount(bi_cont)
        self.tri = tri
        self.ctx3 = Counter()                                          # c(u v ·)
        self.ctx3_types = Counter()                                    # N1+(u v ·)
        for (u, v, _), c in tri.items():
            self.ctx3[(u, v)] += c
            self.ctx3_types[(u, v)] += 1
        self.bi_cont = bi_cont
        self.ctx2 = Counter()                                          # N1+(· v ·)
        self.ctx2_types = Counter()                                    # N1+(v ·) among continuation bigrams
        for (v, _), c in bi_cont.items():
            self.ctx2[v] += c
            self.ctx2_types[v] += 1
        total = sum(uni_cont.values())
        self.p1 = np.full(V, 1.0 / (total + V))
        for w, c in uni_cont.items():
            self.p1[w] = (c + 1.0) / (total + V)

    def prob(self, u, v, w):
        p = self.p1[w]
        n2 = self.ctx2.get(v, 0)
        if n2:
            p = (max(self.bi_cont.get((v, w), 0) - self.D2, 0.0) + self.D2 * self.ctx2_types[v] * p) / n2
        n3 = self.ctx3.get((u, v), 0)
        if n3:
            p = (max(self.tri.get((u, v, w), 0) - self.D3, 0.0) + self.D3 * self.ctx3_types[(u, v)] * p) / n3
        return p

    def mean_nll(self, ids):
        """Mean negative log-likelihood (nats/token) of ids[2:] given their two predecessors."""
        ids = [int(t) for t in ids]
        nll = [-math.log(self.prob(u, v, w)) for u, v, w in zip(ids, ids[1:], ids[2:])]
        return sum(nll) / len(nll)
