#!/usr/bin/env python3
"""Settling on an EVM chain when things go wrong: a dead endpoint, no key, a key file
others can read, an unfunded account, a contract that reverts, and SIGKILLs of the node
while its transactions are still pending.

usage: evm_failures.py ZGFS

Each failure must give a clear error naming its cause (the URL, the revert reason), change
nothing, and leave the node able to go on once the cause is gone. The crash part runs
anvil with one block a second, so that a SIGKILL often lands while a transaction is in the
pool: after each restart the node picks the right nonce, every upload it acknowledged is
there and downloads byte for byte, and `zgfs chain verify` matches the contract.

Prints TAP-style lines; exits 0 when every point passed, 1 otherwise, 77 (skipped) when
anvil is not installed.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: evm_failures.py ZGFS")
ZGFS = os.path.abspath(sys.argv[1])
t = ml.Tap()
rng = random.Random(5)

# Runtime code that reverts every call with Error("zgfs test: paused"): copy the 100
# bytes of revert data after the 12-byte prologue into memory and revert with them.
REASON = b"zgfs test: paused"
_data = (bytes.fromhex("08c379a0") + (32).to_bytes(32, "big") + len(REASON).to_bytes(32, "big")
         + REASON.ljust(32, b"\0"))
REVERTER = bytes([0x60, len(_data), 0x60, 12, 0x60, 0, 0x39, 0x60, len(_data), 0x60, 0, 0xfd]) + _data


def rpc(url, method, params):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params}).encode(),
                                 {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def zg(*args, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("ZGFS_KEY", None)
    e.update(env or {})
    return subprocess.run([ZGFS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=e, timeout=timeout)


KEY = {"ZGFS_KEY": ml.ANVIL_KEY}


def write(path, size):
    data = rng.randbytes(size)
    with open(path, "wb") as f:
        f.write(data)
    return data


def errors(base, url):
    data = os.path.join(base, "data")
    flow, _ = ml.deploy(ZGFS, url, data)
    f = os.path.join(base, "f")
    write(f, 5000)

    r = zg("upload", "--data", data, f, env=KEY)
    t.ok(r.returncode == 0, "an upload settles on anvil", ml.text(r))

    r = zg("upload", "--data", data, f)
    t.ok(r.returncode == 1 and b"no signing key" in r.stderr,
         "without a key: an error that says to set ZGFS_KEY or --key", ml.text(r))

    keyfile = os.path.join(base, "key")
    with open(keyfile, "w") as kf:
        kf.write(ml.ANVIL_KEY + "\n")
    os.chmod(keyfile, 0o644)
    r = zg("chain", "deploy", "--rpc", url, "--data", os.path.join(base, "other"), "--key", keyfile)
    t.ok(r.returncode == 1 and b"chmod 600" in r.stderr,
         "a key file others can read is refused, saying chmod 600", ml.text(r))

    r = zg("upload", "--data", data, f, env={"ZGFS_KEY": "0x1234"})
    t.ok(r.returncode == 1 and b"ZGFS_KEY" in r.stderr, "a malformed ZGFS_KEY is named", ml.text(r))

    poor = "0x" + "11" * 32  # a valid key whose account holds nothing
    r = zg("upload", "--data", data, f, env={"ZGFS_KEY": poor})
    t.ok(r.returncode == 1 and b"cannot pay the fee" in r.stderr,
         "an unfunded account: the balance cannot pay the fee", ml.text(r))

    # The contract reverts: the reason reaches the command line, nothing is settled.
    code = rpc(url, "eth_getCode", [flow, "latest"])
    before = rpc(url, "eth_call", [{"to": flow, "data": "0x77e19824"}, "latest"])  # numSubmissions()
    rpc(url, "anvil_setCode", [flow, "0x" + REVERTER.hex()])
    r = zg("upload", "--data", data, f, env=KEY)
    t.ok(r.returncode == 1 and REASON in r.stderr,
         "a reverting contract: the revert reason reaches the command line", ml.text(r))
    rpc(url, "anvil_setCode", [flow, code])
    after = rpc(url, "eth_call", [{"to": flow, "data": "0x77e19824"}, "latest"])
    t.ok(before == after, "the reverted upload settled nothing")
    r = zg("upload", "--data", data, f, env=KEY)
    t.ok(r.returncode == 0, "once the contract answers again, uploads settle", ml.text(r))

    # A dead endpoint: the error names the URL, after the retries.
    dead = f"http://127.0.0.1:{ml.free_port()}"
    t0 = time.monotonic()
    r = zg("node", "--data", data, "--chain", dead, "--rpc", "127.0.0.1:0", env=KEY, timeout=120)
    dt = time.monotonic() - t0
    t.ok(r.returncode == 1 and dead.encode() in r.stderr,
         f"a dead endpoint: zgfs node fails in {dt:.1f} s naming {dead}", ml.text(r))

    with open(os.path.join(data, "chain.json"), "r+") as cj:
        cj.seek(0)
        cj.write("{not json")
    r = zg("upload", "--data", data, f, env=KEY)
    t.ok(r.returncode == 1 and b"chain.json" in r.stderr, "a malformed chain.json is named",
         ml.text(r))

    r = zg("chain", "deploy", "--rpc", url, "--data", data, env=KEY)
    t.ok(r.returncode == 1, "deploy refuses a data directory that records a chain", ml.text(r))


def start_node(data, port):
    log = open(data + ".log", "ab")
    p = subprocess.Popen([ZGFS, "node", "--data", data, "--rpc", f"127.0.0.1:{port}"],
                         stdout=log, stderr=log, env=dict(os.environ, **KEY),
                         start_new_session=True)
    ml._children.append(p)
    for _ in range(600):
        if p.poll() is not None:
            return None
        try:
            rpc(f"http://127.0.0.1:{port}", "zgs_getStatus", [])
            return p
        except OSError:
            time.sleep(0.05)
    return None


def crashes(base, rounds):
    url = ml.start_anvil(block_time=1)
    data = os.path.join(base, "crash")
    ml.deploy(ZGFS, url, data)
    port = ml.free_port()
    node = f"http://127.0.0.1:{port}"
    acked, lost_ok = {}, 0
    for i in range(rounds):
        p = start_node(data, port)
        if not t.ok(p is not None, f"round {i}: zgfs node starts after a SIGKILL"):
            return
        f = os.path.join(base, f"c{i}")
        want = write(f, rng.choice([100, 70000, 300000]))
        up = subprocess.Popen([ZGFS, "upload", "--node", node, f], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        # Round 0 waits past a block, so that at least one acknowledged upload comes
        # from a node killed later; the others land anywhere in the first 1.5 s.
        time.sleep(3.0 if i == 0 else rng.uniform(0.05, 1.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        out, _ = up.communicate(timeout=120)
        if up.returncode == 0:
            root = out.split()[0].decode()
            acked[root] = want
        else:
            lost_ok += 1
    p = start_node(data, port)
    t.ok(p is not None, "the node starts after the last SIGKILL")
    f = os.path.join(base, "after")
    want = write(f, 12345)
    r = zg("upload", "--node", node, f)
    t.ok(r.returncode == 0, "after the crashes, a new upload settles (the nonce is right)",
         ml.text(r))
    if r.returncode == 0:
        acked[r.stdout.split()[0].decode()] = want
    same = 0
    for root, data_ in acked.items():
        o = os.path.join(base, "out")
        rr = zg("download", "--node", node, root, o)
        if rr.returncode == 0 and open(o, "rb").read() == data_:
            same += 1
        else:
            t.note(f"{root}: {ml.text(rr)}")
    t.ok(same == len(acked) and len(acked) >= 2,
         f"every acknowledged upload is there: {same}/{len(acked)} "
         f"({lost_ok} uploads were cut off by the kill)")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    r = zg("chain", "verify", "--data", data)
    t.ok(r.returncode == 0, "zgfs chain verify: the followed flow equals the contract's",
         ml.text(r))


def main():
    base = ml.scratch("zgfs-evm-")
    url = ml.start_anvil()
    errors(base, url)
    crashes(base, 8)
    t.done()


if __name__ == "__main__":
    main()
