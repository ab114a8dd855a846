#!/usr/bin/env python3
"""Durability of the mount: SIGKILL the daemon while writers run; nothing acknowledged lost.

usage: crash_mount.py ZGFS [ROUNDS] [--writeback]

ZGFS_CRASH_ROUNDS=N in the environment overrides ROUNDS, for a long run (each round takes
one to two seconds). Each round (default 20) mounts one data directory with `zgfs mount -f`, runs writer
threads doing ordinary system calls on the mount (create and write, O_TRUNC rewrites,
O_APPEND appends, writes in place at random offsets, truncates up and down, fsync in the
middle or not, close, rename onto other names, renameat2(RENAME_EXCHANGE), unlink) and records what returned 0, then
SIGKILLs the daemon at a random moment. With --writeback the mount is `zgfs mount
--writeback`, where close() does not make a file durable: only fsync is an
acknowledgement there, and a rename (which carries the file's uncommitted writes with it,
in both modes). After each kill:
  - the mount goes away by itself (auto_unmount);
  - `zgfs chain verify` passes on the data directory;
  - after a remount, every file holds its last acknowledged content (close, fsync,
    rename or unlink returned 0) or a content attempted after it; a file never
    acknowledged is absent or one of its attempted contents; a rename cut by the kill
    either happened whole or not at all.
After the last round, a clean unmount and `zgfs kv verify` (the KV state equals a replay
of the log) and `zgfs chain verify`.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
FUSE cannot be used here.
"""
import errno
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: crash_mount.py ZGFS [ROUNDS]")
ZGFS = os.path.abspath(sys.argv[1])
ARGS = [a for a in sys.argv[2:] if not a.startswith("--")]
ROUNDS = int(os.environ.get("ZGFS_CRASH_ROUNDS") or (ARGS[0] if ARGS else 20))
WRITEBACK = "--writeback" in sys.argv[2:]
# Seconds for all rounds; workloads get shorter when rounds run slow.
BUDGET = 8.5 * max(ROUNDS, 20)
THREADS, FILES = 3, 6
KiB, MiB = 1024, 1 << 20
t = ml.Tap()
rng = random.Random(20261203)
ABSENT = None


def show(state):
    return "absent" if state is None else f"{len(state)} B {ml.digest(state)}"


class Model:
    """What each name may hold after a crash: its last acknowledged state, or any state
    attempted after that acknowledgement (in order)."""

    def __init__(self):
        self.acked = {}  # name -> bytes or ABSENT
        self.tried = {}  # name -> [bytes or ABSENT], attempted since the last ack
        self.lock = threading.Lock()

    def attempt(self, name, state):
        with self.lock:
            self.tried.setdefault(name, []).append(state)

    def ack(self, name, state):
        with self.lock:
            self.acked[name] = state
            self.tried[name] = []

    def allowed(self, name):
        with self.lock:
            return [self.acked.get(name, ABSENT)] + self.tried.get(name, [])

    def names(self):
        with self.lock:
            return set(self.acked) | set(self.tried)


class Writer(threading.Thread):
    """Owns names w{n}-{k}; does one operation after another until stopped or an error."""

    def __init__(self, n, top, model, live, seed, stop):
        super().__init__(daemon=True)
        self.n, self.top, self.model, self.live = n, top, model, live
        self.r = random.Random(seed)
        self.stop = stop
        self.error = None         # (time, op, OSError) of the error that ended it
        self.inflight = None      # the operation running when it ended
        self.ops = 0
        self.kinds = {}  # operations completed, by kind
        self.counter = 0

    def name(self, k):
        return f"w{self.n}-{k}"

    def content(self, name, size):
        self.counter += 1
        head = f"<{name}#{self.counter}:{size}>".encode()
        return (head + self.r.randbytes(max(0, size - len(head))))[:size]

    def write_all(self, fd, data):
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            pos += os.write(fd, view[pos:pos + 256 * KiB])

    def rewrite(self, name):
        path = os.path.join(self.top, name)
        size = self.r.choice([0, 1, 100, 4096, 65537, 300000, 1536 * KiB])
        data = self.content(name, size)
        self.model.attempt(name, b"")  # O_CREAT|O_TRUNC: a new, empty version at open
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.live[name] = b""
        try:
            half = self.r.randrange(size + 1) if self.r.random() < 0.3 else size
            self.write_all(fd, data[:half])
            if half < size:  # fsync halfway: the first part is acknowledged on its own
                self.model.attempt(name, data[:half])
                os.fsync(fd)
                self.model.ack(name, data[:half])
            self.write_all(fd, data[half:])
            self.model.attempt(name, data)
            if self.r.random() < 0.5:
                os.fsync(fd)
                self.model.ack(name, data)
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        os.close(fd)
        self.closed(name, data)
        self.live[name] = data

    def append(self, name):
        path = os.path.join(self.top, name)
        cur = self.live[name]
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            for _ in range(self.r.randint(1, 3)):
                part = self.content(name, self.r.choice([1, 700, 4096, 100000, 262145]))
                self.write_all(fd, part)
                cur += part
                self.model.attempt(name, cur)
                if self.r.random() < 0.3:
                    os.fsync(fd)
                    self.model.ack(name, cur)
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        os.close(fd)
        self.closed(name, cur)
        self.live[name] = cur

    def closed(self, name, data):
        """close() returned 0: durable by default, not under --writeback."""
        if not WRITEBACK:
            self.model.ack(name, data)

    def overwrite(self, name):
        """Writes in place: pwrite at random offsets (some past EOF, leaving holes), maybe a
        truncate up or down, fsync or not, close."""
        path = os.path.join(self.top, name)
        cur = bytearray(self.live[name])
        fd = os.open(path, os.O_RDWR)
        try:
            for _ in range(self.r.randint(1, 6)):
                if self.r.random() < 0.2:
                    size = self.r.randrange(len(cur) * 2 + 4096)
                    os.ftruncate(fd, size)
                    cur = cur[:size] + bytes(max(0, size - len(cur)))
                else:
                    off = self.r.randrange(len(cur) + 8192)
                    part = self.content(name, self.r.choice([1, 100, 4096, 65536]))
                    os.pwrite(fd, part, off)
                    if off > len(cur):
                        cur += bytes(off - len(cur))
                    cur[off:off + len(part)] = part
                self.model.attempt(name, bytes(cur))
                if self.r.random() < 0.3:
                    os.fsync(fd)
                    self.model.ack(name, bytes(cur))
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        os.close(fd)
        self.closed(name, bytes(cur))
        self.live[name] = bytes(cur)

    def rename(self, src, dst):
        data = self.live[src]
        self.inflight = ("rename", src, dst, data, self.live.get(dst, ABSENT))
        self.model.attempt(src, ABSENT)
        self.model.attempt(dst, data)
        os.rename(os.path.join(self.top, src), os.path.join(self.top, dst))
        # A rename carries the file's uncommitted writes, --writeback or not.
        self.model.ack(src, ABSENT)
        self.model.ack(dst, data)
        self.live[src], self.live[dst] = ABSENT, data

    def exchange(self, src, dst):
        """renameat2(RENAME_EXCHANGE) of two existing names: each gets the other's file."""
        a, b = self.live[src], self.live[dst]
        self.inflight = ("exchange", src, dst, a, b)
        self.model.attempt(src, b)
        self.model.attempt(dst, a)
        ml.renameat2(os.path.join(self.top, src), os.path.join(self.top, dst),
                     ml.RENAME_EXCHANGE)
        self.model.ack(src, b)
        self.model.ack(dst, a)
        self.live[src], self.live[dst] = b, a

    def unlink(self, name):
        self.model.attempt(name, ABSENT)
        os.unlink(os.path.join(self.top, name))
        self.model.ack(name, ABSENT)
        self.live[name] = ABSENT

    def run(self):
        while not self.stop.is_set():
            k = self.r.randrange(FILES)
            name = self.name(k)
            exists = self.live.get(name) is not None
            op = self.r.choices(["rewrite", "append", "overwrite", "rename", "exchange",
                                 "unlink"],
                                [4, 4, 4, 2, 1, 1] if exists else [1, 0, 0, 0, 0, 0])[0]
            others = [j for j in range(FILES)
                      if j != k and self.live.get(self.name(j)) is not None]
            if op == "exchange" and not others:
                op = "rename"
            if op == "append" and len(self.live[name]) > 4 * MiB:
                op = "rewrite"
            self.inflight = (op, name)
            try:
                if op == "rewrite":
                    self.rewrite(name)
                elif op == "append":
                    self.append(name)
                elif op == "overwrite":
                    self.overwrite(name)
                elif op == "exchange":
                    self.exchange(name, self.name(self.r.choice(others)))
                elif op == "rename":
                    self.rename(name, self.name(self.r.choice(
                        [j for j in range(FILES) if j != k])))
                else:
                    self.unlink(name)
            except OSError as e:
                self.error = (time.monotonic(), op, e)
                return
            self.inflight = None
            self.ops += 1
            self.kinds[op] = self.kinds.get(op, 0) + 1


def read_state(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return ABSENT


def verify(top, model, writers, rnd):
    """Checks every name against the model; returns the states found."""
    found = {}
    bad = []
    for name in sorted(model.names()):
        try:
            state = read_state(os.path.join(top, name))
        except OSError as e:
            bad.append(f"{name}: read fails: {e}")
            continue
        found[name] = state
        allowed = model.allowed(name)
        if not any(state == a for a in allowed):
            bad.append(f"{name}: holds {show(state)}; acknowledged {show(allowed[0])}, "
                       f"attempted after it: {[show(a) for a in allowed[1:]] or 'nothing'}")
    t.ok(not bad, f"round {rnd}: {len(found)} names hold their last acknowledged content or "
         "a later attempted one", "\n".join(bad[:10]))
    torn = []
    for w in writers:
        if w.inflight and w.inflight[0] == "exchange" and len(w.inflight) == 5:
            _, src, dst, a, b = w.inflight
            pair = (found.get(src, ABSENT), found.get(dst, ABSENT))
            # Not done: under --writeback each name may hold an older content of its own,
            # never the other's (told apart only when both carry their unique header).
            distinct = a != b and a[:1] == b"<" and b[:1] == b"<"
            undone = (pair[0] != b and pair[1] != a or not distinct) if WRITEBACK \
                else pair == (a, b)
            if not (undone or pair == (b, a)):
                torn.append(f"exchange {src} <-> {dst}: now {show(pair[0])}, "
                            f"{show(pair[1])}; before {show(a)}, {show(b)}")
        if w.inflight and w.inflight[0] == "rename" and len(w.inflight) == 5:
            _, src, dst, data, old_dst = w.inflight
            pair = (found.get(src, ABSENT), found.get(dst, ABSENT))
            if WRITEBACK:
                # Not done: both names keep contents the check above allows (under
                # --writeback not necessarily the newest), and dst does not hold data.
                undone = pair[0] is not ABSENT and pair[1] != data
            else:
                undone = pair == (data, old_dst)
            if not (undone or pair == (ABSENT, data)):
                torn.append(f"rename {src} -> {dst}: now {show(pair[0])}, {show(pair[1])}; "
                            f"before {show(data)}, {show(old_dst)}")
    t.ok(not torn, f"round {rnd}: a rename or exchange cut by the kill happened whole or "
         "not at all",
         "\n".join(torn))
    try:
        extra = set(os.listdir(top)) - model.names()
    except OSError as e:
        extra = {f"listdir: {e}"}
    t.ok(not extra, f"round {rnd}: no names that were never written",
         f"{sorted(extra)[:10]}")
    return found


def main():
    ml.require_fuse()
    base = ml.scratch("zgfs-crash-mount-")
    data = os.path.join(base, "data")
    mnt = os.path.join(base, "mnt")
    top = os.path.join(mnt, "w")
    model = Model()
    live = [dict() for _ in range(THREADS)]
    m = ml.start_mount(t, ZGFS, data, mnt, ["--writeback"] if WRITEBACK else [])
    os.mkdir(top)
    start = time.monotonic()
    total_ops = 0
    kinds = {}
    writers = []
    for rnd in range(ROUNDS):
        if rnd > 0:
            found = verify(top, model, writers, rnd - 1)
            for name, state in found.items():
                model.ack(name, state)
                live[int(name[1:name.index("-")])][name] = state
        left = BUDGET - (time.monotonic() - start)
        per_round = max(left / (ROUNDS - rnd), 0.5)
        stop = threading.Event()
        writers = [Writer(n, top, model, live[n], rng.randrange(1 << 30), stop)
                   for n in range(THREADS)]
        for w in writers:
            w.start()
        time.sleep(rng.choice([0.01, 0.1]) if rng.random() < 0.2 else
                   rng.uniform(0.2, min(1.5, per_round / 3)))
        t_kill = time.monotonic()
        gone = m.kill(timeout=20)
        stop.set()
        for w in writers:
            w.join(timeout=15)
        hung = [w.n for w in writers if w.is_alive()]
        ops = sum(w.ops for w in writers)
        total_ops += ops
        for w in writers:
            for op, n in w.kinds.items():
                kinds[op] = kinds.get(op, 0) + n
        early = [f"writer {w.n}: {w.error[1]}: {w.error[2]}" for w in writers
                 if w.error and w.error[0] < t_kill]
        t.ok(gone is not None and not hung and not early,
             f"round {rnd}: {ops} operations, SIGKILL after {t_kill - start:.1f} s; the "
             "mount went away by itself, no writer hung, no error before the kill",
             f"gone after {gone} s; hung writers {hung}; {early}\n" + m.log_tail(3000))
        errs = sorted({ml.errname(w.error[2].errno) for w in writers if w.error})
        t.note(f"round {rnd}: writers ended with {errs}")
        r = ml.run([ZGFS, "chain", "verify", "--data", data], timeout=120)
        t.ok(r.returncode == 0, f"round {rnd}: zgfs chain verify after the kill", ml.text(r))
        try:
            m.start()
        except ml.MountError as e:
            t.ok(False, f"round {rnd}: remount after the kill", str(e))
            return t.done()
    verify(top, model, writers, ROUNDS - 1)
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount after the last round", msg)
    t.ok(total_ops > ROUNDS * 5 and all(kinds.get(op) for op in
                                         ("rewrite", "append", "overwrite", "rename",
                                          "exchange", "unlink")),
         f"{total_ops} operations acknowledged or cut in {ROUNDS} rounds "
         f"({time.monotonic() - start:.0f} s), each kind done: {sorted(kinds.items())}")
    r = ml.run([ZGFS, "kv", "verify", "--data", data], timeout=300)
    t.ok(r.returncode == 0, "zgfs kv verify: the KV state equals a replay of the log",
         ml.text(r))
    r = ml.run([ZGFS, "chain", "verify", "--data", data], timeout=300)
    t.ok(r.returncode == 0, "zgfs chain verify", ml.text(r))
    return t.done()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        if e.errno == errno.ENOTCONN:
            print(f"not ok - the mount is gone: {e}")
        raise
