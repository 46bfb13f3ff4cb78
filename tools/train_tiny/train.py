"""Trains the tiny Qwen3.5 model on the Debian corpus and reports held-out loss against a
Kneser-Ney bigram and trigram on the same tokens.

Reproducible: fixed seed, fixed step count (never a wall-clock stop), fixed data order. Run it as
    nice -n 19 ./run.sh train.py   (run.sh picks OpenBLAS and malloc settings; see README)
"""
import argparse
import dataclasses
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import corpus
import ngram
from model import Config, Qwen35Model
from tokenizer_train import Tokenizer


def tokenize_split(tok, docs):
    """Documents joined into one stream, each followed by <|endoftext|> as a boundary."""
    eot = tok.added_ids["<|endoftext|>"]
    ids = []
    for d in docs:
        ids.extend(tok.encode(d["text"], allow_special=False))
        ids.append(eot)
    return np.array(ids, dtype=np.int64)


def load_tokens(work, tok):
    path = os.path.join(work, "tokens.npz")
    if os.path.exists(path):
        z = np.load(path)
        return z["train"], z["heldout"]
    train = tokenize_split(tok, corpus.load(os.path.join(work, "corpus.jsonl"), "train"))
    heldout = tokenize_split(tok, corpus.load(os.path.join(work, "corpus.jsonl"), "heldout"))
    np.savez(path, train=train, heldout=heldout)
    return train, heldout


def heldout_windows(heldout, seq):
    n = (len(heldout) - 1) // seq
    return torch.from_numpy(heldout[: n * seq + 1].copy()), n


@torch.no_grad()
def evaluate(model, stream, n_windows, seq, batch=16):
    """Mean next-token NLL (nats) over non-overlapping windows; every token but the first of a
    window is a target, so the first targets in a window see little context."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, n_windows, batch):
        idx = range(i, min(i + batch, n_windows))
        x = torch.stack([stream[j * seq:(j + 1) * seq] for j in idx])
        logits = model(x)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += x[:, 1:].numel()
    model.train()
    return total / count


def ngram_targets_nll(lm, stream, n_windows, seq):
    """The n-gram's NLL on exactly the targets `evaluate` scores (its context may reach back across
    a window start, which only helps the baseline; before the stream start it repeats token 0)."""
    s = [int(t) for t in stream]
    nll, n = 0.0, 0
    for j in range(n_windows):
        for t in range(j * seq + 1, (j + 1) * seq):
            context = [s[max(t - i, 0)] for i in range(lm.order - 1, 0, -1)]
            nll -= math.log(lm.prob(context, s[t]))
            n += 1
    return nll / n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="work")
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2,
                    help="intra-op threads; 2 on idle cores, 1 is faster when other jobs load them (see README)")
    ap.add_argument("--fp32", action="store_true",
                    help="train in fp32; the default runs the forward under bf16 autocast (faster, see README)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t_start = time.time()

    tok = Tokenizer.load(os.path.join(args.work, "tokenizer", "tokenizer.json"))
    vocab_size = len(tok.vocab) + len(tok.added)
    train_ids, heldout_ids = load_tokens(args.work, tok)
    print(f"tokens: train {len(train_ids)}, held-out {len(heldout_ids)}, vocab {vocab_size}", flush=True)

    held, n_held = heldout_windows(heldout_ids, args.seq)
    ngram_nll = {}
    for order, name in ((2, "bigram"), (3, "trigram")):
        ngram_nll[name] = ngram_targets_nll(ngram.KneserNey(train_ids, vocab_size, order), held, n_held, args.seq)
        print(f"KN {name} held-out: {ngram_nll[name]:.4f} nats/token, ppl {math.exp(ngram_nll[name]):.2f} "
              f"({time.time() - t_start:.0f}s)", flush=True)

    cfg = Config(vocab_size=vocab_size)
    model = Qwen35Model(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters, layers {cfg.layer_types()}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):   # linear warm-up, cosine decay to 10%
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    train_t = torch.from_numpy(train_ids)
    n_eval_quick = min(n_held, 32)
    log = []
    t_train = time.time()
    tokens_seen = 0
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = rng.integers(0, len(train_ids) - args.seq - 1, size=args.batch)
        x = torch.stack([train_t[s:s + args.seq + 1] for s in starts])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
            logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, vocab_size), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += args.batch * args.seq
        if step % 10 == 0 or step == args.steps - 1:
            el = time.time() - t_train
            print(f"step {step:5d} loss {loss.item():.4f} lr {lr_at(step):.2e} "
                  f"{tokens_seen / el:.0f} tok/s elapsed {el / 60:.1f} min", flush=True)
        if (step + 1) % args.eval_every == 0:
            h = evaluate(model, held, n_eval_quick, args.seq)
            print(f"  held-out (first {n_eval_quick} windows) {h:.4f}", flush=True)
            log.append({"step": step + 1, "train_loss": loss.item(), "heldout_quick": h})
    train_minutes = (time.time() - t_train) / 60

    model_nll = evaluate(model, held, n_held, args.seq)
    result = {
        "heldout_targets": n_held * (args.seq - 1),
        "model_nll": model_nll, "model_ppl": math.exp(model_nll),
        **{f"kn_{name}_nll": v for name, v in ngram_nll.items()},
        **{f"kn_{name}_ppl": math.exp(v) for name, v in ngram_nll.items()},
        "train_tokens": int(len(train_ids)), "tokens_seen": tokens_seen,
        "train_minutes": train_minutes, "total_minutes": (time.time() - t_start) / 60,
        "args": vars(args), "params": n_params,
    }
    print(f"held-out: model {model_nll:.4f} nats (ppl {math.exp(model_nll):.2f}) vs KN bigram "
          f"{ngram_nll['bigram']:.4f} (ppl {math.exp(ngram_nll['bigram']):.2f}), KN trigram "
          f"{ngram_nll['trigram']:.4f} (ppl {math.exp(ngram_nll['trigram']):.2f}); "
          f"training {train_minutes:.1f} min", flush=True)
    torch.save({"config": dataclasses.asdict(cfg), "state_dict": model.state_dict(), "result": result, "log": log},
               os.path.join(args.work, "model.pt"))
    with open(os.path.join(args.work, "result.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
