#!/usr/bin/env python3
"""Write a tiny llama-architecture GGUF for jetstress's LLM tests.

    tiny_model.py OUT.gguf [--vocab VOCAB.gguf] [--seed N]

Run it with the Python of the cache `tests/llm/build-llama-server.sh` makes
(`$DIR/py/bin/python`, which has `gguf` and numpy). The weights are random
(seeded numpy, so the file is the same every time: 2 layers, n_embd 64,
4 heads, n_ff 128, context 512, f32), the tokenizer is borrowed whole
(every `tokenizer.ggml.*` key) from a vocab-only GGUF that llama.cpp ships;
by default `ggml-vocab-llama-spm.gguf` next to this cache's `vocab/`.

Two tweaks keep its replies easy to count, and nothing else is tuned:

* the output head favours a few hundred plain word pieces ("▁the" style:
  one ASCII word, so every token decodes to text on its own and the server
  sends one content chunk per token; no byte tokens held back as partial
  UTF-8), so the count of content chunks equals the server's own token count
  (but for an EOS that ends a reply: llama.cpp counts it in `usage` and
  sends no text for it);
* the end-of-sequence token gets a share too (about one token in ten), so a
  reply without `ignore_eos` usually stops early and one with it does not:
  the tests can tell whether `ignore_eos` was sent; but never right after a
  token that is not a favoured word (the end of any prompt), so every reply
  has at least one word of content.

Two embedding dimensions carry those preferences through the (small,
random) layers: dimension 0 is 1 for every token, and a favoured token's
logit is it times a large weight (the rest get only noise); dimension 1 is
large for every token but the favoured words, and EOS weighs it strongly
negative.
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

N_LAYER = 2
N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 4
N_FF = 128
N_CTX = 512
RMS_EPS = 1e-5
ROPE_BASE = 10000.0
# Word pieces the head favours, their weight on the constant dimension
# (after the RMS norm it is about 6 after a word, 2.4 after anything else;
# the other dimensions about 0.6), and EOS's weight above theirs: tuned by
# hand for about one EOS in eleven tokens after a word under llama-server's
# default sampling (0.087 measured; three replies in four stop before 16).
N_WORDS = 256
WORD_BOOST = 2.0
EOS_DELTA = 0.05


def default_vocab() -> Path:
    # The venv is <cache>/py, so sys.prefix is <cache>/py.
    return Path(sys.prefix).parent / "vocab" / "ggml-vocab-llama-spm.gguf"


def copy_tokenizer(reader: GGUFReader, w: GGUFWriter) -> tuple[list[str], list[int], int]:
    tokens: list[str] = []
    types: list[int] = []
    eos = -1
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        main = field.types[0]
        val = field.contents()
        if main == GGUFValueType.ARRAY:
            w.add_key_value(name, val, main, sub_type=field.types[-1])
        else:
            w.add_key_value(name, val, main)
        if name == "tokenizer.ggml.tokens":
            tokens = val
        elif name == "tokenizer.ggml.token_type":
            types = val
        elif name == "tokenizer.ggml.eos_token_id":
            eos = int(val)
    if not tokens or eos < 0:
        raise SystemExit("the vocab file has no tokenizer.ggml.tokens or eos_token_id")
    return tokens, types, eos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--vocab", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    vocab = args.vocab or default_vocab()
    reader = GGUFReader(vocab)

    w = GGUFWriter(args.out, "llama")
    w.add_name("jetstress-tiny")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_rope_freq_base(ROPE_BASE)
    w.add_file_type(0)  # all f32
    tokens, types, eos = copy_tokenizer(reader, w)
    n_vocab = len(tokens)
    w.add_vocab_size(n_vocab)

    rng = np.random.default_rng(args.seed)

    def rand(*shape: int, std: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    # Favoured tokens: normal pieces that are one lowercase ASCII word after a space.
    word = re.compile(r"^[\u2581\u0120][a-z]{3,8}$")  # "▁word" (SPM) or "Ġword" (BPE)
    normal = [i for i, t in enumerate(tokens) if word.match(t) and (not types or types[i] == 1)]
    if len(normal) < N_WORDS:
        raise SystemExit(f"{vocab}: only {len(normal)} plain word tokens")
    words = rng.choice(np.array(normal), size=N_WORDS, replace=False)

    embd = rand(n_vocab, N_EMBD, std=0.1)
    embd[:, 0] = 1.0  # the constant dimension the head reads
    embd[:, 1] = 3.0  # "not after a word": no EOS here
    embd[words, 1] = 0.0
    w.add_tensor("token_embd.weight", embd)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_k.weight", rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD))
        w.add_tensor(p + "attn_v.weight", rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD))
        w.add_tensor(p + "attn_output.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(p + "ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", rand(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_up.weight", rand(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_down.weight", rand(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    head = rand(n_vocab, N_EMBD, std=0.02)
    head[:, 0] = 0.0
    head[words, 0] = WORD_BOOST
    head[eos, 0] = WORD_BOOST + EOS_DELTA
    head[eos, 1] = -5.0
    w.add_tensor("output.weight", head)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
