#!/usr/bin/env python3
"""The config file: defaults for `zgfs node` and `zgfs mount` (docs/CONFIG.md).

usage: config_cli.py ZGFS

- $XDG_CONFIG_HOME/zgfs/config's [node] section sets where a node keeps its data and
  listens; an option on the command line wins over the file; --config FILE replaces the
  default file.
- An unknown key, an unknown section, a flag that is neither true nor false, a line that
  is no `key = value`, a missing --config file: each refused naming the file (and line),
  exit 2, nothing started and no data directory created.
- [mount] options = ro mounts read-only (a write is EROFS); skipped without FUSE.
Prints TAP.
"""
import errno
import os
import subprocess
import sys
import time
import urllib.request

import mountlib

zgfs = os.path.abspath(sys.argv[1])
tap = mountlib.Tap()
d = mountlib.scratch("zgfs-config-")
xdg = os.path.join(d, "xdg")
os.makedirs(os.path.join(xdg, "zgfs"))
env = dict(os.environ, XDG_CONFIG_HOME=xdg)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def serving(port, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def node(args, port):
    p = subprocess.Popen([zgfs, "node", *args], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    up = serving(port)
    p.terminate()
    p.wait(timeout=30)
    return up


p1, p2, p3 = mountlib.free_port(), mountlib.free_port(), mountlib.free_port()
data = os.path.join(d, "data")
write(os.path.join(xdg, "zgfs", "config"),
      f"# defaults for this machine\n[node]\nrpc = 127.0.0.1:{p1}\ndata = {data}\n\n"
      "[mount]\nverify = always\n")
tap.ok(node([], p1) and os.path.isdir(data),
       f"[node] of $XDG_CONFIG_HOME/zgfs/config: the node keeps {data} and listens on {p1}")
tap.ok(node(["--rpc", f"127.0.0.1:{p2}"], p2), "--rpc on the command line wins over the file")
other = os.path.join(d, "other.conf")
write(other, f"[node]\nrpc = 127.0.0.1:{p3}\ndata = {data}\n")
tap.ok(node(["--config", other], p3), "--config FILE replaces the default file")

nowhere = os.path.join(d, "never")
bad = {
    "an unknown key": (f"[node]\ndata = {nowhere}\nbogus = 1\n", ":3: [node] has no key 'bogus'"),
    "an unknown section": (f"[nodes]\ndata = {nowhere}\n", ":1: '[nodes]' is not a section"),
    "a flag that is not true or false": (f"[node]\ndata = {nowhere}\nmine = yes\n", ":3: mine is true or false"),
    "a line without =": (f"[node]\ndata {nowhere}\n", ":2: expected 'key = value'"),
}
for what, (text, want) in bad.items():
    f = os.path.join(d, "bad.conf")
    write(f, text)
    r = subprocess.run([zgfs, "node", "--config", f], env=env, capture_output=True, text=True, timeout=30)
    tap.ok(r.returncode == 2 and f + want in r.stderr and not os.path.exists(nowhere),
           f"{what}: refused naming {os.path.basename(f)}:{want.split(':')[1]}, nothing created",
           r.stderr)
r = subprocess.run([zgfs, "node", "--config", os.path.join(d, "missing.conf")], env=env,
                   capture_output=True, text=True, timeout=30)
tap.ok(r.returncode == 2 and "missing.conf: No such file" in r.stderr, "a missing --config file is refused",
       r.stderr)

why = mountlib.fuse_skip_reason()
if why:
    tap.skip("[mount] options = ro", why)
else:
    write(os.path.join(xdg, "zgfs", "config"), "[mount]\noptions = ro\n")
    mdata, mnt = os.path.join(d, "mdata"), os.path.join(d, "mnt")
    os.mkdir(mnt)
    os.environ["XDG_CONFIG_HOME"] = xdg  # mountlib.Mount runs zgfs with this environment
    m = mountlib.Mount(zgfs, mdata, mnt).start()
    try:
        with open(os.path.join(mnt, "f"), "w") as f:
            f.write("x")
        e = None
    except OSError as ex:
        e = ex.errno
    tap.ok(e == errno.EROFS, f"[mount] options = ro: a write gets {errno.errorcode.get(e, e)}")
    m.stop()

mountlib.remove_scratch(d)
sys.exit(tap.done())
