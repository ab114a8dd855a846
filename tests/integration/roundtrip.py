#!/usr/bin/env python3
"""Round trip of a tree through the mount, a remount, and the log's own checks.

usage: roundtrip.py ZGFS [MIB] [--chain anvil]

Makes a random tree (fixed seed; about MIB MiB, default 150): nested directories, unicode
names, symlinks, files from 0 B to 50 MiB (a few big ones, many small ones, sizes around
the 256 B chunk and 256 KiB segment boundaries), odd modes and old mtimes. Copies it into
a fresh mount with shutil.copytree (sendfile, chmod, utime) and one subtree with `cp -a`,
then checks byte for byte, with modes, mtimes and symlink targets, and that every file's
user.zg.root equals `zgfs root` of its source. Reads the biggest file from 4 threads at
random offsets. Unmounts, remounts and checks everything again; after the last unmount
`zgfs kv verify` (the KV state equals a replay of the log) and `zgfs chain verify` pass.

With --chain anvil, the data directory settles on a local EVM chain instead of the
embedded ledger: anvil is started, `zgfs chain deploy` puts the contracts there, and the
mount signs its transactions with anvil's first dev key; `zgfs chain verify` then compares
the followed flow with the contract's.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE (or, with --chain anvil, anvil) cannot be used here.
"""
import hashlib
import os
import random
import shutil
import stat
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

ARGS = [a for a in sys.argv[1:] if a not in ("--chain", "anvil")]
EVM = "--chain" in sys.argv[1:]
if len(ARGS) < 1:
    sys.exit("usage: roundtrip.py ZGFS [MIB] [--chain anvil]")
ZGFS = os.path.abspath(ARGS[0])
TOTAL_MIB = int(ARGS[1]) if len(ARGS) > 1 else 150
KiB, MiB, SEG = 1024, 1 << 20, 256 * 1024
t = ml.Tap()
rng = random.Random(20261130)

WORDS = ["data", "model", "notes", "\u65e5\u672c\u8a9e", "donn\u00e9es", "\u00fcber",
         "\u0434\u0430\u043d\u043d\u044b\u0435", "\U0001F4C1box", "a b", "x-y_z", "v1.2",
         "\u03b1\u03b2\u03b3", "caf\u00e9", "e\u0301", "emoji\U0001F642", "checkpoint",
         "shard", "log", "tmp.d", "UPPER"]


def make_tree(src):
    """Writes the tree; returns {relpath: (kind, info)} of what was made."""
    dirs = [""]
    for i in range(30):
        parent = rng.choice([d for d in dirs if d.count("/") < 4])
        name = f"{rng.choice(WORDS)}-{i}"
        d = f"{parent}/{name}" if parent else name
        os.mkdir(os.path.join(src, d))
        dirs.append(d)
    scale = max(TOTAL_MIB, 10) / 150
    sizes = [int(50 * MiB * scale), int(20 * MiB * scale), int(8 * MiB * scale) + 1]
    sizes += [0, 1, 2, 255, 256, 257, 4095, 4096, SEG - 1, SEG, SEG + 1, 2 * SEG + 7, MiB,
              MiB + 1, 4 * MiB - 1]
    sizes += [rng.randrange(64 * KiB, int(4 * MiB * scale) + 64 * KiB + 1)
              for _ in range(25)]
    sizes += [int(rng.paretovariate(1.2) * 200) % (64 * KiB) for _ in range(400)]
    made = {}
    for i, size in enumerate(sizes):
        d = rng.choice(dirs)
        name = f"{rng.choice(WORDS)}-{i}.{rng.choice(['bin', 'txt', 'pt', 'json', ''])}"
        rel = f"{d}/{name}" if d else name
        data = ml.pattern(f"roundtrip-{i}", size)
        path = os.path.join(src, rel)
        with open(path, "wb") as f:
            f.write(data)
        mode = rng.choice([0o644, 0o644, 0o600, 0o755, 0o444, 0o640])
        os.chmod(path, mode)
        mtime = rng.randrange(10**9, 17 * 10**8) * 10**9 + rng.randrange(10**9)
        os.utime(path, ns=(mtime, mtime))
        made[rel] = ("file", (size, hashlib.sha256(data).hexdigest()))
    for i in range(8):
        d = rng.choice(dirs)
        target = rng.choice(list(made))
        rel = f"{d}/link-{i}" if d else f"link-{i}"
        os.symlink(os.path.relpath(os.path.join(src, target), os.path.join(src, d)),
                   os.path.join(src, rel))
        made[rel] = ("link", None)
    for d in dirs[1:]:
        made[d] = ("dir", None)
    # Directory modes last (a 0o555 directory refuses new entries in the source too).
    for d in rng.sample(dirs[1:], 5):
        os.chmod(os.path.join(src, d), rng.choice([0o700, 0o750, 0o755]))
    return made


def snapshot(top):
    """{relpath: (kind, mode, mtime_ns, size, sha256 or link target)} of a tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, top)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", None, None, None, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None, None, None)
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_size,
                            ml.file_digest(p))
    return out


def compare(want, top, label):
    have = snapshot(top)
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    t.ok(not missing and not extra, f"{label}: the same {len(want)} names",
         f"missing {missing[:5]} extra {extra[:5]}")
    diffs = {"content": [], "mode": [], "mtime": [], "kind": []}
    for rel in sorted(set(want) & set(have)):
        w, h = want[rel], have[rel]
        if w[0] != h[0]:
            diffs["kind"].append(f"{rel}: {h[0]} want {w[0]}")
            continue
        if w[4] != h[4] or w[3] != h[3]:
            diffs["content"].append(f"{rel}: {h[3]} B {str(h[4])[:12]}, want {w[3]} B "
                                    f"{str(w[4])[:12]}")
        if w[1] != h[1]:
            diffs["mode"].append(f"{rel}: {oct(h[1] or 0)} want {oct(w[1] or 0)}")
        if w[0] == "file" and w[2] != h[2]:
            diffs["mtime"].append(f"{rel}: {h[2]} want {w[2]}")
    nfiles = sum(1 for v in want.values() if v[0] == "file")
    t.ok(not diffs["kind"] and not diffs["content"],
         f"{label}: {nfiles} files equal byte for byte, symlink targets equal",
         "\n".join(diffs["kind"][:10] + diffs["content"][:20]))
    t.ok(not diffs["mode"], f"{label}: modes of files and directories kept",
         "\n".join(diffs["mode"][:10]))
    t.ok(not diffs["mtime"], f"{label}: mtimes kept to the nanosecond",
         "\n".join(diffs["mtime"][:10]))


def check_roots(src_roots, top, label):
    bad = []
    for rel, root in src_roots.items():
        try:
            got = ml.getxattr(os.path.join(top, rel), "user.zg.root")
        except OSError as e:
            got = f"error {e}"
        if got != root:
            bad.append(f"{rel}: {got} want {root}")
    t.ok(not bad, f"{label}: user.zg.root of {len(src_roots)} files equals `zgfs root` "
         "of the source", "\n".join(bad[:10]))


def parallel_reads(path, want):
    """4 threads preading random ranges of path; the ranges that differ from want."""
    errors = []

    def reader(seed):
        r = random.Random(seed)
        with open(path, "rb", buffering=0) as f:
            for _ in range(60):
                off = r.randrange(len(want))
                n = r.choice([4096, 65536, MiB, r.randrange(1, 4 * MiB)])
                if os.pread(f.fileno(), n, off) != want[off:off + n]:
                    errors.append((off, n))
    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors, time.monotonic() - t0


def main():
    ml.require_fuse()
    base = ml.scratch("zgfs-roundtrip-")
    src = os.path.join(base, "src")
    os.mkdir(src)
    data = os.path.join(base, "data")
    mnt = os.path.join(base, "mnt")
    t0 = time.monotonic()
    make_tree(src)
    want = snapshot(src)
    total = sum(v[3] for v in want.values() if v[0] == "file")
    t.note(f"tree: {len(want)} names, {total / MiB:.1f} MiB, made in "
           f"{time.monotonic() - t0:.1f} s")
    files = [rel for rel, v in want.items() if v[0] == "file" and v[3] > 0]
    r = ml.run([ZGFS, "root", *[os.path.join(src, f) for f in files]], timeout=300)
    src_roots = {}
    for line in r.stdout.decode().splitlines():
        root, path = line.split("  ", 1)
        src_roots[os.path.relpath(path, src)] = root
    t.ok(r.returncode == 0 and len(src_roots) == len(files),
         f"zgfs root of the {len(files)} non-empty source files", ml.text(r)[-500:])

    if EVM:
        url = ml.start_anvil()
        flow, _ = ml.deploy(ZGFS, url, data)
        os.environ["ZGFS_KEY"] = ml.ANVIL_KEY  # the mount daemons sign with it
        t.ok(True, f"anvil at {url}; the Flow contract deployed at {flow}")
    m = ml.start_mount(t, ZGFS, data, mnt)
    top = os.path.join(mnt, "tree")
    m.watchdog(300, "copy in")
    t0 = time.monotonic()
    try:
        shutil.copytree(src, top, symlinks=True)
        dt = time.monotonic() - t0
        t.ok(True, f"shutil.copytree of {total / MiB:.1f} MiB into the mount "
             f"({dt:.1f} s, {total / MiB / max(dt, 1e-6):.0f} MiB/s)")
    except (OSError, shutil.Error) as e:
        t.ok(False, "shutil.copytree into the mount", str(e)[:3000])
    sub = max((d for d, v in want.items() if v[0] == "dir" and "/" not in d),
              key=lambda d: sum(v[3] or 0 for r2, v in want.items()
                                if r2.startswith(d + "/") and v[0] == "file"))
    r = ml.run(["cp", "-a", os.path.join(src, sub), os.path.join(mnt, "cp-a")], timeout=300)
    t.ok(r.returncode == 0, f"cp -a of the subtree {sub!r} (copy_file_range) into the mount",
         ml.text(r))
    m.cancel_watchdog()
    sub_want = {os.path.relpath(k, sub): v for k, v in want.items()
                if k.startswith(sub + "/")}
    m.watchdog(300, "compare")
    compare(want, top, "after copying in")
    compare(sub_want, os.path.join(mnt, "cp-a"), "cp -a subtree")
    check_roots(src_roots, top, "after copying in")
    big = max(files, key=lambda f: want[f][3])
    errors, dt = parallel_reads(os.path.join(top, big),
                                ml.read_file(os.path.join(src, big)))
    t.ok(not errors, f"4 threads x 60 random preads of the {want[big][3] / MiB:.0f} MiB file "
         f"({dt:.1f} s)", f"{errors[:5]}")
    m.cancel_watchdog()

    ok, msg = m.stop()
    t.ok(ok, "zgfs umount", msg)
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "remount", str(e))
        return t.done()
    m.watchdog(300, "compare after remount")
    compare(want, top, "after a remount")
    compare(sub_want, os.path.join(mnt, "cp-a"), "cp -a subtree after a remount")
    check_roots(src_roots, top, "after a remount")
    m.cancel_watchdog()
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount again", msg)

    r = ml.run([ZGFS, "kv", "verify", "--data", data], timeout=300)
    t.ok(r.returncode == 0, "zgfs kv verify: the KV state equals a replay of the log",
         ml.text(r))
    r = ml.run([ZGFS, "chain", "verify", "--data", data], timeout=300)
    t.ok(r.returncode == 0, "zgfs chain verify", ml.text(r))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
