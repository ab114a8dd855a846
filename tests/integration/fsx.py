#!/usr/bin/env python3
"""A model checker in the style of fsx: a long seeded random sequence of operations on a
few files in a mount, each checked against an in-memory model.

usage: fsx.py ZGFS [--seed N] [--ops N] [--files N] [--maxlen BYTES]

One file is a bytearray in the model. Operations, drawn with fixed weights from a seeded
generator (the seed is printed; --seed replays a run exactly):
  - pwrite, and write() after lseek, at random offsets and sizes, also past EOF (the gap
    must read as zeros);
  - write() through an O_APPEND descriptor (lands at EOF);
  - truncate(path) and ftruncate(fd), shorter and longer, also of a file nobody has
    open (that is a settled version by itself); O_TRUNC at a reopen;
  - pread of random ranges (also across and past EOF), read() of the whole file, a read
    of the whole file by another process;
  - mmap for reading, and MAP_SHARED writes through a mapping (then msync, or not);
  - fsync, close and reopen, and rename-over (a temporary file written, closed and
    renamed onto the name).
After every operation the file's size is checked (fstat and stat) and the range it
touched is read back through a separate read-only descriptor (read-your-writes for every
reader); every 64 operations one whole file is compared.
At random points:
  - a clean unmount and remount: every file (all closed before) holds its model bytes;
  - a SIGKILL of the daemon and a remount: every file holds exactly its durable state,
    the model's bytes at the last fsync, msync or close of a writable descriptor (Python's
    mmap closes a dup of the one it maps; a child process, such as sha256sum, closes the
    ones it inherits), or the rename that made it. Where the contract
    leaves it open, the file may also hold a later state, whole: the one right after a
    truncate (a new version), that truncate applied to the durable state, or the one at
    the close of a read-only descriptor.
On the first mismatch it prints the op index, the op, the first differing offset and the
operations before it, and stops.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here.
"""
import argparse
import collections
import ctypes
import errno
import hashlib
import mmap
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

KiB = 1024
PAGE = mmap.PAGESIZE

ap = argparse.ArgumentParser(description="fsx-style model checker for a zgfs mount")
ap.add_argument("zgfs")
ap.add_argument("--seed", type=int, default=None, help="default: from the clock")
ap.add_argument("--ops", type=int, default=100_000)
ap.add_argument("--files", type=int, default=4)
ap.add_argument("--maxlen", type=int, default=256 * KiB, help="largest file size")
ARGS = ap.parse_args()
ZGFS = os.path.abspath(ARGS.zgfs)
SEED = ARGS.seed if ARGS.seed is not None else int.from_bytes(os.urandom(4), "little")
MAXLEN = ARGS.maxlen
t = ml.Tap()
rng = random.Random(SEED)

# Weights of the operations. fsync, close and rename-over settle a version (one log entry
# and one KV transaction each), by far the slowest operations: they are kept rare enough
# that 100,000 operations take a few minutes on two cores.
WEIGHTS = {
    "write": 22, "append": 10, "truncate": 3, "ftruncate": 3, "pread": 16,
    "readall": 3, "mapread": 3, "mapwrite": 4, "fsync": 1.0, "reopen": 1.0,
    "rename": 0.5, "procread": 0.2,
}
P_REMOUNT = 1 / 9000  # per operation
P_KILL = 1 / 7000
FULL_CHECK_EVERY = 64
MAX_CANDIDATES = 12  # durable states a file may be in after a kill before a forced fsync


class PyMap:
    """A mapping made by Python's mmap module."""
    closes_fd = True  # mmap.mmap() dups the descriptor and closes the dup

    def __init__(self, fd, size, writable):
        self.mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED,
                            prot=mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0))

    def read(self, off, n):
        return self.mm[off:off + n]

    def write(self, off, data):
        self.mm[off:off + len(data)] = data

    def sync(self):
        self.mm.flush()

    def close(self):
        self.mm.close()


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
MS_SYNC = 4
MAP_FAILED = ctypes.c_void_p(-1).value


class RawMap:
    """mmap(2) through libc: the mapping holds no descriptor of its own."""
    closes_fd = False

    def __init__(self, fd, size, writable):
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        addr = _libc.mmap(None, size, prot, mmap.MAP_SHARED, fd, 0)
        if addr in (None, MAP_FAILED):
            e = ctypes.get_errno()
            raise OSError(e, f"mmap: {os.strerror(e)}")
        self.addr, self.size = addr, size

    def read(self, off, n):
        n = max(0, min(n, self.size - off))
        return ctypes.string_at(self.addr + off, n)

    def write(self, off, data):
        assert off + len(data) <= self.size
        ctypes.memmove(self.addr + off, data, len(data))

    def sync(self):
        if _libc.msync(self.addr, self.size, MS_SYNC) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"msync: {os.strerror(e)}")

    def close(self):
        _libc.munmap(self.addr, self.size)


class Mismatch(Exception):
    def __init__(self, what, offset=None):
        super().__init__(what)
        self.what, self.offset = what, offset


class File:
    """The model of one file and the descriptors the test holds on it."""

    def __init__(self, name):
        self.name = name
        self.cur = bytearray()
        # States the file may be in after a crash: the last settled one first, then the
        # versions made by truncates since.
        self.durable = [b""]
        self.rw = self.ap = self.ro = None
        self.exists = False
        self.ever_settled = False  # a file never settled may be absent after a kill
        self.since = []  # (op index, operation) on it since it was last settled

    def path(self):
        return os.path.join(TOP, self.name)

    def fds(self):
        return [fd for fd in (self.rw, self.ap, self.ro) if fd is not None]

    def settled(self):
        self.durable = [bytes(self.cur)]
        self.ever_settled = True
        self.since = []

    def maybe_settled(self):
        """A read-only descriptor was closed: the mount may have committed then."""
        if bytes(self.cur) not in self.durable:
            self.durable.append(bytes(self.cur))

    def truncated(self, size):
        """A truncate makes a new version: with the writes before it (the state now) or
        without them (the truncate applied to a state the file may be in already)."""
        cand = list(self.durable)
        for extra in [bytes(self.cur)] + [c[:size].ljust(size, b"\0") for c in self.durable]:
            if extra not in cand:
                cand.append(extra)
        self.durable = cand


def hexpreview(b, off, n=16):
    return bytes(b[off:off + n]).hex()


def compare(what, got, want, base=0):
    """Raises Mismatch unless got == want; offsets are reported from base."""
    d = ml.first_difference(got, want)
    if d is not None:
        raise Mismatch(f"{what}: {len(got)} B read, model has {len(want)} B; first "
                       f"difference at offset {base + d}: read {hexpreview(got, d)} model "
                       f"{hexpreview(want, d)}", base + d)


def diff_ranges(a, b, limit=8):
    """The byte ranges [start, end) where a and b differ (at 64-byte granularity), and
    the tail where one is longer, at most limit of them."""
    out, n, i = [], min(len(a), len(b)), 0
    while i < n and len(out) < limit:
        d = ml.first_difference(a[i:n], b[i:n])
        if d is None:
            break
        start = i + d
        end = start
        while end < n and a[end:end + 64] != b[end:end + 64]:
            end += 64
        out.append((start, min(end, n)))
        i = end
    if len(a) != len(b) and len(out) < limit:
        out.append((n, max(len(a), len(b))))
    return out


def pread_all(fd, size, off=0):
    """Reads [off, off+size) with as many preads as it takes (short reads are legal)."""
    out = bytearray()
    while len(out) < size:
        b = os.pread(fd, size - len(out), off + len(out))
        if not b:
            break
        out += b
    return bytes(out)


class Fsx:
    def __init__(self, mount):
        self.m = mount
        self.files = [File(f"f{i}") for i in range(ARGS.files)]
        self.stats = collections.Counter()
        self.history = collections.deque(maxlen=25)
        self.kills = self.remounts = 0
        self.matched_truncate_version = 0
        self.i, self.current = 0, None

    # ----- descriptors

    def rw(self, f):
        if f.rw is None:
            f.rw = os.open(f.path(), os.O_RDWR | os.O_CREAT, 0o644)
            f.exists = True
        return f.rw

    def ap(self, f):
        if f.ap is None:
            f.ap = os.open(f.path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            f.exists = True
        return f.ap

    def ro(self, f):
        if f.ro is None:
            if not f.exists:
                self.rw(f)
            f.ro = os.open(f.path(), os.O_RDONLY)
        return f.ro

    def close_all(self, f):
        """Closes every descriptor of f; once all are closed the state is settled."""
        had_writer = f.rw is not None or f.ap is not None
        closed = False
        for attr in ("rw", "ap", "ro"):
            fd = getattr(f, attr)
            if fd is not None:
                setattr(f, attr, None)
                os.close(fd)
                closed = True
        if had_writer:
            f.settled()
        elif closed:
            f.maybe_settled()

    def drop_all(self, f):
        """After a kill: the descriptors are dead; close them, ignoring the errors."""
        for attr in ("rw", "ap", "ro"):
            fd = getattr(f, attr)
            if fd is not None:
                setattr(f, attr, None)
                try:
                    os.close(fd)
                except OSError:
                    pass

    # ----- checks

    def check_size(self, f):
        fd = self.ro(f)
        st = os.fstat(fd)
        if st.st_size != len(f.cur):
            raise Mismatch(f"fstat size {st.st_size}, model {len(f.cur)}",
                           min(st.st_size, len(f.cur)))
        st = os.stat(f.path())
        if st.st_size != len(f.cur):
            raise Mismatch(f"stat size {st.st_size}, model {len(f.cur)}",
                           min(st.st_size, len(f.cur)))

    def check_range(self, f, off, n, fd=None, what="read back"):
        """Reads [off, off+n) (clipped past EOF by the file, not by us) and compares."""
        fd = self.ro(f) if fd is None else fd
        got = pread_all(fd, n, off)
        compare(f"{what} pread({n}, {off})", got, bytes(f.cur[off:off + n]), off)

    def check_touched(self, f, off, n):
        lo = max(0, off - 64)
        self.check_range(f, lo, off + n + 64 - lo)
        self.check_size(f)

    def check_whole(self, f, fd=None, what="whole file"):
        fd = self.ro(f) if fd is None else fd
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            b = os.read(fd, rng.choice([4096, 65536, 100_000, 1 << 20]))
            if not b:
                break
            chunks.append(b)
        compare(f"{what} read()", b"".join(chunks), bytes(f.cur))

    # ----- operation arguments

    def size_choice(self):
        r = rng.random()
        if r < 0.2:
            return rng.randint(1, 16)
        if r < 0.6:
            return rng.randint(1, 4096)
        if r < 0.9:
            return rng.randint(1, 65536)
        return rng.randint(1, MAXLEN // 2)

    def data(self, n):
        return rng.randbytes(n)

    # ----- operations; each returns a description (for the history) before acting

    def op_write(self, f):
        n = self.size_choice()
        size = len(f.cur)
        r = rng.random()
        if r < 0.15:  # past EOF: a hole
            off = size + rng.randint(1, 64 * KiB)
        elif r < 0.25:  # exactly at EOF
            off = size
        else:
            off = rng.randint(0, max(size, 1))
        off = min(off, MAXLEN - 1)
        n = min(n, MAXLEN - off)
        data = self.data(n)
        how = "pwrite" if rng.random() < 0.7 else "lseek+write"
        self.note(f"{how} {f.name} off {off} len {n} (size {size})")
        fd = self.rw(f)
        if how == "pwrite":
            w = os.pwrite(fd, data, off)
        else:
            os.lseek(fd, off, os.SEEK_SET)
            w = os.write(fd, data)
        if w != n:
            raise Mismatch(f"{how} wrote {w} of {n} B")
        if off > size:
            f.cur += bytes(off - size)
        f.cur[off:off + n] = data
        self.check_touched(f, off, n)
        if off > size:
            self.check_range(f, size, off - size, what="hole")

    def op_append(self, f):
        n = min(self.size_choice(), 16 * KiB)
        size = len(f.cur)
        if size + n > MAXLEN:
            return self.op_truncate(f, shrink=True)
        data = self.data(n)
        self.note(f"append {f.name} len {n} (size {size})")
        fd = self.ap(f)
        if rng.random() < 0.3:  # O_APPEND ignores where the offset was
            os.lseek(fd, rng.randint(0, max(size, 1)), os.SEEK_SET)
        w = os.write(fd, data)
        if w != n:
            raise Mismatch(f"O_APPEND write wrote {w} of {n} B")
        f.cur += data
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        if pos != len(f.cur):
            raise Mismatch(f"after an O_APPEND write the offset is {pos}, the size "
                           f"{len(f.cur)}", pos)
        self.check_touched(f, size, n)

    def new_size(self, f, shrink=None):
        size = len(f.cur)
        if shrink is None:
            shrink = rng.random() < 0.55
        if shrink:
            return rng.choice([0, rng.randint(0, size), rng.randint(0, size),
                               max(0, size - rng.randint(1, 100))])
        return min(MAXLEN, size + rng.choice([1, rng.randint(1, 4096),
                                              rng.randint(1, 64 * KiB)]))

    def op_truncate(self, f, shrink=None):
        size, new = len(f.cur), self.new_size(f, shrink)
        alone = f.exists and rng.random() < 0.3
        self.note(f"truncate {f.name} {size} -> {new}"
                  f"{' with no descriptor open' if alone else ''}")
        if alone:
            self.close_all(f)
        else:
            self.rw(f)  # the file exists
        os.truncate(f.path(), new)
        self.after_truncate(f, size, new)
        if alone:  # nothing else is uncommitted: the truncate is a version of its own
            f.settled()

    def op_ftruncate(self, f):
        size, new = len(f.cur), self.new_size(f)
        self.note(f"ftruncate {f.name} {size} -> {new}")
        os.ftruncate(self.rw(f), new)
        self.after_truncate(f, size, new)

    def after_truncate(self, f, size, new):
        if new < size:
            del f.cur[new:]
        else:
            f.cur += bytes(new - size)
        f.truncated(new)
        self.check_size(f)
        lo = max(0, min(size, new) - 100)
        self.check_range(f, lo, abs(new - size) + 200, what="around the new size")

    def op_pread(self, f):
        size = len(f.cur)
        off = rng.choice([0, rng.randint(0, size + 10), max(0, size - rng.randint(0, 300)),
                          size + rng.randint(0, 5000)])
        n = rng.choice([1, rng.randint(1, 512), rng.randint(1, 65536), size + 100])
        use_rw = f.rw is not None and rng.random() < 0.3
        self.note(f"pread {f.name} off {off} len {n} via {'rw' if use_rw else 'ro'} "
                  f"(size {size})")
        self.check_range(f, off, n, fd=f.rw if use_rw else None, what="pread")

    def op_readall(self, f):
        self.note(f"read whole {f.name} (size {len(f.cur)})")
        use_rw = f.rw is not None and rng.random() < 0.3
        self.check_whole(f, fd=f.rw if use_rw else None)
        self.check_size(f)

    def op_procread(self, f):
        self.note(f"sha256sum of {f.name} in another process (size {len(f.cur)})")
        self.ro(f)
        r = subprocess.run(["sha256sum", f.path()], capture_output=True, timeout=60)
        got = r.stdout.decode().split()[0] if r.returncode == 0 else r.stderr.decode()
        want = hashlib.sha256(f.cur).hexdigest()
        if got != want:
            raise Mismatch(f"another process reads sha256 {got}, model {want}")
        # Starting a process closes, in the child, every descriptor it inherited (close_fds,
        # or O_CLOEXEC at exec): each close is a flush, so every file open for writing
        # here is settled, whatever other process closed it.
        for g in self.files:
            if g.rw is not None or g.ap is not None:
                g.settled()
            elif g.ro is not None:
                g.maybe_settled()

    def mapping(self, f, fd, size, writable):
        """Python's mmap (which dups the descriptor: its close is a close of the file) or
        a plain mmap(2) through libc (no descriptor of its own, munmap closes nothing)."""
        if rng.random() < 0.5:
            return "mmap.mmap", PyMap(fd, size, writable)
        return "mmap(2)", RawMap(fd, size, writable)

    def op_mapread(self, f):
        size = len(f.cur)
        if size == 0:
            return self.op_write(f)
        how, mm = self.mapping(f, self.ro(f), size, False)
        self.note(f"{how} read {f.name} (size {size})")
        try:
            for _ in range(3):
                off = rng.randrange(size)
                n = rng.randint(1, min(size - off, 65536))
                compare(f"mmap read [{off}, {off + n})", mm.read(off, n),
                        bytes(f.cur[off:off + n]), off)
            if rng.random() < 0.2:
                compare("mmap read of the whole file", mm.read(0, size), bytes(f.cur))
        finally:
            mm.close()
        if mm.closes_fd:
            f.maybe_settled()  # a read-only descriptor closed: the mount may commit

    def op_mapwrite(self, f):
        size = len(f.cur)
        if size == 0:
            return self.op_write(f)
        off = rng.randrange(size)
        n = rng.randint(1, min(size - off, rng.choice([64, 4096, 3 * PAGE, 65536])))
        sync = rng.random() < 0.3
        data = self.data(n)
        how, mm = self.mapping(f, self.rw(f), size, True)
        self.note(f"{how} MAP_SHARED write {f.name} off {off} len {n} (size {size})"
                  f"{', msync' if sync else ''}")
        try:
            mm.write(off, data)
            f.cur[off:off + n] = data
            compare("the mapping itself after the write", mm.read(off, n), data, off)
            if sync:
                mm.sync()  # msync(MS_SYNC): the kernel sends the mount an fsync
        finally:
            mm.close()
        if sync or mm.closes_fd:  # msync, or the close of a writable descriptor
            f.settled()
        self.check_touched(f, off, n)

    def op_fsync(self, f):
        how = rng.choice(["fsync", "fdatasync"])
        use_ap = f.ap is not None and rng.random() < 0.3
        self.note(f"{how} {f.name} via {'append' if use_ap else 'rw'} descriptor")
        fd = f.ap if use_ap else self.rw(f)
        (os.fsync if how == "fsync" else os.fdatasync)(fd)
        f.settled()
        self.check_size(f)

    def op_reopen(self, f):
        trunc = rng.random() < 0.1
        self.note(f"close all of {f.name} and reopen{' with O_TRUNC' if trunc else ''}")
        self.close_all(f)
        if trunc:
            size = len(f.cur)
            f.rw = os.open(f.path(), os.O_RDWR | os.O_TRUNC)
            self.after_truncate(f, size, 0)
        else:
            self.check_size(f)
            if rng.random() < 0.3:
                self.check_whole(f, what="after reopen")

    def op_rename(self, f):
        tmp = os.path.join(TOP, f.name + ".tmp")
        if rng.random() < 0.5 and f.cur:
            new = bytearray(f.cur)  # an edited copy, the way an editor saves
            off = rng.randrange(len(new))
            new[off:off + 100] = self.data(rng.randint(0, 200))
        else:
            new = bytearray(self.data(rng.randint(0, MAXLEN // 4)))
        new = new[:MAXLEN]
        sync = rng.random() < 0.5
        self.note(f"rename-over {f.name}: {len(new)} B written to a temporary file"
                  f"{', fsync' if sync else ''}, closed, renamed onto it")
        ml.write_file(tmp, bytes(new), fsync=sync)
        self.close_all(f)
        os.rename(tmp, f.path())
        f.exists = True
        f.cur = new
        f.settled()
        if os.path.lexists(tmp):
            raise Mismatch("the temporary name still exists after the rename")
        self.check_size(f)
        self.check_whole(f, what="after rename-over")

    # ----- mount cycles

    def remount(self, i):
        self.note("close everything, unmount, remount")
        for f in self.files:
            self.close_all(f)
        ok, msg = self.m.stop()
        if not ok:
            raise Mismatch(f"zgfs umount: {msg}")
        self.m.start()
        self.remounts += 1
        for f in self.files:
            if f.exists:
                compare(f"{f.name} after the remount", ml.read_file(f.path()), bytes(f.cur))
                if os.stat(f.path()).st_size != len(f.cur):
                    raise Mismatch(f"{f.name}: stat size after the remount")
        t.ok(True, f"op {i}: unmount and remount; {len(self.files)} files intact")

    def kill(self, i):
        self.note("SIGKILL the daemon, remount")
        gone = self.m.kill(timeout=20)
        for f in self.files:
            self.drop_all(f)
        if gone is None:
            raise Mismatch("the mount was still there 20 s after SIGKILL")
        self.m.start()
        self.kills += 1
        for f in self.files:
            if not f.exists:
                continue
            got = ml.read_file(f.path()) if os.path.exists(f.path()) else None
            if got is None and not f.ever_settled:
                f.exists, f.cur, f.durable = False, bytearray(), [b""]
                continue
            if got is None:
                raise Mismatch(f"{f.name} is missing after SIGKILL and remount")
            if got not in f.durable:
                d = ml.first_difference(got, f.durable[0])
                ops = "\n".join(f"    op {j}: {what}" for j, what in f.since)
                raise Mismatch(f"{f.name} after SIGKILL: {len(got)} B, not its last "
                               f"settled state ({len(f.durable[0])} B, first difference "
                               f"at {d}; differing ranges "
                               f"{diff_ranges(got, f.durable[0])}) nor one of "
                               f"{len(f.durable) - 1} later states it may be in; the "
                               f"state before the kill ({len(f.cur)} B) differs at "
                               f"{diff_ranges(got, f.cur)}. Operations on {f.name} since "
                               f"it was settled:\n{ops}", d)
            if got != f.durable[0]:
                self.matched_truncate_version += 1
            f.cur = bytearray(got)
            f.settled()
        t.ok(True, f"op {i}: SIGKILL and remount; every file holds its durable state")

    def note(self, what):
        self.history.append(what)
        if self.current is not None and len(self.current.since) < 200:
            self.current.since.append((self.i, what))

    def step(self, i):
        r = rng.random()
        if r < P_KILL:
            self.stats["kill"] += 1
            return self.kill(i)
        if r < P_KILL + P_REMOUNT:
            self.stats["remount"] += 1
            return self.remount(i)
        op = rng.choices(OPS, OP_WEIGHTS)[0]
        f = rng.choice(self.files)
        self.stats[op] += 1
        self.i, self.current = i, f
        getattr(self, "op_" + op)(f)
        self.current = None
        self.check_size(f)
        if len(f.durable) > MAX_CANDIDATES:
            self.note(f"fsync {f.name} (too many states it may be in after a crash)")
            os.fsync(self.rw(f))
            f.settled()
        if i % FULL_CHECK_EVERY == 0:
            g = self.files[(i // FULL_CHECK_EVERY) % len(self.files)]
            if g.exists:
                self.note(f"periodic check: whole {g.name}")
                self.check_whole(g, what="periodic")

    def run(self):
        t0 = time.monotonic()
        for i in range(ARGS.ops):
            if i % 1000 == 0:
                self.m.watchdog(120, f"operations {i}..{i + 999}")
            try:
                self.step(i)
            except (Mismatch, OSError, ml.MountError) as e:
                self.m.cancel_watchdog()
                self.report(i, e)
                return False
            if i and i % 20000 == 0:
                t.note(f"{i} operations, {time.monotonic() - t0:.0f} s")
        self.m.cancel_watchdog()
        self.elapsed = time.monotonic() - t0
        return True

    def report(self, i, e):
        if isinstance(e, Mismatch):
            why, off = e.what, e.offset
        elif isinstance(e, OSError):
            why, off = f"{type(e).__name__}: {e} ({ml.errname(e.errno)})", None
        else:
            why, off = f"remount: {e}", None
        op = self.history[-1] if self.history else "?"
        lines = [f"seed {SEED}: mismatch at op {i}: {op}"]
        lines += [f"  {w}" for w in why.splitlines()]
        lines += [f"  first differing offset: {off if off is not None else 'n/a'}",
                  f"  replay: fsx.py ZGFS --seed {SEED} --ops {i + 1}",
                  "  operations before it (oldest first):"]
        lines += [f"    {h}" for h in list(self.history)[:-1]]
        print("\n".join(f"# {l}" for l in lines), flush=True)
        t.ok(False, f"op {i} ({op}): {why.splitlines()[0]}", m_log(self.m))


def m_log(m):
    tail = m.log_tail(3000)
    return "mount log:\n" + tail if tail.strip() else None


OPS = list(WEIGHTS)
OP_WEIGHTS = [WEIGHTS[o] for o in OPS]


def main():
    global TOP
    ml.require_fuse()
    print(f"# fsx seed {SEED}, {ARGS.ops} operations on {ARGS.files} files of at most "
          f"{MAXLEN} B", flush=True)
    base = ml.scratch("zgfs-fsx-")
    data = os.path.join(base, "data")
    mnt = os.path.join(base, "mnt")
    os.mkdir(mnt)
    m = ml.start_mount(t, ZGFS, data, mnt)
    TOP = os.path.join(mnt, "fsx")
    os.mkdir(TOP)
    fsx = Fsx(m)
    passed = fsx.run()
    if passed:
        t.ok(True, f"{ARGS.ops} operations matched the model (seed {SEED}, "
             f"{fsx.elapsed:.0f} s, {ARGS.ops / fsx.elapsed:.0f} ops/s)")
        t.note("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(fsx.stats.items())))
        t.note(f"{fsx.kills} kills, {fsx.remounts} remounts; after a kill a file held a "
               f"version made by a truncate {fsx.matched_truncate_version} times")
        try:
            for f in fsx.files:
                fsx.close_all(f)
            for f in fsx.files:
                if f.exists:
                    compare(f"{f.name} at the end", ml.read_file(f.path()), bytes(f.cur))
            t.ok(True, "every file equals its model after closing everything")
        except (Mismatch, OSError) as e:
            t.ok(False, "every file equals its model after closing everything", str(e))
    else:
        for f in fsx.files:  # whatever state they are in: the unmount needs them closed
            fsx.drop_all(f)
    ml.stop_and_verify(t, m, ZGFS, data)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
