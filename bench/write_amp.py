#!/usr/bin/env python3
"""Write amplification of the mount: bytes of disk used per byte written.

usage: bench/write_amp.py ZGFS [--prune]

For each workload, a fresh data directory is mounted, the workload runs (each operation is
an open, a write and a close, so each one is a committed version), the mount is stopped,
and the disk blocks the data directory takes (what du counts) are compared with the bytes
written. With --prune, `zgfs prune --keep 1` runs after and its figure is printed too.
Prints one Markdown table row per workload.
"""
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import mountlib as ml  # noqa: E402

KiB, MiB = 1024, 1 << 20


def du(path):
    return sum(os.lstat(os.path.join(d, f)).st_blocks * 512
               for d, _, fs in os.walk(path) for f in fs)


class Appends:
    """count appends of size bytes to one file, each an open, a write and a close."""

    def __init__(self, size, count):
        self.size, self.count = size, count

    def setup(self, mnt):
        pass

    def run(self, mnt):
        data = ml.pattern(f"append {self.size}", self.size)
        for _ in range(self.count):
            fd = os.open(os.path.join(mnt, "f"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(fd, data)
            os.close(fd)
        return self.size * self.count


class Rewrites(Appends):
    """count writes of size bytes at random offsets of a 1 MiB file written first (its
    first version is not counted), each an open, a pwrite and a close."""

    def setup(self, mnt):
        ml.write_file(os.path.join(mnt, "f"), ml.pattern("base", MiB))

    def run(self, mnt):
        rng = random.Random(self.size)
        for i in range(self.count):
            fd = os.open(os.path.join(mnt, "f"), os.O_WRONLY)
            os.pwrite(fd, ml.pattern(i, self.size), rng.randrange(0, MiB - self.size))
            os.close(fd)
        return self.size * self.count


def measure(zgfs, name, work, prune):
    base = ml.scratch("zgfs-wamp-")
    data, mnt = os.path.join(base, "data"), os.path.join(base, "mnt")
    os.mkdir(mnt)
    m = ml.Mount(zgfs, data, mnt)
    m.start()
    work.setup(mnt)
    m.stop()
    before = du(data)
    m.start()
    written = work.run(mnt)
    m.stop()
    used = du(data) - before
    row = f"| {name} | {written:,} | {used:,} | {used / written:.1f} |"
    if prune:
        ml.run([zgfs, "prune", "--data", data, "--keep", "1"])
        pused = du(data) - before
        row += f" {pused:,} ({pused / written:.1f}) |"
    ml.remove_scratch(base)
    return row


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: write_amp.py ZGFS [--prune]")
    zgfs = os.path.abspath(sys.argv[1])
    prune = "--prune" in sys.argv[2:]
    ml.require_fuse()
    print("| workload | bytes written | disk used (du) | per byte written |"
          + (" after prune --keep 1 |" if prune else ""))
    print("|---|---|---|---|" + ("---|" if prune else ""))
    for name, work in (("append 6 B, 1,000 times", Appends(6, 1000)),
                       ("append 4 KiB, 500 times", Appends(4 * KiB, 500)),
                       ("append 1 MiB, 50 times", Appends(MiB, 50)),
                       ("rewrite 100 B in a 1 MiB file, 500 times", Rewrites(100, 500)),
                       ("rewrite 4 KiB in a 1 MiB file, 500 times", Rewrites(4 * KiB, 500))):
        print(measure(zgfs, name, work, prune), flush=True)


if __name__ == "__main__":
    main()
