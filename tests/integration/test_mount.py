#!/usr/bin/env python3
"""The mount's contract, docs/SEMANTICS.md, row by row, through the kernel.

usage: test_mount.py ZGFS

Mounts a fresh volume with `zgfs mount -f` and checks every row of docs/SEMANTICS.md with
ordinary system calls (os, fcntl, mmap, ctypes for renameat2); each group of checks
prints the row it covers. Then the `zgfs mount` command itself: -f and background modes,
a missing or non-empty mountpoint, the data directory lock, -o ro, --verify=never, a
SIGKILLed daemon (auto_unmount) and `zgfs umount`. Everything written is checked again
after a clean remount, and after a SIGKILL that follows fsync.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here.
"""
import errno
import mmap
import os
import random
import re
import shutil
import socket
import stat
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: test_mount.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
# Appends (each open, write, close) for the many-versions row (about 50 s).
VERSIONS = 10000
KiB, MiB = 1024, 1 << 20
SEG = 256 * KiB
t = ml.Tap()
rng = random.Random(20261201)
ROOT_RE = re.compile(r"^0x[0-9a-f]{64}$")

# What the volume must hold after a remount: path relative to the mountpoint ->
# {"kind": "file"|"dir"|"link", "data": bytes, "target": str, "mode", "uid", "gid",
# "mtime_ns", "atime_ns"}; and paths that must not exist.
expect = {}
absent = set()


def row(name):
    print(f"# --- SEMANTICS.md: {name}", flush=True)


def P(*parts):
    return os.path.join(M, *parts)


def remember_file(rel, data, **attrs):
    expect[rel] = dict(kind="file", data=data, **attrs)
    absent.discard(rel)


def parse_extents(text):
    """user.zg.extents -> [(tx_seq, offset, length, root)] ("hole" for a hole's tx_seq)
    or raises ValueError."""
    out = []
    for line in text.strip().splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "hole" and f[3] == "-":
            out.append(("hole", int(f[1]), int(f[2]), "-"))
            continue
        if len(f) != 4 or not ROOT_RE.match(f[3]):
            raise ValueError(f"bad extents line {line!r}")
        out.append((int(f[0]), int(f[1]), int(f[2]), f[3]))
    return out


def parse_versions(text):
    """user.zg.versions -> [(kv_seq, size, root or '-')] or raises ValueError."""
    out = []
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        f = line.split()
        if len(f) != 3 or not (ROOT_RE.match(f[2]) or f[2] == "-"):
            raise ValueError(f"bad versions line {line!r}")
        out.append((int(f[0]), int(f[1]), f[2]))
    return out


def root_of(data):
    """`zgfs root` of bytes, through a copy outside the mount; '-' for no bytes."""
    if not data:
        return "-"
    path = os.path.join(S, "rootcopy")
    with open(path, "wb") as f:
        f.write(data)
    r = ml.zgfs_root(ZGFS, path)
    os.unlink(path)
    return r


def close_ok(fd, what):
    try:
        os.close(fd)
        return True
    except OSError as e:
        t.ok(False, f"{what}: close returns 0", f"close: {e}")
        return False


# ---------------------------------------------------------------------------------------
# Files

def files_create():
    row("create, write sequentially, close -> one log entry, root = 0G root, durable")
    for size, chunk in [(1, 1), (4096, 4096), (SEG + 1, 4096), (3 * MiB + 12345, MiB)]:
        rel = f"create-{size}"
        data = ml.pattern(rel, size)
        ml.write_file(P(rel), data, chunk=chunk)
        remember_file(rel, data)
        t.ok(ml.read_file(P(rel)) == data, f"{size} B written in {chunk} B writes reads back "
             "equal")
        st = os.stat(P(rel))
        t.ok(stat.S_ISREG(st.st_mode) and st.st_size == size, f"{size} B: stat is a regular "
             f"file of {size} B", f"mode {oct(st.st_mode)} size {st.st_size}")
        root = ml.getxattr(P(rel), "user.zg.root")
        want = root_of(data)
        t.ok(root == want, f"{size} B: user.zg.root equals `zgfs root` of a copy",
             f"xattr {root} zgfs root {want}")
        ext = parse_extents(ml.getxattr(P(rel), "user.zg.extents"))
        t.ok(len(ext) == 1 and ext[0][1:] == (0, size, want),
             f"{size} B: user.zg.extents is one entry holding exactly the file's bytes",
             f"extents {ext}")
    fd = os.open(P("empty"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(fd)
    remember_file("empty", b"")
    st = os.stat(P("empty"))
    t.ok(st.st_size == 0 and ml.read_file(P("empty")) == b"",
         "create and close without writing: an empty file")
    t.errno_is(lambda: os.open(P("empty"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644),
               errno.EEXIST, "O_CREAT|O_EXCL on an existing name")
    # Written with sendfile(2) from a local file, as shutil and cp do.
    src = os.path.join(S, "sendfile-src")
    data = ml.pattern("sendfile", 2 * MiB + 3)
    with open(src, "wb") as f:
        f.write(data)
    shutil.copyfile(src, P("copied-by-shutil"))
    remember_file("copied-by-shutil", data)
    t.ok(ml.read_file(P("copied-by-shutil")) == data,
         "shutil.copyfile (sendfile) into the mount reads back equal")


def files_append():
    row("write at EOF, or with O_APPEND -> an append, new extent(s)")
    a, b, c, d = (ml.pattern(f"app{i}", n) for i, n in
                  enumerate([100000, 300001, 5000, 1]))
    ml.write_file(P("append"), a)
    fd = os.open(P("append"), os.O_WRONLY | os.O_APPEND)
    for i in range(0, len(b), 65536):
        os.write(fd, b[i:i + 65536])
    os.close(fd)
    got = ml.read_file(P("append"))
    t.ok(got == a + b, "O_APPEND writes land after the old bytes",
         f"size {len(got)} want {len(a + b)}")
    fd = os.open(P("append"), os.O_WRONLY)
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, c)
    os.pwrite(fd, d, len(a + b + c))
    os.close(fd)
    want = a + b + c + d
    got = ml.read_file(P("append"))
    t.ok(got == want, "write at EOF after lseek(SEEK_END), and pwrite at the size, append",
         f"size {len(got)} want {len(want)}")
    t.ok(os.stat(P("append")).st_size == len(want), "stat size counts every append")
    ext = parse_extents(ml.getxattr(P("append"), "user.zg.extents"))
    t.ok(len(ext) >= 2 and sum(e[2] for e in ext) == len(want),
         "user.zg.extents: the appends are further extents, lengths summing to the size",
         f"extents {ext}")
    t.ok(ext and ext[0][1:] == (0, len(a), root_of(a)),
         "user.zg.extents: the first extent is still the first write's entry", f"{ext[:1]}")
    root = ml.getxattr(P("append"), "user.zg.root")
    t.ok(root == root_of(want), "user.zg.root of an appended file is the 0G root of its "
         "whole current content", f"{root} vs {root_of(want)}")
    fd = os.open(P("append"), os.O_RDONLY)
    edge = len(a)
    t.ok(os.pread(fd, 200, edge - 100) == want[edge - 100:edge + 100],
         "pread across the boundary of two extents")
    os.close(fd)
    # Appending to a file from O_RDWR|O_APPEND and reading it back through the same fd.
    fd = os.open(P("append"), os.O_RDWR | os.O_APPEND)
    e = b"tail-" * 100
    os.write(fd, e)
    os.fsync(fd)
    t.ok(os.pread(fd, len(e), len(want)) == e, "an appended range reads back through the "
         "writer's own descriptor after fsync")
    os.close(fd)
    want += e
    remember_file("append", want)


def files_write_anywhere():
    row("write anywhere, sparse writes -> one new log entry + one KV transaction at close; "
        "holes read as zeros")
    data = bytearray(ml.pattern("below", 8192))
    ml.write_file(P("below"), bytes(data))
    nver = len(parse_versions(ml.getxattr(P("below"), "user.zg.versions")))
    fd = os.open(P("below"), os.O_WRONLY)
    os.pwrite(fd, b"X", 0)
    data[0:1] = b"X"
    os.pwrite(fd, b"XY", 8191)  # straddles EOF: overwrites the last byte, appends one
    data[8191:8193] = b"XY"
    os.lseek(fd, 100, os.SEEK_SET)
    os.write(fd, b"Z" * 10)
    data[100:110] = b"Z" * 10
    close_ok(fd, "O_WRONLY after writes below EOF")
    fd = os.open(P("below"), os.O_RDWR)
    os.pwrite(fd, b"M" * 4096, 2048)
    data[2048:6144] = b"M" * 4096
    t.ok(os.pread(fd, 8193, 0) == bytes(data), "the writer reads its own uncommitted bytes")
    rd = os.open(P("below"), os.O_RDONLY)
    t.ok(os.pread(rd, 8193, 0) == bytes(data) and os.fstat(rd).st_size == len(data),
         "another descriptor reads them too, and stat agrees with read")
    os.close(rd)
    close_ok(fd, "O_RDWR after a write in the middle")
    t.ok(ml.read_file(P("below")) == bytes(data), "content after writes below EOF")
    vers = parse_versions(ml.getxattr(P("below"), "user.zg.versions"))
    t.ok(len(vers) == nver + 2 and vers[-1] == (vers[-1][0], len(data), root_of(bytes(data))),
         "each close made one version, the last with the 0G root of the content",
         f"{nver} before, now {vers}")
    t.ok(ml.getxattr(P("below"), "user.zg.root") == root_of(bytes(data)),
         "user.zg.root is the 0G root of the current content, for any extent layout")
    remember_file("below", bytes(data))
    # Sparse: a write far past EOF leaves a hole that reads as zeros and takes no space.
    fd = os.open(P("sparse"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"head", 0)
    os.pwrite(fd, b"tail", 64 * MiB)
    close_ok(fd, "sparse")
    want = b"head" + bytes(64 * MiB - 4) + b"tail"
    st = os.stat(P("sparse"))
    got = ml.read_file(P("sparse"))
    t.ok(got == want, "a hole reads as zeros", f"{len(got)} B")
    t.ok(st.st_size == len(want) and st.st_blocks * 512 < MiB,
         "the hole is stored as nothing (st_blocks counts the written bytes)",
         f"size {st.st_size}, blocks {st.st_blocks}")
    ext = parse_extents(ml.getxattr(P("sparse"), "user.zg.extents"))
    t.ok(any(e[0] == "hole" for e in ext), "user.zg.extents shows the hole", f"{ext}")
    remember_file("sparse", want)


def files_append_only(rel, how, data):
    """The strict append-only rows, on a file holding data made append-only by `how`."""
    ext0 = ml.getxattr(P(rel), "user.zg.extents")
    ver0 = ml.getxattr(P(rel), "user.zg.versions")
    fd = os.open(P(rel), os.O_WRONLY)
    t.errno_is(lambda: os.pwrite(fd, b"X", 0), errno.EPERM, f"{how}: pwrite at offset 0")
    t.errno_is(lambda: os.pwrite(fd, b"XY", 8191), errno.EPERM,
               f"{how}: a write straddling EOF (overwrites the last byte)")
    os.lseek(fd, 100, os.SEEK_SET)
    t.errno_is(lambda: os.write(fd, b"Z" * 10), errno.EPERM, f"{how}: write after lseek(100)")
    close_ok(fd, "O_WRONLY after refused writes")
    t.errno_is(lambda: os.truncate(P(rel), 500), errno.EPERM, f"{how}: truncate to 500")
    t.errno_is(lambda: os.truncate(P(rel), 20000), errno.EPERM, f"{how}: truncate to 20000")
    fd = os.open(P(rel), os.O_RDWR)
    try:
        mm = mmap.mmap(fd, 8192, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        mm.close()
        t.ok(False, f"{how}: mmap(MAP_SHARED, PROT_WRITE) is refused", "the mapping was made")
    except OSError as e:
        t.ok(e.errno in (errno.EPERM, errno.ENODEV), f"{how}: mmap(MAP_SHARED, PROT_WRITE) "
             "is refused (ENODEV from the kernel)", ml.errname(e.errno))
    close_ok(fd, "after the refused mapping")
    t.ok(ml.read_file(P(rel)) == data and ml.getxattr(P(rel), "user.zg.extents") == ext0 and
         ml.getxattr(P(rel), "user.zg.versions") == ver0,
         f"{how}: content, extents and versions intact after the refused changes")
    ml.write_file(P(rel), b"more", flags=os.O_WRONLY | os.O_APPEND)
    t.ok(ml.read_file(P(rel)) == data + b"more", f"{how}: O_APPEND still appends")
    os.truncate(P(rel), 0)
    t.ok(ml.read_file(P(rel)) == b"", f"{how}: truncate to 0 is allowed (a new version)")
    ml.write_file(P(rel), data, flags=os.O_WRONLY | os.O_APPEND)
    return data


def files_chattr():
    row("chattr +a FILE -> strict append-only: EPERM below EOF, truncate only to 0")
    if not shutil.which("chattr") or not shutil.which("lsattr"):
        t.skip("chattr +a", "chattr/lsattr (e2fsprogs) are not installed")
        return
    data = ml.pattern("appendonly-chattr", 8192)
    ml.write_file(P("chattr"), data)
    r = ml.run(["chattr", "+a", P("chattr")])
    t.ok(r.returncode == 0, "chattr +a succeeds", ml.text(r))
    r = ml.run(["lsattr", P("chattr")])
    t.ok(r.returncode == 0 and "a" in r.stdout.decode().split()[0], "lsattr shows the a flag",
         ml.text(r))
    files_append_only("chattr", "chattr +a", data)
    r = ml.run(["chattr", "-a", P("chattr")])
    fd = os.open(P("chattr"), os.O_WRONLY)
    os.pwrite(fd, b"X", 0)
    os.close(fd)
    t.ok(r.returncode == 0 and ml.read_file(P("chattr"))[:1] == b"X",
         "chattr -a: writes anywhere again", ml.text(r))
    remember_file("chattr", b"X" + data[1:])


def check_versions(rel, history, what):
    """history: the contents the file had, oldest first (each a settled version)."""
    vers = parse_versions(ml.getxattr(P(rel), "user.zg.versions"))
    seqs = [v[0] for v in vers]
    t.ok(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
         f"{what}: user.zg.versions oldest first, kv_seq increasing", f"{vers}")
    want = [(len(h), root_of(h)) for h in history]
    have = [(v[1], v[2]) for v in vers]
    # Every content the file had is listed, in order; empty versions from O_TRUNC may sit
    # in between.
    it = iter(have)
    in_order = all(any(x == w for x in it) for w in want)
    t.ok(in_order and have[-1] == want[-1],
         f"{what}: every earlier content is listed in order, the current one last",
         f"versions {have}\nwanted (in order) {want}")
    return vers


def versions_cli(rel, vers, history):
    r = ml.run([ZGFS, "versions", P(rel)])
    out = r.stdout.decode(errors="replace")
    t.ok(r.returncode == 0 and all(str(v[0]) in out for v in vers),
         "`zgfs versions PATH` on the mounted path lists every kv_seq", ml.text(r))
    good = 0
    wrong = []
    for h in history[:-1]:
        if not h:
            continue
        root = root_of(h)
        seq = [v[0] for v in vers if v[2] == root and v[1] == len(h)]
        if not seq:
            wrong.append(f"no version with root {root}")
            continue
        r = ml.run([ZGFS, "cat", P(rel), "--version", str(seq[0])])
        if r.returncode == 0 and r.stdout == h:
            good += 1
        else:
            wrong.append(f"version {seq[0]}: rc {r.returncode}, {len(r.stdout)} B: "
                         f"{r.stderr.decode(errors='replace')[:300]}")
    t.ok(not wrong and good > 0, f"`zgfs cat PATH --version SEQ` prints each old version's "
         f"bytes ({good})", "\n".join(wrong))


def files_truncate_zero():
    row("open with O_TRUNC, truncate(0), ftruncate(0) -> a new, empty version; the old one "
        "stays in user.zg.versions")
    a = ml.pattern("trunc-a", 200 * KiB + 5)
    b = ml.pattern("trunc-b", 77777)
    c = ml.pattern("trunc-c", 3000)
    ml.write_file(P("versioned"), a)
    fd = os.open(P("versioned"), os.O_WRONLY | os.O_TRUNC)
    st = os.fstat(fd)
    t.ok(st.st_size == 0, "O_TRUNC: the file is empty once open returns", f"{st.st_size}")
    os.write(fd, b)
    os.close(fd)
    t.ok(ml.read_file(P("versioned")) == b, "O_TRUNC then write: the new content")
    history = [a, b]
    check_versions("versioned", history, "after O_TRUNC")
    os.truncate(P("versioned"), 0)
    t.ok(os.stat(P("versioned")).st_size == 0 and ml.read_file(P("versioned")) == b"",
         "truncate(path, 0): the file is empty")
    history.append(b"")
    vers = check_versions("versioned", history, "after truncate(0)")
    t.ok(vers and vers[-1][1:] == (0, "-"), "truncate(0): the newest version is "
         "`kv_seq 0 -`", f"{vers[-1:]}")
    ml.write_file(P("versioned"), c, flags=os.O_WRONLY | os.O_APPEND)
    fd = os.open(P("versioned"), os.O_WRONLY)
    os.ftruncate(fd, 0)
    os.close(fd)
    t.ok(ml.read_file(P("versioned")) == b"", "ftruncate(fd, 0): the file is empty")
    history += [c, b""]
    vers = check_versions("versioned", history, "after ftruncate(0)")
    versions_cli("versioned", vers, history)
    d = ml.pattern("trunc-d", 1234)
    ml.write_file(P("versioned"), d)  # O_TRUNC on an empty file, then content
    history.append(d)
    remember_file("versioned", d, history=history)


def files_truncate_other():
    row("truncate or ftruncate to any size -> a new version (shrink cuts, grow adds a hole)")
    data = ml.pattern("trunc-other", 1000)
    ml.write_file(P("trunc-other"), data)
    os.truncate(P("trunc-other"), 500)
    t.ok(ml.read_file(P("trunc-other")) == data[:500], "truncate to 500 (shorter)")
    os.truncate(P("trunc-other"), 2000)
    t.ok(ml.read_file(P("trunc-other")) == data[:500] + bytes(1500),
         "truncate to 2000 (longer): the grown part reads as zeros")
    fd = os.open(P("trunc-other"), os.O_RDWR)
    os.ftruncate(fd, 999)
    os.write(fd, b"abc")
    t.ok(os.fstat(fd).st_size == 999 and os.pread(fd, 5, 0) == b"abc" + data[3:5],
         "ftruncate to 999, then a write at 0: stat and read agree before close")
    close_ok(fd, "after ftruncate and write")
    want = b"abc" + data[3:500] + bytes(499)
    t.ok(ml.read_file(P("trunc-other")) == want, "the content after ftruncate + write")
    vers = parse_versions(ml.getxattr(P("trunc-other"), "user.zg.versions"))
    t.ok([v[1] for v in vers][-4:] == [1000, 500, 2000, 999],
         "each truncate is a version; ftruncate + write + close is one", f"{vers}")
    remember_file("trunc-other", want)


def files_versions_many():
    row("versions: zgfs versions lists any number (--limit, --json); user.zg.versions the "
        "newest that fit; zgfs restore makes an old one current")
    n = VERSIONS
    p = P("many-versions.log")
    lines = []
    for i in range(n):
        line = b"appended line %05d\n" % i
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line)
        os.close(fd)
        lines.append(line)
    r = ml.run([ZGFS, "versions", p], timeout=600)
    out = r.stdout.decode().splitlines()
    sizes = [int(x.split()[1]) for x in out if len(x.split()) == 3]
    want = [sum(len(x) for x in lines[:k + 1]) for k in range(n)]
    t.ok(r.returncode == 0 and sizes == want, f"{n} appends: `zgfs versions` lists {n} "
         "versions, oldest first, one per close (compactions are not versions)",
         f"rc {r.returncode}, {len(out)} lines: {out[:3]} ... {out[-3:]}\n{ml.text(r)[:500]}")
    roots_ok = all(x.split()[2] == root_of(b"".join(lines[:k + 1]))
                   for k, x in [(0, out[0]), (n // 2, out[n // 2]), (n - 1, out[-1])]) \
        if len(out) == n else False
    t.ok(roots_ok, "the listed roots are the 0G roots of those contents")
    # Compaction (in the background) keeps the map at most max(64, sqrt(size / 24)).
    bound = min(max(64, __import__("math").isqrt(want[-1] // 24)), 1024)
    deadline = time.monotonic() + 20
    while True:
        ext = parse_extents(ml.getxattr(p, "user.zg.extents"))
        if len(ext) <= bound + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    t.ok(len(ext) <= bound + 1, f"compaction keeps the map short ({len(ext)} extents after "
         f"{n} appends; bound {bound})")
    # An attribute change right after a compaction is no version either: it is compared
    # with the compacted record, whose extents differ from the last version's.
    q = P("compact-then-touch.log")
    for i in range(65):  # the 65th makes the map longer than 64: one compaction
        fd = os.open(q, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, b"line %02d\n" % i)
        os.close(fd)
    deadline = time.monotonic() + 20
    while len(parse_extents(ml.getxattr(q, "user.zg.extents"))) > 1 and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    compacted = len(parse_extents(ml.getxattr(q, "user.zg.extents"))) == 1
    os.utime(q, (1_000_000_000, 1_000_000_000))
    fd = os.open(q, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    time.sleep(1.5)  # past FS_LATER_DELAY_MS, whatever fsync settled
    r = ml.run([ZGFS, "versions", q], timeout=60)
    listed = [x for x in r.stdout.decode().splitlines() if len(x.split()) == 3]
    t.ok(compacted and r.returncode == 0 and len(listed) == 65,
         f"65 appends, one compaction, then a utime: {len(listed)} versions listed "
         f"(compacted: {compacted})", ml.text(r)[:300])
    r = ml.run([ZGFS, "versions", "--limit", "3", "--json", p], timeout=600)
    try:
        js = __import__("json").loads(r.stdout)
    except ValueError:
        js = None
    t.ok(js is not None and [v["size"] for v in js] == want[-3:] and
         all(v["root"].startswith("0x") and isinstance(v["seq"], int) for v in js),
         "--limit 3 --json: the 3 newest as a JSON array", ml.text(r)[:500])
    text = ml.getxattr(p, "user.zg.versions")
    listed = parse_versions(text)
    t.ok(text.startswith("#") and len(text) <= 64 * KiB and listed and
         [v[1] for v in listed] == want[-len(listed):],
         "user.zg.versions: the newest that fit in 64 KiB after a '#' line, never E2BIG",
         text[:200])
    seq = out[n // 2].split()[0] if len(out) == n else "0"
    r = ml.run([ZGFS, "restore", p, "--version", seq], timeout=120)
    t.ok(r.returncode == 0 and ml.read_file(p) == b"".join(lines[:n // 2 + 1]),
         "zgfs restore PATH --version SEQ: the old content is current again", ml.text(r))
    vers = ml.run([ZGFS, "versions", "--limit", "2", p]).stdout.decode().splitlines()
    t.ok(len(vers) == 2 and int(vers[-1].split()[1]) == want[n // 2] and
         int(vers[0].split()[1]) == want[-1],
         "the restore is a new version; the versions after the restored one stay", f"{vers}")
    r = ml.run([ZGFS, "restore", p, "--version", "1"], timeout=60)
    t.ok(r.returncode == 1 and b"no version 1" in r.stderr and
         ml.read_file(p) == b"".join(lines[:n // 2 + 1]),
         "restore of a seq that is not a version: a clear error, the file unchanged",
         ml.text(r))
    remember_file("many-versions.log", b"".join(lines[:n // 2 + 1]))


def files_read():
    row("read, pread at any offset, mmap for reading -> the stored bytes")
    size = 5 * MiB + 777
    data = ml.pattern("readme", size)
    ml.write_file(P("readme"), data)
    remember_file("readme", data)
    fd = os.open(P("readme"), os.O_RDONLY)
    bad = []
    for i in range(300):
        off = rng.choice([0, SEG - 1, SEG, size - 1, size, size + 100,
                          rng.randrange(size)])
        n = rng.choice([1, 255, 4096, 65536, 300 * KiB, rng.randrange(1, 2 * MiB)])
        got = os.pread(fd, n, off)
        if got != data[off:off + n]:
            bad.append(f"pread({n}, {off}) gave {len(got)} B")
    t.ok(not bad, "300 preads at random offsets and lengths (also at and past EOF) equal "
         "the written bytes", "\n".join(bad[:10]))
    chunks = []
    while True:
        b = os.read(fd, 123457)
        if not b:
            break
        chunks.append(b)
    t.ok(b"".join(chunks) == data, "sequential read() of odd sizes to EOF")
    results = []

    def reader(seed):
        r = random.Random(seed)
        for _ in range(100):
            off, n = r.randrange(size), r.randrange(1, MiB)
            if os.pread(fd, n, off) != data[off:off + n]:
                results.append((off, n))
    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.ok(not results, "4 threads preading one descriptor at random offsets", f"{results[:5]}")
    mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    bad = [off for off in (rng.randrange(size) for _ in range(200))
           if mm[off:off + 5000] != data[off:off + 5000]]
    t.ok(not bad and len(mm) == size and mm[:] == data,
         "mmap for reading: random slices and the whole mapping equal the bytes",
         f"{bad[:5]}")
    mm.close()
    mm = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
    mm[0:4] = b"COPY"
    t.ok(mm[0:4] == b"COPY", "mmap MAP_PRIVATE copy-on-write of a read-only descriptor "
         "works")
    mm.close()
    os.close(fd)
    t.ok(ml.read_file(P("readme"))[:4] == data[:4], "a private mapping's changes never "
         "reach the file")


def files_mmap_write():
    row("mmap (shared writable too) -> dirty pages reach the mount and are committed")
    data = bytearray(ml.pattern("mmapw", 3 * 4096))
    ml.write_file(P("mmap-write"), bytes(data))
    fd = os.open(P("mmap-write"), os.O_RDWR)
    try:
        mm = mmap.mmap(fd, len(data), flags=mmap.MAP_SHARED,
                       prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as e:
        t.ok(False, "mmap(MAP_SHARED, PROT_WRITE) works", ml.errname(e.errno))
        os.close(fd)
        remember_file("mmap-write", bytes(data))
        return
    mm[0:5] = b"MMAPW"
    mm[5000:5004] = b"mid!"
    data[0:5] = b"MMAPW"
    data[5000:5004] = b"mid!"
    rd = os.open(P("mmap-write"), os.O_RDONLY)
    t.ok(os.pread(rd, 8, 0) == bytes(data[:8]), "another descriptor reads the mapping's "
         "bytes before msync (one page cache)")
    os.close(rd)
    mm.flush()
    mm.close()
    close_ok(fd, "after the shared writable mmap")
    t.ok(ml.read_file(P("mmap-write")) == bytes(data), "the mapped writes are in the file")
    vers = parse_versions(ml.getxattr(P("mmap-write"), "user.zg.versions"))
    t.ok(vers[-1][1:] == (len(data), root_of(bytes(data))), "and in its newest version",
         f"{vers}")
    remember_file("mmap-write", bytes(data))


def files_fsync():
    row("fsync, fdatasync, close -> return 0 once settled (survival checked on remount)")
    a, b = ml.pattern("fsync-a", 100000), ml.pattern("fsync-b", 50000)
    fd = os.open(P("fsynced"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, a)
    try:
        os.fsync(fd)
        t.ok(True, "fsync after a write returns 0")
    except OSError as e:
        t.ok(False, "fsync after a write returns 0", str(e))
    os.write(fd, b)
    try:
        os.fdatasync(fd)
        t.ok(True, "fdatasync after a further write returns 0")
    except OSError as e:
        t.ok(False, "fdatasync after a further write returns 0", str(e))
    t.ok(close_ok(fd, "fsynced"), "close after fsync returns 0")
    t.ok(ml.read_file(P("fsynced")) == a + b, "fsynced content reads back")
    remember_file("fsynced", a + b)
    fd = os.open(P("fsynced"), os.O_RDONLY)
    try:
        os.fsync(fd)
        t.ok(True, "fsync of a read-only descriptor returns 0")
    except OSError as e:
        t.ok(False, "fsync of a read-only descriptor returns 0", str(e))
    os.close(fd)


def files_two_writers():
    row("two writers on one file -> writes land where they are made, O_APPEND at the end, "
        "in the order they are made; every reader sees them")
    base = ml.pattern("two-base", 5000)
    ml.write_file(P("two-writers"), base)
    x, y = b"<writer-1:" + b"x" * 3000 + b">", b"<writer-2:" + b"y" * 2000 + b">"
    fd1 = os.open(P("two-writers"), os.O_WRONLY | os.O_APPEND)
    fd2 = os.open(P("two-writers"), os.O_WRONLY | os.O_APPEND)
    rd = os.open(P("two-writers"), os.O_RDONLY)
    os.write(fd1, x)
    t.ok(os.pread(rd, 20000, 0) == base + x, "a reader sees the first writer's append")
    os.write(fd2, y)
    os.write(fd1, x)
    t.ok(os.fstat(rd).st_size == len(base) + 2 * len(x) + len(y),
         "stat counts every append before any close")
    close_ok(fd2, "second writer")
    close_ok(fd1, "first writer")
    os.close(rd)
    want = base + x + y + x
    got = ml.read_file(P("two-writers"))
    t.ok(got == want, "O_APPEND writers: appends in the order they were made, none lost",
         f"got {len(got)} B, want {len(want)} B")
    # Plain O_WRONLY at the same offset: the later write wins, as on any filesystem.
    fd1 = os.open(P("two-writers"), os.O_WRONLY)
    fd2 = os.open(P("two-writers"), os.O_WRONLY)
    os.pwrite(fd1, b"A" * 100, 10)
    os.pwrite(fd2, b"B" * 50, 60)
    close_ok(fd1, "first writer")
    close_ok(fd2, "second writer")
    want = want[:10] + b"A" * 50 + b"B" * 50 + want[110:]
    t.ok(ml.read_file(P("two-writers")) == want, "overlapping writes: the later one wins")
    remember_file("two-writers", want)


# ---------------------------------------------------------------------------------------
# Directories and names

def dirs_mkdir_rmdir():
    row("mkdir, rmdir -> one KV transaction each; ENOTEMPTY for a non-empty directory")
    os.mkdir(P("d"))
    os.makedirs(P("d", "a", "b", "c"))
    t.ok(stat.S_ISDIR(os.stat(P("d", "a", "b", "c")).st_mode), "nested mkdir")
    t.errno_is(lambda: os.mkdir(P("d")), errno.EEXIST, "mkdir of an existing name")
    t.errno_is(lambda: os.mkdir(P("nonexistent", "x")), errno.ENOENT,
               "mkdir under a missing directory")
    ml.write_file(P("d", "a", "file"), b"x")
    t.errno_is(lambda: os.rmdir(P("d", "a")), errno.ENOTEMPTY,
               "rmdir of a directory holding a file and a directory")
    t.errno_is(lambda: os.rmdir(P("d", "a", "file")), errno.ENOTDIR, "rmdir of a file")
    t.errno_is(lambda: os.unlink(P("d", "a", "b")), {errno.EISDIR, errno.EPERM},
               "unlink of a directory")
    os.rmdir(P("d", "a", "b", "c"))
    t.ok(not os.path.exists(P("d", "a", "b", "c")) and os.listdir(P("d", "a", "b")) == [],
         "rmdir of an empty directory removes it")
    os.unlink(P("d", "a", "file"))
    os.rmdir(P("d", "a", "b"))
    os.rmdir(P("d", "a"))
    t.ok(os.listdir(P("d")) == [], "after removing everything the directory is empty")
    os.mkdir(P("d", "kept"), 0o750)
    st = os.stat(P("d", "kept"))
    t.ok(stat.S_IMODE(st.st_mode) == 0o750 & ~UMASK, "mkdir's mode is stored",
         oct(st.st_mode))
    expect["d"] = dict(kind="dir")
    expect["d/kept"] = dict(kind="dir", mode=stat.S_IMODE(st.st_mode))
    absent.update({"d/a", "d/a/b", "d/a/file"})


def dirs_readdir():
    row("readdir -> stable offsets: concurrent adds and removes never repeat or hide others")
    os.mkdir(P("big"))
    pad = "n" * 100
    base = [f"{i:04d}-{pad}" for i in range(400)]
    for name in base:
        fd = os.open(P("big", name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
    first = sorted(os.listdir(P("big")))
    t.ok(first == sorted(base), f"a directory of {len(base)} entries lists each once",
         f"{len(first)} listed")
    churn = set(rng.sample(base, 100))
    untouched = set(base) - churn
    removed, added = set(), []
    seen = []
    order = list(churn)
    rng.shuffle(order)
    with os.scandir(P("big")) as it:
        for i, entry in enumerate(it):
            seen.append(entry.name)
            if i % 20 == 5:
                for _ in range(5):
                    if order:
                        name = order.pop()
                        os.unlink(P("big", name))
                        removed.add(name)
                    new = f"new-{len(added):04d}-{pad}"
                    fd = os.open(P("big", new), os.O_WRONLY | os.O_CREAT, 0o644)
                    os.close(fd)
                    added.append(new)
    dups = sorted({n for n in seen if seen.count(n) > 1})
    missing = sorted(untouched - set(seen))
    strange = sorted(set(seen) - set(base) - set(added))
    t.ok(not dups, f"no entry repeats while {len(removed)} are removed and {len(added)} "
         "added during the listing", f"repeated: {dups[:5]}")
    t.ok(not missing, f"none of the {len(untouched)} untouched entries is skipped",
         f"missing: {missing[:5]}")
    t.ok(not strange, "no entry that never existed", f"{strange[:5]}")
    final = set(os.listdir(P("big")))
    t.ok(final == (set(base) - removed) | set(added),
         "a fresh listing afterwards has exactly the current entries",
         f"{len(final)} listed, {len((set(base) - removed) | set(added))} exist")
    ml.write_file(P("big", "0000-file"), b"12345")
    os.mkdir(P("big", "0000-dir"))
    os.symlink("0000-file", P("big", "0000-link"))
    kinds = {e.name: (e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False),
                      e.is_symlink()) for e in os.scandir(P("big"))}
    t.ok(kinds.get("0000-file") == (False, True, False) and
         kinds.get("0000-dir") == (True, False, False) and
         kinds.get("0000-link") == (False, False, True),
         "readdir gives each entry's type (file, directory, symlink)",
         f"{kinds.get('0000-file')} {kinds.get('0000-dir')} {kinds.get('0000-link')}")
    sizes = {e.name: e.stat(follow_symlinks=False).st_size for e in os.scandir(P("big"))
             if e.name.startswith("0000-file")}
    t.ok(sizes.get("0000-file") == 5, "attributes of listed entries are right", f"{sizes}")
    for name in list(untouched)[:3] + added[:3]:
        expect[f"big/{name}"] = dict(kind="file", data=b"")
    for name in list(removed)[:3]:
        absent.add(f"big/{name}")


def dirs_unlink_open():
    row("unlink -> one KV transaction; a file still open stays readable")
    data = ml.pattern("unlinked", 2 * MiB + 17)
    ml.write_file(P("unlinked"), data)
    fd = os.open(P("unlinked"), os.O_RDONLY)
    head = os.read(fd, 1000)
    os.unlink(P("unlinked"))
    t.ok(not os.path.exists(P("unlinked")) and "unlinked" not in os.listdir(M),
         "after unlink the name is gone")
    t.errno_is(lambda: os.stat(P("unlinked")), errno.ENOENT, "stat after unlink")
    rest = b""
    while True:
        b = os.read(fd, 300000)
        if not b:
            break
        rest += b
    t.ok(head + rest == data, "reading on through a descriptor opened before unlink")
    t.ok(os.pread(fd, 4096, SEG - 100) == data[SEG - 100:SEG + 3996],
         "pread through the unlinked file's descriptor")
    t.ok(os.fstat(fd).st_size == len(data), "fstat of the unlinked file")
    os.close(fd)
    t.errno_is(lambda: os.unlink(P("unlinked")), errno.ENOENT, "unlink of a missing name")
    absent.add("unlinked")


def dirs_rename():
    row("rename of files and directories -> atomic, also onto an existing target; "
        "RENAME_NOREPLACE EEXIST; RENAME_EXCHANGE swaps two names in one transaction")
    a, b = ml.pattern("ren-a", 70000), ml.pattern("ren-b", 500)
    os.mkdir(P("r"))
    os.mkdir(P("r", "sub"))
    ml.write_file(P("r", "a"), a)
    ml.write_file(P("r", "b"), b)
    fd = os.open(P("r", "a"), os.O_RDONLY)
    os.rename(P("r", "a"), P("r", "a2"))
    t.ok(not os.path.exists(P("r", "a")) and ml.read_file(P("r", "a2")) == a,
         "rename of a file in one directory")
    t.ok(os.pread(fd, 100, 0) == a[:100], "a descriptor opened before rename keeps reading")
    os.close(fd)
    os.rename(P("r", "a2"), P("r", "sub", "a3"))
    t.ok(ml.read_file(P("r", "sub", "a3")) == a and "a2" not in os.listdir(P("r")),
         "rename of a file into another directory")
    os.rename(P("r", "sub", "a3"), P("r", "b"))
    t.ok(ml.read_file(P("r", "b")) == a and os.listdir(P("r", "sub")) == [],
         "rename onto an existing file replaces it")
    t.ok(ml.getxattr(P("r", "b"), "user.zg.root") == root_of(a),
         "the replaced name has the source's root")
    ml.write_file(P("r", "sub", "inner"), b)
    os.rename(P("r", "sub"), P("r", "moved"))
    t.ok(ml.read_file(P("r", "moved", "inner")) == b and not os.path.exists(P("r", "sub")),
         "rename of a directory carries its contents")
    os.mkdir(P("r", "empty"))
    os.rename(P("r", "moved"), P("r", "empty"))
    t.ok(ml.read_file(P("r", "empty", "inner")) == b and not os.path.exists(P("r", "moved")),
         "rename of a directory onto an existing empty directory")
    os.mkdir(P("r", "full"))
    ml.write_file(P("r", "full", "x"), b"x")
    t.errno_is(lambda: os.rename(P("r", "empty"), P("r", "full")),
               {errno.ENOTEMPTY, errno.EEXIST}, "rename of a directory onto a non-empty one")
    t.errno_is(lambda: os.rename(P("r", "empty"), P("r", "b")), errno.ENOTDIR,
               "rename of a directory onto a file")
    t.errno_is(lambda: os.rename(P("r", "b"), P("r", "full")), errno.EISDIR,
               "rename of a file onto a directory")
    t.errno_is(lambda: os.rename(P("r", "empty"), P("r", "empty", "inside")), errno.EINVAL,
               "rename of a directory into itself")
    t.errno_is(lambda: os.rename(P("r", "nothing"), P("r", "x")), errno.ENOENT,
               "rename of a missing name")
    ml.write_file(P("r", "c"), b"ccc")
    t.errno_is(lambda: ml.renameat2(P("r", "c"), P("r", "b"), ml.RENAME_NOREPLACE),
               errno.EEXIST, "renameat2(RENAME_NOREPLACE) onto an existing name")
    t.ok(ml.read_file(P("r", "c")) == b"ccc" and ml.read_file(P("r", "b")) == a,
         "RENAME_NOREPLACE refused: both files intact")
    try:
        ml.renameat2(P("r", "c"), P("r", "c2"), ml.RENAME_NOREPLACE)
        t.ok(ml.read_file(P("r", "c2")) == b"ccc" and not os.path.exists(P("r", "c")),
             "renameat2(RENAME_NOREPLACE) onto a free name renames")
    except OSError as e:
        t.ok(False, "renameat2(RENAME_NOREPLACE) onto a free name renames", str(e))
    exchange(a, b)


def exchange(a, b):
    """renameat2(RENAME_EXCHANGE) through the kernel: files, a file with a directory across
    directories, and the refusals. Each history follows its inode."""
    ml.write_file(P("r", "c2"), b"ccc-2")  # c2's second version
    before = {n: (os.stat(P("r", n)).st_ino, ml.getxattr(P("r", n), "user.zg.versions"))
              for n in ("b", "c2")}
    ml.renameat2(P("r", "c2"), P("r", "b"), ml.RENAME_EXCHANGE)
    t.ok(ml.read_file(P("r", "b")) == b"ccc-2" and ml.read_file(P("r", "c2")) == a,
         "renameat2(RENAME_EXCHANGE) of two files swaps what the names hold")
    after = {n: (os.stat(P("r", n)).st_ino, ml.getxattr(P("r", n), "user.zg.versions"))
             for n in ("b", "c2")}
    t.ok(after["b"] == before["c2"] and after["c2"] == before["b"],
         "each name now has the other's inode and its versions (histories follow the inode)",
         f"before {before}, after {after}")
    t.ok(before["c2"][1].count("\n") >= 2, "the exchanged file keeps both of its versions",
         before["c2"][1])
    os.mkdir(P("r", "xd"))
    ml.write_file(P("r", "xd", "f"), b)
    links = (os.stat(P("r")).st_nlink, os.stat(P("r", "full")).st_nlink)
    ml.renameat2(P("r", "xd"), P("r", "full", "x"), ml.RENAME_EXCHANGE)
    t.ok(ml.read_file(P("r", "xd")) == b"x" and ml.read_file(P("r", "full", "x", "f")) == b,
         "RENAME_EXCHANGE of a directory with a file in another directory")
    t.ok((os.stat(P("r")).st_nlink, os.stat(P("r", "full")).st_nlink) ==
         (links[0] - 1, links[1] + 1),
         "the parents' link counts follow the directory that moved", str(links))
    t.ok(os.listdir(P("r", "full", "x")) == ["f"] and os.path.isfile(P("r", "xd")) and
         os.path.isdir(P("r", "full", "x")) and "x" in os.listdir(P("r", "full")),
         "both names list as what they now name")
    t.errno_is(lambda: ml.renameat2(P("r", "b"), P("r", "nothing"), ml.RENAME_EXCHANGE),
               errno.ENOENT, "RENAME_EXCHANGE with a missing name")
    t.errno_is(lambda: ml.renameat2(P("r", "full"), P("r", "full", "x"), ml.RENAME_EXCHANGE),
               errno.EINVAL, "RENAME_EXCHANGE of a directory with a name inside it")
    t.errno_is(lambda: ml.renameat2(P("r", "b"), P("r", "c2"),
                                    ml.RENAME_EXCHANGE | ml.RENAME_NOREPLACE),
               errno.EINVAL, "RENAME_EXCHANGE together with RENAME_NOREPLACE")
    t.ok(ml.read_file(P("r", "b")) == b"ccc-2" and ml.read_file(P("r", "c2")) == a,
         "refused exchanges change nothing")
    remember_file("r/b", b"ccc-2")
    remember_file("r/c2", a)
    remember_file("r/empty/inner", b)
    remember_file("r/full/x/f", b)
    remember_file("r/xd", b"x")
    absent.update({"r/a", "r/a2", "r/sub", "r/moved", "r/c", "r/xd/f"})


def names():
    row("names -> up to 255 bytes (ENAMETOOLONG past), any bytes but '/' and NUL")
    os.mkdir(P("names"))
    for name in ["a" * 255, "\u65e5" * 85, "\u00e9" * 127 + "x"]:
        enc = name.encode()
        ml.write_file(P("names", name), enc[:32])
        t.ok(ml.read_file(P("names", name)) == enc[:32] and name in os.listdir(P("names")),
             f"a name of {len(enc)} bytes ({name[:3]}...) works")
        remember_file(f"names/{name}", enc[:32])
    long = "b" * 256
    t.errno_is(lambda: os.open(P("names", long), os.O_WRONLY | os.O_CREAT, 0o644),
               errno.ENAMETOOLONG, "create with a 256-byte name")
    t.errno_is(lambda: os.mkdir(P("names", long)), errno.ENAMETOOLONG,
               "mkdir with a 256-byte name")
    t.errno_is(lambda: os.symlink("x", P("names", long)), errno.ENAMETOOLONG,
               "symlink with a 256-byte name")
    t.errno_is(lambda: os.rename(P("names", "a" * 255), P("names", long)),
               errno.ENAMETOOLONG, "rename to a 256-byte name")
    t.errno_is(lambda: os.stat(P("names", long)), errno.ENAMETOOLONG,
               "stat of a 256-byte name")
    t.errno_is(lambda: os.mkdir(P("names", "\u65e5" * 86)), errno.ENAMETOOLONG,
               "mkdir with a 258-byte UTF-8 name")
    odd = ["donn\u00e9es-\u65e5\u672c\u8a9e-\U0001F642", "\u0395\u03bb\u03bb\u03b7\u03bd"
           "\u03b9\u03ba\u03ac", "\u05e9\u05dc\u05d5\u05dd", "e\u0301", "\u00e9",
           " leading space", "trailing space ", "-dash", "new\nline", "tab\there",
           "back\\slash", "*?[]", "'quote\"", ".hidden", "..dots", "%41%00"]
    for name in odd:
        ml.write_file(P("names", name), name.encode())
        remember_file(f"names/{name}", name.encode())
    raw = b"raw-\xff\xfe\x80-not-utf8"
    ml.write_file(os.path.join(os.fsencode(M), b"names", raw), raw)
    listed = set(os.listdir(os.path.join(os.fsencode(M), b"names")))
    want = {n.encode() for n in odd} | {raw}
    t.ok(want <= listed, "unicode, NFC and NFD forms, spaces, newlines, quotes and bytes "
         "that are not UTF-8 round-trip through readdir", f"missing {want - listed}")
    t.ok(all(ml.read_file(P("names", n)) == n.encode() for n in odd) and
         ml.read_file(os.path.join(os.fsencode(M), b"names", raw)) == raw,
         "each odd name opens its own file (e\\u0301 and \\u00e9 are two files)")
    expect["names/" + os.fsdecode(raw)] = dict(kind="file", data=raw)


def symlinks():
    row("symlink, readlink -> stored in the inode")
    ml.write_file(P("link-target"), b"through the link")
    remember_file("link-target", b"through the link")
    os.symlink("link-target", P("link"))
    t.ok(os.readlink(P("link")) == "link-target", "readlink gives the target")
    t.ok(stat.S_ISLNK(os.lstat(P("link")).st_mode), "lstat says symlink")
    t.ok(ml.read_file(P("link")) == b"through the link", "open follows the symlink")
    targets = {"dangling": "does/not/exist", "absolute": "/etc/hostname",
               "dots": "../../x/./y", "long": "t" * 250 + "/" + "u" * 1000,
               "unicode": "\u65e5\u672c/\U0001F642"}
    for name, target in targets.items():
        os.symlink(target, P(f"link-{name}"))
        expect[f"link-{name}"] = dict(kind="link", target=target)
    t.ok(all(os.readlink(P(f"link-{n}")) == v for n, v in targets.items()),
         "dangling, absolute, relative with dots, 1251-byte and unicode targets read back")
    t.ok(os.lstat(P("link-long")).st_size == len(targets["long"]),
         "a symlink's size is its target's length")
    t.errno_is(lambda: os.symlink("x", P("link")), errno.EEXIST, "symlink onto an "
               "existing name")
    expect["link"] = dict(kind="link", target="link-target")


def hard_links():
    row("link (hard links) -> another name of the inode (complete_mount.py has the rest)")
    ml.write_file(P("one-name"), b"two names")
    remember_file("one-name", b"two names")
    os.link(P("one-name"), P("two-names"))
    remember_file("two-names", b"two names")
    t.ok(os.stat(P("one-name")).st_ino == os.stat(P("two-names")).st_ino and
         os.stat(P("two-names")).st_nlink == 2, "link(2): the same inode, st_nlink 2")


def special_files():
    row("mknod of devices, FIFOs, sockets -> inodes with a type (complete_mount.py has the rest)")
    os.mkfifo(P("fifo"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(P("sock"))
    s.close()
    t.ok(stat.S_ISFIFO(os.lstat(P("fifo")).st_mode) and stat.S_ISSOCK(os.lstat(P("sock")).st_mode),
         "mkfifo and bind make a FIFO and a socket")
    os.unlink(P("fifo"))
    os.unlink(P("sock"))
    absent.update({"fifo", "sock"})


# ---------------------------------------------------------------------------------------
# Attributes

def attributes():
    row("chmod, chown, utimens -> stored in the inode (survival checked on remount)")
    ml.write_file(P("attrs"), b"attributes", mode=0o600)
    st = os.stat(P("attrs"))
    t.ok(stat.S_IMODE(st.st_mode) == 0o600, "create's mode is stored", oct(st.st_mode))
    t.ok(st.st_uid == os.geteuid() and st.st_gid == os.getegid(),
         "a new file belongs to its creator", f"{st.st_uid}:{st.st_gid}")
    os.chmod(P("attrs"), 0o4751)
    st = os.stat(P("attrs"))
    t.ok(stat.S_IMODE(st.st_mode) == 0o4751, "chmod 4751", oct(st.st_mode))
    os.chmod(P("attrs"), 0o640)
    uid, gid = os.geteuid(), os.getegid()
    if os.geteuid() == 0:
        uid, gid = 1234, 5678
        os.chown(P("attrs"), uid, gid)
        st = os.stat(P("attrs"))
        t.ok((st.st_uid, st.st_gid) == (uid, gid), "chown 1234:5678",
             f"{st.st_uid}:{st.st_gid}")
        os.chown(P("d"), 4321, 8765)
        t.ok((os.stat(P("d")).st_uid, os.stat(P("d")).st_gid) == (4321, 8765),
             "chown of a directory")
        expect.setdefault("d", dict(kind="dir")).update(uid=4321, gid=8765)
    else:
        t.skip("chown to another owner", "not root")
    atime, mtime = 1_600_000_000_123_456_789, 1_500_000_000_987_654_321
    os.utime(P("attrs"), ns=(atime, mtime))
    st = os.stat(P("attrs"))
    t.ok(st.st_mtime_ns // 10**9 == mtime // 10**9 and st.st_atime_ns // 10**9 ==
         atime // 10**9, "utimens: atime and mtime stored (seconds)",
         f"{st.st_atime_ns} {st.st_mtime_ns}")
    t.ok(st.st_mtime_ns == mtime and st.st_atime_ns == atime,
         "utimens: nanoseconds stored exactly", f"{st.st_atime_ns} {st.st_mtime_ns}")
    # cp -a and cp -p set the times on the descriptor they wrote, before closing it.
    fd = os.open(P("futimens"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"futimens")
    os.utime(fd, ns=(atime, mtime))
    os.close(fd)
    ml.read_file(P("futimens"))
    st = os.stat(P("futimens"))
    t.ok(st.st_mtime_ns == mtime, "futimens on a written descriptor before close (as cp -a "
         "does) is kept through close and a later open", f"{st.st_mtime_ns}, want {mtime}")
    remember_file("futimens", b"futimens")  # its mtime is checked just above
    ml.write_file(P("readonly"), b"r")
    os.chmod(P("readonly"), 0o444)
    remember_file("readonly", b"r", mode=0o444)
    expect["attrs"] = dict(kind="file", data=b"attributes", mode=0o640, uid=uid, gid=gid,
                           mtime_ns=mtime)
    t.ok(ml.read_file(P("attrs")) == b"attributes", "content unchanged by attribute changes")

    row("stat -> size, mode, owner, times as stored; blocks in 512-byte units")
    bad = []
    for rel in ("create-1", "create-4096", f"create-{SEG + 1}", "readme", "empty"):
        st = os.stat(P(rel))
        if st.st_blocks != (st.st_size + 511) // 512:
            bad.append(f"{rel}: size {st.st_size} blocks {st.st_blocks}")
    t.ok(not bad, "st_blocks is the size in 512-byte units, rounded up", "\n".join(bad))
    st = os.stat(P("readme"))
    t.ok(st.st_nlink == 1 and stat.S_IMODE(st.st_mode) == 0o644 & ~UMASK,
         "a regular file: one link, mode from create minus umask",
         f"nlink {st.st_nlink} mode {oct(st.st_mode)}")
    now = time.time()
    t.ok(abs(st.st_mtime - now) < 600, "a fresh file's mtime is now", f"{st.st_mtime}")

    row("statfs -> real figures from the data directory's filesystem")
    vfs, real = os.statvfs(M), os.statvfs(DATA)
    t.ok(vfs.f_bsize > 0 and vfs.f_blocks > 0 and vfs.f_bfree > 0 and
         vfs.f_bavail <= vfs.f_bfree <= vfs.f_blocks,
         "statvfs: block size, total, free and available are plausible", f"{vfs}")
    t.ok(vfs.f_namemax == 255, "statvfs: f_namemax is 255", f"{vfs.f_namemax}")
    mine = vfs.f_blocks * vfs.f_frsize
    theirs = real.f_blocks * real.f_frsize
    t.ok(abs(mine - theirs) <= theirs * 0.1,
         "statvfs total size is the data directory's filesystem size",
         f"mount {mine} B, data dir fs {theirs} B")
    mine = vfs.f_bavail * vfs.f_frsize
    theirs = real.f_bavail * real.f_frsize
    t.ok(abs(mine - theirs) <= max(theirs * 0.1, 256 * MiB),
         "statvfs available space is the data directory's", f"mount {mine}, data {theirs}")


def xattrs():
    row("getxattr user.zg.root / user.zg.extents / user.zg.versions; setxattr, "
        "removexattr of user.zg.* -> EPERM")
    data = ml.pattern("xattr", 2 * SEG + 5)
    ml.write_file(P("xa"), data)
    remember_file("xa", data)
    copy = os.path.join(S, "xa-copy")
    shutil.copyfile(P("xa"), copy)
    r = ml.run([ZGFS, "root", copy])
    printed = r.stdout.decode().split()
    root = ml.getxattr(P("xa"), "user.zg.root")
    t.ok(r.returncode == 0 and printed and printed[0] == root and ROOT_RE.match(root),
         "user.zg.root is `0x` + 64 hex and equals `zgfs root` of a copy",
         f"xattr {root!r}, zgfs root: {ml.text(r)}")
    raw = os.getxattr(P("xa"), "user.zg.root")
    t.ok(raw.rstrip(b"\0\n") == root.encode(), "user.zg.root's raw value is the root text",
         repr(raw))
    ext = parse_extents(ml.getxattr(P("xa"), "user.zg.extents"))
    t.ok(len(ext) == 1 and ext[0][2] == len(data) and ext[0][3] == root and ext[0][0] >= 0,
         "user.zg.extents: `tx_seq offset length root` for the one entry", f"{ext}")
    vers = parse_versions(ml.getxattr(P("xa"), "user.zg.versions"))
    t.ok(len(vers) >= 1 and vers[-1][1:] == (len(data), root),
         "user.zg.versions: the current version last, `kv_seq size root`", f"{vers}")
    names = os.listxattr(P("xa"))
    t.note(f"listxattr: {names}")
    t.ok(not any(n.startswith("user.zg.") for n in names), "user.zg.* are not listed")
    t.errno_is(lambda: os.setxattr(P("xa"), "user.zg.root", b"0x" + b"0" * 64),
               errno.EPERM, "setxattr user.zg.root")
    t.errno_is(lambda: os.removexattr(P("xa"), "user.zg.root"), errno.EPERM,
               "removexattr user.zg.root")
    t.errno_is(lambda: os.getxattr(P("xa"), "user.zg.nothing"), errno.ENODATA,
               "getxattr of an attribute that does not exist")
    t.ok(ml.getxattr(P("xa"), "user.zg.root") == root, "user.zg.root unchanged")
    # The xattrs of a file written in many small writes equal those of a copy.
    small = ml.pattern("xattr-small-writes", 300 * KiB + 1)
    ml.write_file(P("xa-small"), small, chunk=1000)
    remember_file("xa-small", small)
    t.ok(ml.getxattr(P("xa-small"), "user.zg.root") == root_of(small),
         "user.zg.root of a file written in 1000-byte writes")


def unlisted():
    row("every operation not listed -> a clear errno (EPERM, ENOTSUP or ENOSYS)")
    # fallocate and writes past EOF are not rows of SEMANTICS.md. Either they are refused
    # with a clear errno and the file is unchanged, or (as with any POSIX filesystem)
    # the gap reads as zeros; never anything else.
    ml.write_file(P("fallocate"), b"abc")
    fd = os.open(P("fallocate"), os.O_RDWR)
    want = b"abc"
    try:
        os.posix_fallocate(fd, 0, 1 << 20)
        t.note("posix_fallocate(0, 1 MiB) succeeded (glibc writes zeros past EOF when the "
               "filesystem has no fallocate)")
        want = b"abc" + bytes((1 << 20) - 3)
    except OSError as e:
        t.ok(e.errno in (errno.EPERM, errno.ENOTSUP, errno.ENOSYS, errno.EOPNOTSUPP),
             "posix_fallocate is refused with EPERM/ENOTSUP/ENOSYS", ml.errname(e.errno))
    close_ok(fd, "after fallocate")
    got = ml.read_file(P("fallocate"))
    t.ok(got == want, "after posix_fallocate the file is unchanged, or zeros follow its bytes",
         f"{len(got)} B, want {len(want)} B")
    hole = ml.pattern("hole", 10)
    fd = os.open(P("fallocate"), os.O_WRONLY)
    off = len(got) + 4096
    try:
        os.pwrite(fd, hole, off)
        t.note(f"a write {off - len(got)} B past EOF succeeded: the gap should read as zeros")
        want = got + bytes(off - len(got)) + hole
    except OSError as e:
        t.ok(e.errno in (errno.EPERM, errno.EINVAL, errno.ENOTSUP),
             "a write past EOF (a hole) is refused with EPERM/EINVAL/ENOTSUP",
             ml.errname(e.errno))
        want = got
    close_ok(fd, "after the write past EOF")
    got = ml.read_file(P("fallocate"))
    t.ok(got == want, "after a write past EOF the file is unchanged, or the gap reads as "
         "zeros", f"{len(got)} B, want {len(want)} B")
    remember_file("fallocate", want)


# ---------------------------------------------------------------------------------------
# The whole volume again, after a remount

def check_volume(label):
    bad = []
    for rel, e in sorted(expect.items()):
        p = P(rel)
        try:
            st = os.lstat(p)
            if e["kind"] == "file":
                if not stat.S_ISREG(st.st_mode):
                    bad.append(f"{rel}: not a file ({oct(st.st_mode)})")
                    continue
                got = ml.read_file(p)
                if got != e["data"]:
                    bad.append(f"{rel}: {len(got)} B, want {len(e['data'])} B")
            elif e["kind"] == "dir":
                if not stat.S_ISDIR(st.st_mode):
                    bad.append(f"{rel}: not a directory")
            elif e["kind"] == "link":
                if not stat.S_ISLNK(st.st_mode) or os.readlink(p) != e["target"]:
                    bad.append(f"{rel}: not the symlink it was")
            for key, field in (("mode", "st_mode"), ("uid", "st_uid"), ("gid", "st_gid"),
                               ("mtime_ns", "st_mtime_ns"), ("atime_ns", "st_atime_ns")):
                if key in e:
                    have = getattr(st, field)
                    if key == "mode":
                        have = stat.S_IMODE(have)
                    if have != e[key]:
                        bad.append(f"{rel}: {key} {have}, want {e[key]}")
        except OSError as ex:
            bad.append(f"{rel}: {ex}")
    for rel in sorted(absent):
        if os.path.lexists(P(rel)):
            bad.append(f"{rel}: exists, but was removed or renamed away")
    t.ok(not bad, f"{label}: {len(expect)} files, directories and symlinks as they were "
         f"(content, mode, owner, times), {len(absent)} removed names absent",
         "\n".join(bad[:30]))


def remount_checks(m):
    row("durability: fsync/close returned 0 -> content survives a remount")
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount unmounts and the daemon exits 0", msg)
    m.start()
    t.ok(True, "remounted the same data directory")
    check_volume("after a clean remount")
    e = expect.get("versioned")
    if e:
        vers = check_versions("versioned", e["history"], "after remount")
        versions_cli("versioned", vers, e["history"])

    row("durability: a file whose fsync returned 0 survives SIGKILL of the daemon")
    data = ml.pattern("killed-after-fsync", 1 * MiB + 3)
    fd = os.open(P("fsync-then-kill"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    gone = m.kill()
    try:
        os.close(fd)
    except OSError:
        pass
    t.ok(gone is not None, "the mount disappeared after SIGKILL of the daemon (auto_unmount)",
         "still mounted 5 s later")
    m.start()
    got = ml.read_file(P("fsync-then-kill")) if os.path.exists(P("fsync-then-kill")) else None
    t.ok(got == data, "the fsynced file is complete after SIGKILL and remount",
         f"{None if got is None else len(got)} B")
    remember_file("fsync-then-kill", data)
    check_volume("after SIGKILL and remount")


# ---------------------------------------------------------------------------------------
# The command itself

def mount_command():
    print("# --- zgfs mount / zgfs umount", flush=True)
    base = ml.scratch("zgfs-mountcmd-")
    data = os.path.join(base, "data")
    mnt = os.path.join(base, "made", "by-mount")
    os.mkdir(os.path.join(base, "made"))
    r = ml.run([ZGFS, "mount", "--data", data, mnt], timeout=60)
    t.ok(r.returncode == 0 and ml.is_mounted(mnt),
         "without -f, zgfs mount returns 0 once mounted; a missing mountpoint is created",
         ml.text(r))
    if not ml.is_mounted(mnt):
        return
    try:
        ml.write_file(os.path.join(mnt, "f"), b"background")
        t.ok(ml.read_file(os.path.join(mnt, "f")) == b"background",
             "the background mount serves files")
        r = ml.run([ZGFS, "mount", "--data", data, os.path.join(base, "second")], timeout=60)
        t.ok(r.returncode == 1 and r.stderr.strip() and
             not ml.is_mounted(os.path.join(base, "second")),
             "a second mount of a data directory in use: exit 1 with a message", ml.text(r))
        t.note(f"second mount says: {ml.text(r)[:300]}")
        pid = None
        try:
            pid = int(open(os.path.join(data, "lock")).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    finally:
        r = ml.run([ZGFS, "umount", mnt], timeout=60)
    t.ok(r.returncode == 0 and not ml.is_mounted(mnt), "zgfs umount: exit 0, unmounted",
         ml.text(r))
    if pid:
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            try:
                if open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z":
                    break
            except (OSError, IndexError):
                break
            time.sleep(0.05)
        t.ok(not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z",
             "the daemon (pid in DATA/lock) has exited after zgfs umount")
    ml.force_unmount(mnt)

    full = os.path.join(base, "nonempty")
    os.mkdir(full)
    ml.write_file(os.path.join(full, "x"), b"x")
    r = ml.run([ZGFS, "mount", "--data", data, full], timeout=60)
    t.ok(r.returncode == 1 and not ml.is_mounted(full),
         "a non-empty mountpoint: exit 1 with a message", ml.text(r))
    ml.force_unmount(full)

    ro = os.path.join(base, "ro")
    m = ml.Mount(ZGFS, data, ro, ["-o", "ro"])
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "-o ro mounts", str(e))
    else:
        t.ok(ml.read_file(os.path.join(ro, "f")) == b"background",
             "-o ro: files written before read back")
        t.errno_is(lambda: ml.write_file(os.path.join(ro, "g"), b"x"), errno.EROFS,
                   "-o ro: create")
        t.errno_is(lambda: os.mkdir(os.path.join(ro, "dd")), errno.EROFS, "-o ro: mkdir")
        t.errno_is(lambda: ml.write_file(os.path.join(ro, "f"), b"x",
                                         flags=os.O_WRONLY | os.O_APPEND),
                   errno.EROFS, "-o ro: append")
        ok, msg = m.stop()
        t.ok(ok, "-o ro: zgfs umount", msg)

    ao = os.path.join(base, "ao")
    m = ml.Mount(ZGFS, data, ao, ["-o", "rw,append_only"])
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "-o rw,append_only mounts", str(e))
    else:
        global M
        saved, M = M, ao
        row("-o append_only -> every file strict append-only")
        content = ml.pattern("appendonly-mount", 8192)
        ml.write_file(os.path.join(ao, "appendonly-mount"), content)
        try:
            files_append_only("appendonly-mount", "-o append_only", content)
        finally:
            M = saved
        ok, msg = m.stop()
        t.ok(ok, "-o append_only: zgfs umount", msg)
    r = ml.run([ZGFS, "mount", "-o", "rw,bogus", "--data", data, os.path.join(base, "bad")],
               timeout=30)
    t.ok(r.returncode == 2 and b"bogus" in r.stderr, "an unknown -o option is refused, "
         "naming itself", ml.text(r))

    m = ml.Mount(ZGFS, data, os.path.join(base, "noverify"), ["--verify=never"])
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "--verify=never mounts", str(e))
    else:
        t.ok(ml.read_file(os.path.join(m.mnt, "f")) == b"background",
             "--verify=never: files read back")
        m.watchdog(30, "SIGKILL test")
        gone = m.kill(timeout=5)
        t.ok(gone is not None and gone < 3,
             "SIGKILL of the daemon: the mount goes away by itself (auto_unmount)",
             f"{'still mounted after 5 s' if gone is None else f'{gone:.1f} s'}")
        try:
            os.stat(m.mnt)
            t.ok(True, "no 'Transport endpoint is not connected' left on the mountpoint")
        except OSError as e:
            t.ok(e.errno != errno.ENOTCONN,
                 "no 'Transport endpoint is not connected' left on the mountpoint", str(e))
    r = ml.run([ZGFS, "mount", "--verify=sometimes", "--data", data,
                os.path.join(base, "bad")], timeout=30)
    t.ok(r.returncode != 0 and not ml.is_mounted(os.path.join(base, "bad")),
         "an unknown --verify value is refused", ml.text(r))
    ml.force_unmount(os.path.join(base, "bad"))
    ml.remove_scratch(base)


def main():
    global M, S, DATA, UMASK
    ml.require_fuse()
    UMASK = os.umask(0o022)
    UMASK = 0o022
    S = ml.scratch("zgfs-test-mount-")
    DATA = os.path.join(S, "data")
    M = os.path.join(S, "mnt")
    os.mkdir(M)
    m = ml.start_mount(t, ZGFS, DATA, M)
    t.ok(True, "zgfs mount -f printed 'zgfs mount: ready' and the kernel has the mount")
    t.ok(os.listdir(M) == [], "a fresh volume is an empty directory")
    groups = [files_create, files_append, files_write_anywhere, files_chattr,
              files_truncate_zero,
              files_truncate_other, files_versions_many, files_read, files_mmap_write, files_fsync,
              files_two_writers, dirs_mkdir_rmdir, dirs_readdir, dirs_unlink_open,
              dirs_rename, names, symlinks, hard_links, special_files, attributes, xattrs,
              unlisted]
    for g in groups:
        if not m.alive() or not ml.is_mounted(M):
            t.ok(False, f"{g.__name__}: the mount is still there",
                 "the daemon died:\n" + m.log_tail(4000))
            try:
                m.start()
            except ml.MountError as e:
                t.ok(False, "remount after the daemon died", str(e))
                break
        m.watchdog(600 if g is files_versions_many else 120, g.__name__)
        t0 = time.monotonic()
        t.run(g.__name__, g)
        m.cancel_watchdog()
        t.note(f"{g.__name__}: {time.monotonic() - t0:.1f} s")
    if m.alive():
        m.watchdog(180, "remount checks")
        t.run("remount", remount_checks, m)
    if m.alive():
        ok, msg = m.stop()
        t.ok(ok, "final zgfs umount", msg)
    r = ml.run([ZGFS, "kv", "verify", "--data", DATA], timeout=300)
    t.ok(r.returncode == 0, "zgfs kv verify: the KV state equals a replay of the log",
         ml.text(r))
    r = ml.run([ZGFS, "chain", "verify", "--data", DATA], timeout=300)
    t.ok(r.returncode == 0, "zgfs chain verify", ml.text(r))
    t.run("mount command", mount_command)
    log = m.log_tail(100000)
    t.note("mount daemon log (last lines):\n" + "\n".join(log.splitlines()[-15:]))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
