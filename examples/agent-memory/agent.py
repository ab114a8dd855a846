#!/usr/bin/env python3
"""An agent loop keeping its memory in a zgfs mount, then reading its history back.

usage: agent.py DIR ZGFS [STEPS]   DIR on a zgfs mount (created), ZGFS the zgfs binary
"""
import datetime
import json
import os
import sqlite3
import subprocess
import sys


def save_json(path, obj):
    """The safe rewrite: a temporary file, fsync, then rename over the old one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def zgfs(binary, *args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    home, binary = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    os.makedirs(home, exist_ok=True)
    memory_path = os.path.join(home, "memory.json")
    db = sqlite3.connect(os.path.join(home, "memory.db"))
    db.execute("CREATE TABLE IF NOT EXISTS facts (step INTEGER PRIMARY KEY, fact TEXT)")
    written = []  # memory.json as it was after each step
    memory = {"goal": "index the dataset", "facts": []}
    for step in range(steps):
        fact = f"step {step}: looked at shard {step * 7 % 13}"
        memory["facts"].append(fact)
        memory["step"] = step
        save_json(memory_path, memory)
        written.append(json.dumps(memory, sort_keys=True))
        with open(os.path.join(home, "journal.log"), "a") as j:
            j.write(f"{datetime.datetime.now().isoformat()} {fact}\n")
        day = os.path.join(home, "notes", datetime.date.today().isoformat())
        os.makedirs(day, exist_ok=True)
        with open(os.path.join(day, f"step-{step}.md"), "w") as n:
            n.write(f"# Step {step}\n\n{fact}\n")
        db.execute("INSERT INTO facts VALUES (?, ?)", (step, fact))
        db.commit()
    db.close()

    # Looking back: every version of memory.json, oldest first.
    versions = json.loads(zgfs(binary, "versions", "--json", memory_path))
    contents = [zgfs(binary, "cat", memory_path, "--version", str(v["seq"])) for v in versions]
    found = [c for c in contents if c in written]
    print(f"memory.json has {len(versions)} versions; {len(found)} of them are steps the agent wrote")
    ok = len(found) == steps and found == written

    # An old memory brought back as a new version.
    third = versions[contents.index(written[2])]["seq"]
    zgfs(binary, "restore", memory_path, "--version", str(third))
    with open(memory_path) as f:
        restored = json.dumps(json.load(f), sort_keys=True)
    after = json.loads(zgfs(binary, "versions", "--json", memory_path))
    print(f"restored the memory of step 2 (version {third}): now {len(after)} versions")
    ok &= restored == written[2] and len(after) == len(versions) + 1

    journal = open(os.path.join(home, "journal.log")).read().splitlines()
    notes = sum(len(fs) for _, _, fs in os.walk(os.path.join(home, "notes")))
    facts = sqlite3.connect(os.path.join(home, "memory.db")).execute("SELECT COUNT(*) FROM facts").fetchone()[0]
    print(f"journal: {len(journal)} lines; notes: {notes} files; sqlite: {facts} facts")
    ok &= len(journal) == steps and notes == steps and facts == steps
    print("agent memory: " + ("every version read back as written" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
