"""Writes the trained model as a Hugging Face-layout Qwen3.5 checkpoint and the golden data that
mxlm's C++ test compares against.

- model.safetensors by the small writer below (8-byte little-endian header length, JSON header
  with dtype/shape/data_offsets, then the raw little-endian tensor bytes); BF16 everywhere except
  A_log, which stays F32 as in real checkpoints.
- config.json with the field names mxlm's synth writes (src/model/qwen35_synth.cpp).
- golden.json: computed from the weights read back from that safetensors file, so PyTorch's
  numbers come from exactly the bf16 values mxlm will load.
"""
import argparse
import hashlib
import json
import math
import os
import shutil

import numpy as np
import torch

from model import Config, Qwen35Model
from tokenizer_train import Tokenizer

PREFIX = "model.language_model."


def to_bf16_bytes(t):
    """Round-to-nearest-even fp32 -> bf16 (torch's cast), returned as raw little-endian bytes."""
    return t.detach().to(torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes()


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, raw bytes)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((-len(blob)) % 8)   # pad so the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        for _, _, _, data in tensors:
            f.write(data)


def read_safetensors(path):
    """Returns {name: fp32 torch tensor}; BF16 is widened exactly (bits << 16)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        else:
            raise ValueError(f"{name}: unexpected dtype {info['dtype']}")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def hf_config(c: Config, eos_id):
    layer_types = c.layer_types()
    text = {
        "model_type": "qwen3_5_text", "hidden_size": c.hidden_size, "num_hidden_layers": c.num_hidden_layers,
        "intermediate_size": c.intermediate_size, "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads, "head_dim": c.head_dim, "vocab_size": c.vocab_size,
        "max_position_embeddings": 262144, "rms_norm_eps": c.rms_norm_eps, "hidden_act": "silu",
        "attention_bias": False, "tie_word_embeddings": True,
        "linear_num_key_heads": c.linear_num_key_heads, "linear_num_value_heads": c.linear_num_value_heads,
        "linear_key_head_dim": c.linear_key_head_dim, "linear_value_head_dim": c.linear_value_head_dim,
        "linear_conv_kernel_dim": c.linear_conv_kernel_dim, "full_attention_interval": c.full_attention_interval,
        "layer_types": layer_types,
        "rope_parameters": {"rope_type": "default", "rope_theta": int(c.rope_theta),
                            "partial_rotary_factor": c.partial_rotary_factor,
                            "mrope_section": [11, 11, 10], "mrope_interleaved": True},
        "partial_rotary_factor": c.partial_rotary_factor, "attn_output_gate": True,
        "mamba_ssm_dtype": "float32", "eos_token_id": eos_id, "dtype": "bfloat16",
    }
    return {"architectures": ["Qwen3_5ForConditionalGeneration"], "model_type": "qwen3_5",
            "tie_word_embeddings": True, "text_config": text}


GOLDEN_PROMPTS = [
    "The GNU General Public License is a free, copyleft license for",
    "def main():\n    parser = argparse.ArgumentParser(",
    "NAME\n       ls - list directory contents\n\nSYNOPSIS\n",
    "<|im_start|>user\nWhat is a copyright notice?<|im_end|>\n<|im_start|>assistant\n",
]


@torch.no_grad()
def golden(model, tok, topk=64, n_new=16):
    out = []
    for text in GOLDEN_PROMPTS:
        ids = tok.encode(text)
        logits = model(torch.tensor([ids]))[0, -1]
        top = torch.topk(logits, topk)
        seq, margins = list(ids), []
        for _ in range(n_new):   # greedy, full recompute each step (no cache): the plain definition
            l = model(torch.tensor([seq]))[0, -1]
            v, i = torch.topk(l, 2)
            margins.append(round(float(v[0] - v[1]), 5))
            seq.append(int(i[0]))
        out.append({
            "text": text, "ids": ids,
            "last_logits_top64": {"ids": top.indices.tolist(), "values": [float(x) for x in top.values]},
            "last_logsumexp": float(torch.logsumexp(logits, 0)),
            "greedy_16": seq[len(ids):], "greedy_16_text": tok.decode(seq[len(ids):]),
            "greedy_top2_margins": margins,
        })
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="work")
    ap.add_argument("--out", default="../../assets/qwen35-tiny")
    args = ap.parse_args()
    torch.set_num_threads(1)

    ck = torch.load(os.path.join(args.work, "model.pt"))
    cfg = Config(**ck["config"])
    tok_dir = os.path.join(args.work, "tokenizer")
    tok = Tokenizer.load(os.path.join(tok_dir, "tokenizer.json"))
    endoftext, im_end = tok.added_ids["<|endoftext|>"], tok.added_ids["<|im_end|>"]

    os.makedirs(args.out, exist_ok=True)
    tensors = []
    for name, t in ck["state_dict"].items():
        if name.endswith("A_log"):
            tensors.append((PREFIX + name, "F32", t.shape, t.float().contiguous().numpy().astype("<f4").tobytes()))
        else:   # conv1d keeps nn.Conv1d's [C, 1, K], the HF layout
            tensors.append((PREFIX + name, "BF16", t.shape, to_bf16_bytes(t.float())))
    st_path = os.path.join(args.out, "model.safetensors")
    write_safetensors(st_path, sorted(tensors, key=lambda x: x[0]))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf_config(cfg, endoftext), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": [im_end, endoftext], "do_sample": True, "temperature": 0.6,
                   "top_k": 20, "top_p": 0.95}, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, name), os.path.join(args.out, name))

    # Everything below uses the weights as stored, not the fp32 training copy.
    model = Qwen35Model(cfg)
    loaded = {k[len(PREFIX):]: v for k, v in read_safetensors(st_path).items()}
    missing = set(model.state_dict()) ^ set(loaded)
    assert not missing, missing
    model.load_state_dict(loaded)
    model.eval()

    import train   # held-out loss of the bf16 weights, same windows as training reported
    _, heldout_ids = train.load_tokens(args.work, tok)
    held, n_held = train.heldout_windows(heldout_ids, ck["result"]["args"]["seq"])
    bf16_nll = train.evaluate(model, held, n_held, ck["result"]["args"]["seq"])

    with open(st_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    gold = {
        "about": "PyTorch (tools/train_tiny/model.py, fp32 math) on the bf16 weights of model.safetensors. "
                 "Per prompt: input ids, the top-64 logits of the last position (ids, values) and the "
                 "logsumexp of all its logits, and 16 greedy tokens (argmax, no cache) with the top-1 minus "
                 "top-2 logit margin at each step (small margins may flip under bf16 noise).",
        "model_safetensors_sha256": sha,
        "vocab_size": cfg.vocab_size,
        "prompts": golden(model, tok),
    }
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(gold, f, indent=1)
        f.write("\n")
    result = dict(ck["result"], bf16_model_nll=bf16_nll, bf16_model_ppl=math.exp(bf16_nll))
    with open(os.path.join(args.out, "train_result.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"wrote {args.out}: {size / 1e6:.2f} MB; bf16 held-out {bf16_nll:.4f} nats "
          f"(fp32 {ck['result']['model_nll']:.4f}, KN bigram {ck['result']['kn_bigram_nll']:.4f}, "
          f"KN trigram {ck['result']['kn_trigram_nll']:.4f})")
    for p in gold["prompts"]:
        print(repr(p["text"][-40:]), "->", repr(p["greedy_16_text"]))


if __name__ == "__main__":
    main()
