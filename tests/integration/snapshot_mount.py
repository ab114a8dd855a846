#!/usr/bin/env python3
"""zgfs snapshot: a dataset pinned by one root, mounted as it was, verified, proven.

usage: snapshot_mount.py ZGFS

Builds a small dataset on a mount (many small files, shards written in several pieces, a
symlink, a hard link, a FIFO, nested folders), snapshots it, then changes the tree in every
way (rewrites, appends, writes in the middle, deletions, renames, chmod, new files) and
checks:
  - `snapshot create` prints one line "snapshot ID root 0x<64 hex>"; a second snapshot of
    the changed tree has another root; a name is unique (a second create with it is
    refused and writes nothing);
  - `zgfs mount --snapshot NAME`, beside the running mount, shows exactly the old tree
    (names, bytes, modes, link targets, hard links) and refuses writes (EROFS);
  - `snapshot ls` (text and --json), `show`, and `diff` (added, deleted, changed paths);
  - `snapshot verify` passes; proofs: a member's proof checks with the old bytes, fails
    ("differs") with the new ones, an absent path is proven absent, and altered proofs, a
    wrong root or a proof used for another path are refused (exit 2);
  - `zgfs prune --keep 1` keeps every byte the snapshot needs: after it the snapshot
    mounts and reads back byte for byte, and verifies;
  - one byte flipped in the store under a snapshot file: verify fails and names it
    (never a wrong yes).

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 when FUSE cannot
be used here.
"""
import errno
import glob
import json
import os
import re
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: snapshot_mount.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
KiB, MiB = 1024, 1 << 20
t = ml.Tap()
LINE = re.compile(r"^snapshot (\d+) root (0x[0-9a-f]{64})\n$")


def zg(*args, timeout=300):
    return ml.run([ZGFS, *args], timeout=timeout)


def tree(top):
    """{path: (type, mode, content digest or link target, size)} under top, and the
    inode groups of hard links."""
    out, inodes = {}, {}
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = "/" + os.path.relpath(p, top)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                what = ml.file_digest(p)
                inodes.setdefault(st.st_ino, set()).add(rel)
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            else:
                what = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), what,
                        st.st_size if stat.S_ISREG(st.st_mode) else None)
    links = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return out, links


def build(ds):
    os.makedirs(os.path.join(ds, "train", "cats"))
    os.makedirs(os.path.join(ds, "train", "dogs"))
    os.makedirs(os.path.join(ds, "val"))
    for i in range(120):
        kind = "cats" if i % 2 else "dogs"
        ml.write_file(os.path.join(ds, "train", kind, f"{i:04d}.png"),
                      ml.pattern(f"img {i}", 200 + 37 * i))
    for i in range(20):
        ml.write_file(os.path.join(ds, "val", f"{i:04d}.png"), ml.pattern(f"val {i}", 900))
    # Shards written in pieces: several extents each, so their roots are hashed.
    for s in range(2):
        p = os.path.join(ds, f"shard{s}.bin")
        ml.write_file(p, ml.pattern(f"shard {s} a", MiB + 5))
        with open(p, "ab") as f:
            f.write(ml.pattern(f"shard {s} b", 700 * KiB))
    ml.write_file(os.path.join(ds, "labels.csv"), b"".join(
        b"%04d,%s\n" % (i, b"cat" if i % 2 else b"dog") for i in range(120)))
    os.symlink("labels.csv", os.path.join(ds, "labels"))
    os.link(os.path.join(ds, "val", "0000.png"), os.path.join(ds, "first-val.png"))
    os.mkfifo(os.path.join(ds, "pipe"))
    # A name that is not UTF-8 (Linux names are bytes): proofs carry it as path_hex.
    ml.write_file(os.path.join(ds, os.fsdecode(b"caf\xe9.bin")), b"latin-1 name")
    os.chmod(os.path.join(ds, "val", "0003.png"), 0o600)


def change(ds):
    ml.write_file(os.path.join(ds, "labels.csv"), b"relabelled\n")
    with open(os.path.join(ds, "train", "cats", "0001.png"), "ab") as f:
        f.write(b"appended")
    with open(os.path.join(ds, "shard0.bin"), "r+b") as f:
        f.seek(100 * KiB)
        f.write(b"in the middle")
    os.unlink(os.path.join(ds, "train", "dogs", "0000.png"))
    os.rename(os.path.join(ds, "val"), os.path.join(ds, "validation"))
    os.chmod(os.path.join(ds, "shard1.bin"), 0o600)
    ml.write_file(os.path.join(ds, "train", "cats", "9999.png"), b"a new cat")


def create(ds, *args):
    r = zg("snapshot", "create", ds, *args)
    out = r.stdout.decode()
    mo = LINE.match(out)
    t.ok(r.returncode == 0 and mo, f"snapshot create {' '.join(args)}: one line, "
         "'snapshot ID root 0x<64 hex>'", ml.text(r))
    return (int(mo.group(1)), mo.group(2)) if mo else (None, None)


def check_proofs(snap_id, root, base, smnt, ds):
    proof = os.path.join(base, "proof.json")

    def prove(path):
        r = zg("snapshot", "prove", "--mount", ds, str(snap_id), path)
        with open(proof, "wb") as f:
            f.write(r.stdout)
        return r

    def check(path, file, want, what, root_=root):
        r = zg("snapshot", "check", root_, path, file, proof)
        t.ok(r.returncode == want, f"check: {what} (exit {want})", ml.text(r))
        return r

    r = prove("/labels.csv")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(doc.get("member") is True and doc.get("snapshot") == root,
         "prove of a member: member, the snapshot's root", ml.text(r))
    check("/labels.csv", os.path.join(smnt, "labels.csv"), 0, "the snapshot's bytes are a member")
    r = check("/labels.csv", os.path.join(ds, "labels.csv"), 1,
              "the rewritten file differs from what the snapshot holds")
    t.ok(b"differs" in r.stdout, "check says the file differs", ml.text(r))
    check("labels.csv", os.path.join(smnt, "labels.csv"), 0, "a path without the leading /")
    check("/labels.csvx", os.path.join(smnt, "labels.csv"), 2, "a member's proof for another path")
    check("/labels.csv", os.path.join(smnt, "labels.csv"), 2, "a wrong root",
          root_="0x" + "11" * 32)
    # Altered: a sibling hash, then the leaf's size.
    with open(proof, "rb") as f:
        good = f.read()
    doc = json.loads(good)
    lemma = doc["entries"][0]["proof"]["lemma"]
    lemma[1] = lemma[1][:10] + ("0" if lemma[1][10] != "0" else "1") + lemma[1][11:]
    with open(proof, "w") as f:
        json.dump(doc, f)
    check("/labels.csv", os.path.join(smnt, "labels.csv"), 2, "a proof with an altered sibling")
    doc = json.loads(good)
    doc["entries"][0]["size"] += 1
    with open(proof, "w") as f:
        json.dump(doc, f)
    check("/labels.csv", os.path.join(smnt, "labels.csv"), 2, "a proof with an altered size")
    with open(proof, "w") as f:
        f.write("not json")
    check("/labels.csv", os.path.join(smnt, "labels.csv"), 2, "not a proof at all")

    r = prove("/train/cats/9999.png")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(doc.get("member") is False and len(doc.get("entries", [])) == 2,
         "prove of a path added later: absent, with its two neighbours", ml.text(r))
    r = check("/train/cats/9999.png", os.path.join(ds, "train", "cats", "9999.png"), 1,
              "a file added after the snapshot is proven absent")
    t.ok(b"absent" in r.stdout, "check says absent", ml.text(r))
    check("/train/cats/0001.png", os.path.join(smnt, "train", "cats", "0001.png"), 2,
          "an absence proof used for a path that is there")
    r = prove("/zzz")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(doc.get("member") is False and len(doc.get("entries", [])) == 1,
         "absent after the last path: one neighbour, the last entry", ml.text(r))
    check("/zzz", os.path.join(ds, "labels.csv"), 1, "absent past the last path")
    r = prove("/")
    check("/", smnt, 0, "the top directory is a member (a directory)")
    odd = "/" + os.fsdecode(b"caf\xe9.bin")
    r = prove(odd)
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(doc.get("member") is True and doc.get("path_hex") == "0x2f636166e92e62696e",
         "a name that is not UTF-8 is proven, carried as path_hex", ml.text(r))
    check(odd, os.path.join(smnt, odd[1:]), 0, "and its proof checks")


def flip_byte(data, marker):
    hits = 0
    for pack in sorted(glob.glob(os.path.join(data, "store", "packs", "*.pack"))):
        with open(pack, "r+b") as f:
            blob = f.read()
            at = blob.find(marker)
            while at >= 0:
                f.seek(at + 5)
                f.write(bytes([blob[at + 5] ^ 0x01]))
                hits += 1
                at = blob.find(marker, at + 1)
    return hits


def main():
    ml.require_fuse()
    base, data, m = ml.fresh_mount(t, ZGFS, "zgfs-snap-")
    ds = os.path.join(m.mnt, "dataset")
    os.mkdir(ds)
    ml.write_file(os.path.join(m.mnt, "outside.txt"), b"not in the snapshot")
    build(ds)
    want, want_links = tree(ds)
    snap1, root1 = create(ds, "--name", "v1")
    if snap1 is None:
        return
    again = zg("snapshot", "create", ds)
    mo = LINE.match(again.stdout.decode())
    t.ok(mo and mo.group(2) == root1,
         "a second snapshot of the unchanged tree has the same root", ml.text(again))
    change(ds)
    snap2, root2 = create(ds, "--name", "v2")
    t.ok(root2 and root2 != root1, "the changed tree has another root")
    r = zg("snapshot", "create", ds, "--name", "v1")
    t.ok(r.returncode == 1 and b"v1" in r.stderr, "a taken name is refused", ml.text(r))
    for bad in ("has space", "123", "x" * 65, ""):
        r = zg("snapshot", "create", ds, "--name", bad)
        t.ok(r.returncode == 2, f"--name {bad[:10]!r} is refused", ml.text(r))
    r = zg("snapshot", "create", os.path.join(ds, "labels.csv"))
    t.ok(r.returncode == 1, "create of a file (not a directory) is refused", ml.text(r))
    r = zg("snapshot", "create", base)
    t.ok(r.returncode == 1 and b"zgfs" in r.stderr, "create outside a zgfs mount is refused",
         ml.text(r))

    r = zg("snapshot", "ls", "--mount", m.mnt)
    lines = r.stdout.decode().splitlines()
    t.ok(r.returncode == 0 and len(lines) == 3 and lines[0].split()[:3] == [str(snap1), "v1", root1]
         and lines[2].split()[1] == "v2",
         "snapshot ls: the three snapshots, oldest first, with id, name and root", ml.text(r))
    r = zg("snapshot", "ls", "--json", "--data", data)
    js = json.loads(r.stdout) if r.returncode == 0 else []
    t.ok(len(js) == 3 and js[0]["entries"] == len(want) + 1,
         "snapshot ls --json (through the data directory the mount holds): entries counted",
         ml.text(r))
    nowhere = os.path.join(base, "no-such-data")
    r = zg("snapshot", "ls", "--data", nowhere)
    t.ok(r.returncode == 1 and b"no zgfs data directory" in r.stderr and not os.path.exists(nowhere),
         "snapshot ls without a data directory says so and creates none", ml.text(r))
    r = zg("snapshot", "show", "--mount", m.mnt, "v1")
    shown = {ln.split(" ", 4)[4] for ln in os.fsdecode(r.stdout).splitlines()}
    t.ok(shown == set(want) | {"/"}, "snapshot show lists every path of the tree",
         sorted(shown ^ (set(want) | {"/"}))[:10])
    r = zg("snapshot", "diff", "--mount", m.mnt, "v1", "v2")
    got = set(os.fsdecode(r.stdout).splitlines())
    expect = {"M\t/labels.csv", "M\t/train/cats/0001.png", "M\t/shard0.bin", "M\t/shard1.bin",
              "D\t/train/dogs/0000.png", "A\t/train/cats/9999.png", "D\t/val",
              "A\t/validation"}
    expect |= {f"D\t/val/{i:04d}.png" for i in range(20)}
    expect |= {f"A\t/validation/{i:04d}.png" for i in range(20)}
    t.ok(got == expect, "snapshot diff: exactly the added, deleted and changed paths",
         f"extra {sorted(got - expect)[:8]} missing {sorted(expect - got)[:8]}")

    smnt = os.path.join(base, "snap")
    os.mkdir(smnt)
    r = zg("mount", "--data", data, "--snapshot", "v1", smnt)
    t.ok(r.returncode == 0, "zgfs mount --snapshot v1 beside the running mount", ml.text(r))
    if r.returncode == 0:
        got, got_links = tree(smnt)
        diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        t.ok(got == want, f"the snapshot shows the old tree exactly ({len(got)} entries)",
             f"differs at {diff[:8]}")
        t.ok(got_links == want_links and want_links, "hard links are one inode there too",
             f"{got_links} vs {want_links}")
        t.errno_is(lambda: open(os.path.join(smnt, "new"), "wb"), {errno.EROFS},
                   "a new file on the snapshot mount")
        t.errno_is(lambda: os.unlink(os.path.join(smnt, "labels.csv")), {errno.EROFS},
                   "unlink on the snapshot mount")
        r = zg("snapshot", "verify", "--mount", m.mnt, "v1")
        t.ok(r.returncode == 0 and b"verified" in r.stdout, "snapshot verify v1 passes",
             ml.text(r))
        check_proofs(snap1, root1, base, smnt, ds)
        r = zg("umount", smnt)
        t.ok(r.returncode == 0, "zgfs umount of the snapshot", ml.text(r))
    r = zg("mount", "--data", data, "--snapshot", "nope", smnt)
    t.ok(r.returncode == 1 and b"no snapshot nope" in r.stderr,
         "mount --snapshot of an unknown name says so", ml.text(r))

    # Versions no snapshot saw: the prune below may drop the first of them.
    ml.write_file(os.path.join(ds, "labels.csv"), ml.pattern("third labels", 5000))
    ml.write_file(os.path.join(ds, "labels.csv"), ml.pattern("fourth labels", 6000))
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount of the volume", msg)
    r = zg("prune", "--data", data, "--keep", "1")
    mo = re.search(rb"dropped (\d+) entries", r.stdout)
    t.ok(r.returncode == 0 and mo and int(mo.group(1)) > 0,
         "zgfs prune --keep 1 drops the versions no snapshot needs", ml.text(r))
    r = zg("mount", "--data", data, "--snapshot", str(snap1), smnt)
    t.ok(r.returncode == 0, "the snapshot mounts by id after the prune", ml.text(r))
    if r.returncode == 0:
        got, _ = tree(smnt)
        t.ok(got == want, "after prune --keep 1 the snapshot still reads byte for byte")
        zg("umount", smnt)
    r = zg("snapshot", "verify", "--data", data, "v1")
    t.ok(r.returncode == 0, "and still verifies", ml.text(r))

    # One byte of a snapshot file flipped in the store: verify must fail and name it.
    marker = ml.pattern("shard 1 b", 700 * KiB)[300 * KiB:300 * KiB + 64]
    hits = flip_byte(data, marker)
    t.ok(hits >= 1, f"a snapshot file's bytes found in the packs ({hits})")
    r = zg("snapshot", "verify", "--data", data, "v1")
    t.ok(r.returncode == 1 and b"/shard1.bin" in r.stderr and b"verified" not in r.stdout,
         "verify of a tampered store fails and names the file", ml.text(r))
    r = zg("snapshot", "verify", "--data", data, str(snap2))
    t.ok(r.returncode == 1 and b"/shard1.bin" in r.stderr,
         "so does the later snapshot that shares those bytes", ml.text(r))


if __name__ == "__main__":
    t.run("snapshots", main)
    t.done()
