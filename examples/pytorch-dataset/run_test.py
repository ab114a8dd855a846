#!/usr/bin/env python3
"""The pytorch-dataset example on a real zgfs mount: mounts a fresh data directory, writes
the dataset into it (make_dataset.py), pins it with `zgfs snapshot create`, changes the
live dataset, mounts the snapshot beside the live mount and trains on it (train.py, with
Debian's python3-torch), and checks the output: the snapshot root it printed is the one
create printed, the loss went down, the model learned the classes, the dataset line is
what `zgfs root` computes over the same files, and a file it read is proven part of the
snapshot while the changed one is not. Skips (exit 77) when FUSE cannot be used here or
torch is not installed.

usage: run_test.py ZGFS MAKE_DATASET_PY TRAIN_PY
"""
import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
import mountlib  # noqa: E402

zgfs, make, train = sys.argv[1], sys.argv[2], sys.argv[3]
# Debian's python3-torch is built for Debian's python3; another python3 first on PATH
# (a virtualenv, pyenv) does not see it.
PY = "/usr/bin/python3"
if subprocess.run([PY, "-c", "import torch, numpy"], capture_output=True).returncode != 0:
    print("1..0 # SKIP torch is not installed for /usr/bin/python3 (run ./setup.sh: python3-torch)")
    sys.exit(77)
mountlib.require_fuse()
tap = mountlib.Tap()
d = mountlib.scratch("zgfs-example-torch-")
m = mountlib.Mount(zgfs, os.path.join(d, "data"), os.path.join(d, "mnt"))
try:
    m.start()
    ds = os.path.join(m.mnt, "dataset")
    r = subprocess.run([PY, make, ds], capture_output=True, text=True, timeout=300)
    tap.ok(r.returncode == 0 and "wrote 2400 samples" in r.stdout,
           "make_dataset.py writes 400 small files and 2 shards into the mount",
           r.stdout + r.stderr)
    # Pin it, then change the live copy: the job trains on the snapshot, as it was.
    r = subprocess.run([zgfs, "snapshot", "create", ds, "--name", "train-v1"],
                       capture_output=True, text=True, timeout=300)
    pin = re.fullmatch(r"snapshot (\d+) root (0x[0-9a-f]{64})\n", r.stdout)
    tap.ok(r.returncode == 0 and pin, "zgfs snapshot create --name train-v1", r.stdout + r.stderr)
    shard = os.path.join(ds, "shards", sorted(os.listdir(os.path.join(ds, "shards")))[0])
    with open(shard, "r+b") as f:
        f.write(b"\xff" * 4096)  # relabel the first records: another dataset now
    snap = os.path.join(d, "snap")
    os.mkdir(snap)
    r = subprocess.run([zgfs, "mount", "--data", m.data, "--snapshot", "train-v1", snap],
                       capture_output=True, text=True, timeout=120)
    tap.ok(r.returncode == 0, "zgfs mount --snapshot train-v1 beside the live mount",
           r.stdout + r.stderr)
    ds = snap
    r = subprocess.run([PY, train, ds, "--epochs", "4", "--workers", "2"],
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    tap.ok(pin and f"trained on: snapshot {pin.group(1)} root {pin.group(2)}" in out,
           "train.py prints the snapshot and root it trained on", out)
    losses = [float(x) for x in re.findall(r"mean loss ([0-9.]+)", out)]
    acc = re.search(r"accuracy ([0-9.]+) on (\d+) samples", out)
    tap.ok(r.returncode == 0 and len(losses) == 4 and losses[-1] < 0.7 * losses[0],
           f"train.py with a 2-worker DataLoader: mean loss {losses[0] if losses else '?'} -> "
           f"{losses[-1] if losses else '?'}", out)
    tap.ok(acc is not None and float(acc.group(1)) > 0.6 and acc.group(2) == "2400",
           f"it learned the classes: accuracy {acc.group(1) if acc else '?'} on all 2400 samples")
    # The dataset line, recomputed without the mount's attributes: zgfs root of each file.
    files = sorted(os.path.relpath(os.path.join(p, f), ds)
                   for p, _, fs in os.walk(ds) for f in fs)
    roots = {}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        rr = subprocess.run([zgfs, "root", *[os.path.join(ds, f) for f in chunk]],
                            capture_output=True, text=True, timeout=300)
        for line in rr.stdout.splitlines():
            root, path = line.split(None, 1)
            roots[os.path.relpath(path, ds)] = root
    text = "".join(f"{f} {roots.get(f)} {os.path.getsize(os.path.join(ds, f))}\n" for f in files)
    want = f"dataset: {len(files)} files"
    digest = hashlib.sha256(text.encode()).hexdigest()
    tap.ok(want in out and f"manifest sha256 {digest}" in out,
           f"the dataset line it printed is zgfs root over the same {len(files)} files ({digest[:16]}...)")
    # A file it read was part of the snapshot; the changed live shard was not.
    proof = os.path.join(d, "proof.json")
    rel = "/shards/" + os.path.basename(shard)
    with open(proof, "wb") as f:
        subprocess.run([zgfs, "snapshot", "prove", "--mount", m.mnt, "train-v1", rel],
                       stdout=f, timeout=120)
    root = pin.group(2) if pin else "0x" + "00" * 32
    ok = subprocess.run([zgfs, "snapshot", "check", root, rel, os.path.join(snap, rel[1:]), proof],
                        capture_output=True, text=True, timeout=120)
    bad = subprocess.run([zgfs, "snapshot", "check", root, rel, shard, proof],
                         capture_output=True, text=True, timeout=120)
    tap.ok(ok.returncode == 0 and bad.returncode == 1 and "differs" in bad.stdout,
           "the shard it trained on is proven in the snapshot; the changed live one differs",
           ok.stdout + ok.stderr + bad.stdout + bad.stderr)
finally:
    subprocess.run([zgfs, "umount", os.path.join(d, "snap")], capture_output=True, timeout=60)
    stopped, msg = m.stop()
tap.ok(stopped, f"unmounted: {msg or 'cleanly'}")
sys.exit(tap.done())
