#!/usr/bin/env python3
"""Bounded memory: a large upload streams through in constant memory.

usage: memory.py ZGFS [MIB]

Streams MIB MiB (default 1024) of pseudo-random bytes into `zgfs upload -`, once with the
node in the client's process (--data) and once into a running `zgfs node` (--node), and
checks that the peak RSS of the process holding the node stays under 64 MiB, then that
the entry's root equals `zgfs root` of the same stream. Prints TAP; exits 0 when all pass.
"""
import hashlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ZGFS = sys.argv[1]
MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
LIMIT_MIB = 64
count = failed = 0


def ok(cond, what):
    global count, failed
    count += 1
    failed += 0 if cond else 1
    print(f"{'' if cond else 'not '}ok {count} - {what}", flush=True)


def feed(pipe):
    """MIB MiB: each MiB a fresh keccak-free pattern (sha256 counter mode), fast enough."""
    block = bytearray()
    seed = hashlib.sha256(b"zgfs-memory").digest()
    for i in range(1 << 15):
        block += hashlib.sha256(seed + i.to_bytes(4, "little")).digest()
    try:
        for i in range(MIB):
            block[0:8] = i.to_bytes(8, "little")
            pipe.write(block)
        pipe.close()
    except BrokenPipeError:
        pass


def run_upload(args):
    p = subprocess.Popen([ZGFS, "upload", "-"] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = threading.Thread(target=feed, args=(p.stdin,))
    t.start()
    out = p.stdout.read()
    err = p.stderr.read()
    p.wait()
    t.join()
    return p.returncode, out.decode(), err.decode()


def root_of_stream():
    p = subprocess.Popen([ZGFS, "root", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    t = threading.Thread(target=feed, args=(p.stdin,))
    t.start()
    out = p.stdout.read()
    p.wait()
    t.join()
    return out.decode().split()[0]


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1


def main():
    scratch = tempfile.mkdtemp(prefix="zgfs-memory-")
    try:
        want = root_of_stream()
        rc, out, err = run_upload(["--data", os.path.join(scratch, "a")])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ok(rc == 0 and out.split()[0] == want,
           f"{MIB} MiB through `zgfs upload --data` has the stream's root ({err.strip()})")
        ok(peak < LIMIT_MIB, f"peak RSS of the uploading process {peak:.1f} MiB < {LIMIT_MIB} MiB")

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        node = subprocess.Popen([ZGFS, "node", "--data", os.path.join(scratch, "b"), "--rpc",
                                 f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
        while "serving http://" not in node.stderr.readline():
            if node.poll() is not None:
                raise RuntimeError("node did not start")
        threading.Thread(target=node.stderr.read, daemon=True).start()
        rc, out, err = run_upload(["--node", f"http://127.0.0.1:{port}"])
        peak = peak_rss_mib(node.pid)
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
        ok(rc == 0 and out.split()[0] == want,
           f"{MIB} MiB through `zgfs upload --node` has the stream's root ({err.strip()})")
        ok(0 < peak < LIMIT_MIB, f"peak RSS of the node {peak:.1f} MiB < {LIMIT_MIB} MiB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"1..{count}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
