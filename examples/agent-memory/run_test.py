#!/usr/bin/env python3
"""The agent-memory example on a real zgfs mount: mounts a fresh data directory, runs
agent.py in it, and checks what it printed. Skips (exit 77) when FUSE cannot be used here.

usage: run_test.py ZGFS AGENT_PY
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
import mountlib  # noqa: E402

zgfs, agent = sys.argv[1], sys.argv[2]
mountlib.require_fuse()
tap = mountlib.Tap()
d = mountlib.scratch("zgfs-example-agent-")
m = mountlib.Mount(zgfs, os.path.join(d, "data"), os.path.join(d, "mnt"))
try:
    m.start()
    r = subprocess.run([sys.executable, agent, os.path.join(m.mnt, "agent"), zgfs, "12"],
                       capture_output=True, text=True, timeout=300)
    out = (r.stdout + r.stderr).strip()
    tap.ok(r.returncode == 0 and "every version read back as written" in out,
           "agent.py keeps its memory in the mount and reads its history back",
           out.replace("\n", " | "))
    tap.ok("memory.json has" in out and "restored the memory of step 2" in out,
           "it listed the versions and restored one", out.splitlines()[0] if out else "")
finally:
    stopped, msg = m.stop()
tap.ok(stopped, f"unmounted: {msg or 'cleanly'}")
sys.exit(tap.done())
