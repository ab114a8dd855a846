#!/usr/bin/env python3
"""PoRA on the embedded ledger, through real `zgfs node --mine` processes.

usage: pora_node.py ZGFS [CRASH_ROUNDS]

1. Acceptance: a node with two stored entries mines at --pora-difficulty 1; its answers
   are accepted and paid; `zgfs mine status --json` has the fields and types docs/PORA.md
   lists; `zgfs chain verify` re-verifies every answer; the account, the reward pools and
   the donation pool add up to the wei (supply - fees - donation + rewards).
2. Honesty: bytes of the stored data are overwritten on disk; the miner reports the units
   as corrupt in its log and in mine status, never submits them, and keeps earning from
   the intact data.
3. Crash: SIGKILL the mining node CRASH_ROUNDS times (default 10) at random moments,
   while it seals and submits; every restart mines under the same miner id (also after
   its id file is lost), chain verify passes each time and the accounts still add up, so
   no answer was paid twice.
Prints TAP; exits 0 when every check passed.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mountlib as ml  # noqa: E402

ZGFS = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SUPPLY = 10**18
BASE_REWARD = 1000
DONATE = 10**7
PORA = ["--pora-difficulty", "1", "--epoch-blocks", "4", "--target-answers", "2",
        "--base-reward", str(BASE_REWARD), "--donate", str(DONATE), "--mine-tick-ms", "100"]
rng = random.Random(20261202)
TAP = ml.Tap()
ok = TAP.ok


def run(*args, check=True):
    p = subprocess.run([ZGFS, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"zgfs {' '.join(args)}: {p.stderr}")
    return p


class Node:
    def __init__(self, data):
        self.log = []
        self.p = subprocess.Popen([ZGFS, "node", "--data", data, "--rpc", "127.0.0.1:0",
                                   "--mine", *PORA],
                                  stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.p.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if "serving http://" in line:
                self.url = line.split("serving ")[1].strip()
                threading.Thread(target=self._drain, daemon=True).start()
                return
        self.p.kill()
        raise RuntimeError("node did not start: " + "".join(self.log))

    def _drain(self):
        for line in self.p.stderr:
            self.log.append(line)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=30)


def status(data):
    return json.loads(run("mine", "status", "--data", data, "--json").stdout)


def wait_accepted(data, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s = status(data)
            if s["accepted"] >= n:
                return s
        except (RuntimeError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.2)
    return None


def ledger(data):
    """Balance, fees (pool fills), claimed, donation pool, answers paid, from chain info."""
    out = run("chain", "info", "--data", data).stdout
    bal = int(re.search(r"^balance:\s+(\d+)", out, re.M).group(1))
    filled = sum(int(x) for x in re.findall(r"filled (\d+)", out))
    claimed = sum(int(x) for x in re.findall(r"claimed (\d+)", out))
    balance_pools = sum(int(x) for x in re.findall(r"claimed \d+, balance (\d+)", out))
    donation = int(re.search(r"^donation pool:\s+(\d+)", out, re.M).group(1))
    m = re.search(r"^pora answers:\s+(\d+) accepted .*, (\d+) paid", out, re.M)
    return bal, filled, claimed, balance_pools, donation, int(m.group(1)), int(m.group(2))


def adds_up(data, what):
    bal, filled, claimed, pools, donation, answers, paid = ledger(data)
    # Every wei is in the account, a pool or the donation pool; the account paid the fees
    # and the donation and got the rewards; rewards come from pools (claimed) and donations.
    return ok(bal + pools + donation == SUPPLY and bal == SUPPLY - filled - DONATE + paid and
              paid == claimed + (DONATE - donation) and paid == answers * BASE_REWARD,
              f"{what}: balance {bal} + pools {pools} + donations {donation} = supply; "
              f"{answers} answers paid {paid}")


def verified(data):
    p = run("chain", "verify", "--data", data, check=False)
    m = re.search(r"(\d+) PoRA answers re-verified", p.stdout)
    return p.returncode == 0 and m, int(m.group(1)) if m else -1, p.stdout + p.stderr


def acceptance(scratch, data):
    files = []
    for i, size in enumerate([600000, 300000]):
        path = os.path.join(scratch, f"f{i}")
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        files.append(path)
    run("upload", "--data", data, *files)
    node = Node(data)
    s = wait_accepted(data, 6)
    remote = run("mine", "status", "--node", node.url, "--json", check=False)
    try:
        with urllib.request.urlopen(node.url + "/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
    except OSError as e:
        metrics = str(e)
    node.stop()
    got = {m.group(1): int(m.group(2)) for m in
           re.finditer(r"^(zgfs_node_pora_\w+) (\d+)$", metrics, re.M)}
    ok(got.get("zgfs_node_pora_answers_accepted_total", 0) >= 6 and
       got.get("zgfs_node_pora_tries_total", 0) > 0 and
       got.get("zgfs_node_pora_rewards_total") ==
       got.get("zgfs_node_pora_answers_accepted_total", -1) * BASE_REWARD,
       "the node's /metrics has the miner's figures: accepted answers, tries, rewards",
       "\n".join(f"{k} {v}" for k, v in got.items()) or metrics[:300])
    ok(remote.returncode == 0 and s is not None and
       json.loads(remote.stdout)["minerId"] == s["minerId"],
       "mine status --node URL asks the running node (zgfs_mineStatus)")
    if not ok(s is not None, "the miner's answers are accepted"):
        print("".join(node.log))
        return
    s = status(data)
    a = s.get("lastAnswer") or {}
    hexes = ["contextDigest", "nonce", "minerId", "sealedContextDigest", "subtaskDigest",
             "quality", "target"]
    nums = ["recallPosition", "sealOffset"]
    rng_ = a.get("range", {})
    ok(isinstance(s.get("accepted"), int) and isinstance(s.get("rewards"), str) and
       s["rewards"] == str(s["accepted"] * BASE_REWARD),
       f"mine status: accepted {s.get('accepted')} (number), rewards {s.get('rewards')!r} "
       "(decimal string)")
    ok(all(isinstance(a.get(k), str) and re.fullmatch(r"0x[0-9a-f]{64}", a[k]) for k in hexes) and
       all(isinstance(a.get(k), int) for k in nums) and
       isinstance(a.get("sealedData"), str) and len(a["sealedData"]) == 2 + 8192 and
       isinstance(a.get("merkleProof"), list) and len(a["merkleProof"]) > 0 and
       all(isinstance(rng_.get(k), int) for k in ["startPosition", "mineLength", "shardId"]) and
       isinstance(rng_.get("shardMask"), str) and rng_["shardMask"].startswith("0x"),
       "lastAnswer has every PoraAnswer field with its type")
    ok(a.get("minerId") == s.get("minerId") and a["recallPosition"] % 16 == 0 and
       0 <= a["sealOffset"] < 64, "the last answer is the miner's, on a seal unit boundary")
    good, n, text = verified(data)
    _, _, _, _, _, answers, _ = ledger(data)
    ok(good and n == answers == s["accepted"],
       f"chain verify re-verifies all {n} answers ({text.strip()[:120]})")
    adds_up(data, "exact accounting")


def honesty(data):
    packs = os.path.join(data, "store", "packs")
    pack = os.path.join(packs, sorted(os.listdir(packs))[0])
    # The first entry's bytes [256 KiB, 512 KiB) are flow sectors [3072, 4096): one load.
    with open(pack, "r+b") as f:
        f.seek(262144)
        f.write(rng.randbytes(262144))
    before = ledger(data)[5]
    node = Node(data)
    deadline = time.time() + 60
    s = None
    while time.time() < deadline:
        s = status(data)
        if s["corrupt"] > 0 and s["accepted"] >= 4:
            break
        time.sleep(0.2)
    node.stop()
    log = "".join(node.log)
    ok(s and s["corrupt"] > 0 and "CORRUPT DATA: PoRA" in log,
       f"corrupted units are reported ({s and s['corrupt']} in mine status, and in the log)")
    ok("does not prove into the flow root" not in log and s["refused"] <= s["submitted"],
       "no answer over the corrupted bytes was submitted")
    ok(s["accepted"] >= 4 and ledger(data)[5] > before, "intact data keeps earning")
    good, _, text = verified(data)
    ok(good, "chain verify after the corruption")


def crashes(data):
    with open(os.path.join(data, "pora", "miner.id")) as f:
        miner_id = f.read().strip()
    paid_before = ledger(data)[6]
    all_good = True
    for i in range(ROUNDS):
        node = Node(data)
        time.sleep(rng.uniform(0.2, 1.5))
        node.kill()
        good, _, text = verified(data)
        with open(os.path.join(data, "pora", "miner.id")) as f:
            same = f.read().strip() == miner_id
        if not (good and same):
            all_good = False
            print(f"# round {i}: verify {bool(good)}, same id {same}: {text}")
    ok(all_good, f"{ROUNDS} SIGKILLs while mining: chain verify passes, the miner id stays")
    # The id file lost (as by a kill between registration and its rename): the node finds
    # the id the chain has for its account instead of registering another.
    os.unlink(os.path.join(data, "pora", "miner.id"))
    node = Node(data)
    time.sleep(0.5)
    node.stop()
    with open(os.path.join(data, "pora", "miner.id")) as f:
        ok(f.read().strip() == miner_id, "a lost miner id file comes back with the same id")
    ok(ledger(data)[6] > paid_before, "answers were paid between the kills")
    adds_up(data, "after the kills")


def main():
    scratch = tempfile.mkdtemp(prefix="zgfs-pora-")
    data = os.path.join(scratch, "data")
    try:
        acceptance(scratch, data)
        honesty(data)
        crashes(data)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return TAP.done()


if __name__ == "__main__":
    sys.exit(main())
