#!/usr/bin/env python3
"""The mount under bad input: long names, overwrites, a full disk, corrupted bytes, races.

usage: badinput_mount.py ZGFS

  - names past 255 bytes, paths past PATH_MAX and symlink targets past 4095 bytes are
    ENAMETOOLONG; other misuse (writing a directory, a file used as a directory, ...) gets
    the usual errno;
  - writes below EOF (write, pwrite, writev, a big write over a small file) change exactly
    the bytes they cover, and the file's root follows its content;
  - a full disk: the data directory on a 64 MiB tmpfs; a file too big for it fails with
    ENOSPC at write, fsync or close, the earlier files stay intact, the mount keeps
    serving (new small files work once the failed one is deleted) and everything is there
    after a remount; `zgfs chain verify` and `zgfs kv verify` pass;
  - corrupted bytes: one byte of a file flipped in DATA/store/packs/*.pack; after a
    remount reading that part is EIO (never wrong bytes), a mapping of it gets SIGBUS, the
    daemon's log names it, and other files read fine;
  - two writers appending to one file through their own descriptors, and threads that
    open, append a line and close, as agents' logs do: the result is the old bytes then
    whole writes, each acknowledged one exactly once, each writer's in its own order.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here.
"""
import contextlib
import errno
import glob
import os
import random
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: badinput_mount.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
KiB, MiB, SEG = 1024, 1 << 20, 256 * 1024
t = ml.Tap()
rng = random.Random(20261204)


def section(name):
    print(f"# --- {name}", flush=True)


# ---------------------------------------------------------------------------------------

def names_and_misuse(M):
    section("names too long, and misuse with the usual errno")
    os.mkdir(os.path.join(M, "n"))
    d = os.path.join(M, "n")
    for what, fn in [
            ("create", lambda n: os.close(os.open(os.path.join(d, n),
                                                  os.O_WRONLY | os.O_CREAT, 0o644))),
            ("mkdir", lambda n: os.mkdir(os.path.join(d, n))),
            ("symlink", lambda n: os.symlink("x", os.path.join(d, n))),
            ("stat", lambda n: os.stat(os.path.join(d, n))),
            ("open", lambda n: os.open(os.path.join(d, n), os.O_RDONLY)),
            ("unlink", lambda n: os.unlink(os.path.join(d, n))),
            ("getxattr", lambda n: os.getxattr(os.path.join(d, n), "user.zg.root"))]:
        for name in ["x" * 256, "\u00e9" * 128, "y" * 1000]:
            t.errno_is(lambda: fn(name), errno.ENAMETOOLONG,
                       f"{what} of a {len(name.encode())}-byte name")
    ml.write_file(os.path.join(d, "ok"), b"ok")
    t.errno_is(lambda: os.rename(os.path.join(d, "ok"), os.path.join(d, "z" * 256)),
               errno.ENAMETOOLONG, "rename to a 256-byte name")
    t.ok(ml.read_file(os.path.join(d, "ok")) == b"ok", "the file is still under its name")
    deep = os.path.join(d, *(["q" * 200] * 25))
    t.errno_is(lambda: os.stat(deep), errno.ENAMETOOLONG, "a path of 5000 bytes")
    t.errno_is(lambda: os.symlink("t" * 4096, os.path.join(d, "longtarget")),
               errno.ENAMETOOLONG, "a symlink target of 4096 bytes")
    os.symlink("t" * 4095, os.path.join(d, "maxtarget"))
    t.ok(os.readlink(os.path.join(d, "maxtarget")) == "t" * 4095,
         "a symlink target of 4095 bytes works")
    raw = os.path.join(os.fsencode(d), b"\xff" * 255)
    ml.write_file(raw, b"raw")
    t.ok(ml.read_file(raw) == b"raw", "a 255-byte name of 0xff bytes works")
    t.ok(sorted(os.listdir(d)) == sorted(["ok", "maxtarget", os.fsdecode(b"\xff" * 255)]),
         "nothing else appeared in the directory", f"{os.listdir(d)}")
    f = os.path.join(d, "ok")
    t.errno_is(lambda: os.open(d, os.O_WRONLY), errno.EISDIR, "open a directory for writing")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t.errno_is(lambda: os.read(fd, 10), errno.EISDIR, "read() of a directory")
    os.close(fd)
    t.errno_is(lambda: os.open(f, os.O_RDONLY | os.O_DIRECTORY), errno.ENOTDIR,
               "O_DIRECTORY on a file")
    t.errno_is(lambda: os.mkdir(os.path.join(f, "sub")), errno.ENOTDIR,
               "mkdir under a file")
    t.errno_is(lambda: ml.write_file(os.path.join(d, "missing", "x"), b"x"), errno.ENOENT,
               "create in a missing directory")
    t.errno_is(lambda: os.rmdir(M), {errno.EBUSY, errno.EPERM, errno.ENOTEMPTY, errno.EINVAL},
               "rmdir of the mount's root")
    t.errno_is(lambda: os.rename(os.path.join(d, "ok"), os.path.join("/tmp", "zgfs-out")),
               errno.EXDEV, "rename out of the mount")
    r = ml.run([ZGFS, "cat", f, "--version", "999999999"])
    t.ok(r.returncode != 0 and not r.stdout, "`zgfs cat --version` of a version that does "
         "not exist fails and prints nothing", ml.text(r))
    r = ml.run([ZGFS, "versions", "/etc/hostname"])
    t.ok(r.returncode != 0, "`zgfs versions` of a file outside any mount fails", ml.text(r))


def overwrites(M):
    section("writes below EOF: exactly the bytes they cover change")
    data = bytearray(ml.pattern("overwrite", MiB + 5))
    p = os.path.join(M, "keep")
    ml.write_file(p, bytes(data))
    root = ml.getxattr(p, "user.zg.root")
    fd = os.open(p, os.O_WRONLY)
    os.pwrite(fd, b"x" * (2 * MiB), 0)
    data[0:2 * MiB] = b"x" * (2 * MiB)
    os.pwritev(fd, [b"a" * 100, b"b" * 100], SEG)
    data[SEG:SEG + 200] = b"a" * 100 + b"b" * 100
    os.lseek(fd, MiB, os.SEEK_SET)
    os.writev(fd, [b"c" * 10])
    data[MiB:MiB + 10] = b"c" * 10
    os.pwrite(fd, b"d", 2 * MiB - 1)
    data[2 * MiB - 1:2 * MiB] = b"d"
    try:
        os.close(fd)
        t.ok(True, "close after writes below EOF returns 0")
    except OSError as e:
        t.ok(False, "close after writes below EOF returns 0", str(e))
    got = ml.read_file(p)
    t.ok(got == bytes(data), "a big write over a small file, pwritev, writev and a one-byte "
         "pwrite below EOF: exactly the bytes they cover changed", f"{len(got)} B")
    copy = os.path.join(os.path.dirname(M), "keep-copy")
    with open(copy, "wb") as f:
        f.write(bytes(data))
    t.ok(ml.getxattr(p, "user.zg.root") != root and
         ml.getxattr(p, "user.zg.root") == ml.zgfs_root(ZGFS, copy),
         "the root follows the content (the 0G root of the new bytes)")
    os.unlink(copy)


# ---------------------------------------------------------------------------------------

def full_disk(base):
    section("a full disk: the data directory on a 64 MiB tmpfs")
    if os.geteuid() != 0:
        t.skip("full disk", "mounting a tmpfs needs root")
        return
    small = os.path.join(base, "small")
    os.mkdir(small)
    r = ml.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", small])
    if r.returncode != 0:
        t.skip("full disk", f"cannot mount a tmpfs: {ml.text(r)}")
        return
    try:
        full_disk_on(small, os.path.join(base, "mnt-small"))
    finally:
        for m in [m for m in ml._mounts if m.data.startswith(small)]:
            m.cleanup()
        r = ml.run(["umount", small])
        if r.returncode != 0:
            ml.run(["umount", "-l", small])


def full_disk_on(small, mnt):
    data = os.path.join(small, "data")
    m = ml.Mount(ZGFS, data, mnt, log=os.path.join(os.path.dirname(small), "small.log"))
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "mount with --data on a 64 MiB tmpfs", str(e))
        return
    m.watchdog(180, "full disk")
    vfs = os.statvfs(mnt)
    t.ok(0 < vfs.f_bavail * vfs.f_frsize <= 64 * MiB,
         "statvfs of the mount shows the tmpfs's free space",
         f"{vfs.f_bavail * vfs.f_frsize} B available")
    kept = {}
    for i in range(5):
        p = os.path.join(mnt, f"early-{i}")
        kept[p] = ml.pattern(f"early-{i}", MiB + i)
        ml.write_file(p, kept[p], fsync=True)
    big = os.path.join(mnt, "too-big")
    where = None
    written = 0
    fd = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    chunk = ml.pattern("too-big", MiB)
    try:
        for _ in range(100):
            written += os.write(fd, chunk)
        where = "fsync"
        os.fsync(fd)
        where = "close"
        fd, fd_ = None, fd
        os.close(fd_)
        where = None
        err = None
    except OSError as e:
        err = e
        if where is None:
            where = f"write (after {written // MiB} MiB)"
        if fd is not None:
            try:
                os.close(fd)
            except OSError as e2:
                t.note(f"close after the failed {where}: {e2}")
    t.ok(err is not None and err.errno == errno.ENOSPC,
         f"a 100 MiB file on 64 MiB fails with ENOSPC ({where})",
         f"{'no error' if err is None else err}")
    alive = m.alive() and ml.is_mounted(mnt)
    t.ok(alive, "the mount is still there after ENOSPC", m.log_tail(3000))
    if not alive:
        return
    bad = [p for p, d in kept.items() if ml.read_file(p) != d]
    t.ok(not bad, "the 5 files written before read back intact", f"{bad}")
    try:
        st = os.stat(big)
        t.ok(st.st_size == 0, "the failed file is absent or at its last settled version "
             "(empty)", f"{st.st_size} B")
        os.unlink(big)
    except FileNotFoundError:
        t.ok(True, "the failed file is absent or at its last settled version (empty)")
    first = sorted(kept)[0]
    os.unlink(first)
    del kept[first]
    try:
        for i in range(3):
            p = os.path.join(mnt, f"after-{i}")
            kept[p] = ml.pattern(f"after-{i}", 4096 * (i + 1))
            ml.write_file(p, kept[p])
        bad = [p for p, d in kept.items() if ml.read_file(p) != d]
        t.ok(not bad, "after deleting, new small files can be written and everything reads "
             "back", f"{bad}")
    except OSError as e:
        t.ok(False, "after deleting, new small files can be written", str(e))
    t.ok(sorted(os.listdir(mnt)) == sorted(os.path.basename(p) for p in kept),
         "the directory lists exactly the files there should be", f"{os.listdir(mnt)}")
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount after ENOSPC", msg)
    r = ml.run([ZGFS, "chain", "verify", "--data", data], timeout=120)
    t.ok(r.returncode == 0, "zgfs chain verify after ENOSPC", ml.text(r))
    r = ml.run([ZGFS, "kv", "verify", "--data", data], timeout=120)
    if r.returncode != 0 and "No space" in ml.text(r):
        t.skip("zgfs kv verify after ENOSPC", "its scratch copy does not fit on the tmpfs")
    else:
        t.ok(r.returncode == 0, "zgfs kv verify after ENOSPC", ml.text(r))
    try:
        m.start()
    except ml.MountError as e:
        t.ok(False, "remount after ENOSPC", str(e))
        return
    bad = [p for p, d in kept.items() if not os.path.exists(p) or ml.read_file(p) != d]
    t.ok(not bad and sorted(os.listdir(mnt)) == sorted(os.path.basename(p) for p in kept),
         "after a remount every acknowledged file is intact, nothing else is there",
         f"{bad} {os.listdir(mnt)}")
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount", msg)


# ---------------------------------------------------------------------------------------

def corruption(base):
    section("a byte flipped in a pack file: EIO, never wrong bytes")
    data_dir = os.path.join(base, "cdata")
    mnt = os.path.join(base, "cmnt")
    m = ml.Mount(ZGFS, data_dir, mnt)
    m.start()
    marker = b"ZGFS-CORRUPTION-MARKER-" + ml.pattern("marker", 41)
    victim_data = bytearray(ml.pattern("victim", MiB))
    at = 300 * KiB  # in segment 1 of 4
    victim_data[at:at + len(marker)] = marker
    victim_data = bytes(victim_data)
    victim = os.path.join(mnt, "victim")
    other = os.path.join(mnt, "bystander")
    other_data = ml.pattern("bystander", 300 * KiB)
    ml.write_file(victim, victim_data)
    ml.write_file(other, other_data)
    seq, _, _, root = ml.getxattr(victim, "user.zg.extents").split()[:4]
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount before corrupting", msg)
    hits = []
    for pack in sorted(glob.glob(os.path.join(data_dir, "store", "packs", "*.pack"))):
        with open(pack, "rb") as f:
            blob = f.read()
        for mo in re.finditer(re.escape(marker), blob):
            hits.append((pack, mo.start()))
    t.ok(len(hits) >= 1, f"the file's bytes found in the pack files ({len(hits)} copies)",
         f"packs: {glob.glob(os.path.join(data_dir, 'store', 'packs', '*'))}")
    if not hits:
        return
    for pack, off in hits:
        with open(pack, "r+b") as f:
            f.seek(off + 10)
            b = f.read(1)
            f.seek(off + 10)
            f.write(bytes([b[0] ^ 0x01]))
            f.flush()
            os.fsync(f.fileno())
    m.start()
    m.watchdog(120, "corruption")
    got, err = b"", None
    try:
        with open(victim, "rb", buffering=0) as f:
            while True:
                b = f.read(64 * KiB)
                if not b:
                    break
                got += b
    except OSError as e:
        err = e
    t.ok(err is not None and err.errno == errno.EIO,
         "reading the file through the flipped byte fails with EIO",
         f"{'read it all: ' + str(len(got)) + ' B' if err is None else err}")
    t.ok(got == victim_data[:len(got)], f"every byte returned before the error is right "
         f"({len(got)} B)", "wrong bytes were returned")
    fd = os.open(victim, os.O_RDONLY)
    try:
        b = os.pread(fd, 100, at)
        t.ok(False, "pread of the flipped range fails with EIO",
             f"returned {len(b)} B, {'right' if b == victim_data[at:at + 100] else 'WRONG'}")
    except OSError as e:
        t.ok(e.errno == errno.EIO, "pread of the flipped range fails with EIO", str(e))
    try:
        b = os.pread(fd, 4096, 0)
        t.ok(b == victim_data[:4096], "pread of an intact segment of the same file returns "
             "right bytes (or fails)")
    except OSError as e:
        t.note(f"pread of segment 0 of the corrupted file: {e}")
    os.close(fd)
    # A mapping of the bad page must fault (SIGBUS), not show wrong bytes.
    code = ("import mmap,os,sys\n"
            "f=open(sys.argv[1],'rb'); m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\n"
            "b=m[int(sys.argv[2]):int(sys.argv[2])+100]\n"
            "sys.exit(0 if b.hex()==sys.argv[3] else 3)\n")
    r = ml.run([sys.executable, "-c", code, victim, str(at),
                victim_data[at:at + 100].hex()], timeout=60)
    t.ok(r.returncode == -signal.SIGBUS, "reading the flipped page through mmap is SIGBUS",
         f"exit {r.returncode} ({'right bytes' if r.returncode == 0 else 'wrong bytes' if r.returncode == 3 else ml.text(r)[-300:]})")
    t.ok(ml.read_file(other) == other_data, "another file reads back intact")
    log = m.log_tail()
    named = [line for line in log.splitlines()
             if root[2:14] in line or re.search(rf"(entry|seq)\D{{0,12}}\b{seq}\b", line)]
    t.ok(named, f"the daemon's log names the corrupt entry (tx seq {seq} or its root)",
         "\n".join(log.splitlines()[-5:]))
    t.ok(any("CORRUPT" in line and "/victim" in line for line in log.splitlines()),
         "the corrupt-data line names the file's path (/victim), not only its inode",
         "\n".join(line for line in log.splitlines() if "CORRUPT" in line)[:600])
    t.ok(all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z zgfs mount: ", line)
             for line in log.splitlines() if "zgfs mount:" in line),
         "every line of the mount's log starts with a UTC timestamp",
         "\n".join(log.splitlines()[:3]))
    t.note("log: " + " | ".join(set(line for line in log.splitlines()
                                     if "verif" in line or "CORRUPT" in line))[:600])
    ml.write_file(os.path.join(mnt, "new"), b"still serving")
    t.ok(ml.read_file(os.path.join(mnt, "new")) == b"still serving",
         "the mount keeps serving new files")
    m.cancel_watchdog()
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount", msg)


# ---------------------------------------------------------------------------------------

HEAD = re.compile(rb"\[W(\d)R(\d{4})L(\d{6})\]")


def record(w, i, size):
    head = b"[W%dR%04dL%06d]" % (w, i, size)
    return head + ml.pattern(f"rec-{w}-{i}", size)


def parse_records(blob):
    """[(w, i)] of whole records back to back, or raises ValueError at the first bad one."""
    out, pos = [], 0
    while pos < len(blob):
        mo = HEAD.match(blob, pos)
        if not mo:
            raise ValueError(f"no record header at +{pos}: {blob[pos:pos + 20]!r}")
        w, i, size = int(mo[1]), int(mo[2]), int(mo[3])
        end = mo.end() + size
        if blob[pos:end] != record(w, i, size):
            raise ValueError(f"record W{w}R{i} at +{pos} is torn or wrong")
        out.append((w, i))
        pos = end
    return out


def two_writers(M, m, seek):
    how = "lseek(SEEK_END) before each write" if seek else "O_APPEND"
    section(f"two writers on one file, {how}")
    p = os.path.join(M, f"shared-{'seek' if seek else 'append'}")
    base = ml.pattern("shared-base", 10 * KiB)
    ml.write_file(p, base)
    res = {}
    go = threading.Barrier(2)
    turn = threading.Lock()

    def writer(w):
        r = random.Random(w * 7 + seek)
        acked, refused, other = [], [], []
        fd = os.open(p, os.O_WRONLY | (0 if seek else os.O_APPEND))
        go.wait()
        for i in range(40):
            rec = record(w, i, r.choice([1, 100, 4096, 20000]))
            try:
                # lseek + write is two calls: writers that take turns hold a lock across
                # them, as programs sharing a file do (O_APPEND needs none).
                with (turn if seek else contextlib.nullcontext()):
                    if seek:
                        os.lseek(fd, 0, os.SEEK_END)
                    n = os.write(fd, rec)
                if n == len(rec):
                    acked.append(i)
                else:
                    other.append((i, "short write"))
            except OSError as e:
                (refused if e.errno == errno.EPERM else other).append((i, ml.errname(e.errno)))
            time.sleep(r.random() * 0.002)
        closing = time.monotonic()
        try:
            os.close(fd)
            closed = time.monotonic()
        except OSError as e:
            closed = None
            other.append(("close", str(e)))
        res[w] = dict(acked=acked, refused=refused, other=other, closing=closing,
                      closed=closed)

    threads = [threading.Thread(target=writer, args=(w,)) for w in (1, 2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    if m.overflow or not m.alive():
        t.ok(False, f"{how}: the mount survives two writers",
             f"the data directory grew by {m.overflow >> 20} MiB for a file of a few "
             f"hundred KiB" if m.overflow else m.log_tail(2000))
        return
    if any(th.is_alive() for th in threads):
        t.ok(False, f"{how}: the writers finish within 60 s")
        return
    got = ml.read_file(p)
    t.note(" ".join(f"writer {w}: {len(v['acked'])} written, {len(v['refused'])} EPERM, "
                    f"other {v['other'][:3]};" for w, v in sorted(res.items())))
    t.ok(all(not v["other"] and not v["refused"] for v in res.values()),
         f"{how}: every write succeeded; closes returned 0",
         f"{[v['other'] + v['refused'] for v in res.values()]}")
    t.ok(got[:len(base)] == base, f"{how}: the old bytes are untouched")
    try:
        recs = parse_records(got[len(base):])
        t.ok(True, f"{how}: after them, {len(recs)} whole records back to back (no torn or "
             "mixed writes)")
    except ValueError as e:
        t.ok(False, f"{how}: after them, whole records back to back", str(e))
        return
    dups = len(recs) - len(set(recs))
    want = {(w, i) for w, v in res.items() if v["closed"] for i in v["acked"]}
    refused = {(w, i) for w, v in res.items() for i, _ in v["refused"]}
    t.ok(not dups and set(recs) == want,
         f"{how}: each acknowledged write exactly once, no refused write",
         f"{dups} duplicates; missing {sorted(want - set(recs))[:10]}; refused but "
         f"present {sorted(set(recs) & refused)[:10]}; extra {sorted(set(recs) - want)[:10]}")
    t.ok(all([i for x, i in recs if x == w] == sorted(v["acked"]) for w, v in res.items()),
         f"{how}: each writer's records in the order it wrote them",
         f"writers in file order: {[w for w, _ in recs][:80]}")


def log_appenders(M):
    section("agents appending to a log: open(O_APPEND), write a line, close; 4 threads")
    p = os.path.join(M, "agents.log")
    ml.write_file(p, b"")
    acked, failed = [], []
    lock = threading.Lock()

    def agent(a):
        for i in range(30):
            line = f"agent {a} line {i:03d} {'x' * random.Random(a * 1000 + i).randrange(200)}\n"
            try:
                fd = os.open(p, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
                with lock:
                    acked.append(line)
            except OSError as e:
                with lock:
                    failed.append((line, ml.errname(e.errno)))

    threads = [threading.Thread(target=agent, args=(a,)) for a in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    got = ml.read_file(p).decode(errors="replace")
    lines = got.splitlines(keepends=True)
    t.note(f"{len(acked)} lines acknowledged, {len(failed)} failed "
           f"({sorted({e for _, e in failed})})")
    t.ok(not failed, "every open/append/close of a line succeeds",
         f"{failed[:5]}")
    t.ok(got.endswith("\n") or not got, "the log is whole lines")
    t.ok(sorted(lines) == sorted(acked), "each acknowledged line is in the log exactly once, "
         "whole", f"{len(lines)} lines in the log, {len(acked)} acknowledged; "
         f"missing {sorted(set(acked) - set(lines))[:3]} extra "
         f"{sorted(set(lines) - set(acked))[:3]}")
    per_agent = {}
    for line in lines:
        per_agent.setdefault(line.split()[1], []).append(line)
    t.ok(all(v == sorted(v) for v in per_agent.values()),
         "each agent's lines are in the order it wrote them")


def main():
    ml.require_fuse()
    base = ml.scratch("zgfs-badinput-")
    M = os.path.join(base, "mnt")
    m = ml.start_mount(t, ZGFS, os.path.join(base, "data"), M, max_data=512 * MiB)
    for fn in (names_and_misuse, overwrites, log_appenders,
               lambda M: two_writers(M, m, False), lambda M: two_writers(M, m, True)):
        if not m.alive() or not ml.is_mounted(M):
            t.ok(False, "the mount is still there before the next check",
                 m.log_tail(3000))
            try:
                m.kill()
                m.start()
            except ml.MountError as e:
                t.ok(False, "remount", str(e))
                break
        m.watchdog(120, "checks")
        t.run(getattr(fn, "__name__", "check"), fn, M)
        m.cancel_watchdog()
    if m.alive():
        ok, msg = m.stop()
        t.ok(ok, "zgfs umount", msg)
    t.run("corruption", corruption, base)
    t.run("full disk", full_disk, base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
