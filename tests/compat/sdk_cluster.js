// The official 0G SDK against a cluster of four zgfs nodes on one EVM chain (anvil).
//
// usage: node sdk_cluster.js ZGFS
//
// `zgfs chain deploy` puts zgfs's contracts on a fresh anvil; three more data dirs attach
// to them (`zgfs chain attach`). Four `zgfs node` processes keep shards 0/4 … 3/4 and know
// each other (--peer). Then:
//   - a node on the embedded ledger refuses a shard (one machine);
//   - each node registers itself with its shard (--url) and learns its peers from the
//     registry;
//   - each node answers zgs_getShardConfig with its shard, and refuses a segment of
//     another shard;
//   - the SDK's Uploader, given all four nodes, uploads files from 1 B to 10 MiB: it
//     routes each segment to the node of its shard (0G's rule), and every node reports
//     each entry finalized once its own segments are there;
//   - each node stores only its shard: the bytes it counts are exactly those of the
//     segments of its shard;
//   - the SDK's Downloader with all four nodes, and `zgfs download` from each single node
//     (which fetches the other shards' segments from its peers, checked by proof), give
//     the bytes back identical;
//   - a fifth node of shard 2/4 started after the uploads syncs that shard from its
//     peers and reports each entry finalized once it holds it; with the first node of
//     shard 2 killed (SIGKILL), every file still downloads identical;
//   - with both killed, a download of a file that has segments on its shard
//     fails with an error naming what is missing and leaves no output file, while a file
//     held elsewhere still downloads.
// Exit status: 0 passed, 1 failed, 77 skipped (no SDK or no anvil here).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const harness = require('./harness.js');
const { freePort, stopNode, quiet, rpc } = harness;

const sdk = harness.loadSdk();
const startAnvil = harness.needAnvil();
const { ethers } = require(path.join(__dirname, 'node_modules', 'ethers'));
const [zgfs] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xc1c1c1);
const randomBytes = (size) => harness.randomBytes(rand, size);

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const N = 4;
const sizes = process.env.CLUSTER_SIZES ? process.env.CLUSTER_SIZES.split(',').map(Number) : [1, 256, 4097, SEG - 1, SEG, SEG + 1, 3 * SEG + 700, MiB + 1, 10 * MiB];

const logs = [];

// Bytes of an entry kept by shard i/N: its data segments s with (start/1024 + s) mod N == i.
function shardBytes(size, startEntryIndex, i) {
  const first = Math.floor(startEntryIndex / 1024);
  let bytes = 0;
  for (let s = 0; s * SEG < size; s++) {
    if ((first + s) % N === i) bytes += Math.min(SEG, size - s * SEG);
  }
  return bytes;
}

async function main() {
  const chain = await startAnvil();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-sdk-cluster-'));
  const [deployer, userAcct] = chain.accounts;
  const nodes = [];
  try {
    const data0 = path.join(dir, 'node0');
    const { flow: flowAddr } = harness.deployChain(zgfs, chain.url, data0, deployer.key);
    ok(flowAddr, `zgfs chain deploy prints flow ${flowAddr}`);
    // A cluster needs a chain its nodes share: the embedded ledger refuses a shard.
    const alone = spawnSync(zgfs, ['node', '--data', path.join(dir, 'alone'), '--rpc', '127.0.0.1:0',
      '--shard', '1/2'], { timeout: 30000 });
    ok(alone.status === 1 && /embedded ledger is one machine/.test(alone.stderr.toString()),
      `a node on the embedded ledger refuses --shard 1/2: ${alone.stderr.toString().trim()}`);
    // Nodes 0..N-1 keep one shard each; node N, started later, is a second copy of
    // shard REPLICA that has to sync it from its peers.
    const REPLICA = 2;
    const ports = [];
    for (let i = 0; i <= N; i++) ports.push(await freePort());
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const start = async (i) => {
      const data = path.join(dir, `node${i}`);
      if (i > 0 && !fs.existsSync(data)) {
        harness.attachChain(zgfs, chain.url, flowAddr, data);
      }
      // Each node registers itself (--url, its own funded key) and learns the others
      // from the registry; node 0 is also given them by hand (--peer).
      const peers = i === 0 ? urls.filter((_, j) => j !== i).flatMap((u) => ['--peer', u]) : [];
      const env = { ...process.env, ZGFS_KEY: chain.accounts[2 + i].key };
      nodes[i] = await harness.startNode(zgfs, data, ports[i], env, (log) => { logs[i] = log.slice(-3000); },
        ['--shard', `${i < N ? i : REPLICA}/${N}`, '--url', urls[i], ...peers]);
    };
    for (let i = 0; i < N; i++) await start(i);
    // Read from another data dir attached to the same contracts (a running node holds its own).
    const watch = path.join(dir, 'watch');
    harness.attachChain(zgfs, chain.url, flowAddr, watch);
    const info = execFileSync(zgfs, ['chain', 'info', '--data', watch]).toString();
    ok(urls.slice(0, N).every((u) => info.includes(u)),
      `the registry lists the four nodes (zgfs chain info)`);
    let shards = 0;
    for (let i = 0; i < N; i++) {
      const r = await rpc(urls[i], 'zgs_getShardConfig');
      if (r.result && r.result.shardId === i && r.result.numShard === N) shards++;
    }
    ok(shards === N, `each node answers zgs_getShardConfig with its shard (${shards}/${N})`);

    const provider = new ethers.JsonRpcProvider(chain.url);
    const signer = new ethers.Wallet(userAcct.key, provider);
    const flow = sdk.getFlowContract(flowAddr, signer);
    const storages = urls.slice(0, N).map((u) => new sdk.StorageNode(u));
    const uploader = new sdk.Uploader(storages, chain.url, flow);
    const files = [];
    let uploaded = 0;
    for (const [k, size] of sizes.entries()) {
      const f = path.join(dir, `f${k}-${size}`);
      const bytes = randomBytes(size);
      fs.writeFileSync(f, bytes);
      const file = await sdk.ZgFile.fromFilePath(f);
      // taskSize 16: one task per node. With the default (1), 0g-ts-sdk 1.2.8's
      // splitTasks interleaves the per-node task lists only up to the shortest one's
      // length, so a node with more segments than another (5 segments on 4 shards) never
      // gets its last ones, and the upload waits for its finality forever.
      const [res, err] = await quiet(() => uploader.uploadFile(file, { taskSize: 16 }));
      await file.close();
      if (err) console.log(`# SDK upload of ${size} B: ${err}`);
      else uploaded++;
      files.push({ path: f, size, bytes, root: res && res.rootHash, seq: res && res.txSeq });
    }
    ok(uploaded === sizes.length,
      `the SDK's Uploader with four nodes uploads ${uploaded}/${sizes.length} files, 1 B to 10 MiB`);

    // Finalized on every node; each node's bytes are its shard's.
    let finalized = 0, exact = 0;
    const want = new Array(N).fill(0);
    for (const f of files) {
      for (let i = 0; i < N; i++) {
        const info = await storages[i].getFileInfo(f.root, true);
        if (info && info.finalized && info.tx.size === f.size) finalized++;
        if (info && i === 0) f.start = info.tx.startEntryIndex;
      }
      for (let i = 0; i < N; i++) want[i] += shardBytes(f.size, f.start, i);
    }
    ok(finalized === files.length * N, `every node reports every entry finalized (${finalized}/${files.length * N})`);
    const have = [];
    for (let i = 0; i < N; i++) {
      const st = JSON.parse(execFileSync(zgfs, ['status', '--node', urls[i], '--json']).toString());
      have.push(st.bytesStored);
      if (st.bytesStored === want[i]) exact++;
    }
    ok(exact === N && want.every((w) => w < files.reduce((a, f) => a + f.size, 0)),
      `each node stores only its shard: bytes ${have.join(', ')} (want ${want.join(', ')})`);

    // A segment of another shard is refused.
    const big = files.reduce((a, f) => (f.size > a.size ? f : a));
    const seg0Shard = Math.floor(big.start / 1024) % N;
    const other = (seg0Shard + 1) % N;
    const seg = big.bytes.subarray(0, SEG);
    const file = await sdk.ZgFile.fromFilePath(big.path);
    const [tree] = await file.merkleTree();
    await file.close();
    const refused = await rpc(urls[other], 'zgs_uploadSegmentByTxSeq', [{
      root: big.root, data: Buffer.from(seg).toString('base64'), index: 0,
      proof: tree.proofAt(0), fileSize: big.size,
    }, big.seq]);
    ok(refused.error && /shard/.test(JSON.stringify(refused.error)),
      `a segment of another shard is refused: ${JSON.stringify(refused.error)}`);

    let same = await harness.sdkDownloadAll(sdk, storages, files);
    ok(same === files.length, `the SDK's Downloader (with proofs) over four nodes gets identical bytes: ${same}/${files.length}`);

    for (let i = 0; i < N; i++) {
      same = 0;
      for (const f of files) {
        const o = `${f.path}.zgfs${i}`;
        const r = spawnSync(zgfs, ['download', '--node', urls[i], f.root, o]);
        if (r.status === 0 && fs.readFileSync(o).equals(f.bytes)) same++;
        else console.log(`# zgfs download from node ${i}: ${r.stderr}`);
      }
      ok(same === files.length, `zgfs download from node ${i} alone (the rest from its peers): ${same}/${files.length} identical`);
    }

    // A second node of shard REPLICA joins after the uploads: it syncs the shard from
    // its peers (checked by proof) and reports each entry finalized only once it has it.
    const t0 = Date.now();
    await start(N);
    const replica = new sdk.StorageNode(urls[N]);
    let synced = 0;
    while (Date.now() - t0 < 120000) {
      synced = 0;
      for (const f of files) {
        const info = await replica.getFileInfo(f.root, true);
        if (info && info.finalized) synced++;
      }
      if (synced === files.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const rst = JSON.parse(execFileSync(zgfs, ['status', '--node', urls[N], '--json']).toString());
    ok(synced === files.length && rst.bytesStored === want[REPLICA],
      `a new node of shard ${REPLICA}/${N} syncs it from its peers in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${synced}/${files.length} finalized, ${rst.bytesStored} bytes (want ${want[REPLICA]})`);

    // The first node of that shard killed: the copy serves it.
    const kill = async (i) => {
      nodes[i].kill('SIGKILL');
      await new Promise((r) => nodes[i].on('exit', r));
    };
    const dead = REPLICA;
    const live = urls[(dead + 1) % N];
    // The node read through must know the new node first (it reads the registry every
    // NODE_PEER_REFRESH_MS): a copy nobody knows of serves nobody.
    for (let t = 0; t < 60; t++) {
      const peers = (await rpc(live, 'zgfs_peers')).result || [];
      if (peers.some((p) => p.url === urls[N])) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await kill(dead);
    same = 0;
    for (const f of files) {
      const o = `${f.path}.copy`;
      const r = spawnSync(zgfs, ['download', '--node', live, f.root, o]);
      if (r.status === 0 && fs.readFileSync(o).equals(f.bytes)) same++;
      else console.log(`# download of ${f.size} B from node ${(dead + 1) % N}: exit ${r.status} ${r.stderr}`);
    }
    ok(same === files.length, `node ${dead} killed: every file still downloads identical from node ${(dead + 1) % N} (${same}/${files.length}), shard ${REPLICA} from its copy`);

    // Its copy killed too: what only they kept is gone; the rest still reads.
    await kill(N);
    const lost = files.find((f) => shardBytes(f.size, f.start, dead) > 0 && f.size > SEG);
    const kept = files.find((f) => f.size <= SEG && shardBytes(f.size, f.start, dead) === 0);
    const o = `${lost.path}.after`;
    const r = spawnSync(zgfs, ['download', '--node', live, lost.root, o]);
    ok(r.status !== 0 && !fs.existsSync(o) && /keeps the data/.test(r.stderr.toString()),
      `with shard ${dead}/${N} down, a file with segments there fails clearly and writes nothing (exit ${r.status}: ${r.stderr.toString().trim()})`);
    const r2 = spawnSync(zgfs, ['download', '--node', live, kept.root, `${kept.path}.after`]);
    ok(r2.status === 0 && fs.readFileSync(`${kept.path}.after`).equals(kept.bytes),
      'a file held by the other shards still downloads identical');
  } finally {
    for (const n of nodes) if (n) await stopNode(n);
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

harness.runMain(main, tap, () => logs.map((l, i) => [`node ${i}`, l]));
