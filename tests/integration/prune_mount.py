#!/usr/bin/env python3
"""zgfs prune: a random workload with versions, pruned with several policies and SIGKILLed.

usage: prune_mount.py ZGFS [KILLS]

Writes a seeded random workload through a mount (files rewritten, appended to, saved
safely by rename, removed), remembers every version of every file (its bytes, through
`zgfs cat --version`), then runs `zgfs prune` on the data directory with policies that keep
less and less: the default (everything), --keep-since 1h (everything: it is all recent),
--keep 3, then --keep 1 SIGKILLed KILLS times (default 20) at random moments before it is
let finish. After each step: every kept version reads back byte for byte, every pruned one
fails with the documented error and is marked by `zgfs versions`, current contents are
intact, `zgfs kv verify` passes, and `du` of the store shrinks by what prune reports.
Then `zgfs mount --prune-keep 1 --prune-interval 1` prunes old versions while the mount
runs and writers go on, and `zgfs node --prune-keep 1` prunes a data directory it serves.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 when FUSE cannot
be used here.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: prune_mount.py ZGFS [KILLS]")
ZGFS = os.path.abspath(sys.argv[1])
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
KiB = 1024
t = ml.Tap()
rng = random.Random(20261202)


def du(path):
    return sum(os.lstat(os.path.join(d, f)).st_blocks * 512
               for d, _, fs in os.walk(path) for f in fs)


def workload(m):
    """Random rewrites, appends, safe saves and removals; returns the live names."""
    names = [f"f{i:02d}" for i in range(24)]
    live = set()
    for step in range(160):
        n = rng.choice(names)
        p = os.path.join(m.mnt, n)
        kind = rng.random()
        size = rng.choice([300, 5 * KiB, 64 * KiB, 200 * KiB, 700 * KiB])
        if n in live and kind < 0.15:
            os.unlink(p)
            live.discard(n)
        elif n in live and kind < 0.35:
            with open(p, "ab") as f:
                f.write(ml.pattern(f"append {step}", rng.choice([6, 4 * KiB, 100 * KiB])))
        elif n in live and kind < 0.5:
            tmp = p + ".tmp"
            ml.write_file(tmp, ml.pattern(f"save {step}", size), fsync=True)
            os.rename(tmp, p)  # the safe save: the history follows the name
        else:
            ml.write_file(p, ml.pattern(f"write {step}", size))
            live.add(n)
    return sorted(live)


def versions(path):
    r = ml.run([ZGFS, "versions", "--json", path])
    if r.returncode != 0:
        raise RuntimeError(ml.text(r))
    return json.loads(r.stdout)


def cat(path, seq):
    return ml.run([ZGFS, "cat", path, "--version", str(seq)])


def remember(m, live):
    """name -> [(seq, sha of bytes)] oldest first, and name -> current bytes' sha."""
    hist, cur = {}, {}
    for n in live:
        p = os.path.join(m.mnt, n)
        hist[n] = []
        for v in versions(p):
            r = cat(p, v["seq"])
            if r.returncode != 0:
                raise RuntimeError(f"{n} version {v['seq']}: {ml.text(r)}")
            hist[n].append((v["seq"], ml.digest(r.stdout)))
        cur[n] = ml.digest(ml.read_file(p))
    return hist, cur


def check(m, hist, cur, keep, what):
    """Every version newer than the keep newest (None: all) reads back; older ones are
    either still readable with the same bytes or pruned with the documented error."""
    bad, pruned, kept_ok = [], 0, 0
    for n, vs in hist.items():
        p = os.path.join(m.mnt, n)
        now = {v["seq"]: v for v in versions(p)}
        for i, (seq, sha) in enumerate(vs):
            must_keep = keep is None or i >= len(vs) - keep
            r = cat(p, seq)
            if r.returncode == 0 and ml.digest(r.stdout) == sha:
                kept_ok += 1
                if now.get(seq, {}).get("pruned"):
                    bad.append(f"{n}@{seq}: readable but zgfs versions says pruned")
                continue
            if r.returncode == 0:
                bad.append(f"{n}@{seq}: different bytes")
            elif must_keep:
                bad.append(f"{n}@{seq}: a kept version fails: {ml.text(r)[:200]}")
            elif b"pruned locally" not in r.stderr or b"root 0x" not in r.stderr:
                bad.append(f"{n}@{seq}: not the documented error: {ml.text(r)[:200]}")
            elif not now.get(seq, {}).get("pruned"):
                bad.append(f"{n}@{seq}: pruned but zgfs versions does not say so")
            else:
                pruned += 1
        if ml.digest(ml.read_file(p)) != cur[n]:
            bad.append(f"{n}: current content changed")
    t.ok(not bad, f"{what}: every kept version reads back byte for byte, every pruned one "
         f"gives 'pruned locally, root 0x...' and is marked ({kept_ok} readable, "
         f"{pruned} pruned)", "\n".join(bad[:20]))
    return pruned


def prune(data, *args):
    r = ml.run([ZGFS, "prune", "--data", data, *args], timeout=300)
    t.ok(r.returncode == 0, f"zgfs prune {' '.join(args)}: exit 0", ml.text(r))
    return r


def dropped_bytes(r):
    for line in r.stdout.decode().splitlines():
        if line.startswith("prune: dropped"):
            return int(line.split()[4])
    return None


def continuous():
    """zgfs mount --prune-keep 1 --prune-interval 1: old versions go while the mount runs,
    and writes go on meanwhile."""
    _, data, m = ml.fresh_mount(t, ZGFS, "zgfs-prune-keep-",
                                ["--prune-keep", "1", "--prune-interval", "1"])
    p = os.path.join(m.mnt, "busy")
    for i in range(3):
        ml.write_file(p, ml.pattern(f"busy {i}", 600 * KiB))
    t0, old = time.monotonic(), []
    while time.monotonic() - t0 < 20:
        vs = versions(p)
        old = [v for v in vs[:-1] if v["size"]]
        if old and all(v["pruned"] for v in old):
            break
        ml.write_file(os.path.join(m.mnt, "meanwhile"), ml.pattern(time.monotonic(), 5000))
        time.sleep(0.3)
    t.ok(old and all(v["pruned"] for v in old) and not versions(p)[-1]["pruned"],
         f"--prune-keep 1: the older versions are pruned while mounted "
         f"({time.monotonic() - t0:.1f} s), the current one is not", f"{versions(p)}")
    t.ok(ml.read_file(p) == ml.pattern("busy 2", 600 * KiB) and
         len(ml.read_file(os.path.join(m.mnt, "meanwhile"))) == 5000,
         "--prune-keep: the current contents, and files written meanwhile, read back")
    t.ok("prune: dropped" in m.log_tail(), "--prune-keep: the mount's log says what it dropped",
         m.log_tail()[-500:])
    ml.stop_and_verify(t, m, ZGFS, data)
    r = ml.run([ZGFS, "mount", "--prune-keep", "0", "--data", data, m.mnt])
    t.ok(r.returncode == 2 and b"prune-keep" in r.stderr, "--prune-keep 0 is refused",
         ml.text(r))


def node_continuous():
    """zgfs node --prune-keep 1 --prune-interval 1 prunes every volume of its data dir."""
    base, data, m = ml.fresh_mount(t, ZGFS, "zgfs-prune-node-")
    p = os.path.join(m.mnt, "f")
    for i in range(3):
        ml.write_file(p, ml.pattern(f"node {i}", 600 * KiB))
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount before zgfs node --prune-keep", msg)
    log = os.path.join(base, "node.log")
    with open(log, "wb") as f:
        node = subprocess.Popen([ZGFS, "node", "--data", data, "--rpc",
                                 f"127.0.0.1:{ml.free_port()}", "--prune-keep", "1",
                                 "--prune-interval", "1"], stdout=f, stderr=f)
    t0, text = time.monotonic(), ""
    while time.monotonic() - t0 < 20 and "prune dropped" not in text:
        time.sleep(0.2)
        text = open(log, errors="replace").read()
    node.send_signal(signal.SIGTERM)
    node.wait(timeout=30)
    t.ok("prune dropped 2 entries" in text, "zgfs node --prune-keep 1: a pass drops the two "
         "older versions' entries and says so", text[-600:])
    m.start()
    vs = versions(p)
    t.ok([v["pruned"] for v in vs if v["size"]] == [True, True, False] and
         ml.read_file(p) == ml.pattern("node 2", 600 * KiB),
         "after it, the older versions are pruned and the current one reads back", f"{vs}")
    ml.stop_and_verify(t, m, ZGFS, data)


def main():
    ml.require_fuse()
    _, data, m = ml.fresh_mount(t, ZGFS, "zgfs-prune-")
    m.watchdog(300, "workload")
    live = workload(m)
    hist, cur = remember(m, live)
    m.cancel_watchdog()
    nver = sum(len(v) for v in hist.values())
    t.ok(nver > len(live), f"the workload made {nver} versions of {len(live)} live files")
    ok, msg = m.stop()
    t.ok(ok, "zgfs umount before pruning", msg)
    store = os.path.join(data, "store")

    r = ml.run([ZGFS, "prune", "--data", data])
    t.ok(r.returncode == 0 and b"keeps every version" in r.stdout,
         "zgfs prune with no policy keeps everything and says so", ml.text(r))
    for bad in (["--keep", "0"], ["--keep-since", "soon"], ["--node", "http://127.0.0.1:1"]):
        r = ml.run([ZGFS, "prune", "--data", data, *bad])
        t.ok(r.returncode == 2 and r.stderr.strip(), f"zgfs prune {' '.join(bad)}: refused "
             "with a reason", ml.text(r))
    r = prune(data, "--keep-since", "1h")
    t.ok(dropped_bytes(r) == 0, "--keep-since 1h drops nothing: every version is recent",
         ml.text(r))
    before = du(store)
    r = prune(data, "--keep", "3", "--dry-run")
    t.ok(b"would drop" in r.stdout and du(store) == before, "--dry-run lists and changes nothing",
         ml.text(r))
    r = prune(data, "--keep", "3")
    after = du(store)
    got = dropped_bytes(r)
    t.note(ml.text(r))
    t.ok(got is not None and got > 0 and before - after > got * 0.8,
         f"--keep 3: du of the store shrinks about as much as prune says it dropped "
         f"({before} -> {after}, reported {got})", ml.text(r))
    m.start()
    check(m, hist, cur, 3, "--keep 3")
    m.stop()

    # --keep 1, SIGKILLed at random moments, then let finish.
    # The kills land anywhere in a run: its length is about a dry run's (the scan) and
    # a little more (the drops).
    t0 = time.monotonic()
    ml.run([ZGFS, "prune", "--data", data, "--keep", "1", "--dry-run"])
    window = (time.monotonic() - t0) * 3
    t.note(f"a dry run takes {window / 3:.2f} s; killing within {window:.2f} s")
    kill_rng = random.Random(7)
    for i in range(KILLS):
        p = subprocess.Popen([ZGFS, "prune", "--data", data, "--keep", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_rng.uniform(0.0, window))
        p.send_signal(signal.SIGKILL)
        p.wait()
    mid = du(store)
    t.note(f"after the kills the store takes {mid} bytes (before them {after})")
    r = ml.run([ZGFS, "kv", "verify", "--data", data], timeout=300)
    t.ok(r.returncode == 0, f"after {KILLS} SIGKILLed prunes: zgfs kv verify", ml.text(r))
    m.start()
    check(m, hist, cur, 1, f"after {KILLS} SIGKILLed prunes")
    m.stop()
    r = prune(data, "--keep", "1")
    final = du(store)
    m.start()
    pruned = check(m, hist, cur, 1, "--keep 1 completed")
    t.ok(pruned > 0 and final < after, f"--keep 1 pruned more ({after} -> {final} bytes)")
    ml.stop_and_verify(t, m, ZGFS, data)
    t.run("continuous", continuous)
    t.run("node --prune-keep", node_continuous)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
