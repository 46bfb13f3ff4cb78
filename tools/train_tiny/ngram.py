"""Interpolated Kneser-Ney n-gram baselines (bigram and trigram) over the same token ids the model
sees.

A trained network that cannot beat these has learned nothing beyond local token statistics, so
they are the yardsticks the training script reports against. The highest order uses raw counts,
every lower order continuation counts (how many distinct tokens precede an n-gram). Discounts are
per order, estimated from count-of-counts as D = n1 / (n1 + 2·n2) (Ney et al.); the unigram floor
is the add-one smoothed continuation distribution, so every vocabulary entry has non-zero
probability.
"""
from collections import Counter

import numpy as np


def _discount(counts):
    coc = Counter(c for c in counts.values() if c <= 2)
    n1, n2 = coc[1], coc[2]
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


class KneserNey:
    def __init__(self, ids, vocab_size, order):
        if order not in (2, 3):
            raise ValueError(f"KneserNey: order {order} is not supported (2 = bigram, 3 = trigram)")
        self.order = order
        ids = [int(t) for t in ids]
        # counts[k]: k-gram tuple -> count; raw at the top order, N1+(· g) below it.
        self.counts = {order: Counter(zip(*(ids[i:] for i in range(order))))}
        for k in range(order - 1, 1, -1):
            self.counts[k] = Counter(g[1:] for g in self.counts[k + 1])
        self.discount, self.ctx_total, self.ctx_types = {}, {}, {}
        for k, counts in self.counts.items():
            total, types = Counter(), Counter()          # c(ctx ·) and N1+(ctx ·)
            for g, c in counts.items():
                total[g[:-1]] += c
                types[g[:-1]] += 1
            self.discount[k], self.ctx_total[k], self.ctx_types[k] = _discount(counts), total, types
        uni = Counter(g[-1] for g in self.counts[2])       # N1+(· w) over bigram types
        total = sum(uni.values())
        self.p1 = np.full(vocab_size, 1.0 / (total + vocab_size))
        for w, c in uni.items():
            self.p1[w] = (c + 1.0) / (total + vocab_size)

    def prob(self, context, w):
        """P(w | context); context holds the order − 1 preceding ids, oldest first."""
        if len(context) != self.order - 1:
            raise ValueError(f"KneserNey.prob: context of {len(context)} ids for order {self.order}")
        p = self.p1[w]
        for k in range(2, self.order + 1):
            ctx = tuple(context[self.order - k:])
            n = self.ctx_total[k].get(ctx, 0)
            if n:
                d = self.discount[k]
                p = (max(self.counts[k].get(ctx + (w,), 0) - d, 0.0) + d * self.ctx_types[k][ctx] * p) / n
        return p
