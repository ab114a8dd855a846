// A cluster with erasure coding: four zgfs nodes on one EVM chain (anvil) under the
// policy 2+2, so that any two of them may be lost.
//
// usage: node cluster_ec.js ZGFS
//
// `zgfs chain deploy --ec 2+2` records the policy in the registry; four `zgfs node`
// processes keep shards 0/4 … 3/4, register themselves and learn each other from the
// registry. Then:
//   - the SDK's Uploader sends each data segment to the node of its shard (0G's rule,
//     unchanged); each node computes the parity symbols its shard keeps (stripes of two
//     consecutive segments, parity on the two shards after the stripe's data) from the
//     data it fetches from its peers, and reports each entry finalized only once its data
//     and its parity are stored;
//   - each node stores exactly its data segments plus its parity symbols; zgfs health
//     says redundant for an entry and for the cluster;
//   - `zgfs upload --node` to one node: it keeps its shard and hands the other segments
//     to the nodes of their shards, returning once the cluster keeps it redundant;
//   - the SDK's Downloader over the four nodes gets the bytes back identical;
//   - for every pair of nodes (all six), both killed with SIGKILL: every file downloads
//     byte for byte from each survivor (segments no live holder has are rebuilt from
//     their stripe and checked against the entry's Merkle root), then both restart;
//     zgfs health says degraded (still decodable), exit 1;
//   - three killed: a file with data on the lost shards fails clearly, writes nothing;
//     zgfs health says unrecoverable, exit 2;
//   - a node whose data dir is wiped comes back on its shard and rebuilds it (copies
//     where they exist, decoded from the stripes otherwise) until zgfs health --wait
//     says redundant; then two other nodes killed: still identical from the rebuilt one.
// CLUSTER_EC_SIZES=a,b,c picks file sizes. Exit status: 0 passed, 1 failed, 77 skipped.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const harness = require('./harness.js');
const { freePort, stopNode } = harness;
const { anvilPath, startAnvil } = require('./anvil.js');

const sdk = harness.loadSdk();
if (!anvilPath()) {
  console.log('1..0 # SKIP anvil is not installed in tests/compat/node_modules (run ./setup.sh)');
  process.exit(77);
}
const { ethers } = require(path.join(__dirname, 'node_modules', 'ethers'));
const [zgfs] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xec22);

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const N = 4, K = 2, M = 2;
const sizes = process.env.CLUSTER_EC_SIZES ? process.env.CLUSTER_EC_SIZES.split(',').map(Number)
  : [1, 4097, SEG + 1, 3 * SEG + 700, MiB + 1, 5 * MiB + 3];

const { quiet } = harness;

// Bytes shard i keeps of an entry: its data segments (0G's rule) and its parity symbols
// (symbol pos of stripe j on shard (first + jK + pos) mod N; a parity symbol is as long
// as the stripe's first data segment).
function keptBytes(size, start, i) {
  const first = Math.floor(start / 1024), nd = Math.ceil(size / SEG);
  let bytes = 0;
  for (let s = 0; s < nd; s++) if ((first + s) % N === i) bytes += Math.min(SEG, size - s * SEG);
  for (let j = 0; j * K < nd; j++) {
    for (let p = 0; p < M; p++) {
      if ((first + j * K + K + p) % N === i) bytes += Math.min(SEG, size - j * K * SEG);
    }
  }
  return bytes;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logs = [];

async function main() {
  const chain = await startAnvil();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-cluster-ec-'));
  const nodes = [];
  try {
    const data = (i) => path.join(dir, `node${i}`);
    const out = execFileSync(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', data(0), '--ec', `${K}+${M}`],
      { env: { ...process.env, ZGFS_KEY: chain.accounts[0].key }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const flowAddr = (out.match(/^flow (0x[0-9a-f]{40})$/m) || [])[1];
    ok(flowAddr && /2\+2/.test(out), `zgfs chain deploy --ec 2+2 records the policy: ${out.trim().replace(/\n/g, '; ')}`);
    const ports = [];
    for (let i = 0; i < N; i++) ports.push(await freePort());
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const attach = (i) => execFileSync(zgfs, ['chain', 'attach', '--rpc', chain.url, '--flow', flowAddr, '--data', data(i)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const start = async (i) => {
      const env = { ...process.env, ZGFS_KEY: chain.accounts[2 + i].key };
      nodes[i] = await harness.startNode(zgfs, data(i), ports[i], env, (log) => { logs[i] = log.slice(-3000); },
        ['--shard', `${i}/${N}`, '--url', urls[i]]);
    };
    const kill = async (i) => {
      if (nodes[i].exitCode !== null || nodes[i].signalCode !== null) return;
      nodes[i].removeAllListeners('exit');
      const gone = new Promise((r) => nodes[i].on('exit', r));
      nodes[i].kill('SIGKILL');
      await gone;
    };
    for (let i = 1; i < N; i++) attach(i);
    for (let i = 0; i < N; i++) await start(i);

    // A shard too coarse for the policy is refused, naming it.
    const coarse = path.join(dir, 'coarse');
    execFileSync(zgfs, ['chain', 'attach', '--rpc', chain.url, '--flow', flowAddr, '--data', coarse],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const bad = spawnSync(zgfs, ['node', '--data', coarse, '--rpc', '127.0.0.1:0', '--shard', '1/2'],
      { timeout: 30000, env: { ...process.env, ZGFS_KEY: chain.accounts[9].key } });
    ok(bad.status === 1 && /2\+2/.test(bad.stderr.toString()),
      `a node of shard 1/2 under policy 2+2 is refused: ${bad.stderr.toString().trim()}`);

    const provider = new ethers.JsonRpcProvider(chain.url);
    const signer = new ethers.Wallet(chain.accounts[1].key, provider);
    const flow = sdk.getFlowContract(flowAddr, signer);
    const storages = urls.map((u) => new sdk.StorageNode(u));
    const uploader = new sdk.Uploader(storages, chain.url, flow);
    const files = [];
    let uploaded = 0;
    for (const [k, size] of sizes.entries()) {
      const f = path.join(dir, `f${k}-${size}`);
      const bytes = harness.randomBytes(rand, size);
      fs.writeFileSync(f, bytes);
      const file = await sdk.ZgFile.fromFilePath(f);
      // taskSize 16: see sdk_cluster.js (the SDK's splitTasks with unbalanced shards).
      const [res, err] = await quiet(() => uploader.uploadFile(file, { taskSize: 16 }));
      await file.close();
      if (err) console.log(`# SDK upload of ${size} B: ${err}`);
      else uploaded++;
      files.push({ path: f, size, bytes, root: res && res.rootHash });
    }
    ok(uploaded === sizes.length, `the SDK's Uploader uploads ${uploaded}/${sizes.length} files to the 2+2 cluster`);

    // Finalized everywhere once parity is built; the bytes each node keeps.
    const allFinal = async (ids, limitMs) => {
      const t0 = Date.now();
      let n = 0;
      while (Date.now() - t0 < limitMs) {
        n = 0;
        for (const f of files) {
          for (const i of ids) {
            const info = await storages[i].getFileInfo(f.root, true).catch(() => null);
            if (info && info.finalized) n++;
            if (info && f.start === undefined) f.start = info.tx.startEntryIndex;
          }
        }
        if (n === files.length * ids.length) break;
        await sleep(300);
      }
      return n;
    };
    const t0 = Date.now();
    const fin = await allFinal([0, 1, 2, 3], 120000);
    ok(fin === files.length * N, `every node reports every entry finalized, parity included, ${((Date.now() - t0) / 1000).toFixed(1)} s after the uploads (${fin}/${files.length * N})`);
    const want = [0, 1, 2, 3].map((i) => files.reduce((a, f) => a + keptBytes(f.size, f.start, i), 0));
    const have = [];
    for (let i = 0; i < N; i++) {
      const st = JSON.parse(execFileSync(zgfs, ['status', '--node', urls[i], '--json']).toString());
      have.push(st.bytesStored);
    }
    ok(have.every((h, i) => h === want[i]),
      `each node stores its data segments and its parity symbols: ${have.join(', ')} bytes (want ${want.join(', ')})`);

    const health = (from, root, extra = []) => {
      const r = spawnSync(zgfs, ['health', ...(root ? [root] : []), '--node', urls[from], ...extra], { timeout: 200000 });
      return { status: r.status, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
    };
    const big = files.reduce((a, f) => (f.size > a.size ? f : a));
    let h = health(0, big.root);
    ok(h.status === 0 && /^redundant: /.test(h.out) && /policy 2\+2/.test(h.out),
      `zgfs health ROOT: ${h.out || h.err} (exit ${h.status})`);
    h = health(2);
    ok(h.status === 0 && /^redundant: 4 nodes, 0 down/.test(h.out) && (h.out.match(/ up/g) || []).length === 4,
      `zgfs health (the cluster): ${h.out.replace(/\n/g, ' | ') || h.err} (exit ${h.status})`);

    // zgfs upload through one node: it keeps its shard, hands the rest to the nodes of
    // theirs, and the upload returns once the cluster keeps the entry redundant.
    {
      const size = 3 * MiB + 5;
      const f = path.join(dir, `zgfs-up-${size}`);
      const bytes = harness.randomBytes(rand, size);
      fs.writeFileSync(f, bytes);
      const up = spawnSync(zgfs, ['upload', '--node', urls[1], f], { timeout: 200000 });
      const root = (up.stdout.toString().match(/^(0x[0-9a-f]{64}) /) || [])[1];
      const hz = root ? health(3, root) : { status: -1, out: '' };
      const o = `${f}.back`;
      const back = root ? spawnSync(zgfs, ['download', '--node', urls[2], root, o]) : { status: -1 };
      ok(up.status === 0 && hz.status === 0 && back.status === 0 && fs.readFileSync(o).equals(bytes),
        `zgfs upload --node to one node of the cluster returns once it is redundant (${hz.out || up.stderr}); another node gives it back identical`);
      if (root) files.push({ path: f, size, bytes, root });
    }

    let same = await harness.sdkDownloadAll(sdk, storages, files);
    ok(same === files.length, `the SDK's Downloader over the four nodes: ${same}/${files.length} identical`);

    // Reads striped over the holders: a download through node 0 fetches each segment from
    // a node of its shard (node 0 relays none), and fails over from a dead entry point, a
    // holder that hangs and a holder that sends wrong bytes.
    {
      const status = (i) => JSON.parse(execFileSync(zgfs, ['status', '--node', urls[i], '--json']).toString());
      const before = urls.map((u, i) => status(i));
      const o = `${big.path}.striped`;
      const r = spawnSync(zgfs, ['download', '--node', urls[0], big.root, o], { timeout: 120000 });
      const after = urls.map((u, i) => status(i));
      const served = after.map((a, i) => a.segmentsServed - before[i].segmentsServed);
      const relayed = after[0].segmentsRelayed - before[0].segmentsRelayed;
      ok(r.status === 0 && fs.readFileSync(o).equals(big.bytes) && served.every((n) => n > 0) && relayed === 0,
        `a download through node 0 is striped: segments served by each node ${served.join(', ')}, relayed by node 0 ${relayed} (exit ${r.status}${r.status ? `: ${r.stderr}` : ''})`);
      fs.rmSync(o, { force: true });

      const dead = `http://127.0.0.1:${await freePort()}`;
      const tries = [
        ['a dead first entry point', [`${dead},${urls[2]}`], {}],
        ['a holder that hangs', [urls[0]], { ZGFS_NET_FAULT: `drop=${urls[3]}` }],
        ['a holder that sends wrong bytes', [urls[0]], { ZGFS_NET_FAULT: `corrupt=${urls[1]}/zgfs/v1/segment` }],
      ];
      const said = [];
      let good = 0;
      for (const [what, [list], extra] of tries) {
        const t0 = Date.now();
        const d = spawnSync(zgfs, ['download', '--node', list, big.root, o],
          { timeout: 120000, env: { ...process.env, ...extra } });
        const same = d.status === 0 && fs.readFileSync(o).equals(big.bytes);
        if (same) good++;
        said.push(`${what}: ${same ? 'identical' : `exit ${d.status} ${d.stderr}`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        fs.rmSync(o, { force: true });
      }
      ok(good === tries.length, `reads fail over: ${said.join('; ')}`);
    }

    // Every pair of nodes lost: each survivor serves every file.
    const fetchAll = (from, tag) => {
      let n = 0;
      for (const f of files) {
        const o = `${f.path}.${tag}`;
        const r = spawnSync(zgfs, ['download', '--node', urls[from], f.root, o], { timeout: 120000 });
        if (r.status === 0 && fs.readFileSync(o).equals(f.bytes)) n++;
        else console.log(`# download from node ${from} (${tag}) of ${f.size} B: exit ${r.status} ${r.stderr}`);
        fs.rmSync(o, { force: true });
      }
      return n;
    };
    let pairs = 0, good = 0;
    for (let a = 0; a < N; a++) {
      for (let b = a + 1; b < N; b++) {
        await kill(a);
        await kill(b);
        const live = [0, 1, 2, 3].filter((i) => i !== a && i !== b);
        if (a === 0 && b === 1) {
          h = health(live[0], big.root);
          ok(h.status === 1 && /^degraded: .*missing, still decodable/.test(h.out),
            `two nodes down: zgfs health ROOT says ${h.out || h.err} (exit ${h.status})`);
          h = health(live[1]);
          ok(h.status === 1 && /^degraded: 4 nodes, 2 down/.test(h.out),
            `two nodes down: the cluster is ${h.out.split('\n')[0] || h.err} (exit ${h.status})`);
        }
        let n = 0;
        for (const i of live) n += fetchAll(i, `lost${a}${b}`);
        pairs++;
        if (n === files.length * live.length) good++;
        else console.log(`# nodes ${a} and ${b} down: ${n}/${files.length * live.length} identical`);
        await start(a);
        await start(b);
      }
    }
    ok(good === pairs, `any two of four nodes killed (all ${pairs} pairs): every file identical from both survivors (${good}/${pairs})`);

    // Three lost: beyond the policy; a clear error and no output.
    await kill(0);
    await kill(1);
    await kill(2);
    const lost = files.find((f) => f.size > 2 * SEG);
    const o = `${lost.path}.three`;
    const r = spawnSync(zgfs, ['download', '--node', urls[3], lost.root, o], { timeout: 120000 });
    ok(r.status !== 0 && !fs.existsSync(o) && /keeps the data|reached/.test(r.stderr.toString()),
      `three of four nodes down: a download fails clearly and writes nothing (exit ${r.status}: ${r.stderr.toString().trim()})`);
    h = health(3, big.root);
    ok(h.status === 2 && /^unrecoverable: .*not decodable/.test(h.out),
      `three nodes down: zgfs health ROOT says ${h.out || h.err} (exit ${h.status})`);
    for (let i = 0; i < 3; i++) await start(i);

    // A wiped node rebuilds its shard: copies of nothing exist, so every data segment and
    // parity symbol it kept comes from its stripes.
    const W = 1;
    await kill(W);
    fs.rmSync(data(W), { recursive: true, force: true });
    attach(W);
    const tw = Date.now();
    await start(W);
    h = health(W, big.root, ['--wait', '180']);
    ok(h.status === 0 && /^redundant: /.test(h.out),
      `zgfs health ROOT --wait on the wiped node ends redundant after ${((Date.now() - tw) / 1000).toFixed(1)} s: ${h.out || h.err}`);
    const rebuilt = await allFinal([W], 180000);
    const wantW = files.reduce((a, f) => a + keptBytes(f.size, f.start, W), 0);
    const stw = JSON.parse(execFileSync(zgfs, ['status', '--node', urls[W], '--json']).toString());
    ok(rebuilt === files.length && stw.bytesStored === wantW,
      `node ${W} with its data dir wiped rebuilds shard ${W}/${N} in ${((Date.now() - tw) / 1000).toFixed(1)} s: ${rebuilt}/${files.length} finalized, ${stw.bytesStored} bytes (want ${wantW})`);
    await kill(0);
    await kill(2);
    same = fetchAll(W, 'rebuilt');
    ok(same === files.length, `then nodes 0 and 2 killed: every file identical from the rebuilt node (${same}/${files.length})`);

    // The mount over the cluster, with two entry points: the one in use is killed, and the
    // mount goes on through the other (writes, listing, reads of what was there before).
    await start(0);
    await start(2);
    const mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt);
    const m = fs.existsSync('/dev/fuse')
      ? spawnSync(zgfs, ['mount', '--node', `${urls[0]},${urls[1]}`, mnt], { timeout: 60000 })
      : { status: -1, stderr: '/dev/fuse is missing' };
    if (m.status !== 0) {
      tap.skip('the mount over the cluster', `zgfs mount could not mount: ${m.stderr.toString().trim()}`);
    } else {
      const a = harness.randomBytes(rand, 700 * 1024 + 3), b = harness.randomBytes(rand, 300 * 1024 + 1);
      let said = '';
      try {
        fs.writeFileSync(path.join(mnt, 'a.bin'), a);
        fs.writeFileSync(path.join(mnt, 'b.bin'), b);
        h = health(1, undefined, ['--wait', '120']);
        said += `before: ${h.out.split('\n')[0]}; `;
        await kill(0);
        try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3'); said += 'page cache dropped; '; } catch (e) { said += 'page cache kept; '; }
        const names = fs.readdirSync(mnt).sort().join(',');
        const ra = fs.readFileSync(path.join(mnt, 'a.bin')), rb = fs.readFileSync(path.join(mnt, 'b.bin'));
        ok(names === 'a.bin,b.bin' && ra.equals(a) && rb.equals(b),
          `zgfs mount --node URL0,URL1 reads on when node 0 is killed: ${said}listing ${names}; a.bin ${ra.equals(a) ? 'identical' : 'differs'}, b.bin ${rb.equals(b) ? 'identical' : 'differs'}`);
        // Shard 0 has no live node to take its segments: a write either lands whole or
        // its close says it did not (never a silent loss), and the mount serves on.
        let w, landed = false;
        try {
          fs.writeFileSync(path.join(mnt, 'c.bin'), b);
          landed = fs.readFileSync(path.join(mnt, 'c.bin')).equals(b);
          w = landed ? 'landed, reads back identical' : 'landed, reads back different';
        } catch (e) { w = `refused at close with ${e.code}`; }
        const again = fs.readFileSync(path.join(mnt, 'a.bin')).equals(a);
        ok((landed || /refused/.test(w)) && again,
          `a write while shard 0 has no live node: ${w}; a.bin still reads identical: ${again}`);
      } catch (e) {
        ok(false, `zgfs mount --node URL0,URL1 reads on when node 0 is killed: ${said}${e.message}`);
      } finally {
        spawnSync(zgfs, ['umount', mnt], { timeout: 60000 });
      }
    }
  } finally {
    for (const n of nodes) if (n) await stopNode(n);
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

harness.runMain(main, tap, () => logs.map((l, i) => [`node ${i}`, l]));
