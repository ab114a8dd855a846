// Faults in a cluster, injected through the network door (node/peer/net.h,
// ZGFS_NET_FAULT) and with real SIGKILLs, on five zgfs nodes settling on one anvil.
//
// usage: node cluster_faults.js ZGFS [--long]     (or ZGFS_FAULTS_LONG=1)
//
// Nodes: U keeps the whole flow (0/1) and takes every upload (`zgfs upload --node U`);
// A0 and A1 keep shard 0/2, B0 and B1 shard 1/2. Every node registers itself (--url) and
// learns the others from the registry. Scenarios:
//   (a) A0 runs with ZGFS_NET_FAULT=corrupt for B0's segment endpoint: every segment B0
//       sends it has one byte inverted. With U down, a download through A0 takes shard 1
//       from B0 or B1: the proof check refuses B0's bytes, the segment comes from B1,
//       the bytes are identical, and A0's peer report (zgfs_peers) counts B0 as wrong and
//       never as having given a segment.
//   (b) A1 runs with a delay fault on every call to B0, longer than NODE_PEER_FETCH_MS:
//       B0 hangs. A download through A1 fails over to B1 within 2 × NODE_PEER_FETCH_MS,
//       identical, and A1 reports B0's calls as timed out (-ETIMEDOUT).
//   (d) B1 down (SIGKILL) while 20 entries settle; restarted with U down and B0 flipping
//       a byte of half the segments it sends B1 (which B1 must refuse), it catches up from
//       B0: each entry is reported finalized only when B1's own store has its shard's segments
//       (zgfs_getFileInfo's uploadedSegments), and with every other holder of shard 1
//       down, B1 serves each of those segments itself (zgs_downloadSegmentWithProofByTxSeq)
//       byte-identical.
//   (c) 10 rounds (--long: 40) of SIGKILL and restart of random nodes, U included, two at
//       once every third round, and every fifth restart killed once mid-start first,
//       during a stream of uploads: every upload that `zgfs upload` acknowledged is then
//       finalized on every node and downloads identical from the sharded nodes (which
//       read the other shard from their peers).
// Exit status: 0 passed, 1 failed, 77 skipped (no SDK modules or no anvil here).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const harness = require('./harness.js');
const { freePort, stopNode, rpc } = harness;

const startAnvil = harness.needAnvil();
const [zgfs] = process.argv.slice(2);
const long = process.argv.includes('--long') || !!process.env.ZGFS_FAULTS_LONG;
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xfa017);
const randomBytes = (size) => harness.randomBytes(rand, size);
const pick = (n) => rand() % n;

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const NODE_PEER_FETCH_MS = 10000; // node/limits.h
const ETIMEDOUT = 110;
const ROUNDS = long ? 40 : 10;
const SETTLING = long ? 60 : 20;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A command's outcome, without blocking the event loop (the kill rounds run beside it).
// Clients read through the node they name only (ZGFS_REMOTE_ENTRY_ONLY): these tests are
// of that node's peer path, which striping straight to the holders would go around.
function run(args, timeoutMs = 120000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(zgfs, args, { stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ZGFS_REMOTE_ENTRY_ONLY: '1' } });
    let out = '', err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { err += `${e.message}\n`; }); // then 'close', status null
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out, err: err.trim(), ms: Date.now() - t0 });
    });
  });
}

// Entry segments of a file of size bytes at flow sector start that shard id/num keeps.
function heldSegments(size, start, id, num) {
  const first = Math.floor(start / 1024), held = [];
  for (let i = 0; i * SEG < size; i++) if ((first + i) % num === id) held.push(i);
  return held;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-cluster-faults-'));
const nodes = {};
const logs = {};

// The environment of node name: its key, and the fault spec given or none.
function nodeEnv(name, fault) {
  const env = { ...process.env, ZGFS_KEY: nodes[name].key };
  delete env.ZGFS_NET_FAULT;
  if (fault) env.ZGFS_NET_FAULT = fault;
  return env;
}

// Starts node name (again), with the fault spec given or none.
async function start(name, fault) {
  const n = nodes[name];
  n.child = await harness.startNode(zgfs, n.data, n.port, nodeEnv(name, fault), (log) => { logs[name] = log.slice(-3000); },
    ['--shard', n.shard, '--url', n.url]);
  n.child.on('exit', () => { n.child = null; });
}

async function kill(name) {
  const c = nodes[name].child;
  if (!c) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
}

// Starts node name and SIGKILLs it after ms, serving or not (mid-recovery, as it may be).
async function killStarting(name, ms) {
  const n = nodes[name];
  const child = spawn(zgfs, ['node', '--data', n.data, '--rpc', `127.0.0.1:${n.port}`, '--shard', n.shard,
    '--url', n.url], { stdio: 'ignore', env: nodeEnv(name) });
  const gone = new Promise((r) => child.once('exit', r));
  await sleep(ms);
  child.kill('SIGKILL');
  await gone;
}

async function restart(name, fault) {
  await kill(name);
  await start(name, fault);
}

// Uploads bytes through U: {root, seq} when acknowledged, else null.
async function upload(bytes, tag) {
  const f = path.join(dir, `up-${tag}`);
  fs.writeFileSync(f, bytes);
  const r = await run(['upload', '--node', nodes.U.url, f]);
  const [root, seq] = r.out.trim().split(/\s+/);
  if (r.status !== 0 || !/^0x[0-9a-f]{64}$/.test(root)) return null;
  return { root, seq: Number(seq), size: bytes.length, bytes, path: f };
}

async function fileInfo(name, root) {
  const a = await rpc(nodes[name].url, 'zgfs_getFileInfo', [root]).catch(() => null);
  return a && a.result;
}

// Waits (up to ms) until every node named reports every file finalized; the count.
async function allFinalized(names, files, ms) {
  const t0 = Date.now();
  let done = 0;
  while (Date.now() - t0 < ms) {
    done = 0;
    for (const name of names) {
      for (const f of files) {
        const fi = await fileInfo(name, f.root);
        if (fi && fi.finalized) done++;
      }
    }
    if (done === names.length * files.length) break;
    await sleep(500);
  }
  return done;
}

async function download(name, f, tag) {
  const o = `${f.path}.${tag}`;
  const r = await run(['download', '--node', nodes[name].url, f.root, o]);
  const same = r.status === 0 && fs.existsSync(o) && fs.readFileSync(o).equals(f.bytes);
  if (!same) console.log(`# download of ${f.size} B from ${name}: exit ${r.status}: ${r.err}`);
  return { same, ms: r.ms };
}

async function peerReport(name, peer) {
  const a = await rpc(nodes[name].url, 'zgfs_peers');
  return (a.result || []).find((p) => p.url === nodes[peer].url);
}

async function setup(chain) {
  const names = ['U', 'A0', 'A1', 'B0', 'B1'];
  const shards = { U: '0/1', A0: '0/2', A1: '0/2', B0: '1/2', B1: '1/2' };
  for (const [i, name] of names.entries()) {
    const port = await freePort();
    nodes[name] = { port, url: `http://127.0.0.1:${port}`, data: path.join(dir, name),
      shard: shards[name], key: chain.accounts[2 + i].key, child: null };
  }
  const { flow } = harness.deployChain(zgfs, chain.url, nodes.U.data, chain.accounts[0].key);
  ok(flow, `zgfs chain deploy prints flow ${flow}`);
  for (const name of names.slice(1)) harness.attachChain(zgfs, chain.url, flow, nodes[name].data);
  await start('U');
  // A0 gets flipped bytes from B0's segment endpoint; A1 never hears back from B0 in time.
  await start('A0', `corrupt=${nodes.B0.url}/zgfs/v1/segment`);
  await start('A1', `delay:${3 * NODE_PEER_FETCH_MS}=${nodes.B0.url}`);
  await start('B0');
  await start('B1');
}

// (a) and (b): reads through A0 and A1 with U down, so that shard 1 is B0 or B1.
async function readFaults(files) {
  await kill('U');
  // Every file once, and more reads until A0 has asked B0 (which holder goes first moves
  // with each fetch), each started while A0 counts B0 as up.
  let same = 0, tries = 0;
  for (let k = 0; k < 3 * files.length; k++) {
    if (k >= files.length && (await peerReport('A0', 'B0')).wrong >= 1) break;
    for (let t = 0; t < 50 && !(await peerReport('A0', 'B0')).up; t++) await sleep(100);
    if ((await download('A0', files[k % files.length], `a${k}`)).same) same++;
    tries++;
  }
  const b0 = await peerReport('A0', 'B0'), b1 = await peerReport('A0', 'B1');
  ok(same === tries, `(a) B0 corrupts every segment it sends A0: downloads through A0 identical (${same}/${tries})`);
  ok(b0 && b0.wrong >= 1 && b0.fetched === 0 && b1 && b1.fetched >= 1,
    `(a) A0 refused B0's bytes by proof and reports it (B0 wrong ${b0 && b0.wrong}, fetched ${b0 && b0.fetched}; B1 fetched ${b1 && b1.fetched})`);

  // Reads until one of them has waited for B0 (which holder is asked first moves with each
  // fetch), each started while A1 counts B0 as up, so that B0 is asked, not skipped.
  const reads = [];
  for (let k = 0; k < 2 * files.length && !reads.some((d) => d.hung); k++) {
    const f = files[k % files.length];
    for (let t = 0; t < 50 && !(await peerReport('A1', 'B0')).up; t++) await sleep(100);
    const before = (await peerReport('A1', 'B0')).failures;
    const d = await download('A1', f, `b${k}`);
    const rep = await peerReport('A1', 'B0');
    d.hung = rep.failures > before && rep.lastError === -ETIMEDOUT && d.ms >= NODE_PEER_FETCH_MS - 1000;
    reads.push(d);
  }
  const b1b = await peerReport('A1', 'B1');
  ok(reads.every((d) => d.same) && reads.some((d) => d.hung) && b1b.fetched >= 1,
    `(b) B0 hangs for A1: ${reads.length} downloads through A1 identical (${reads.filter((d) => d.same).length}), one waited for B0 until it timed out (-ETIMEDOUT), B1 gave ${b1b.fetched} segments`);
  const slowest = Math.max(...reads.map((d) => d.ms));
  ok(slowest < 2 * NODE_PEER_FETCH_MS,
    `(b) each read failed over within 2 × NODE_PEER_FETCH_MS = ${2 * NODE_PEER_FETCH_MS} ms: ${reads.map((d) => d.ms).join(', ')} ms`);
  // From here on, no faults.
  await restart('A0');
  await restart('A1');
  await start('U');
}

// (d): B1 down while entries settle, then it catches up.
async function catchUp() {
  await kill('B1');
  const files = [];
  for (let k = 0; k < SETTLING; k++) {
    const size = 1 + pick(5 * SEG / 2);
    const f = await upload(randomBytes(size), `d${k}`);
    if (f) files.push(f);
  }
  ok(files.length === SETTLING, `(d) ${files.length}/${SETTLING} entries uploaded through U while B1 is down`);
  for (const f of files) f.start = Number((await fileInfo('U', f.root)).entry.start);
  // B0, the only other holder of shard 1 once U is down, flips a byte of half the segments
  // it sends B1 (seeded): the catch-up must refuse those and still get every segment.
  const b0had = await allFinalized(['B0'], files, 60000);
  ok(b0had === files.length, `(d) B0 has them all (${b0had}/${files.length})`);
  await kill('U');
  const t0 = Date.now();
  await start('B1', `corrupt@50%=${nodes.B0.url}/zgfs/v1/segment,seed:9`);
  // Poll: an entry reported finalized must have its shard's segments in B1's store.
  const seen = new Set();
  let early = 0;
  // Each refused segment keeps B0 skipped for NODE_PEER_RETRY_MS (2 s): room for that.
  const held = files.reduce((a, f) => a + heldSegments(f.size, f.start, 1, 2).length, 0);
  while (seen.size < files.length && Date.now() - t0 < 60000 + 3000 * held) {
    for (const f of files) {
      if (seen.has(f.root)) continue;
      const fi = await fileInfo('B1', f.root);
      if (!fi || !fi.finalized) continue;
      seen.add(f.root);
      const mine = heldSegments(f.size, f.start, 1, 2).length;
      if (Number(fi.uploadedSegments) < mine) {
        early++;
        console.log(`# B1 reports ${f.root} finalized with ${fi.uploadedSegments} of its ${mine} segments`);
      }
    }
    await sleep(300);
  }
  ok(seen.size === files.length && early === 0,
    `(d) B1 caught up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${seen.size}/${files.length} finalized, none before its segments were stored (${early})`);
  const lie = await peerReport('B1', 'B0');
  ok(lie && lie.wrong >= 1 && lie.fetched >= 1,
    `(d) the catch-up refused the segments B0 flipped and took its others (B0 wrong ${lie && lie.wrong}, fetched ${lie && lie.fetched})`);
  // Every other holder of shard 1 down: what B1 serves of its shard is its own.
  await kill('B0');
  let segs = 0, right = 0;
  for (const f of files) {
    for (const i of heldSegments(f.size, f.start, 1, 2)) {
      segs++;
      const a = await rpc(nodes.B1.url, 'zgs_downloadSegmentWithProofByTxSeq', [f.seq, i]);
      const want = f.bytes.subarray(i * SEG, Math.min(f.size, (i + 1) * SEG));
      const got = a.result && Buffer.from(a.result.data, 'base64');
      if (got && got.subarray(0, want.length).equals(want) && got.subarray(want.length).every((b) => b === 0)) right++;
    }
  }
  ok(segs > 0 && right === segs,
    `(d) with B0 and U down, B1 serves every segment of shard 1 of the ${files.length} entries from its store: ${right}/${segs} identical`);
  await start('B0');
  await start('U');
  await restart('B1');
}

// (c): SIGKILL/restart rounds during a stream of uploads.
async function killRounds() {
  const names = Object.keys(nodes);
  const acked = [];
  let attempts = 0, stop = false;
  const stream = (async () => {
    while (!stop) {
      const f = await upload(randomBytes(1 + pick(MiB)), `c${attempts++}`);
      if (f) acked.push(f);
      else await sleep(200);
    }
  })();
  // Each round kills one node, every third round two at once; every fifth restart is
  // itself killed at a random moment of the node's start (its recovery) first.
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const v = [r % 4 === 1 ? 'U' : names[pick(names.length)]];
    if (r % 3 === 2) v.push(names.filter((x) => x !== v[0])[pick(names.length - 1)]);
    rounds.push(v);
  }
  let early = 0;
  for (const [r, v] of rounds.entries()) {
    await sleep(300 + pick(1200));
    await Promise.all(v.map(kill));
    await sleep(200 + pick(800));
    if (r % 5 === 4) {
      await killStarting(v[0], 50 + pick(500));
      early++;
    }
    for (const name of v) await start(name);
  }
  const victims = rounds.map((v) => v.join('+'));
  await sleep(1000);
  stop = true;
  await stream;
  ok(acked.length >= ROUNDS, `(c) ${ROUNDS} SIGKILL/restart rounds (${victims.join(' ')}; ${early} restarts killed while starting) during ${attempts} uploads, ${acked.length} acknowledged`);
  const fin = await allFinalized(names, acked, 120000);
  ok(fin === names.length * acked.length,
    `(c) every acknowledged upload is finalized on every node afterwards (${fin}/${names.length * acked.length})`);
  let same = 0;
  const readers = ['A0', 'A1', 'B0', 'B1'];
  for (const [k, f] of acked.entries()) if ((await download(readers[k % 4], f, 'c')).same) same++;
  ok(same === acked.length, `(c) every acknowledged upload downloads identical from the sharded nodes: ${same}/${acked.length}`);
}

async function main() {
  const chain = await startAnvil();
  try {
    await setup(chain);
    const files = [];
    for (const size of [3 * SEG + 700, MiB + 1, 2 * MiB, 5 * SEG]) files.push(await upload(randomBytes(size), `ab${size}`));
    ok(files.every((f) => f), `${files.length} files uploaded through U`);
    const fin = await allFinalized(Object.keys(nodes), files, 60000);
    ok(fin === files.length * 5, `every node reports them finalized (${fin}/${files.length * 5})`);
    await readFaults(files);
    await catchUp();
    await killRounds();
  } finally {
    for (const n of Object.values(nodes)) if (n.child) await stopNode(n.child);
    await chain.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().then(() => tap.done(), (e) => {
  console.log(`not ok - ${e.stack || e}`);
  for (const [name, l] of Object.entries(logs)) console.log(`# node ${name} log: ${l.replace(/\n/g, '\n# ')}`);
  console.log(`# data left in ${dir}`);
  process.exit(1);
});
