#!/usr/bin/env python3
"""A training job reading its dataset from a zgfs mount: a torch Dataset over the small
image files and the records of the large shards (read at random offsets through a
read-only numpy.memmap of each shard), a DataLoader with worker processes, a tiny model
trained for a few epochs. Before training it prints which data it trains on: on a
snapshot mount (`zgfs mount --snapshot`), the snapshot's id and root (user.zg.snapshot),
one Merkle root over every file of the tree, against which anyone holding the log can
prove that a file was or was not part of it (`zgfs snapshot prove`, `check`); and, on any
mount, the 0G root of every file (user.zg.root, verified by the mount on every read) with
one SHA-256 over that sorted list, which anyone can recompute with `zgfs root`.

usage: train.py DATASET_DIR [--epochs N] [--workers N]
Prints the dataset line, the mean loss of each epoch and the final accuracy.
"""
import argparse
import hashlib
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset

SIDE = 32
RECORD = 1 + SIDE * SIDE


class ImageFiles(Dataset):
    """One sample per file: images/classK/*.bin, the class from the folder's name."""

    def __init__(self, root):
        self.items = []
        base = os.path.join(root, "images")
        for cls in sorted(os.listdir(base)):
            for name in sorted(os.listdir(os.path.join(base, cls))):
                self.items.append((os.path.join(base, cls, name), int(cls[len("class"):])))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with open(path, "rb") as f:
            x = np.frombuffer(f.read(), dtype=np.uint8)
        return torch.from_numpy(x.astype(np.float32) / 255.0), label


class ShardRecords(Dataset):
    """Fixed-size records of the shards, each read where it lies in its shard."""

    def __init__(self, root):
        base = os.path.join(root, "shards")
        self.shards = [os.path.join(base, n) for n in sorted(os.listdir(base))]
        self.counts = [os.path.getsize(p) // RECORD for p in self.shards]
        self.maps = None  # opened in each worker

    def __len__(self):
        return sum(self.counts)

    def __getitem__(self, i):
        if self.maps is None:
            self.maps = [np.memmap(p, dtype=np.uint8, mode="r") for p in self.shards]
        for m, n in zip(self.maps, self.counts):
            if i < n:
                rec = np.array(m[i * RECORD:(i + 1) * RECORD])
                return torch.from_numpy(rec[1:].astype(np.float32) / 255.0), int(rec[0])
            i -= n
        raise IndexError(i)


def manifest(root):
    """(relative path, 0G root, size) of every file, sorted, and the SHA-256 over it."""
    rows = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            rows.append((os.path.relpath(p, root), os.getxattr(p, "user.zg.root").decode(),
                         os.path.getsize(p)))
    rows.sort()
    text = "".join(f"{p} {r} {s}\n" for p, r, s in rows)
    return rows, hashlib.sha256(text.encode()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(1)
    try:
        pinned = os.getxattr(a.dataset, "user.zg.snapshot").decode()
    except OSError:
        pinned = "none (not a snapshot mount: zgfs mount --snapshot pins the data)"
    print(f"trained on: {pinned}")
    rows, digest = manifest(a.dataset)
    print(f"dataset: {len(rows)} files, {sum(r[2] for r in rows)} bytes, manifest sha256 {digest}")

    data = ConcatDataset([ImageFiles(a.dataset), ShardRecords(a.dataset)])
    loader = DataLoader(data, batch_size=64, shuffle=True, num_workers=a.workers)
    model = nn.Sequential(nn.Linear(SIDE * SIDE, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(a.epochs):
        total, n = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            n += len(y)
        print(f"epoch {epoch + 1}: {n} samples, mean loss {total / n:.4f}")
    right = seen = 0
    with torch.no_grad():
        for x, y in DataLoader(data, batch_size=256, num_workers=a.workers):
            right += (model(x).argmax(1) == y).sum().item()
            seen += len(y)
    print(f"accuracy {right / seen:.3f} on {seen} samples")


if __name__ == "__main__":
    main()
