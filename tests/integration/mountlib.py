"""What the mount tests share: TAP lines, the skip rule, mounting and unmounting.

The mount tests run through the kernel against a real FUSE mount of `zgfs mount`. They
are registered in meson without protocol 'tap': they print TAP-style lines for people
and report by exit status (0 passed, 1 failed, 77 skipped). A test that cannot run here
(no /dev/fuse, /dev/fuse not usable, no fusermount3) prints "1..0 # SKIP reason" and
exits 77; `fuse_skip_reason()` decides that by mounting and unmounting an empty FUSE
filesystem with fusermount3, exactly the way libfuse does.

Cleanup is by construction: every Mount and scratch directory is registered, and at exit
(normal, exception, SIGTERM from meson's timeout, SIGINT) daemons we started are killed,
mounts are unmounted (lazily as a last resort) and scratch directories are removed, but
never while something is still mounted inside them.
"""
import atexit
import ctypes
import errno
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# zgfs mount and zgfs node read a config file under $XDG_CONFIG_HOME (docs/CONFIG.md): the
# tests run with an empty one, so a config of whoever runs them changes nothing. A test of
# the config file sets its own.
_xdg = tempfile.mkdtemp(prefix="zgfs-test-xdg-")
os.environ["XDG_CONFIG_HOME"] = _xdg
atexit.register(lambda: shutil.rmtree(_xdg, ignore_errors=True))

READY = "zgfs mount: ready"
DATA_LIMIT = 2 << 30  # bytes a test's data directory may hold before the daemon is killed


# ---------------------------------------------------------------------------------------
# TAP-style reporting

class Tap:
    """ok/not ok lines, a plan at the end, exit status 0 only when every point passed."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.failures = []
        self.lock = threading.Lock()

    def ok(self, cond, what, diag=None):
        with self.lock:
            self.n += 1
            cond = bool(cond)
            if not cond:
                self.failed += 1
                self.failures.append(what)
            print(f"{'' if cond else 'not '}ok {self.n} - {what}", flush=True)
            if diag and not cond:
                for line in str(diag).rstrip().splitlines()[:40]:
                    print(f"#   {line}", flush=True)
        return cond

    def skip(self, what, reason):
        with self.lock:
            self.n += 1
            print(f"ok {self.n} - {what} # SKIP {reason}", flush=True)

    def note(self, text):
        for line in str(text).rstrip().splitlines() or [""]:
            print(f"# {line}", flush=True)

    def errno_is(self, fn, want, what):
        """Calls fn(); ok when it raises OSError with errno in want (an int or a set)."""
        wants = {want} if isinstance(want, int) else set(want)
        names = "/".join(errno.errorcode.get(w, str(w)) for w in sorted(wants))
        try:
            fn()
        except OSError as e:
            return self.ok(e.errno in wants, f"{what}: {names}",
                           f"got {errno.errorcode.get(e.errno, e.errno)}: {e}")
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            return self.ok(False, f"{what}: {names}", f"raised {e!r}")
        return self.ok(False, f"{what}: {names}", "the call succeeded")

    def run(self, what, fn, *args):
        """Runs one group of checks; an exception is one failed point, not the end."""
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001
            self.ok(False, f"{what}: raised {type(e).__name__}: {e}",
                    traceback.format_exc())
            return None

    def done(self):
        print(f"1..{self.n}", flush=True)
        if self.failed:
            print(f"# {self.failed} of {self.n} failed:", flush=True)
            for w in self.failures[:30]:
                print(f"#   {w}", flush=True)
        return 1 if self.failed else 0


def skip_all(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(77)


def errname(e):
    return errno.errorcode.get(e, str(e))


# ---------------------------------------------------------------------------------------
# Can FUSE be used here?

def fuse_skip_reason():
    """None when a FUSE filesystem can be mounted here, else why not (for the SKIP line)."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE in this kernel or container)"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return f"/dev/fuse cannot be opened: {e.strerror}"
    fm = shutil.which("fusermount3")
    if not fm:
        return "fusermount3 is missing (Debian package fuse3)"
    # Mount an empty FUSE filesystem the way libfuse does through fusermount3: it sends
    # the /dev/fuse descriptor back over a socket named by _FUSE_COMMFD. Nobody answers
    # the kernel's INIT, so nothing may touch the mountpoint; closing the descriptor
    # aborts the connection before the lazy unmount.
    d = tempfile.mkdtemp(prefix="zgfs-fuseprobe-")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fds = []
    try:
        env = dict(os.environ, _FUSE_COMMFD=str(b.fileno()))
        p = subprocess.Popen([fm, "-o", "rw,nosuid,nodev,subtype=zgfsprobe", "--", d],
                             env=env, pass_fds=[b.fileno()], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        b.close()
        a.settimeout(10)
        try:
            _, fds, _, _ = socket.recv_fds(a, 1, 1)
        except OSError:
            fds = []
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        if p.returncode != 0 or not fds:
            return ("a FUSE filesystem cannot be mounted here: fusermount3: "
                    + (err.decode(errors="replace").strip() or f"exit {p.returncode}"))
        return None
    except OSError as e:
        return f"fusermount3 cannot be run: {e}"
    finally:
        for fd in fds:
            os.close(fd)
        a.close()
        if is_mounted(d):
            subprocess.run([fm, "-u", "-z", d], capture_output=True)
        if not is_mounted(d):
            os.rmdir(d)


def require_fuse():
    reason = fuse_skip_reason()
    if reason:
        skip_all(reason)


# ---------------------------------------------------------------------------------------
# Mount table

def _unescape(field):
    out, i = "", 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out += chr(int(field[i + 1:i + 4], 8))
            i += 4
        else:
            out += field[i]
            i += 1
    return out


def mount_entry(path):
    """The mountinfo line's (fstype, source) of the mount on path, or None. Never touches
    path itself (a dead FUSE mount answers ENOTCONN, a hung one never answers)."""
    path = os.path.abspath(path)
    path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        parts = line.split(" ")
        if len(parts) < 10 or _unescape(parts[4]) != path:
            continue
        sep = parts.index("-")
        found = (parts[sep + 1], parts[sep + 2])
    return found


def is_mounted(path):
    return mount_entry(os.path.abspath(path)) is not None


def wait_unmounted(path, timeout):
    """Seconds it took for the mount on path to go away, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not is_mounted(path):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def processes_using(path):
    """Processes whose command line names path (the auto_unmount helper), for reports."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if path in cmd:
            out.append(f"pid {pid} state {st[0]} ppid {st[1]}: {cmd}")
    return out


def force_unmount(path):
    if not is_mounted(path):
        return True
    subprocess.run(["fusermount3", "-u", "-z", path], capture_output=True)
    if is_mounted(path) and os.geteuid() == 0:
        subprocess.run(["umount", "-l", path], capture_output=True)
    return not is_mounted(path)


# ---------------------------------------------------------------------------------------
# Cleanup

_mounts = []
_scratch = []
_cleaning = threading.Lock()


def _cleanup():
    if not _cleaning.acquire(blocking=False):
        return
    for m in list(_mounts):
        try:
            m.cleanup()
        except Exception:  # noqa: BLE001
            pass
    for p in list(_children):
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in list(_scratch):
        busy = False
        try:
            with open("/proc/self/mountinfo") as f:
                busy = any(_unescape(l.split(" ")[4]).startswith(d.rstrip("/") + "/")
                           for l in f.read().splitlines())
        except OSError:
            pass
        if busy:
            print(f"# leaving {d}: something is still mounted inside it", flush=True)
            continue
        shutil.rmtree(d, ignore_errors=True)


def _on_signal(signum, frame):
    if _cleaning.locked():  # already cleaning up on the way out: let it finish
        return
    print(f"# signal {signum}: cleaning up", flush=True)
    _cleanup()
    os._exit(1)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


# ---------------------------------------------------------------------------------------
# A local EVM chain: anvil from tests/compat/node_modules (setup.sh installs it)

_children = []
COMPAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat")
# anvil's first dev account, funded at genesis: the well-known key of its default mnemonic.
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def anvil_path():
    for p in (os.path.join(COMPAT, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin",
                           "anvil"),
              os.path.join(COMPAT, "node_modules", ".bin", "anvil")):
        if os.access(p, os.X_OK):
            return p
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_anvil(block_time=None):
    """Starts anvil on a free loopback port; returns its URL once it answers. Skips the
    test (exit 77) when anvil is not installed. Killed at exit."""
    path = anvil_path()
    if not path:
        skip_all("anvil is not installed in tests/compat/node_modules (run ./setup.sh)")
    port = free_port()
    args = [path, "--host", "127.0.0.1", "--port", str(port), "--silent"]
    if block_time:
        args += ["--block-time", str(block_time)]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    _children.append(proc)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"anvil did not listen on {url}")


def deploy(zgfs, url, data):
    """`zgfs chain deploy` with ANVIL_KEY into data; returns (flow, market)."""
    env = dict(os.environ, ZGFS_KEY=ANVIL_KEY)
    r = subprocess.run([zgfs, "chain", "deploy", "--rpc", url, "--data", data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"zgfs chain deploy failed: {r.stderr.decode()}")
    lines = dict(l.split() for l in r.stdout.decode().splitlines())
    return lines["flow"], lines["market"]


def scratch(prefix="zgfs-mnt-", base=None):
    """A temporary directory removed at exit (unless something is mounted inside)."""
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    _scratch.append(d)
    return d


def remove_scratch(d):
    if d in _scratch:
        _scratch.remove(d)
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Running zgfs

def run(args, timeout=120, input=None):
    """Runs a command; CompletedProcess with bytes stdout/stderr, rc -9 on timeout."""
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(args, -9, e.stdout or b"",
                                           (e.stderr or b"") + b"\n(timed out)")


def text(r):
    return (r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")).strip()


class MountError(Exception):
    pass


class Mount:
    """`zgfs mount -f` of one data directory on one mountpoint, as a child process whose
    standard error goes to a log file (DATA.log)."""

    def __init__(self, zgfs, data, mnt, args=(), log=None, max_data=DATA_LIMIT):
        self.zgfs, self.data = zgfs, data
        mnt = os.path.abspath(mnt)  # resolved without touching the mountpoint itself
        self.mnt = os.path.join(os.path.realpath(os.path.dirname(mnt)),
                                os.path.basename(mnt))
        self.args = list(args)
        self.log = log or (data.rstrip("/") + ".log")
        self.proc = None
        self.log_offset = 0
        self.timer = None
        self.max_data = max_data
        self.overflow = None
        self.guard = None
        _mounts.append(self)

    def data_bytes(self):
        """Bytes allocated under the data directory."""
        total = 0
        for dirpath, _, files in os.walk(self.data):
            for f in files:
                try:
                    total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
                except OSError:
                    pass
        return total

    def _guard(self, proc):
        # A runaway daemon (a bug that writes without end) must not fill the machine's
        # disk: past max_data bytes in the data directory it is killed.
        base = self.data_bytes()
        while proc.poll() is None:
            used = self.data_bytes() - base
            if used > self.max_data:
                self.overflow = used
                print(f"# data guard: {self.data} grew by {used >> 20} MiB since the mount, "
                      f"more than {self.max_data >> 20} MiB; killing the mount daemon (pid {proc.pid})",
                      flush=True)
                proc.kill()
                return
            time.sleep(0.25)

    def start(self, timeout=60, extra=()):
        """Mounts and returns once the daemon said it is ready and the kernel has the
        mount; MountError (with the log) when it exits or does not get ready."""
        if self.proc and self.proc.poll() is None:
            raise MountError("already running")
        with open(self.log, "ab") as f:
            self.log_offset = f.tell()
            self.proc = subprocess.Popen(
                [self.zgfs, "mount", "-f", "--data", self.data, *self.args, *extra,
                 self.mnt], stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                start_new_session=True)
        self.guard = threading.Thread(target=self._guard, args=(self.proc,), daemon=True)
        self.guard.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if READY in self.log_tail() and is_mounted(self.mnt):
                return self
            if self.proc.poll() is not None:
                raise MountError(f"zgfs mount -f exited with {self.proc.returncode} "
                                 f"before it was ready:\n{self.log_tail()}")
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        force_unmount(self.mnt)
        raise MountError(f"not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, limit=20000):
        """What the daemon printed since the last start."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_offset)
                return f.read()[-limit:].decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=60):
        """`zgfs umount`, then waits for the daemon to exit. Returns (ok, message)."""
        self.cancel_watchdog()
        msg = ""
        # The daemon is our child: reap it while `zgfs umount` waits for it to exit, as
        # a shell or a supervisor would (an unreaped zombie still answers kill(pid, 0)).
        t0 = time.monotonic()
        um = subprocess.Popen([self.zgfs, "umount", self.mnt], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        ok = True
        if self.proc:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                ok = False
                msg += f" daemon still running {timeout} s after zgfs umount;"
                self.proc.kill()
                self.proc.wait()
            else:
                if self.proc.returncode != 0:
                    ok = False
                    msg += f" daemon exited {self.proc.returncode};"
        try:
            out, _ = um.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            um.kill()
            out, _ = um.communicate()
        self.umount_seconds = time.monotonic() - t0
        if um.returncode != 0:
            ok = False
            msg = (f"zgfs umount exited {um.returncode}: "
                   f"{out.decode(errors='replace').strip()};" + msg)
        if is_mounted(self.mnt):
            ok = False
            msg += " still mounted after zgfs umount;"
            force_unmount(self.mnt)
        if not ok:
            msg += "\n" + self.log_tail(4000)
        return ok, msg.strip()

    def kill(self, timeout=5):
        """SIGKILLs the daemon; seconds until the mount went away by itself, or None
        (then it is unmounted lazily so that the next step can go on)."""
        self.cancel_watchdog()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        gone = wait_unmounted(self.mnt, timeout)
        if gone is None:
            self.kill_diagnosis = processes_using(self.mnt)
            print(f"# still mounted {timeout} s after SIGKILL; processes naming the "
                  f"mountpoint: {self.kill_diagnosis}", flush=True)
            force_unmount(self.mnt)
        return gone

    def watchdog(self, seconds, what):
        """Kills the daemon if the calling test does not cancel this within seconds,
        so that a hung FUSE request fails with ENOTCONN instead of hanging the test."""
        self.cancel_watchdog()

        def fire():
            if self.alive():
                print(f"# watchdog: {what} took more than {seconds} s; killing the mount "
                      f"daemon (pid {self.proc.pid})", flush=True)
                self.proc.send_signal(signal.SIGKILL)
        self.timer = threading.Timer(seconds, fire)
        self.timer.daemon = True
        self.timer.start()

    def cancel_watchdog(self):
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def cleanup(self):
        self.cancel_watchdog()
        if self.alive() and is_mounted(self.mnt):
            self.stop(timeout=20)
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if is_mounted(self.mnt):
            wait_unmounted(self.mnt, 2)
            force_unmount(self.mnt)


def start_mount(tap, zgfs, data, mnt, args=(), what="mount", timeout=60, **kw):
    """Mounts or fails the whole test (nothing else can be checked without a mount)."""
    m = Mount(zgfs, data, mnt, args, **kw)
    try:
        m.start(timeout=timeout)
    except MountError as e:
        tap.ok(False, f"{what}: zgfs mount -f is ready", str(e))
        sys.exit(tap.done())
    return m


# ---------------------------------------------------------------------------------------
# Files

def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data, mode=0o644, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
               fsync=False, chunk=1 << 20):
    """open/write/[fsync]/close with plain system calls; raises on the first error."""
    fd = os.open(path, flags, mode)
    try:
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            n = os.write(fd, view[pos:pos + chunk])
            if n <= 0:
                raise OSError(errno.EIO, f"short write at {pos}")
            pos += n
        if fsync:
            os.fsync(fd)
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    os.close(fd)


def first_difference(a, b):
    """The first offset at which a and b differ (the shorter length when one is a prefix
    of the other), or None when they are equal."""
    if a == b:
        return None
    n = min(len(a), len(b))
    lo = 0
    # Halve the common prefix instead of comparing byte by byte: files are MiB-sized.
    while n - lo > 64:
        mid = (lo + n) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            n = mid
    for i in range(lo, n):
        if a[i] != b[i]:
            return i
    return n


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def pattern(seed, size):
    """size reproducible pseudo-random bytes for seed (any str or int), about 130 MB/s."""
    return random.Random(str(seed)).randbytes(size)


def fresh_mount(tap, zgfs, prefix, args=()):
    """A new scratch directory with DIR/data mounted on DIR/mnt: (DIR, data, Mount); fails
    the whole test when it cannot mount."""
    base = scratch(prefix)
    data, mnt = os.path.join(base, "data"), os.path.join(base, "mnt")
    os.mkdir(mnt)
    return base, data, start_mount(tap, zgfs, data, mnt, args)


def remount(tap, m, what="remount"):
    """A clean unmount and a new start of m; False (one failed point) when either fails."""
    ok, msg = m.stop()
    tap.ok(ok, f"{what}: zgfs umount", msg)
    try:
        m.start()
    except MountError as e:
        tap.ok(False, f"{what}: zgfs mount -f is ready again", str(e))
        return False
    return True


def run_groups(tap, m, groups, seconds=180):
    """Runs each group of checks (a function) under a watchdog of seconds, noting its
    time; stops at the first group that finds the mount gone."""
    for g in groups:
        if not m.alive() or not is_mounted(m.mnt):
            tap.ok(False, f"{g.__name__}: the mount is still there", m.log_tail(4000))
            return
        m.watchdog(seconds, g.__name__)
        t0 = time.monotonic()
        tap.run(g.__name__, g)
        m.cancel_watchdog()
        tap.note(f"{g.__name__}: {time.monotonic() - t0:.1f} s")


def stop_and_verify(tap, m, zgfs, data):
    """The end of a mount test: a clean unmount, then `zgfs kv verify` of the data
    directory (the KV state equals a replay of the log)."""
    if m.alive():
        ok, msg = m.stop()
        tap.ok(ok, "zgfs umount at the end", msg)
    r = run([zgfs, "kv", "verify", "--data", data], timeout=300)
    tap.ok(r.returncode == 0, "zgfs kv verify: the KV state equals a replay of the log",
           text(r))


def zgfs_root(zgfs, path):
    """The root `zgfs root` prints for a file (not on the mount), or None."""
    r = run([zgfs, "root", path])
    if r.returncode != 0:
        return None
    return r.stdout.decode().split()[0]


def getxattr(path, name):
    return os.getxattr(path, name).decode(errors="replace").rstrip("\0")


# ---------------------------------------------------------------------------------------
# renameat2 (not in the os module)

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def renameat2(old, new, flags):
    old, new = os.fsencode(old), os.fsencode(new)
    if hasattr(_libc, "renameat2"):
        rc = _libc.renameat2(AT_FDCWD, old, AT_FDCWD, new, ctypes.c_uint(flags))
    else:  # glibc < 2.28: the raw system call (x86_64: 316, aarch64: 276)
        nr = {"x86_64": 316, "aarch64": 276}.get(os.uname().machine)
        if nr is None:
            raise OSError(errno.ENOSYS, "renameat2")
        rc = _libc.syscall(nr, AT_FDCWD, old, AT_FDCWD, new, ctypes.c_uint(flags))
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)
