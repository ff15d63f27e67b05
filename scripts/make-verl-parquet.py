#!/usr/bin/env python3
"""Writes the embedded task's problems in verl's parquet layout, as verl's examples/data_preprocess scripts do
(through pyarrow, which Hugging Face datasets' to_parquet uses too): `data_source`, `prompt` as a chat message
list, `ability`, `reward_model` {`style`, `ground_truth`}, `extra_info` {`split`, `index`, `level`}.

The files are test fixtures (src/test/resources/verl/): the first 256 training and 64 held-out problems of
data/synthetic, so a test can train on them and on the same rows in JSONL and compare, and malformed.parquet,
whose row 5 (counting from 0) has no ground truth.

Usage: python3 scripts/make-verl-parquet.py [--out DIR]   (needs pyarrow)
"""
import argparse
import json
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent


def rows(jsonl, split, count):
    with open(ROOT / jsonl, encoding="utf-8") as f:
        problems = [json.loads(line) for line in f if line.strip()][:count]
    return [{
        "data_source": "eapo/synthetic",
        "prompt": [{"role": "user", "content": p["prompt"]}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": p["answer"]},
        "extra_info": {"split": split, "index": i, "level": str(p["level"])},
    } for i, p in enumerate(problems)]


def write(table_rows, path):
    pq.write_table(pa.Table.from_pylist(table_rows), path)  # pyarrow's defaults: snappy, one row group
    print(f"wrote {path} ({len(table_rows)} rows)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "src/test/resources/verl"))
    out = pathlib.Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    write(rows("data/synthetic/train.jsonl", "train", 256), out / "train.parquet")
    write(rows("data/synthetic/test.jsonl", "test", 64), out / "test.parquet")
    broken = rows("data/synthetic/test.jsonl", "test", 8)
    broken[5]["reward_model"]["ground_truth"] = None
    write(broken, out / "malformed.parquet")


if __name__ == "__main__":
    main()
