#!/usr/bin/env python3
"""Real programs in a mount: what people run on a filesystem, checked byte for byte.

usage: tools_mount.py ZGFS

Mounts a fresh volume with `zgfs mount -f` and runs, each as a group of checks:
  - sqlite3: the CLI makes a database with 10,000 inserts in transactions of 100;
    `PRAGMA integrity_check` is ok and the count and sum are right, again after a
    remount. Python's sqlite3 module does the same in WAL mode (its -shm file is a shared
    writable mapping);
  - git: `git clone --no-local` of a repository outside the mount into it, a commit in the
    clone, `git fetch` of a new commit made in the origin, `git gc`, `git fsck` clean;
  - tail -f: a writer appends a numbered line every 10 ms with O_APPEND (also through
    Python's logging.FileHandler) while a reader polls, keeping its descriptor or
    reopening, and while `tail -f` follows: the writer never gets an error and the
    reader sees every line, in order, before the writer closes;
  - cp and cat of a file that is open and being written (appends and an overwrite, not
    fsync'd) get every byte written so far;
  - `rsync --inplace --no-whole-file` of a modified file (grown, then shrunk) onto the
    copy in the mount: the same inode, and the same bytes, also after a remount;
  - dbm.dumb and shelve: many keys written, updated and deleted; reopened and read back,
    also after a remount;
  - numpy.memmap in modes w+ and r+ (run by /usr/bin/python3, which has Debian's numpy):
    writes through the map, flush, and the bytes read back by plain reads and after a
    remount;
  - logrotate's copytruncate: `cp` then `truncate -s 0` while a writer appends with
    O_APPEND: no error, the writer's next lines start at offset 0 of the emptied file,
    the copy plus the file hold every line exactly once;
  - versions by path: 500 safe saves of memory.json (write a temporary file, fsync,
    rename over), then `zgfs versions` lists 500 versions, oldest first, with each
    save's size and root, and `zgfs cat --version` prints their bytes.
A program missing here skips its group, with the reason.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here.
"""
import dbm
import dbm.dumb
import errno
import hashlib
import json
import logging
import os
import random
import shelve
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: tools_mount.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
KiB, MiB = 1024, 1 << 20
t = ml.Tap()
rng = random.Random(20261202)
MOUNT = None  # the ml.Mount, for groups that remount


def P(*parts):
    return os.path.join(M, *parts)


def missing(*tools):
    """The first of tools that is not installed, or None."""
    for tool in tools:
        if not shutil.which(tool):
            return tool
    return None


def skip_group(what, tool, package):
    t.skip(what, f"{tool} is not installed (Debian package {package})")


def remount(what):
    """Unmounts and mounts the volume again; False (and a failed point) when it fails."""
    ok, msg = MOUNT.stop()
    if not t.ok(ok, f"{what}: zgfs umount", msg):
        return False
    try:
        MOUNT.start()
    except ml.MountError as e:
        return t.ok(False, f"{what}: remount", str(e))
    return True


def run_ok(args, what, timeout=120, input=None, cwd=None, env=None):
    """Runs a command; one point, ok when it exits 0. Returns the CompletedProcess."""
    try:
        r = subprocess.run(args, capture_output=True, timeout=timeout, input=input,
                           cwd=cwd, env=env)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(args, -9, e.stdout or b"",
                                        (e.stderr or b"") + b"\n(timed out)")
    t.ok(r.returncode == 0, what, f"$ {' '.join(args)}\nexit {r.returncode}\n{ml.text(r)}")
    return r


def same_bytes(got, want, what):
    d = ml.first_difference(got, want)
    return t.ok(d is None, what, f"{len(got)} B, want {len(want)} B; first difference at "
                f"offset {d}")


# ---------------------------------------------------------------------------------------
# sqlite3

ROWS, BATCH = 10_000, 100


def sqlite_rows():
    r = random.Random("sqlite rows")
    return [(i, r.randrange(1 << 40), r.randbytes(r.randrange(10, 300)).hex())
            for i in range(ROWS)]


def sqlite_cli():
    if missing("sqlite3"):
        return skip_group("sqlite3 CLI", "sqlite3", "sqlite3")
    db = P("cli.db")
    rows = sqlite_rows()
    script = ["CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER, s TEXT);"]
    for b in range(0, ROWS, BATCH):
        script.append("BEGIN;")
        script += [f"INSERT INTO t VALUES ({i}, {x}, '{s}');" for i, x, s in rows[b:b + BATCH]]
        script.append("COMMIT;")
    run_ok(["sqlite3", db], f"sqlite3 CLI: {ROWS} inserts in transactions of {BATCH}",
           timeout=300, input="\n".join(script).encode())
    want = f"{ROWS}|{sum(x for _, x, _ in rows)}|{sum(len(s) for _, _, s in rows)}"
    query = "PRAGMA integrity_check; SELECT count(*), sum(x), sum(length(s)) FROM t;"

    def check(label):
        r = ml.run(["sqlite3", db, query], timeout=120)
        out = r.stdout.decode(errors="replace").split()
        t.ok(r.returncode == 0 and out[:1] == ["ok"], f"sqlite3 CLI {label}: PRAGMA "
             "integrity_check says ok", ml.text(r))
        t.ok(out[1:2] == [want], f"sqlite3 CLI {label}: count, sum and lengths are right",
             f"got {out[1:]}, want {want}")
    check("after the inserts")
    r = ml.run(["sqlite3", db, "UPDATE t SET x = x + 1 WHERE id % 7 = 0; "
                "DELETE FROM t WHERE id % 11 = 0; VACUUM;"], timeout=120)
    t.ok(r.returncode == 0, "sqlite3 CLI: an UPDATE, a DELETE and VACUUM", ml.text(r))
    kept = [(i, x + (1 if i % 7 == 0 else 0), s) for i, x, s in rows if i % 11]
    want = f"{len(kept)}|{sum(x for _, x, _ in kept)}|{sum(len(s) for _, _, s in kept)}"
    check("after UPDATE, DELETE, VACUUM")
    if remount("sqlite3 CLI"):
        check("after a remount")


def sqlite_python():
    db = P("py.db")
    rows = sqlite_rows()
    con = sqlite3.connect(db, isolation_level=None)
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    t.ok(mode == "wal", "python sqlite3: journal_mode=WAL is taken (the -shm file is a "
         "shared writable mapping)", f"journal_mode is {mode}")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER, s TEXT)")
    for b in range(0, ROWS, BATCH):
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows[b:b + BATCH])
        con.execute("COMMIT")
    # A second connection, as another process would have, sees the committed rows.
    other = sqlite3.connect(db)
    n = other.execute("SELECT count(*) FROM t").fetchone()[0]
    other.close()
    t.ok(n == ROWS, "python sqlite3: a second connection sees every committed row",
         f"{n} rows")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    want = (ROWS, sum(x for _, x, _ in rows))

    def check(label):
        con = sqlite3.connect(db)
        try:
            ic = con.execute("PRAGMA integrity_check").fetchall()
            got = con.execute("SELECT count(*), sum(x) FROM t").fetchone()
            some = con.execute("SELECT id, x, s FROM t WHERE id IN (0, 4321, 9999) "
                               "ORDER BY id").fetchall()
        finally:
            con.close()
        t.ok(ic == [("ok",)], f"python sqlite3 {label}: integrity_check says ok", f"{ic}")
        t.ok(got == want and some == [rows[0], rows[4321], rows[9999]],
             f"python sqlite3 {label}: count, sum and three rows are right",
             f"got {got}, want {want}")
    check("after the inserts")
    if remount("python sqlite3"):
        check("after a remount")


# ---------------------------------------------------------------------------------------
# git

def git_env(home):
    return dict(os.environ, HOME=home, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Test",
                GIT_AUTHOR_EMAIL="test@example.invalid", GIT_COMMITTER_NAME="Test",
                GIT_COMMITTER_EMAIL="test@example.invalid", LC_ALL="C")


def git_group():
    if missing("git"):
        return skip_group("git", "git", "git")
    home = os.path.join(S, "git-home")
    os.mkdir(home)
    env = git_env(home)
    origin = os.path.join(S, "origin")

    def git(*args, cwd, what=None):
        return run_ok(["git", *args], what or f"git {' '.join(args)}", cwd=cwd, env=env,
                      timeout=300)

    def rev(repo, ref):
        r = subprocess.run(["git", "rev-parse", ref], cwd=repo, env=env, capture_output=True)
        return r.stdout.decode().strip()
    r = random.Random("git")
    subprocess.run(["git", "init", "-q", "-b", "main", origin], env=env, check=True)
    for c in range(4):
        for k in range(20):
            name = os.path.join(origin, f"dir{k % 3}", f"file{k}.txt")
            os.makedirs(os.path.dirname(name), exist_ok=True)
            with open(name, "a") as f:
                f.write(f"commit {c} file {k} " + r.randbytes(r.randrange(100, 20000)).hex()
                        + "\n")
        with open(os.path.join(origin, "blob.bin"), "wb") as f:
            f.write(r.randbytes(300 * KiB))
        subprocess.run(["git", "add", "-A"], cwd=origin, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"commit {c}"], cwd=origin, env=env,
                       check=True)
    clone = P("clone")
    if not git("clone", "-q", "--no-local", origin, clone, cwd=S,
               what="git clone --no-local into the mount").returncode == 0:
        return
    t.ok(rev(clone, "HEAD") == rev(origin, "HEAD"), "the clone's HEAD is the origin's")
    diff = subprocess.run(["diff", "-r", "-x", ".git", origin, clone], capture_output=True)
    t.ok(diff.returncode == 0, "the clone's work tree equals the origin's", ml.text(diff))
    with open(os.path.join(clone, "dir0", "file0.txt"), "r+") as f:
        f.seek(10)
        f.write("EDITED IN THE MIDDLE")
    ml.write_file(os.path.join(clone, "new-in-clone.txt"), b"made in the clone\n" * 1000)
    git("add", "-A", cwd=clone, what="git add in the clone")
    git("commit", "-q", "-m", "in the clone", cwd=clone, what="git commit in the clone")
    st = subprocess.run(["git", "status", "--porcelain"], cwd=clone, env=env,
                        capture_output=True)
    t.ok(st.returncode == 0 and st.stdout == b"", "git status in the clone: clean",
         ml.text(st))
    with open(os.path.join(origin, "dir1", "file1.txt"), "a") as f:
        f.write("a new commit in the origin\n")
    subprocess.run(["git", "commit", "-q", "-am", "new in origin"], cwd=origin, env=env,
                   check=True)
    git("fetch", "-q", "origin", cwd=clone, what="git fetch of a new commit from the origin")
    t.ok(rev(clone, "origin/main") == rev(origin, "HEAD"),
         "after the fetch, origin/main in the clone is the origin's new HEAD")
    git("merge", "-q", "--no-edit", "origin/main", cwd=clone, what="git merge origin/main")
    git("gc", "-q", "--aggressive", "--prune=now", cwd=clone, what="git gc")
    r = git("fsck", "--full", "--strict", cwd=clone, what="git fsck --full --strict")
    t.ok(b"error" not in r.stdout + r.stderr and b"missing" not in r.stdout + r.stderr,
         "git fsck reports no error and nothing missing", ml.text(r))
    count = subprocess.run(["git", "count-objects", "-v"], cwd=clone, env=env,
                           capture_output=True).stdout.decode()
    t.note("after gc: " + ", ".join(count.split("\n")))
    head = rev(clone, "HEAD")
    if remount("git"):
        t.ok(rev(clone, "HEAD") == head, "after a remount the clone's HEAD is the same")
        git("fsck", "--full", cwd=clone, what="git fsck --full after a remount")
        st = subprocess.run(["git", "status", "--porcelain"], cwd=clone, env=env,
                            capture_output=True)
        t.ok(st.returncode == 0 and st.stdout == b"", "git status after a remount: clean",
             ml.text(st))


# ---------------------------------------------------------------------------------------
# tail -f

LINES, TICK = 300, 0.010
LAG_LIMIT = 2.0  # seconds between a line's write and its arrival at the reader


def numbered(i):
    return f"line {i:05d} {'.' * (i % 37)}\n"


class Follow:
    """One writer appending numbered lines, one reader following the file."""

    def __init__(self, path, writer_kind):
        self.path, self.kind = path, writer_kind
        self.written = {}   # line number -> monotonic time of its write
        self.seen = {}      # line number -> monotonic time the reader got it
        self.errors = []
        self.reader_has_all = threading.Event()
        self.closed_at = None
        self.all_seen_at = None

    def writer(self):
        try:
            if self.kind == "logging":
                log = logging.getLogger(f"zgfs-tools-{id(self)}")
                log.propagate = False
                log.setLevel(logging.INFO)
                h = logging.FileHandler(self.path, mode="a")
                h.setFormatter(logging.Formatter("%(message)s"))
                h.handleError = lambda record: self.errors.append(
                    f"logging: {sys.exc_info()[1]!r}")
                log.addHandler(h)
            else:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            t0 = time.monotonic()
            for i in range(LINES):
                if self.kind == "logging":
                    log.info(numbered(i).rstrip("\n"))
                else:
                    os.write(fd, numbered(i).encode())
                self.written[i] = time.monotonic()
                delay = t0 + (i + 1) * TICK - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # the writer's pace, not a wait for anything
            # Stay open until the reader has everything (bounded): it must not need the
            # close to see the lines.
            self.reader_has_all.wait(timeout=LAG_LIMIT + 10)
            self.closed_at = time.monotonic()
            if self.kind == "logging":
                log.removeHandler(h)
                h.close()
            else:
                os.close(fd)
        except OSError as e:
            self.errors.append(f"{ml.errname(e.errno)}: {e}")

    def take(self, buf):
        """Consumes whole lines from buf (bytes); returns what is left."""
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            n = len(self.seen)
            if line.decode(errors="replace") + "\n" != numbered(n):
                self.errors.append(f"reader: line {n} is {line[:60]!r}")
                self.reader_has_all.set()
                return b""
            self.seen[n] = time.monotonic()
        if len(self.seen) == LINES and not self.reader_has_all.is_set():
            self.all_seen_at = time.monotonic()
            self.reader_has_all.set()
        return buf

    def reader(self, how):
        deadline = time.monotonic() + LINES * TICK + LAG_LIMIT + 10
        buf, pos = b"", 0
        fd = os.open(self.path, os.O_RDONLY) if how == "same fd" else None
        try:
            while not self.reader_has_all.is_set() and time.monotonic() < deadline:
                if how == "same fd":
                    b = os.read(fd, 65536)
                else:
                    with open(self.path, "rb") as f:
                        f.seek(pos)
                        b = f.read()
                pos += len(b)
                buf = self.take(buf + b)
                if not b:
                    time.sleep(0.002)  # poll interval, as tail -f -s would
        finally:
            if fd is not None:
                os.close(fd)

    def tail_reader(self):
        deadline = time.monotonic() + LINES * TICK + LAG_LIMIT + 10
        p = subprocess.Popen(["tail", "-n", "+1", "-f", "-s", "0.02", self.path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(p.stdout.fileno(), False)
        buf = b""
        try:
            while not self.reader_has_all.is_set() and time.monotonic() < deadline:
                try:
                    b = os.read(p.stdout.fileno(), 65536)
                except BlockingIOError:
                    b = b""
                buf = self.take(buf + b)
                if not b:
                    if p.poll() is not None:
                        self.errors.append(f"tail exited {p.returncode}: "
                                           f"{p.stderr.read().decode(errors='replace')}")
                        return
                    time.sleep(0.002)
        finally:
            p.kill()
            p.wait()


def tail_group():
    variants = [("O_APPEND", "same fd"), ("O_APPEND", "reopen"), ("logging", "same fd"),
                ("logging", "reopen"), ("O_APPEND", "tail -f")]
    for kind, how in variants:
        what = f"tail -f: {kind} writer, reader {'polling by ' + how if how != 'tail -f' else 'tail -f -s 0.02'}"
        if how == "tail -f" and missing("tail"):
            skip_group(what, "tail", "coreutils")
            continue
        path = P(f"follow-{kind}-{how.replace(' ', '-')}.log")
        ml.write_file(path, b"")
        fo = Follow(path, kind)
        rd = threading.Thread(target=fo.tail_reader if how == "tail -f" else fo.reader,
                              args=() if how == "tail -f" else (how,))
        wr = threading.Thread(target=fo.writer)
        rd.start()
        wr.start()
        wr.join(timeout=LINES * TICK + LAG_LIMIT + 30)
        fo.reader_has_all.set()
        rd.join(timeout=30)
        werr = [e for e in fo.errors if not e.startswith("reader")]
        t.ok(not wr.is_alive() and not werr, f"{what}: the writer never got an error",
             f"{fo.errors}")
        lags = [fo.seen[i] - fo.written[i] for i in fo.seen if i in fo.written]
        before_close = fo.all_seen_at is not None and (fo.closed_at is None or
                                                       fo.all_seen_at <= fo.closed_at)
        t.ok(len(fo.seen) == LINES and before_close and
             not [e for e in fo.errors if e.startswith("reader")],
             f"{what}: the reader saw all {LINES} lines, in order, before the writer closed",
             f"saw {len(fo.seen)} lines; {fo.errors[:5]}")
        t.ok(lags and max(lags) < LAG_LIMIT, f"{what}: every line reached the reader within "
             f"{LAG_LIMIT} s of its write", f"max lag {max(lags) if lags else None}")
        if lags:
            t.note(f"{what}: lag median {sorted(lags)[len(lags) // 2] * 1000:.1f} ms, max "
                   f"{max(lags) * 1000:.1f} ms")
        want = "".join(numbered(i) for i in range(LINES)).encode()
        same_bytes(ml.read_file(path), want, f"{what}: the file holds every line once")


# ---------------------------------------------------------------------------------------
# cp and cat of a file being written

def copy_open_file():
    tool = missing("cp", "cat")
    if tool:
        return skip_group("cp/cat of an open file", tool, "coreutils")
    path = P("being-written")
    data = ml.pattern("being-written", 3 * MiB + 4321)
    over = ml.pattern("overwrite", 5000)
    tail = ml.pattern("after-hole", 4096)
    a, b = 1 * MiB + 12345, 2 * MiB

    def step1(fd):
        os.write(fd, data[:a])
        return data[:a]

    def step2(fd):
        os.pwrite(fd, over, 1000)
        os.write(fd, data[a:b])
        return data[:1000] + over + data[6000:b]

    def step3(fd):
        os.write(fd, data[b:])
        os.pwrite(fd, tail, len(data) + 64 * KiB)
        return data[:1000] + over + data[6000:] + bytes(64 * KiB) + tail
    steps = [("1 MiB + 12345 B written", step1),
             ("5000 B overwritten at offset 1000, more appended", step2),
             ("the rest written, then 4 KiB past a 64 KiB hole", step3)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for label, step in steps:
            want = step(fd)
            out = os.path.join(S, "cp-copy")
            r = ml.run(["cp", path, out])
            t.ok(r.returncode == 0, f"cp of the open file ({label})", ml.text(r))
            got = ml.read_file(out) if r.returncode == 0 else b""
            same_bytes(got, want, f"cp gets every byte written so far, not fsync'd ({label}, "
                       f"{len(want)} B)")
            r = ml.run(["cat", path])
            same_bytes(r.stdout, want, f"cat gets every byte written so far ({label})")
            size = os.stat(path).st_size
            t.ok(size == len(want), f"stat agrees ({label})", f"{size} vs {len(want)}")
    finally:
        os.close(fd)
    same_bytes(ml.read_file(path), want, "after close the file holds the same bytes")


# ---------------------------------------------------------------------------------------
# rsync --inplace

def rsync_group():
    if missing("rsync"):
        return skip_group("rsync --inplace", "rsync", "rsync")
    src = os.path.join(S, "rsync-src")
    dst = P("rsync-dst")
    data = bytearray(ml.pattern("rsync", 4 * MiB + 77))
    ml.write_file(src, bytes(data))
    run_ok(["rsync", "-a", src, dst], "rsync: the first copy into the mount")
    same_bytes(ml.read_file(dst), bytes(data), "rsync: the first copy has the same bytes")
    ino = os.stat(dst).st_ino
    r = random.Random("rsync edits")
    for label, edit in [("three ranges changed and 100 KiB appended", "grow"),
                        ("cut to 2.5 MiB and the start changed", "shrink")]:
        if edit == "grow":
            for _ in range(3):
                off = r.randrange(len(data) - 10000)
                data[off:off + 10000] = r.randbytes(10000)
            data += r.randbytes(100 * KiB)
        else:
            del data[5 * MiB // 2:]
            data[0:3000] = r.randbytes(3000)
        ml.write_file(src, bytes(data))
        r2 = run_ok(["rsync", "--inplace", "--no-whole-file", "-I", "--stats", src, dst],
                    f"rsync --inplace --no-whole-file ({label})")
        matched = [l for l in r2.stdout.decode().splitlines() if "Matched data" in l]
        t.note(f"rsync ({label}): {matched[0].strip() if matched else 'no stats'}")
        same_bytes(ml.read_file(dst), bytes(data), f"rsync --inplace ({label}): the same "
                   "bytes in the mount")
        t.ok(os.stat(dst).st_ino == ino and os.stat(dst).st_size == len(data),
             f"rsync --inplace ({label}): the same inode, the new size",
             f"inode {os.stat(dst).st_ino} (was {ino}), size {os.stat(dst).st_size}")
    if remount("rsync"):
        same_bytes(ml.read_file(dst), bytes(data), "rsync: the same bytes after a remount")


# ---------------------------------------------------------------------------------------
# dbm.dumb and shelve

def dbm_group():
    r = random.Random("dbm")
    path = P("dumb")
    model = {}
    db = dbm.dumb.open(path, "c")
    for i in range(3000):
        k, v = f"key-{i}".encode(), r.randbytes(r.randrange(1, 2000))
        db[k] = v
        model[k] = v
    db.close()
    db = dbm.dumb.open(path, "r")
    bad = [k for k in model if db.get(k) != model[k]]
    n = len(db.keys())
    db.close()
    t.ok(not bad and n == len(model), f"dbm.dumb: {len(model)} keys read back after reopen",
         f"{len(bad)} wrong, {n} keys")
    db = dbm.dumb.open(path, "w")
    keys = list(model)
    # dbm.dumb rewrites a value in place when the new one fits its old blocks: writes
    # below EOF in the .dat file; a larger value goes to the end.
    for k in r.sample(keys, 600):
        v = r.randbytes(r.randrange(1, len(model[k]) + 1) if r.random() < 0.5 else
                        r.randrange(2000, 5000))
        db[k] = v
        model[k] = v
    for k in r.sample(keys, 200):
        del db[k]
        del model[k]
    db.close()

    def check(label):
        db = dbm.dumb.open(path, "r")
        try:
            bad = [k for k in model if db.get(k) != model[k]]
            extra = set(db.keys()) - set(model)
        finally:
            db.close()
        t.ok(not bad and not extra, f"dbm.dumb {label}: {len(model)} keys, updated and "
             "deleted ones as left", f"{len(bad)} wrong, {len(extra)} not deleted")
    check("after updates and deletes")
    if remount("dbm"):
        check("after a remount")

    spath = P("shelf")
    smodel = {f"k{i}": {"n": i, "list": list(range(i % 50)), "s": r.randbytes(64).hex()}
              for i in range(2000)}
    with shelve.open(spath, "c") as sh:
        for k, v in smodel.items():
            sh[k] = v
    t.note(f"shelve uses {dbm.whichdb(spath)}")
    with shelve.open(spath, "w") as sh:
        bad = [k for k in smodel if sh.get(k) != smodel[k]]
        for i in range(0, 2000, 3):
            smodel[f"k{i}"]["n"] = -i
            sh[f"k{i}"] = smodel[f"k{i}"]
        for i in range(1, 2000, 10):
            del sh[f"k{i}"]
            del smodel[f"k{i}"]
    t.ok(not bad, "shelve: 2000 keys read back after reopen", f"{len(bad)} wrong")
    if remount("shelve"):
        with shelve.open(spath, "r") as sh:
            bad = [k for k in smodel if sh.get(k) != smodel[k]]
            extra = set(sh.keys()) - set(smodel)
        t.ok(not bad and not extra, f"shelve after updates, deletes and a remount: "
             f"{len(smodel)} keys as left", f"{len(bad)} wrong, {len(extra)} not deleted")


# ---------------------------------------------------------------------------------------
# numpy.memmap (Debian's numpy is for /usr/bin/python3)

NUMPY = r"""
import hashlib, json, sys
try:
    import numpy as np
except ImportError as e:
    print(json.dumps({"skip": str(e)}))
    sys.exit(0)
path, step = sys.argv[1], sys.argv[2]
n = 1 << 20
rng = np.random.default_rng(20261202)
ref = rng.random(n)
idx = rng.integers(0, n, 1000)
out = {"numpy": np.__version__, "checks": []}
def check(cond, what):
    out["checks"].append([bool(cond), what])
if step == "write":
    a = np.memmap(path, dtype=np.float64, mode="w+", shape=(n,))
    a[:] = ref
    a.flush()
    check(np.array_equal(a, ref), "w+: the mapping holds what was written")
    del a
    check(np.array_equal(np.fromfile(path, dtype=np.float64), ref),
          "w+: after flush, a plain read of the file equals the array")
    b = np.memmap(path, dtype=np.float64, mode="r+", shape=(n,))
    check(np.array_equal(b, ref), "r+: reopened, the mapping equals the array")
    b[idx] = -idx
    b[1000:2000] *= 2
    b[-7:] = 7.0
    b.flush()
    del b
ref[idx] = -idx
ref[1000:2000] *= 2
ref[-7:] = 7.0
c = np.memmap(path, dtype=np.float64, mode="r", shape=(n,))
check(np.array_equal(c, ref), "r+ changes: a read-only mapping equals the changed array")
del c
check(np.array_equal(np.fromfile(path, dtype=np.float64), ref),
      "r+ changes: a plain read equals the changed array")
out["sha256"] = hashlib.sha256(ref.tobytes()).hexdigest()
print(json.dumps(out))
"""


def numpy_step(path, step):
    r = ml.run(["/usr/bin/python3", "-c", NUMPY, path, step], timeout=300)
    try:
        return json.loads(r.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        t.ok(False, f"numpy.memmap ({step}): the script ran", ml.text(r))
        return None


def numpy_group():
    if not os.access("/usr/bin/python3", os.X_OK):
        return t.skip("numpy.memmap", "/usr/bin/python3 is missing (Debian package python3)")
    path = P("memmap.f64")
    out = numpy_step(path, "write")
    if out is None:
        return
    if "skip" in out:
        return t.skip("numpy.memmap", f"numpy is not importable by /usr/bin/python3 "
                      f"({out['skip']}; Debian package python3-numpy)")
    t.note(f"numpy {out['numpy']}")
    for ok, what in out["checks"]:
        t.ok(ok, f"numpy.memmap: {what}")
    t.ok(ml.file_digest(path) == out["sha256"], "numpy.memmap: the file's bytes equal the "
         "array's")
    if remount("numpy"):
        t.ok(ml.file_digest(path) == out["sha256"],
             "numpy.memmap: the file's bytes after a remount")
        out = numpy_step(path, "verify")
        for ok, what in (out or {}).get("checks", []):
            t.ok(ok, f"numpy.memmap after a remount: {what}")


# ---------------------------------------------------------------------------------------
# logrotate copytruncate

def copytruncate_group():
    tool = missing("cp", "truncate")
    if tool:
        return skip_group("copytruncate", tool, "coreutils")
    path = P("app.log")
    ml.write_file(path, b"")
    lock = threading.Lock()  # held by the rotation: which lines precede it is then exact
    count = [0]
    errors = []
    stop = threading.Event()

    def writer():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as e:
            errors.append(f"open: {e}")
            return
        try:
            while not stop.is_set() and count[0] < 5000:
                with lock:
                    os.write(fd, numbered(count[0]).encode())
                    count[0] += 1
                time.sleep(0.002)  # the writer's pace
        except OSError as e:
            errors.append(f"write of line {count[0]}: {ml.errname(e.errno)}: {e}")
        try:
            os.close(fd)
        except OSError as e:
            errors.append(f"close: {ml.errname(e.errno)}: {e}")

    th = threading.Thread(target=writer)
    th.start()
    cuts = []
    rotated = []
    for rot in range(3):
        deadline = time.monotonic() + 20
        goal = count[0] + 100
        while count[0] < goal and th.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        with lock:
            cut = count[0]
            out = os.path.join(S, f"app.log.{rot}")
            r1 = ml.run(["cp", path, out])
            r2 = ml.run(["truncate", "-s", "0", path])
        t.ok(r1.returncode == 0 and r2.returncode == 0,
             f"copytruncate {rot}: cp, then truncate -s 0 while the writer is open",
             ml.text(r1) + ml.text(r2))
        cuts.append(cut)
        rotated.append(ml.read_file(out) if r1.returncode == 0 else b"")
    deadline = time.monotonic() + 20
    goal = count[0] + 100
    while count[0] < goal and th.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    th.join(timeout=30)
    t.ok(not errors and not th.is_alive(), "copytruncate: the writer never got an error "
         "(no EBUSY)", "\n".join(errors))
    total = count[0]
    bounds = [0] + cuts + [total]
    for rot in range(3):
        want = "".join(numbered(i) for i in range(bounds[rot], bounds[rot + 1])).encode()
        same_bytes(rotated[rot], want, f"copytruncate {rot}: the copy holds lines "
                   f"{bounds[rot]}..{bounds[rot + 1] - 1}, nothing else")
    got = ml.read_file(path)
    want = "".join(numbered(i) for i in range(cuts[-1], total)).encode()
    t.ok(got[:len(numbered(cuts[-1]))] == numbered(cuts[-1]).encode(),
         "copytruncate: the first line after the last truncate starts at offset 0 (no hole)",
         f"the file starts with {got[:40]!r}")
    same_bytes(got, want, f"copytruncate: the file holds every line written after the last "
               f"truncate ({cuts[-1]}..{total - 1}), nothing lost")


# ---------------------------------------------------------------------------------------
# versions by path

SAVES = 500


def memory_json(i):
    doc = {"save": i, "items": [f"item {j}" for j in range(i % 40)],
           "note": "x" * (i * 7 % 1000)}
    return (json.dumps(doc, indent=1) + "\n").encode()


def versions_group():
    path = P("memory.json")
    tmp = P("memory.json.tmp")
    t0 = time.monotonic()
    for i in range(SAVES):
        ml.write_file(tmp, memory_json(i), fsync=True)
        os.rename(tmp, path)
    t.note(f"{SAVES} safe saves in {time.monotonic() - t0:.1f} s")
    same_bytes(ml.read_file(path), memory_json(SAVES - 1), "memory.json holds the last save")
    r = ml.run([ZGFS, "versions", path], timeout=120)
    lines = r.stdout.decode(errors="replace").splitlines()
    t.ok(r.returncode == 0, "zgfs versions memory.json", ml.text(r)[-2000:])
    vers = []
    try:
        for line in lines:
            seq, size, root = line.split()
            vers.append((int(seq), int(size), root))
    except ValueError:
        t.ok(False, "zgfs versions: every line is `kv_seq size root`", "\n".join(lines[:10]))
        return
    t.ok(len(vers) == SAVES, f"zgfs versions lists {SAVES} versions, one per safe save",
         f"{len(vers)} lines:\n" + "\n".join(lines[:5] + ["..."] + lines[-5:]))
    seqs = [v[0] for v in vers]
    t.ok(seqs == sorted(set(seqs)), "zgfs versions: oldest first, kv_seq increasing")
    sizes = [v[1] for v in vers]
    want_sizes = [len(memory_json(i)) for i in range(SAVES)]
    d = ml.first_difference(sizes, want_sizes)
    t.ok(d is None, "zgfs versions: each version's size is its save's size, in order",
         f"first difference at version {d}: {sizes[d:d + 3] if d is not None else ''} vs "
         f"{want_sizes[d:d + 3] if d is not None else ''}")
    if len(vers) != SAVES:
        return
    picks = sorted({0, 1, SAVES // 3, SAVES // 2, SAVES - 2, SAVES - 1,
                    rng.randrange(SAVES)})
    bad = []
    for i in picks:
        want = memory_json(i)
        r = ml.run([ZGFS, "cat", path, "--version", str(vers[i][0])])
        if r.returncode != 0 or r.stdout != want:
            bad.append(f"save {i} (version {vers[i][0]}): rc {r.returncode}, "
                       f"{len(r.stdout)} B, want {len(want)} B; {ml.text(r)[:200]}")
        copy = os.path.join(S, "version-copy")
        ml.write_file(copy, want)
        root = ml.zgfs_root(ZGFS, copy)
        if vers[i][2] != root:
            bad.append(f"save {i}: listed root {vers[i][2]}, `zgfs root` of its bytes {root}")
    t.ok(not bad, f"zgfs cat --version prints the bytes of saves {picks}, and their roots "
         "are listed", "\n".join(bad))


# ---------------------------------------------------------------------------------------

def main():
    global M, S, MOUNT
    ml.require_fuse()
    S = ml.scratch("zgfs-tools-")
    data = os.path.join(S, "data")
    M = os.path.join(S, "mnt")
    os.mkdir(M)
    MOUNT = ml.start_mount(t, ZGFS, data, M)
    groups = [sqlite_cli, sqlite_python, git_group, tail_group, copy_open_file, rsync_group,
              dbm_group, numpy_group, copytruncate_group, versions_group]
    for g in groups:
        if not MOUNT.alive() or not ml.is_mounted(M):
            t.ok(False, f"{g.__name__}: the mount is still there",
                 "the daemon died:\n" + MOUNT.log_tail(4000))
            try:
                MOUNT.start()
            except ml.MountError as e:
                t.ok(False, "remount after the daemon died", str(e))
                break
        MOUNT.watchdog(300, g.__name__)
        t0 = time.monotonic()
        t.run(g.__name__, g)
        MOUNT.cancel_watchdog()
        t.note(f"{g.__name__}: {time.monotonic() - t0:.1f} s")
    ml.stop_and_verify(t, MOUNT, ZGFS, data)
    return t.done()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        if e.errno == errno.ENOTCONN:
            print(f"not ok - the mount is gone: {e}")
        raise
