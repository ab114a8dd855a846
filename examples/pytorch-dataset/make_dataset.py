#!/usr/bin/env python3
"""Writes a small image-like dataset into DIR, as a training set usually looks on disk:
many small files (one 32x32 grey image each, in one folder per class) and a few large
shards of fixed-size records (a label byte, then the image), the layout of packed formats
such as WebDataset or TFRecord. The classes differ in brightness, so a tiny model can
learn them in a few steps.

usage: make_dataset.py DIR [--images-per-class N] [--shards N] [--records-per-shard N]
"""
import argparse
import os

import numpy as np

CLASSES = 4
SIDE = 32


def image(rng, label):
    """A 32x32 grey image whose mean brightness tells its class."""
    base = 40 + 55 * label
    return np.clip(rng.normal(base, 25, (SIDE, SIDE)), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--images-per-class", type=int, default=100)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--records-per-shard", type=int, default=1000)
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    for k in range(CLASSES):
        d = os.path.join(a.dir, "images", f"class{k}")
        os.makedirs(d, exist_ok=True)
        for i in range(a.images_per_class):
            with open(os.path.join(d, f"img{i:04d}.bin"), "wb") as f:
                f.write(image(rng, k).tobytes())
    os.makedirs(os.path.join(a.dir, "shards"), exist_ok=True)
    for j in range(a.shards):
        recs = bytearray()
        for _ in range(a.records_per_shard):
            k = int(rng.integers(CLASSES))
            recs += bytes([k]) + image(rng, k).tobytes()
        with open(os.path.join(a.dir, "shards", f"shard-{j:03d}.bin"), "wb") as f:
            f.write(recs)
    n = CLASSES * a.images_per_class + a.shards * a.records_per_shard
    print(f"wrote {n} samples: {CLASSES * a.images_per_class} small files, {a.shards} shards")


if __name__ == "__main__":
    main()
