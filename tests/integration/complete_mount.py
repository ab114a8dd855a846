#!/usr/bin/env python3
"""The mount as a complete POSIX directory, docs/SEMANTICS.md row by row, through the kernel.

usage: complete_mount.py ZGFS

Mounts a fresh volume with `zgfs mount -f -o allow_other` and checks: -o option lists,
statfs against the data directory's filesystem, user xattrs (setfattr/getfattr and the
system calls, flags and limits, across versions, renames and a remount), hard links,
FIFOs, sockets and device nodes, permissions as another uid (setpriv: the owner recorded
at create, setgid directories, the sticky bit, chown and chmod rules), and `cp -a` and
`rsync -aHX` round trips of a tree with hard links, a FIFO, symlinks and xattrs into the
mount and out, compared with the source. Everything is checked again after a remount.

Rows that need root (other uids, device nodes, trusted.*) are skipped with the reason when
not run as root; the whole test exits 77 when FUSE cannot be used here. Prints TAP-style
lines; exits 0 when every point passed, 1 otherwise.
"""
import ctypes
import errno
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: complete_mount.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
ROOT = os.geteuid() == 0
USER, OTHER, GROUP = 4101, 4102, 4242  # uids and a group used through setpriv
t = ml.Tap()
_libc = ctypes.CDLL(None, use_errno=True)


def row(name):
    print(f"# --- SEMANTICS.md: {name}", flush=True)


def P(*parts):
    return os.path.join(M, *parts)


def as_user(uid, code, groups=()):
    """Runs python code as uid (gid uid, supplementary groups), in the mount; returns
    (rc, output). The code prints what the test checks."""
    args = ["setpriv", f"--reuid={uid}", f"--regid={uid}"]
    args += [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    r = ml.run(args + [sys.executable, "-c", "import os, errno, sys\n" + code], timeout=60)
    return r.returncode, ml.text(r)


def errno_as(uid, call, groups=()):
    """The errno name call (a python expression) fails with as uid, or 'ok'."""
    rc, out = as_user(uid, f"try:\n    {call}\n    print('ok')\nexcept OSError as e:\n"
                      f"    print(errno.errorcode[e.errno])", groups)
    return out.strip().splitlines()[-1] if out.strip() else f"rc {rc}"


def getxattr_size(path, name, size):
    """getxattr(2) with a buffer of size bytes: (length, errno)."""
    buf = ctypes.create_string_buffer(max(size, 1))
    n = _libc.getxattr(os.fsencode(path), name.encode(), buf if size else None,
                       ctypes.c_size_t(size))
    return (n, 0) if n >= 0 else (-1, ctypes.get_errno())


def listxattr_size(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = _libc.listxattr(os.fsencode(path), buf if size else None, ctypes.c_size_t(size))
    return (n, 0) if n >= 0 else (-1, ctypes.get_errno())


# ---------------------------------------------------------------------------------------
# Mount options

def options():
    row("zgfs mount -o: comma lists; unknown options name themselves")
    base = ml.scratch("zgfs-opts-")
    data = os.path.join(base, "data")
    mnt = os.path.join(base, "m")
    m = ml.Mount(ZGFS, data, mnt, ["-o", "rw,noatime,nosuid,nodev,noexec,default_permissions"])
    try:
        m.start()
        with open("/proc/self/mountinfo") as f:
            line = [l for l in f.read().splitlines() if f" {mnt} " in l]
        opts = line[0].split()[5].split(",") if line else []
        t.ok({"rw", "noatime", "nosuid", "nodev", "noexec"} <= set(opts),
             "-o rw,noatime,nosuid,nodev,noexec: the kernel mount has them", f"{opts}")
        ml.write_file(os.path.join(mnt, "f"), b"x", mode=0o777)
        ok, msg = m.stop()
        t.ok(ok, "-o list: zgfs umount", msg)
    except ml.MountError as e:
        t.ok(False, "-o rw,noatime,...: mounts", str(e))
    m = ml.Mount(ZGFS, data, mnt, ["-o", "ro,relatime", "-o", f"uid=123,gid=456,umask=027"])
    try:
        m.start()
        st = os.stat(os.path.join(mnt, "f"))
        t.ok((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (123, 456, 0o750),
             "-o uid=123,gid=456,umask=027: stat reports that owner and mode",
             f"{st.st_uid}:{st.st_gid} {oct(st.st_mode)}")
        t.errno_is(lambda: ml.write_file(os.path.join(mnt, "g"), b"x"), errno.EROFS,
                   "-o ro,relatime (a comma list with ro): create")
        ok, msg = m.stop()
        t.ok(ok, "-o ro,relatime: zgfs umount", msg)
    except ml.MountError as e:
        t.ok(False, "-o ro,relatime -o uid=,gid=,umask=: mounts", str(e))
    for opts, word in (("rw,frobnicate", b"frobnicate"), ("strictatime", b"atime"),
                       ("dev", b"nodev"), ("umask=999", b"octal"), ("uid=nosuchuser", b"user"),
                       ("allow_other,allow_root", b"exclude")):
        r = ml.run([ZGFS, "mount", "-o", opts, "--data", data, os.path.join(base, "bad")],
                   timeout=30)
        t.ok(r.returncode == 2 and word in r.stderr and not ml.is_mounted(
             os.path.join(base, "bad")), f"-o {opts} is refused with a reason", ml.text(r))
    r = ml.run([ZGFS, "mount", "-o", "bogus", "--data", data, os.path.join(base, "bad")])
    t.ok(b"allow_other" in r.stderr and b"uid=" in r.stderr,
         "the error for an unknown option lists the known ones", ml.text(r))
    r = ml.run([ZGFS, "mount", "--help"])
    want = [b"allow_other", b"allow_root", b"noatime", b"relatime", b"uid=", b"gid=",
            b"umask=", b"append_only", b"ro,", b"default_permissions"]
    out = r.stdout + r.stderr
    t.ok(all(w in out for w in want), "zgfs mount --help lists every -o option",
         f"missing {[w for w in want if w not in out]}")
    if not ROOT:
        t.skip("allow_other without user_allow_other", "needs root to run as another user")
    elif user_allow_other():
        t.skip("allow_other without user_allow_other", "/etc/fuse.conf has user_allow_other")
    else:
        os.chmod(base, 0o777)
        rc, out = as_user(USER, f"import subprocess\nr = subprocess.run([{ZGFS!r}, 'mount', "
                          f"'-o', 'allow_other', '--data', {base!r} + '/u', {base!r} + "
                          f"'/um'], capture_output=True)\nprint(r.returncode, r.stderr.decode())")
        t.ok(out.startswith("2 ") and "user_allow_other" in out and "/etc/fuse.conf" in out,
             "-o allow_other by a user, without user_allow_other in /etc/fuse.conf: exit 2 "
             "naming the line to add", out)
        ml.force_unmount(os.path.join(base, "um"))
    ml.remove_scratch(base)


def user_allow_other():
    try:
        with open("/etc/fuse.conf") as f:
            return any(l.split("#")[0].strip() == "user_allow_other" for l in f)
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# statfs

def statfs():
    row("statfs -> the data directory's filesystem: total, free, available, inodes")
    for _ in range(3):  # other writers on the disk: take the closest of three
        a, b = os.statvfs(M), os.statvfs(DATA)
        if abs(a.f_bfree * a.f_frsize - b.f_bfree * b.f_frsize) < (64 << 20):
            break
    fs = lambda v, f: getattr(v, f) * v.f_frsize  # noqa: E731
    tol = 64 << 20
    t.ok(fs(a, "f_blocks") == fs(b, "f_blocks"), "f_blocks × f_frsize: the same size",
         f"{fs(a, 'f_blocks')} vs {fs(b, 'f_blocks')}")
    t.ok(abs(fs(a, "f_bfree") - fs(b, "f_bfree")) < tol, "f_bfree: free in all, the same",
         f"{fs(a, 'f_bfree')} vs {fs(b, 'f_bfree')}")
    t.ok(abs(fs(a, "f_bavail") - fs(b, "f_bavail")) < tol, "f_bavail: available, the same",
         f"{fs(a, 'f_bavail')} vs {fs(b, 'f_bavail')}")
    t.ok(a.f_files == b.f_files and abs(a.f_ffree - b.f_ffree) < 1000,
         "f_files and f_ffree: the data directory filesystem's inodes",
         f"{a.f_files}/{a.f_ffree} vs {b.f_files}/{b.f_ffree}")
    r1, r2 = ml.run(["df", "--output=pcent,size", M]), ml.run(["df", "--output=pcent,size", DATA])
    t.ok(r1.returncode == 0 and r1.stdout.split()[-2:] == r2.stdout.split()[-2:],
         "df of the mount shows the same use% and size as df of the data directory",
         f"{r1.stdout.decode().split()} vs {r2.stdout.decode().split()}")


# ---------------------------------------------------------------------------------------
# Extended attributes

def xattrs():
    row("user xattrs -> stored with the inode: set, get, list, remove, flags, limits")
    p = P("xa")
    ml.write_file(p, b"first")
    os.setxattr(p, "user.note", b"hello")
    t.ok(os.getxattr(p, "user.note") == b"hello", "setxattr, getxattr user.note")
    t.ok(os.listxattr(p) == ["user.note"],
         "listxattr lists the stored attribute and none of user.zg.*", f"{os.listxattr(p)}")
    t.ok(ml.getxattr(p, "user.zg.root").startswith("0x"),
         "user.zg.root is still readable by name")
    t.errno_is(lambda: os.setxattr(p, "user.note", b"x", os.XATTR_CREATE), errno.EEXIST,
               "XATTR_CREATE of an existing name")
    t.errno_is(lambda: os.setxattr(p, "user.none", b"x", os.XATTR_REPLACE), errno.ENODATA,
               "XATTR_REPLACE of a missing name")
    os.setxattr(p, "user.note", b"replaced", os.XATTR_REPLACE)
    os.setxattr(p, "user.empty", b"")
    t.ok(os.getxattr(p, "user.note") == b"replaced" and os.getxattr(p, "user.empty") == b"",
         "XATTR_REPLACE replaces; an empty value is kept")
    t.ok(getxattr_size(p, "user.note", 0) == (8, 0) and
         getxattr_size(p, "user.note", 3) == (-1, errno.ERANGE),
         "getxattr with size 0 gives the length; a short buffer: ERANGE",
         f"{getxattr_size(p, 'user.note', 0)} {getxattr_size(p, 'user.note', 3)}")
    need = len(b"user.empty\0user.note\0")
    t.ok(listxattr_size(p, 0) == (need, 0) and listxattr_size(p, 4) == (-1, errno.ERANGE),
         "listxattr with size 0 gives the length; a short buffer: ERANGE",
         f"{listxattr_size(p, 0)} {listxattr_size(p, 4)}")
    t.errno_is(lambda: os.setxattr(p, "user." + "n" * 251, b"x"), errno.ERANGE,
               "a name of 256 bytes")
    os.setxattr(p, "user." + "n" * 250, b"x")
    os.removexattr(p, "user." + "n" * 250)
    t.errno_is(lambda: os.setxattr(p, "user.big", b"v" * 65537), errno.E2BIG,
               "a value of 64 KiB + 1")
    os.setxattr(p, "user.big", b"v" * 65536)
    t.ok(os.getxattr(p, "user.big") == b"v" * 65536, "a value of 64 KiB is kept")
    t.errno_is(lambda: os.setxattr(p, "user.big2", b"w" * 65536), errno.ENOSPC,
               "a second 64 KiB value: the inode's room (128 KiB) is full")
    os.removexattr(p, "user.big")
    t.errno_is(lambda: os.removexattr(p, "user.big"), errno.ENODATA, "removexattr twice")
    t.errno_is(lambda: os.getxattr(p, "user.big"), errno.ENODATA, "getxattr of a removed name")
    row("user.zg.* -> read-only (EPERM), never listed; system.* -> ENOTSUP")
    t.errno_is(lambda: os.setxattr(p, "user.zg.root", b"0x00"), errno.EPERM,
               "setxattr user.zg.root")
    t.errno_is(lambda: os.removexattr(p, "user.zg.pid"), errno.EPERM, "removexattr user.zg.pid")
    t.errno_is(lambda: os.setxattr(p, "system.posix_acl_access", b"\x02\0\0\0"),
               {errno.ENOTSUP, errno.EOPNOTSUPP}, "setxattr system.posix_acl_access")
    t.errno_is(lambda: os.setxattr(p, "bogus.name", b"x"), {errno.ENOTSUP, errno.EOPNOTSUPP},
               "setxattr of a name outside the known namespaces")
    row("xattrs kept across versions and renames")
    with open(p, "ab") as f:
        f.write(b" and more")
    os.rename(p, P("xa-renamed"))
    p = P("xa-renamed")
    t.ok(ml.read_file(p) == b"first and more" and os.getxattr(p, "user.note") == b"replaced",
         "after a new version and a rename the attribute is still there")
    if ROOT:
        os.setxattr(p, "trusted.t", b"root only")
        t.ok(os.getxattr(p, "trusted.t") == b"root only" and "trusted.t" in os.listxattr(p),
             "trusted.* as root: set, get, listed")
        out = as_user(USER, f"print(sorted(os.listxattr({p!r})))")[1]
        t.ok("trusted.t" not in out and "user.note" in out,
             "trusted.* is not listed to another user (as on ext4)", out)
        t.ok(errno_as(USER, f"os.getxattr({p!r}, 'trusted.t')") == "ENODATA",
             "trusted.* cannot be read by another user")
        os.setxattr(p, "security.s", b"sec")
        t.ok(os.getxattr(p, "security.s") == b"sec", "security.* as root: set and get")
    else:
        t.skip("trusted.* and security.*", "not root")
    os.mkdir(P("xa-dir"))
    os.setxattr(P("xa-dir"), "user.d", b"on a directory")
    t.ok(os.getxattr(P("xa-dir"), "user.d") == b"on a directory", "user xattrs on a directory")
    os.symlink("xa-renamed", P("xa-link"))
    t.errno_is(lambda: os.setxattr(P("xa-link"), "user.l", b"x", follow_symlinks=False),
               errno.EPERM, "user xattr on a symlink (Linux allows them on files and dirs)")
    if shutil.which("setfattr") and shutil.which("getfattr"):
        r = ml.run(["setfattr", "-n", "user.tool", "-v", "from setfattr", p])
        g = ml.run(["getfattr", "-d", "--absolute-names", p])
        out = g.stdout.decode()
        t.ok(r.returncode == 0 and 'user.tool="from setfattr"' in out and
             'user.note="replaced"' in out and "user.zg" not in out,
             "setfattr -n, getfattr -d: stored ones shown, user.zg.* not", ml.text(g))
        g = ml.run(["getfattr", "--only-values", "-n", "user.zg.root", p])
        t.ok(g.returncode == 0 and g.stdout.startswith(b"0x"),
             "getfattr -n user.zg.root reads the virtual attribute", ml.text(g))
    else:
        t.skip("setfattr/getfattr", "not installed (Debian package attr)")


# ---------------------------------------------------------------------------------------
# Hard links

def hard_links():
    row("link -> another name of the inode; nlink counted; versions live while a name does")
    a, b = P("hl-a"), P("hl-b")
    ml.write_file(a, b"one")
    os.setxattr(a, "user.kept", b"yes")
    c0 = os.stat(a).st_ctime_ns
    time.sleep(0.02)
    os.link(a, b)
    sa, sb = os.stat(a), os.stat(b)
    t.ok(sa.st_ino == sb.st_ino and sa.st_nlink == 2 == sb.st_nlink,
         "both names: the same inode, st_nlink 2", f"{sa.st_ino}/{sb.st_ino} {sa.st_nlink}")
    t.ok(sa.st_ctime_ns > c0, "link updates the inode's ctime", f"{c0} -> {sa.st_ctime_ns}")
    with open(b, "ab") as f:
        f.write(b" two")
    t.ok(ml.read_file(a) == b"one two" and os.getxattr(a, "user.kept") == b"yes",
         "a write through one name is read through the other; xattrs are the inode's")
    vers = ml.getxattr(a, "user.zg.versions").strip().splitlines()
    t.errno_is(lambda: os.link(a, b), errno.EEXIST, "link onto an existing name")
    t.errno_is(lambda: os.link(P("xa-dir"), P("hl-dir")), errno.EPERM, "link of a directory")
    c1 = os.stat(a).st_ctime_ns
    time.sleep(0.02)
    os.unlink(a)
    sb = os.stat(b)
    t.ok(sb.st_nlink == 1 and ml.read_file(b) == b"one two" and sb.st_ctime_ns > c1,
         "unlink of one name: the other keeps the content, st_nlink 1, ctime updated",
         f"nlink {sb.st_nlink} ctime {c1} -> {sb.st_ctime_ns}")
    t.ok(ml.getxattr(b, "user.zg.versions").strip().splitlines() == vers,
         "the versions are the inode's, all still there")
    os.link(b, a)
    c2 = os.stat(a).st_ctime_ns
    os.rename(a, b)
    t.ok(os.path.exists(a) and os.path.exists(b) and os.stat(a).st_nlink == 2 and
         os.stat(a).st_ctime_ns == c2,
         "rename onto another name of the same inode does nothing (POSIX)")
    ml.write_file(P("hl-other"), b"other")
    c5 = os.stat(P("hl-other")).st_ctime_ns
    time.sleep(0.02)
    os.rename(P("hl-other"), P("hl-other2"))
    t.ok(os.stat(P("hl-other2")).st_ctime_ns > c5, "rename updates the moved inode's ctime")
    os.rename(P("hl-other2"), a)
    t.ok(ml.read_file(a) == b"other" and ml.read_file(b) == b"one two" and
         os.stat(b).st_nlink == 1 and os.stat(a).st_nlink == 1,
         "rename of another file onto a hard link: the inode keeps its other name")
    os.mkdir(P("hl-sub"))
    os.link(b, P("hl-sub", "c"))
    os.rename(P("hl-sub", "c"), P("hl-sub", "d"))
    t.ok(os.stat(P("hl-sub", "d")).st_nlink == 2 and os.stat(b).st_ino ==
         os.stat(P("hl-sub", "d")).st_ino, "a hard link in another directory, renamed")
    c3 = os.stat(b).st_ctime_ns
    time.sleep(0.02)
    os.chmod(b, 0o640)
    t.ok(os.stat(b).st_ctime_ns > c3 and stat.S_IMODE(os.stat(P("hl-sub", "d")).st_mode) ==
         0o640, "chmod through one name: ctime updated, the mode seen through the other")
    c4 = os.stat(b).st_ctime_ns
    time.sleep(0.02)
    os.utime(b, ns=(1_000_000_000, 2_000_000_000))
    t.ok(os.stat(b).st_ctime_ns > c4 and os.stat(b).st_mtime_ns == 2_000_000_000,
         "utimens sets the times and updates ctime")
    many = [P(f"hl-many-{i}") for i in range(50)]
    for n in many:
        os.link(b, n)
    t.ok(os.stat(b).st_nlink == 52, "50 more links: st_nlink 52", f"{os.stat(b).st_nlink}")
    for n in many:
        os.unlink(n)
    t.ok(os.stat(b).st_nlink == 2, "and back to 2 after unlinking them")
    fd = os.open(b, os.O_RDONLY)
    os.unlink(b)
    os.unlink(P("hl-sub", "d"))
    t.ok(os.read(fd, 100) == b"one two" and os.fstat(fd).st_nlink == 0,
         "the last name removed: still readable through an open descriptor, st_nlink 0")
    os.close(fd)


# ---------------------------------------------------------------------------------------
# Special files

def special_files():
    row("mkfifo, mknod, unix sockets -> inodes with a type and rdev; the kernel does the rest")
    os.mkfifo(P("fifo"), 0o640)
    t.ok(stat.S_ISFIFO(os.lstat(P("fifo")).st_mode), "mkfifo: lstat says FIFO")
    got = []
    th = threading.Thread(target=lambda: got.append(ml.read_file(P("fifo"))))
    th.start()
    with open(P("fifo"), "wb") as f:
        f.write(b"through the pipe")
    th.join(10)
    t.ok(got == [b"through the pipe"], "bytes written into the FIFO are read out of it")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(P("sock"))
    s.listen(1)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(P("sock"))
    conn, _ = s.accept()
    c.sendall(b"hello socket")
    t.ok(conn.recv(100) == b"hello socket" and stat.S_ISSOCK(os.lstat(P("sock")).st_mode),
         "a unix socket bound on the mount: lstat says socket, connect and send work")
    for x in (conn, c, s):
        x.close()
    if ROOT:
        os.mknod(P("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(P("loop"), 0o660 | stat.S_IFBLK, os.makedev(7, 0))
        sn, sl = os.lstat(P("null")), os.lstat(P("loop"))
        t.ok(stat.S_ISCHR(sn.st_mode) and sn.st_rdev == os.makedev(1, 3),
             "mknod of a character device: type and rdev 1,3", f"{oct(sn.st_mode)} {sn.st_rdev}")
        t.ok(stat.S_ISBLK(sl.st_mode) and sl.st_rdev == os.makedev(7, 0),
             "mknod of a block device: type and rdev 7,0")
        t.errno_is(lambda: open(P("null"), "wb"), errno.EACCES,
                   "opening a device node: EACCES, the mount is nodev")
    else:
        t.skip("mknod of devices", "not root (CAP_MKNOD)")
        t.errno_is(lambda: os.mknod(P("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3)),
                   errno.EPERM, "mknod of a device without CAP_MKNOD")
    kinds = {e.name: e for e in os.scandir(M)}
    t.ok(stat.S_ISFIFO(kinds["fifo"].stat(follow_symlinks=False).st_mode) and
         not kinds["sock"].is_file(), "readdir gives the special files' types")
    os.mknod(P("regular-by-mknod"), 0o600 | stat.S_IFREG)
    t.ok(stat.S_ISREG(os.lstat(P("regular-by-mknod")).st_mode),
         "mknod of a regular file makes an empty file")


# ---------------------------------------------------------------------------------------
# Permissions, as other users (setpriv) on an allow_other mount

def permissions():
    row("permissions: default_permissions, owner at create, setgid dirs, sticky, chown/chmod")
    if not ROOT or not shutil.which("setpriv"):
        t.skip("permissions as other users", "needs root and setpriv to act as other uids")
        return
    d = P("perm")
    os.mkdir(d, 0o777)
    os.chmod(d, 0o777)
    rc, out = as_user(USER, f"open({d!r} + '/mine', 'w').write('u')\n"
                      f"st = os.stat({d!r} + '/mine')\nprint(st.st_uid, st.st_gid)")
    t.ok(out.strip() == f"{USER} {USER}", "a file created by another user (allow_other) "
         "belongs to that user's uid and gid", out)
    ml.write_file(P("perm", "secret"), b"root's", mode=0o600)
    t.ok(errno_as(USER, f"open({d!r} + '/secret').read()") == "EACCES",
         "mode 0600 of root: another user gets EACCES (the kernel checks mode bits)")
    t.ok(errno_as(USER, f"open({d!r} + '/mine').read()") == "ok",
         "the owner reads its own file")
    # setgid directories
    sg = P("perm", "sgid")
    os.mkdir(sg)
    os.chown(sg, 0, GROUP)
    os.chmod(sg, 0o2777)
    as_user(USER, f"open({sg!r} + '/f', 'w').close()\nos.mkdir({sg!r} + '/sub')")
    f, sub = os.stat(os.path.join(sg, "f")), os.stat(os.path.join(sg, "sub"))
    t.ok(f.st_gid == GROUP and f.st_uid == USER,
         "in a setgid directory a new file takes the directory's group",
         f"{f.st_uid}:{f.st_gid}")
    t.ok(sub.st_gid == GROUP and sub.st_mode & stat.S_ISGID,
         "... and a new directory the group and the setgid bit", oct(sub.st_mode))
    # sticky directories
    st_dir = P("perm", "sticky")
    os.mkdir(st_dir)
    os.chmod(st_dir, 0o1777)
    as_user(USER, f"open({st_dir!r} + '/owned', 'w').close()")
    t.ok(errno_as(OTHER, f"os.unlink({st_dir!r} + '/owned')") in ("EPERM", "EACCES"),
         "sticky directory: another user cannot unlink the file")
    t.ok(errno_as(OTHER, f"os.rename({st_dir!r} + '/owned', {st_dir!r} + '/x')") in
         ("EPERM", "EACCES"), "sticky directory: nor rename it")
    t.ok(errno_as(USER, f"os.unlink({st_dir!r} + '/owned')") == "ok",
         "sticky directory: the owner can")
    # chown and chmod rules
    mine = os.path.join(d, "mine")
    t.ok(errno_as(USER, f"os.chown({mine!r}, {OTHER}, -1)") == "EPERM",
         "a non-root user cannot give a file away (chown: EPERM)")
    t.ok(errno_as(USER, f"os.chown({mine!r}, -1, {GROUP})") == "EPERM",
         "nor chgrp it to a group it is not in")
    t.ok(errno_as(USER, f"os.chown({mine!r}, -1, {GROUP})", groups=(GROUP,)) == "ok" and
         os.stat(mine).st_gid == GROUP, "chgrp to a group it is in works")
    t.ok(errno_as(USER, f"os.chmod({mine!r}, 0o6755)", groups=(GROUP,)) == "ok" and
         os.stat(mine).st_mode & 0o7777 == 0o6755, "the owner sets setuid and setgid",
         oct(os.stat(mine).st_mode))
    as_user(USER, f"os.chown({mine!r}, -1, {USER})", groups=(GROUP,))
    t.ok(os.stat(mine).st_mode & 0o6000 == 0,
         "chown by a non-root owner clears setuid and setgid", oct(os.stat(mine).st_mode))
    os.chown(mine, USER, GROUP)
    t.ok(errno_as(USER, f"os.chmod({mine!r}, 0o2755)") == "ok" and
         os.stat(mine).st_mode & 0o7777 == 0o755,
         "chmod g+s by an owner not in the file's group clears setgid (as Linux)",
         oct(os.stat(mine).st_mode))
    os.chmod(mine, 0o4755)
    c0 = os.stat(mine).st_ctime_ns
    time.sleep(0.02)
    os.chown(mine, OTHER, OTHER)
    t.ok(os.stat(mine).st_ctime_ns > c0, "chown updates ctime")
    t.ok(os.stat(mine).st_mode & 0o4000 == 0 and os.stat(mine).st_uid == OTHER,
         "chown by root of a setuid file: the new owner, setuid cleared",
         oct(os.stat(mine).st_mode))
    t.ok(errno_as(USER, f"os.chmod({mine!r}, 0o777)") == "EPERM",
         "chmod of another user's file: EPERM")
    t.ok(errno_as(USER, f"os.utime({mine!r}, (1, 1))") == "EPERM",
         "utime with times of another user's file: EPERM")


# ---------------------------------------------------------------------------------------
# cp -a and rsync -aHX round trips

def make_tree(src):
    """A tree with files, a hard link, a FIFO, symlinks, a directory, xattrs, modes, times."""
    os.makedirs(os.path.join(src, "dir", "deep"))
    ml.write_file(os.path.join(src, "file"), ml.pattern("tree-file", 300000), mode=0o640)
    ml.write_file(os.path.join(src, "dir", "small"), b"small\n", mode=0o600)
    ml.write_file(os.path.join(src, "dir", "deep", "empty"), b"")
    os.link(os.path.join(src, "file"), os.path.join(src, "dir", "file-link"))
    os.mkfifo(os.path.join(src, "fifo"), 0o620)
    os.symlink("file", os.path.join(src, "sym"))
    os.symlink("../nowhere", os.path.join(src, "dir", "dangling"))
    os.setxattr(os.path.join(src, "file"), "user.origin", b"source tree")
    os.setxattr(os.path.join(src, "dir"), "user.kind", b"directory")
    os.setxattr(os.path.join(src, "dir", "small"), "user.bin", bytes(range(256)))
    os.chmod(os.path.join(src, "dir"), 0o750)
    if ROOT:
        os.chown(os.path.join(src, "dir", "small"), 1234, 5678)
    for i, (dp, dns, fns) in enumerate(sorted(os.walk(src), reverse=True)):
        for n in fns + dns:
            os.utime(os.path.join(dp, n), ns=(1_500_000_000_000_000_000 + i * 7,
                                              1_400_000_000_123_456_789 + i * 11),
                     follow_symlinks=False)
    os.utime(src, ns=(1_500_000_000_000_000_000, 1_400_000_000_000_000_001))


def describe(top):
    """path -> (type, mode, uid, gid, size, mtime_ns, nlink, bytes/target, xattrs)."""
    out = {}
    for dp, dns, fns in os.walk(top):
        for n in sorted(dns + fns):
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            body = None
            if stat.S_ISREG(st.st_mode):
                body = ml.digest(ml.read_file(p))
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            xa = {}
            if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
                xa = {k: os.getxattr(p, k) for k in sorted(os.listxattr(p))}
            mt = st.st_mtime_ns
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                        st.st_gid, st.st_size if not stat.S_ISDIR(st.st_mode) else 0, mt,
                        st.st_nlink if not stat.S_ISDIR(st.st_mode) else 0, body, xa)
    return out


def compare(a, b, what):
    diffs = [f"{k}: {a.get(k)} != {b.get(k)}" for k in sorted(set(a) | set(b))
             if a.get(k) != b.get(k)]
    t.ok(not diffs, what, "\n".join(diffs[:10]))


def copies():
    row("cp -a and rsync -aHX of a tree with hard links, a FIFO, symlinks, xattrs")
    src = os.path.join(S, "tree-src")
    make_tree(src)
    want = describe(src)
    t.ok(want["file"][6] == 2 and want["dir/small"][8],
         "the source tree has a hard link and xattrs", f"{want['file']}")
    r = ml.run(["cp", "-a", src, P("cp-in")])
    t.ok(r.returncode == 0, "cp -a of the tree into the mount", ml.text(r))
    compare(describe(P("cp-in")), want, "cp -a into the mount: types, modes, owners, sizes, "
            "mtimes (ns), link counts, bytes, targets, xattrs equal the source's")
    out = os.path.join(S, "cp-out")
    r = ml.run(["cp", "-a", P("cp-in"), out])
    t.ok(r.returncode == 0 and not r.stderr, "cp -a of the tree out of the mount, silently",
         ml.text(r))
    got = describe(out)
    compare(got, want, "cp -a out of the mount: equal to the source")
    t.ok(not any(k.startswith("user.zg.") for v in got.values() for k in v[8]),
         "no user.zg.* attribute was copied out")
    if not shutil.which("rsync"):
        t.skip("rsync -aHX", "rsync is not installed")
        return
    r = ml.run(["rsync", "-aHX", src + "/", P("rs-in") + "/"])
    t.ok(r.returncode == 0, "rsync -aHX of the tree into the mount", ml.text(r))
    compare(describe(P("rs-in")), want, "rsync -aHX into the mount: equal to the source")
    out = os.path.join(S, "rs-out")
    r = ml.run(["rsync", "-aHX", P("rs-in") + "/", out + "/"])
    t.ok(r.returncode == 0, "rsync -aHX out of the mount", ml.text(r))
    compare(describe(out), want, "rsync -aHX out of the mount: equal to the source")
    r = ml.run(["rsync", "-aHXi", "--dry-run", src + "/", P("rs-in") + "/"])
    t.ok(r.returncode == 0 and not r.stdout.strip(),
         "a second rsync -aHX finds nothing to change", ml.text(r))
    global COPIED
    COPIED = want


# ---------------------------------------------------------------------------------------
# After a remount

def after_remount():
    if not ml.remount(t, MOUNT):
        return
    row("everything above survives a remount")
    p = P("xa-renamed")
    t.ok(os.getxattr(p, "user.note") == b"replaced" and os.getxattr(P("xa-dir"), "user.d") ==
         b"on a directory" and "user.zg.root" not in os.listxattr(p),
         "xattrs after a remount")
    t.ok(stat.S_ISFIFO(os.lstat(P("fifo")).st_mode) and
         stat.S_ISSOCK(os.lstat(P("sock")).st_mode), "FIFO and socket after a remount")
    if ROOT:
        t.ok(os.lstat(P("null")).st_rdev == os.makedev(1, 3) and
             os.lstat(P("loop")).st_rdev == os.makedev(7, 0), "rdev after a remount")
        t.ok(os.stat(P("perm", "sgid", "f")).st_gid == GROUP, "owners after a remount")
    if COPIED:
        compare(describe(P("cp-in")), COPIED, "the cp -a copy after a remount")
        t.ok(os.stat(P("cp-in", "file")).st_nlink == 2 and os.stat(P("cp-in", "file")).st_ino
             == os.stat(P("cp-in", "dir", "file-link")).st_ino, "hard links after a remount")


COPIED = None
MOUNT = None


def main():
    global M, S, DATA, MOUNT
    ml.require_fuse()
    os.umask(0o022)
    S, DATA, m = ml.fresh_mount(t, ZGFS, "zgfs-complete-",
                                ["-o", "allow_other"] if ROOT else [])
    MOUNT, M = m, m.mnt
    os.chmod(S, 0o755)  # other uids walk to the mount
    os.chmod(M, 0o755)
    ml.run_groups(t, m, [statfs, xattrs, hard_links, special_files, permissions, copies,
                         after_remount])
    with open(m.log, errors="replace") as f:
        log = f.read()  # both runs: before and after the remount
    # (link of a directory, system.* and unknown xattr namespaces are refused by the
    # kernel before they reach the mount)
    want = {"user.zg.* attributes": "/xa"}
    for what, path in want.items():
        lines = [line for line in log.splitlines() if what in line]
        t.ok(lines and path in lines[0] and "logged once" in lines[0] and len(lines) == 1,
             f"the refused operation '{what}' is logged once, with its path ({path})",
             "\n".join(lines) or "no such line")
    ml.stop_and_verify(t, m, ZGFS, DATA)
    t.run("options", options)
    log = m.log_tail(100000)
    t.note("mount daemon log (last lines):\n" + "\n".join(log.splitlines()[-10:]))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
