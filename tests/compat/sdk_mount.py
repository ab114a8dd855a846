#!/usr/bin/env python3
"""Files written through the mount have the root the official 0G SDK computes.

usage: sdk_mount.py ZGFS NODE

Mounts a fresh volume, writes about 40 files through the kernel (1 B to 8 MiB: sizes
around the chunk and segment boundaries, random sizes from a fixed seed; files written in
one go, in small writes, grown by appends, rewritten with O_TRUNC; some in nested and
unicode directories), then has the SDK (tests/compat/node_modules/@0gfoundation/
0g-ts-sdk: ZgFile.fromFilePath + merkleTree(), reading each file through the mount)
compute every file's root, and checks that user.zg.root equals it, and that
`zgfs root` of the mounted path does too.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here or the SDK is not installed.
"""
import json
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 3:
    sys.exit("usage: sdk_mount.py ZGFS NODE")
ZGFS, NODE = os.path.abspath(sys.argv[1]), sys.argv[2]
KiB, MiB, SEG = 1024, 1 << 20, 256 * 1024
t = ml.Tap()
rng = random.Random(0x2026B00D)

# Prints one JSON line per file: {"file", "root"} or {"file", "error"}. harness.loadSdk()
# exits 77 with a SKIP line when the SDK is not installed.
SDK_ROOTS_JS = r"""
'use strict';
const path = require('path');
const [dir, ...files] = process.argv.slice(1);
const sdk = require(path.join(dir, 'harness.js')).loadSdk();
(async () => {
  for (const f of files) {
    const file = await sdk.ZgFile.fromFilePath(f);
    const [tree, err] = await file.merkleTree();
    console.log(JSON.stringify(err ? { file: f, error: String(err) }
                                   : { file: f, root: tree.rootHash() }));
    await file.close();
  }
})().catch((e) => { console.error(e.stack); process.exit(1); });
"""


def main():
    ml.require_fuse()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@0gfoundation", "0g-ts-sdk")):
        ml.skip_all("the 0G SDK is not installed in tests/compat/node_modules "
                    "(run ./setup.sh)")
    base = ml.scratch("zgfs-sdk-mount-")
    mnt = os.path.join(base, "mnt")
    m = ml.start_mount(t, ZGFS, os.path.join(base, "data"), mnt)
    sizes = [1, 31, 32, 33, 255, 256, 257, 4095, 4096, 4097, 65535, 65536, 65537, SEG - 1,
             SEG, SEG + 1, 2 * SEG + 1, 3 * SEG + 256 * 384, MiB - 1, MiB, MiB + 1,
             4 * MiB + 1, 17 * SEG + 1, 8 * MiB]
    while len(sizes) < 34:
        sizes.append(1 + rng.randrange(3 * MiB if rng.random() < 0.5 else 4096))
    dirs = ["", "nested/a/b", "\u65e5\u672c\u8a9e/donn\u00e9es"]
    for d in dirs[1:]:
        os.makedirs(os.path.join(mnt, d))
    files = {}  # mount path -> content
    m.watchdog(240, "writing files")
    try:
        for i, size in enumerate(sizes):
            p = os.path.join(mnt, dirs[i % 3], f"f{i}-{size}")
            data = ml.pattern(f"sdk-mount-{i}", size)
            ml.write_file(p, data, chunk=rng.choice([4096, 65536, MiB]))
            files[p] = data
        # Grown by appends: the root is over the whole current content, several extents.
        for i, parts in enumerate([[SEG, 1000], [100, 200, 300], [MiB + 5, SEG - 5, 77]]):
            p = os.path.join(mnt, dirs[i % 3], f"appended-{i}")
            content = b""
            for j, n in enumerate(parts):
                part = ml.pattern(f"sdk-app-{i}-{j}", n)
                ml.write_file(p, part, flags=os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                content += part
            files[p] = content
        # Rewritten with O_TRUNC: the root is the new content's.
        p = os.path.join(mnt, "rewritten")
        ml.write_file(p, ml.pattern("sdk-old", 3 * SEG))
        files[p] = ml.pattern("sdk-new", SEG + 3)
        ml.write_file(p, files[p])
        # Written in 1000-byte writes.
        p = os.path.join(mnt, "small-writes")
        files[p] = ml.pattern("sdk-small", 600 * KiB + 9)
        ml.write_file(p, files[p], chunk=1000)
        t.ok(True, f"wrote {len(files)} files ({sum(map(len, files.values())) / MiB:.1f} MiB) "
             "through the mount")
    except OSError as e:
        t.ok(False, "writing the files through the mount", str(e))
    m.cancel_watchdog()
    paths = list(files)
    ours = {}
    for p in paths:
        try:
            ours[p] = ml.getxattr(p, "user.zg.root")
        except OSError as e:
            ours[p] = f"error {e}"
    r = subprocess.run([NODE, "-e", SDK_ROOTS_JS, HERE, *paths], capture_output=True,
                       timeout=600)
    if r.returncode == 77:
        m.stop()
        ml.skip_all(r.stdout.decode().strip().replace("1..0 # SKIP ", ""))
    sdk = {}
    for line in r.stdout.decode().splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        sdk[j["file"]] = j.get("root") or f"error {j.get('error')}"
    t.ok(r.returncode == 0 and len(sdk) == len(paths),
         f"the SDK computed roots of {len(sdk)}/{len(paths)} files read through the mount",
         r.stderr.decode(errors="replace")[-2000:])
    bad = [f"{os.path.relpath(p, mnt)} ({len(files[p])} B): xattr {ours[p]} sdk {sdk.get(p)}"
           for p in paths if ours[p] != sdk.get(p)]
    t.ok(not bad, f"user.zg.root equals the SDK's root for {len(paths) - len(bad)}/"
         f"{len(paths)} files", "\n".join(bad[:20]))
    r = ml.run([ZGFS, "root", *paths], timeout=300)
    printed = dict(reversed(line.split("  ", 1)) for line in r.stdout.decode().splitlines())
    bad = [p for p in paths if printed.get(p) != sdk.get(p)]
    t.ok(r.returncode == 0 and not bad, "`zgfs root` of the mounted paths equals the SDK's "
         "root", f"{[os.path.relpath(p, mnt) for p in bad[:10]]} {ml.text(r)[-500:]}")
    # The bytes the SDK hashed were the bytes written (compare through the mount too).
    bad = [p for p in paths if ml.read_file(p) != files[p]]
    t.ok(not bad, "every file reads back as written", f"{bad[:5]}")
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
