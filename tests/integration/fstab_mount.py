#!/usr/bin/env python3
"""mount.fuse.zgfs, the helper mount(8) runs for `mount -t fuse.zgfs` and fstab lines.

usage: fstab_mount.py ZGFS

Through a link named mount.fuse.zgfs to the binary under test: mounts a data directory
with mount(8)'s options (defaults, _netdev, noatime), writes and reads a file, unmounts;
refuses an unknown option by name without mounting. Then, as root and when setup.sh has
installed /usr/sbin/mount.fuse.zgfs as a link to this binary, the same through
`mount -t fuse.zgfs` and through an fstab line (`mount --fstab FILE MNT`), with `umount`. Exits 77 when FUSE cannot be used here.
"""
import os
import shutil
import subprocess
import sys

import mountlib

zgfs = os.path.abspath(sys.argv[1])
mountlib.require_fuse()
tap = mountlib.Tap()
d = mountlib.scratch("zgfs-fstab-")
helper = os.path.join(d, "mount.fuse.zgfs")
os.symlink(zgfs, helper)
data, mnt = os.path.join(d, "data"), os.path.join(d, "mnt")
os.mkdir(mnt)
payload = os.urandom(300000)

r = mountlib.run([helper, data, mnt, "-o", "defaults,_netdev,noatime"])
mounted = r.returncode == 0 and mountlib.is_mounted(mnt)
tap.ok(mounted, "mount.fuse.zgfs DATA MNT -o defaults,_netdev,noatime mounts", mountlib.text(r))
if mounted:
    with open(os.path.join(mnt, "f.bin"), "wb") as f:
        f.write(payload)
    with open(os.path.join(mnt, "f.bin"), "rb") as f:
        tap.ok(f.read() == payload, "a file written through it reads back identical")
    u = mountlib.run([zgfs, "umount", mnt])
    tap.ok(u.returncode == 0 and not mountlib.is_mounted(mnt), "zgfs umount", mountlib.text(u))

r = mountlib.run([helper, data, mnt, "-o", "noatime,bogus_option"])
out = mountlib.text(r)
tap.ok(r.returncode != 0 and "bogus_option" in out and not mountlib.is_mounted(mnt),
       f"an unknown option is refused by name and nothing is mounted: {out}")

system = "/usr/sbin/mount.fuse.zgfs"
if os.geteuid() != 0:
    tap.skip("mount -t fuse.zgfs", "not root: mount(8) runs helpers for root only")
elif not os.path.exists(system) or os.path.realpath(system) != os.path.realpath(zgfs):
    tap.skip("mount -t fuse.zgfs", f"{system} is not a link to {zgfs} (./setup.sh installs it)")
elif not shutil.which("mount"):
    tap.skip("mount -t fuse.zgfs", "mount(8) is missing")
else:
    r = mountlib.run(["mount", "-t", "fuse.zgfs", data, mnt, "-o", "noatime"])
    mounted = r.returncode == 0 and mountlib.is_mounted(mnt)
    tap.ok(mounted, "mount -t fuse.zgfs DATA MNT -o noatime mounts", mountlib.text(r))
    if mounted:
        with open(os.path.join(mnt, "f.bin"), "rb") as f:
            tap.ok(f.read() == payload, "the file written before reads back identical")
        u = mountlib.run(["umount", mnt])
        gone = u.returncode == 0 and mountlib.wait_unmounted(mnt, 30) is not None
        tap.ok(gone, "umount", mountlib.text(u))
    # An fstab line as users write it (a file of its own, not /etc/fstab: mount --fstab).
    fstab = os.path.join(d, "fstab")
    with open(fstab, "w") as f:
        f.write(f"{data} {mnt} fuse.zgfs defaults,_netdev,noatime,nofail 0 0\n")
    r = mountlib.run(["mount", "--fstab", fstab, mnt])
    mounted = r.returncode == 0 and mountlib.is_mounted(mnt)
    tap.ok(mounted, f"an fstab line ({data} {mnt} fuse.zgfs defaults,_netdev,noatime,nofail 0 0) mounts",
           mountlib.text(r))
    if mounted:
        with open(os.path.join(mnt, "f.bin"), "rb") as f:
            tap.ok(f.read() == payload, "the file reads back identical through it")
        u = mountlib.run(["umount", mnt])
        tap.ok(u.returncode == 0 and mountlib.wait_unmounted(mnt, 30) is not None,
               "umount", mountlib.text(u))
sys.exit(tap.done())
