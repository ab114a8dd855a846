#!/usr/bin/env python3
"""Prometheus metrics of a mount and a node, `zgfs stats` and `zgfs status MOUNTPOINT`.

usage: metrics_mount.py ZGFS

1. A mount's loopback listener (user.zg.node on its root) answers GET /metrics in
   Prometheus' text format, checked by a strict parser written here from the format's
   specification (version 0.0.4): comment and sample syntax, names and labels, TYPE before
   samples, one series once, counters named *_total, histogram buckets ascending and
   cumulative with +Inf equal to _count, every name zgfs_*.
2. Counters move by what a workload did: 8 files of 1 MiB written and closed add exactly
   8 creates and 8 MiB written, and at least 8 commits; read back through a fresh mount
   (nothing in the page cache) they add exactly 8 MiB read.
3. `zgfs stats MOUNTPOINT --interval 0.5 --count 3` during writes prints a header and
   three lines of figures, one of them with writes.
4. `zgfs status MOUNTPOINT` finds the mount's node; `zgfs status` with no data directory
   says so and creates nothing.
5. A `zgfs node` serves /metrics too (its own figures, no mount's), and counts a request
   it refused.
Prints TAP; exits 77 when FUSE cannot be used here.
"""
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import mountlib

zgfs = os.path.abspath(sys.argv[1])
mountlib.require_fuse()
tap = mountlib.Tap()
d = mountlib.scratch("zgfs-metrics-")

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
VALUE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|[-+]?Inf$|NaN$")


def parse(text):
    """Prometheus text format → ({(name, labels): value}, {family: type}, [problems])."""
    samples, types, helps, problems = {}, {}, set(), []
    seen_sample = set()
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    problems.append(f"line {n}: bad name {name!r}")
                if parts[1] == "TYPE":
                    t = parts[3] if len(parts) > 3 else ""
                    if t not in ("counter", "gauge", "histogram", "summary", "untyped"):
                        problems.append(f"line {n}: bad type {t!r}")
                    if name in types or name in seen_sample:
                        problems.append(f"line {n}: TYPE of {name} twice or after its samples")
                    types[name] = t
                else:
                    if name in helps:
                        problems.append(f"line {n}: HELP of {name} twice")
                    helps.add(name)
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$", line)
        if not m:
            problems.append(f"line {n}: not a sample: {line!r}")
            continue
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        pairs = []
        rest = labels
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                problems.append(f"line {n}: bad labels {labels!r}")
                break
            pairs.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
            if rest.startswith(","):
                rest = rest[1:]
            elif rest:
                problems.append(f"line {n}: bad labels {labels!r}")
                break
        if not VALUE.match(value):
            problems.append(f"line {n}: bad value {value!r}")
            continue
        family = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types else name
        if family not in types:
            problems.append(f"line {n}: {name} has no TYPE before it")
        seen_sample.add(family)
        key = (name, tuple(sorted(pairs)))
        if key in samples:
            problems.append(f"line {n}: series {key} twice")
        samples[key] = float(value)
    for family, t in types.items():
        if not family.startswith("zgfs_"):
            problems.append(f"{family}: not named zgfs_*")
        if t == "counter" and not family.endswith("_total"):
            problems.append(f"counter {family} does not end in _total")
        if "bytes" in family and t == "counter" and not family.endswith("_bytes_total"):
            problems.append(f"byte counter {family} does not end in _bytes_total")
        if t == "histogram":
            series = {}
            for (name, labels), v in samples.items():
                if name == family + "_bucket":
                    rest = tuple(p for p in labels if p[0] != "le")
                    le = dict(labels)["le"]
                    series.setdefault(rest, []).append((float("inf") if le == "+Inf" else float(le), v))
            for rest, buckets in series.items():
                buckets.sort()
                counts = [v for _, v in buckets]
                if counts != sorted(counts) or buckets[-1][0] != float("inf"):
                    problems.append(f"{family}{rest}: buckets not cumulative or no +Inf")
                if samples.get((family + "_count", rest)) != counts[-1]:
                    problems.append(f"{family}{rest}: +Inf bucket is not _count")
    return samples, types, problems


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        return r.read().decode(), ctype


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def node_url(mnt):
    return os.getxattr(mnt, "user.zg.node").decode()


# The parser itself refuses what the format forbids.
BAD = {
    "a sample before its TYPE": "zgfs_x_total 1\n",
    "a counter not named _total": "# TYPE zgfs_x counter\nzgfs_x 1\n",
    "buckets that fall": '# TYPE zgfs_h histogram\nzgfs_h_bucket{le="1"} 5\nzgfs_h_bucket{le="+Inf"} 3\n'
                         'zgfs_h_sum 1\nzgfs_h_count 3\n',
    "a label without quotes": "# TYPE zgfs_x_total counter\nzgfs_x_total{op=read} 1\n",
    "a series twice": "# TYPE zgfs_x_total counter\nzgfs_x_total 1\nzgfs_x_total 2\n",
    "no newline at the end": "# TYPE zgfs_x_total counter\nzgfs_x_total 1",
}
tap.ok(all(parse(t)[2] for t in BAD.values()) and
       not parse('# HELP zgfs_x_total x\n# TYPE zgfs_x_total counter\nzgfs_x_total{op="a"} 1\n')[2],
       "the parser refuses " + ", ".join(BAD) + "; and takes a well-formed family")

data, mnt = os.path.join(d, "data"), os.path.join(d, "mnt")
os.mkdir(mnt)
m = mountlib.Mount(zgfs, data, mnt).start()
url = node_url(mnt)
text, ctype = scrape(url)
s0, types, problems = parse(text)
tap.ok(not problems and ctype.startswith("text/plain; version=0.0.4"),
       f"GET {url}/metrics: {len(s0)} samples of {len(types)} families in Prometheus' text format",
       "\n".join(problems[:10]) + f"\ncontent type {ctype}")
tap.ok(all(f in types for f in ("zgfs_fs_ops_total", "zgfs_fs_op_duration_seconds",
                                "zgfs_fs_read_bytes_total", "zgfs_fs_write_bytes_total",
                                "zgfs_fs_commit_duration_seconds", "zgfs_node_stored_bytes",
                                "zgfs_node_rpc_request_duration_seconds")),
       "the mount's families (ops, latency, bytes, commits) beside the node's")

MIB = 1 << 20
payloads = [os.urandom(MIB) for _ in range(8)]
for i, p in enumerate(payloads):
    with open(os.path.join(mnt, f"f{i}"), "wb") as f:
        f.write(p)
s1, _, problems = parse(scrape(url)[0])
dw = value(s1, "zgfs_fs_write_bytes_total") - value(s0, "zgfs_fs_write_bytes_total")
dc = value(s1, "zgfs_fs_ops_total", op="create") - value(s0, "zgfs_fs_ops_total", op="create")
dcommit = value(s1, "zgfs_fs_commit_duration_seconds_count") - value(s0, "zgfs_fs_commit_duration_seconds_count")
tap.ok(not problems and dw == 8 * MIB and dc == 8 and dcommit >= 8,
       f"8 files of 1 MiB: +{dw:.0f} bytes written, +{dc:.0f} creates, +{dcommit:.0f} commits")
de = value(s1, "zgfs_node_entries_settled") - value(s0, "zgfs_node_entries_settled")
tap.ok(de >= 8, f"and the node settled {de:.0f} more entries")

# zgfs stats while a writer runs.
stop = threading.Event()


def writer():
    i = 0
    while not stop.is_set():
        with open(os.path.join(mnt, f"w{i % 20}"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        i += 1


t = threading.Thread(target=writer)
t.start()
r = mountlib.run([zgfs, "stats", mnt, "--interval", "0.5", "--count", "3"], timeout=60)
stop.set()
t.join()
lines = mountlib.text(r).strip().split("\n") if r.returncode == 0 else []
rows = [ln.split() for ln in lines[1:]]
tap.ok(r.returncode == 0 and len(lines) == 4 and lines[0].split()[0] == "ops/s" and
       all(len(x) == 7 for x in rows) and any(float(x[2]) > 0 for x in rows),
       "zgfs stats --interval 0.5 --count 3: a header and 3 lines, writes among them",
       mountlib.text(r))

r = mountlib.run([zgfs, "status", mnt])
tap.ok(r.returncode == 0 and "entries settled:" in mountlib.text(r),
       "zgfs status MOUNTPOINT asks the mount's node", mountlib.text(r))
r = mountlib.run([zgfs, "status", d])
tap.ok(r.returncode == 1 and "not a zgfs mount" in mountlib.text(r),
       "zgfs status on a directory that is no mount says so", mountlib.text(r))
nowhere = os.path.join(d, "no-such-data")
env = dict(os.environ, ZGFS_DATA=nowhere)
r = subprocess.run([zgfs, "status"], env=env, capture_output=True, timeout=30)
tap.ok(r.returncode == 1 and b"no zgfs data directory" in r.stderr and not os.path.exists(nowhere),
       "zgfs status without a data directory says so and creates none", r.stderr.decode())

# Reads through a fresh mount: nothing in the kernel's cache.
ok, msg = m.stop()
m = mountlib.Mount(zgfs, data, mnt).start()
url = node_url(mnt)
s2, _, _ = parse(scrape(url)[0])
same = True
for i, p in enumerate(payloads):
    with open(os.path.join(mnt, f"f{i}"), "rb") as f:
        same = same and f.read() == p
s3, _, problems = parse(scrape(url)[0])
dr = value(s3, "zgfs_fs_read_bytes_total") - value(s2, "zgfs_fs_read_bytes_total")
tap.ok(same and not problems and dr == 8 * MIB,
       f"read back through a fresh mount: identical, +{dr:.0f} bytes read")
dread = value(s3, "zgfs_fs_ops_total", op="read") - value(s2, "zgfs_fs_ops_total", op="read")
hist = value(s3, "zgfs_fs_op_duration_seconds_count", op="read") - value(s2, "zgfs_fs_op_duration_seconds_count", op="read")
tap.ok(dread > 0 and hist == dread, f"{dread:.0f} read operations, each in the read latency histogram")
# Small reads with the page cache dropped and no read-ahead: the first of a window fills
# it, the others are served from it.
with open(os.path.join(mnt, "f0"), "rb") as f:
    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_RANDOM)
    s4, _, _ = parse(scrape(url)[0])
    small = all(os.pread(f.fileno(), 4096, off) == payloads[0][off:off + 4096]
                for off in range(0, 256 * 1024, 4096))
    s5, _, problems = parse(scrape(url)[0])
hits = value(s5, "zgfs_fs_read_cache_hits_total") - value(s4, "zgfs_fs_read_cache_hits_total")
misses = value(s5, "zgfs_fs_read_cache_misses_total") - value(s4, "zgfs_fs_read_cache_misses_total")
smallreads = value(s5, "zgfs_fs_ops_total", op="read") - value(s4, "zgfs_fs_ops_total", op="read")
tap.ok(small and not problems and misses >= 1 and hits >= 1 and hits + misses <= smallreads,
       f"small reads of one window: {misses:.0f} filled it, {hits:.0f} served from it "
       f"({smallreads:.0f} reads)")
m.stop()

# A node alone.
port = mountlib.free_port()
ndata = os.path.join(d, "node")
with open(os.path.join(d, "node.log"), "wb") as log:
    node = subprocess.Popen([zgfs, "node", "--data", ndata, "--rpc", f"127.0.0.1:{port}"],
                            stdout=log, stderr=log, start_new_session=True)
nurl = f"http://127.0.0.1:{port}"
try:
    for _ in range(200):
        try:
            text, _ = scrape(nurl)
            break
        except OSError:
            time.sleep(0.05)
    try:
        urllib.request.urlopen(nurl + "/", timeout=10)
    except urllib.error.HTTPError as e:
        refused = e.code == 405
    else:
        refused = False
    s4, types, problems = parse(scrape(nurl)[0])
    tap.ok(not problems and "zgfs_node_stored_bytes" in types and "zgfs_fs_ops_total" not in types,
           "a zgfs node's /metrics: its own figures, no mount's", "\n".join(problems[:10]))
    tap.ok(refused and value(s4, "zgfs_node_rpc_bad_requests_total") >= 1 and
           value(s4, "zgfs_node_metrics_scrapes_total") >= 2,
           "a GET of / is refused (405) and counted; scrapes are counted")
    # A mount on that node (--node URL) has a loopback listener of its own for its metrics.
    rmnt = os.path.join(d, "rmnt")
    r = mountlib.run([zgfs, "mount", "--node", nurl, rmnt])
    tap.ok(r.returncode == 0, "zgfs mount --node URL", mountlib.text(r))
    if r.returncode == 0:
        murl = mountlib.getxattr(rmnt, "user.zg.metrics")
        r0, _, _ = parse(scrape(murl)[0])
        for i in range(3):
            mountlib.write_file(os.path.join(rmnt, f"r{i}"), mountlib.pattern(f"r{i}", 70000))
        r1, types, problems = parse(scrape(murl)[0])
        created = value(r1, "zgfs_fs_ops_total", op="create") - value(r0, "zgfs_fs_ops_total", op="create")
        written = value(r1, "zgfs_fs_write_bytes_total") - value(r0, "zgfs_fs_write_bytes_total")
        tap.ok(murl != nurl and not problems and created == 3 and written == 3 * 70000,
               f"its user.zg.metrics ({murl}) counts what it did: {created:.0f} creates, "
               f"{written:.0f} bytes", "\n".join(problems[:10]))
        r = mountlib.run([zgfs, "stats", rmnt, "--count", "1", "--interval", "0.2"])
        tap.ok(r.returncode == 0 and "ops/s" in mountlib.text(r),
               "zgfs stats of a mount on a remote node", mountlib.text(r))
        r = mountlib.run([zgfs, "umount", rmnt])
        tap.ok(r.returncode == 0, "zgfs umount", mountlib.text(r))
finally:
    node.terminate()
    node.wait(timeout=30)

mountlib.remove_scratch(d)
sys.exit(tap.done())
