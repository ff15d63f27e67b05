"""Writes a GGUF of a Qwen2 shape with random F32 weights, for llama.cpp's benchmarks to decode as eapo's
`bench decode` does (same shape, same dtype). Token ids only: the vocabulary is a dummy.

  PYTHONPATH=LLAMA_CPP/gguf-py python3 scripts/peers/qwen2-gguf.py OUT.gguf [--vocab 8192 --hidden 384
      --intermediate 1024 --layers 8 --heads 6 --kv-heads 2]
"""
import argparse

import numpy as np
import gguf


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--context", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    head_dim = a.hidden // a.heads

    def w(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer = gguf.GGUFWriter(a.out, "qwen2")
    writer.add_context_length(a.context)
    writer.add_embedding_length(a.hidden)
    writer.add_feed_forward_length(a.intermediate)
    writer.add_block_count(a.layers)
    writer.add_head_count(a.heads)
    writer.add_head_count_kv(a.kv_heads)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"t{i}" for i in range(a.vocab)])
    writer.add_token_types([gguf.TokenType.NORMAL] * a.vocab)
    writer.add_token_merges(["t 0"])  # llama.cpp refuses a gpt2 vocabulary without merges; ids are all it reads
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(a.vocab - 1)
    writer.add_tensor("token_embd.weight", w(a.vocab, a.hidden))
    for i in range(a.layers):
        b = f"blk.{i}."
        writer.add_tensor(b + "attn_norm.weight", np.ones(a.hidden, np.float32))
        writer.add_tensor(b + "attn_q.weight", w(a.heads * head_dim, a.hidden))
        writer.add_tensor(b + "attn_q.bias", w(a.heads * head_dim))
        writer.add_tensor(b + "attn_k.weight", w(a.kv_heads * head_dim, a.hidden))
        writer.add_tensor(b + "attn_k.bias", w(a.kv_heads * head_dim))
        writer.add_tensor(b + "attn_v.weight", w(a.kv_heads * head_dim, a.hidden))
        writer.add_tensor(b + "attn_v.bias", w(a.kv_heads * head_dim))
        writer.add_tensor(b + "attn_output.weight", w(a.hidden, a.heads * head_dim))
        writer.add_tensor(b + "ffn_norm.weight", np.ones(a.hidden, np.float32))
        writer.add_tensor(b + "ffn_gate.weight", w(a.intermediate, a.hidden))
        writer.add_tensor(b + "ffn_up.weight", w(a.intermediate, a.hidden))
        writer.add_tensor(b + "ffn_down.weight", w(a.hidden, a.intermediate))
    writer.add_tensor("output_norm.weight", np.ones(a.hidden, np.float32))
    writer.add_tensor("output.weight", w(a.vocab, a.hidden))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
