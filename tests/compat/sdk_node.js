// The official 0G SDK talks to a zgfs node over JSON-RPC.
//
// usage: node sdk_node.js ZGFS
// Starts `zgfs node` on a free port with a fresh data directory, uploads files of 1 B to
// 20 MiB with `zgfs upload --node`, then with the SDK's own clients: StorageNode reads
// getStatus, getShardConfig, getFileInfo, getFileInfoByTxSeq and downloadSegmentWithProof
// (each proof checked with the SDK's Proof class against the root the SDK computes for the
// same bytes); the SDK's Downloader downloads every file and gets identical bytes; values
// written with `zgfs kv put` read back with StorageKv.getValue and a KvClient iterator.
// Exits 77 when the SDK is not installed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');
const { freePort, stopNode } = harness;

const sdk = harness.loadSdk();
const [zgfs] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x5eed0de); // the same files on every run
const randomBytes = (size) => harness.randomBytes(rand, size);

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const sizes = [1, 255, 256, 257, 4097, SEG - 1, SEG, SEG + 1, 3 * SEG + 700, MiB + 1,
  4 * MiB, 8 * MiB + 1, 20 * MiB];




async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-sdk-node-'));
  let child = null;
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    child = await harness.startNode(zgfs, path.join(dir, 'data'), port);
    ok(true, `zgfs node serves ${url}`);

    // Upload with the CLI, through the node's RPC.
    const files = [];
    for (const [i, size] of sizes.entries()) {
      const f = path.join(dir, `f${i}-${size}`);
      const bytes = randomBytes(size);
      fs.writeFileSync(f, bytes);
      const out = execFileSync(zgfs, ['upload', f, '--node', url], { maxBuffer: MiB })
        .toString().trim().split(/\s+/);
      const file = await sdk.ZgFile.fromFilePath(f);
      const [tree, err] = await file.merkleTree();
      if (err) throw err;
      files.push({ path: f, size, bytes, root: out[0], seq: Number(out[1]), tree, file });
    }
    ok(files.every((f) => f.root === f.tree.rootHash()),
      `zgfs upload --node: every root equals the SDK's (${files.length} files, 1 B to 20 MiB)`);
    ok(files.every((f, i) => i === 0 || f.seq > files[i - 1].seq), 'tx seqs increase');

    const node = new sdk.StorageNode(url);
    const status = await node.getStatus();
    ok(status && status.nextTxSeq >= files.length && /^0x[0-9a-f]{64}$/.test(status.logSyncBlock) &&
      typeof status.logSyncHeight === 'number' && typeof status.connectedPeers === 'number' &&
      status.networkIdentity && typeof status.networkIdentity.chainId === 'number',
    `getStatus: ${JSON.stringify(status)}`);
    const shard = await node.getShardConfig();
    ok(shard && shard.shardId === 0 && shard.numShard === 1, 'getShardConfig: {shardId 0, numShard 1}');

    let infoOk = 0, seqOk = 0;
    for (const f of files) {
      const a = await node.getFileInfo(f.root, true);
      const b = await node.getFileInfoByTxSeq(f.seq);
      const good = (x) => x && x.finalized === true && x.tx.dataMerkleRoot === f.root &&
        x.tx.size === f.size && x.tx.seq === f.seq && Array.isArray(x.tx.merkleNodes) &&
        typeof x.tx.startEntryIndex === 'number' &&
        x.uploadedSegNum === Math.ceil(f.size / SEG);
      if (good(a)) infoOk++;
      else console.log(`# getFileInfo ${f.size}: ${JSON.stringify(a)}`);
      if (good(b)) seqOk++;
      else console.log(`# getFileInfoByTxSeq ${f.seq}: ${JSON.stringify(b)}`);
    }
    ok(infoOk === files.length, `getFileInfo(root, true): ${infoOk}/${files.length}`);
    ok(seqOk === files.length, `getFileInfoByTxSeq: ${seqOk}/${files.length}`);
    ok(await node.getFileInfo('0x' + '42'.repeat(32), true) === null,
      'getFileInfo of an unknown root: null');
    // merkleNodes carry 0G's depth (height + 1): the sectors they cover add up.
    const big = files[files.length - 1];
    const [sub] = await big.file.createSubmission('0x');
    const info = await node.getFileInfoByTxSeq(big.seq);
    ok(JSON.stringify(info.tx.merkleNodes) ===
      JSON.stringify(sub.data.nodes.map((x) => [Number(x.height) + 1, x.root])),
    'merkleNodes are [height + 1, root] of the SDK\'s submission nodes');

    // Segments with proofs, checked with the SDK's Proof against the SDK's own tree.
    let proofs = 0, proofsOk = 0;
    for (const f of files) {
      const nseg = f.tree.leaves.length;
      const dataSegs = Math.ceil(f.size / SEG);
      for (const idx of new Set([0, dataSegs - 1, Math.floor(dataSegs / 2)])) {
        proofs++;
        const seg = await node.downloadSegmentWithProof(f.root, idx);
        const data = Buffer.from(seg.data, 'base64');
        const want = f.bytes.subarray(idx * SEG, Math.min(f.size, (idx + 1) * SEG));
        const err = new sdk.Proof(seg.proof.lemma, seg.proof.path)
          .validateHash(f.root, f.tree.leaves[idx].hash, idx, nseg);
        const padded = Math.ceil(want.length / 256) * 256;
        if (err === null && seg.root === f.root && seg.index === idx && seg.fileSize === f.size &&
          data.length === padded && data.subarray(0, want.length).equals(want) &&
          data.subarray(want.length).every((x) => x === 0)) {
          proofsOk++;
        } else {
          console.log(`# segment ${idx}/${nseg} of ${f.size} B: proof ${err}, ${data.length} bytes`);
        }
      }
    }
    ok(proofsOk === proofs, `downloadSegmentWithProof: proofs verify with the SDK's Proof, data exact (${proofsOk}/${proofs})`);
    const seg0 = await node.downloadSegmentWithProofByTxSeq(files[6].seq, 0);
    ok(seg0 && seg0.root === files[6].root && Buffer.from(seg0.data, 'base64').equals(files[6].bytes),
      'downloadSegmentWithProofByTxSeq');
    const chunk = await node.downloadSegment(files[0].root, 0, 1);
    ok(chunk && Buffer.from(chunk, 'base64').length === 256 &&
      Buffer.from(chunk, 'base64')[0] === files[0].bytes[0],
    'downloadSegment of a 1-byte file: one chunk, zero-padded to 256 bytes');

    // The SDK's Downloader, with this node as the only node.
    const dl = new sdk.Downloader([node]);
    let same = 0;
    for (const f of files) {
      const out = path.join(dir, `out-${f.seq}`);
      const err = await dl.download(f.root, out, false);
      if (err === null && fs.readFileSync(out).equals(f.bytes)) same++;
      else console.log(`# Downloader ${f.size} B: ${err}`);
      fs.rmSync(out, { force: true });
    }
    ok(same === files.length, `the SDK's Downloader gets identical bytes: ${same}/${files.length}`);

    // KV: written with the CLI, read with the SDK.
    const stream = '0x' + '5a'.repeat(31) + '01';
    const pairs = [['apple', 'red'], ['banana', 'yellow'], ['cherry', 'dark red'], ['date', 'x'.repeat(5000)]];
    for (const [k, v] of pairs) execFileSync(zgfs, ['kv', 'put', stream, k, v, '--node', url]);
    const kv = new sdk.StorageKv(url);
    let values = 0;
    for (const [k, v] of pairs) {
      const val = await kv.getValue(stream, Buffer.from(k), 0, 100000);
      if (val && Buffer.from(val.data, 'base64').toString() === v && val.size === v.length) values++;
      else console.log(`# getValue ${k}: ${JSON.stringify(val)}`);
    }
    ok(values === pairs.length, `StorageKv.getValue reads what zgfs kv put wrote (${values}/${pairs.length})`);
    const first = await kv.getFirst(stream, 0, 100);
    ok(first && Buffer.from(first.key, 'base64').toString() === 'apple', 'StorageKv.getFirst: the first key');
    const next = await kv.getNext(stream, Buffer.from('apple'), 0, 100, false);
    ok(next && Buffer.from(next.key, 'base64').toString() === 'banana', 'StorageKv.getNext after apple: banana');
    const client = new sdk.KvClient(url);
    const it = client.newIterator(stream);
    const seen = [];
    let e = await it.seekToFirst();
    while (e === null && it.valid()) {
      const p = it.getCurrentPair();
      seen.push([Buffer.from(p.key).toString(), Buffer.from(p.data, 'base64').toString()]);
      e = await it.next();
    }
    ok(JSON.stringify(seen) === JSON.stringify(pairs),
      `KvClient iterator walks every pair in order (${seen.length} pairs)`);
    const missing = await client.getValue(stream, Buffer.from('nope'));
    ok(missing && missing.size === 0, 'KvClient.getValue of a missing key: size 0, as 0G answers');
    const streams = await kv.getHoldingStreamIds();
    ok(Array.isArray(streams) && streams.includes(stream), 'getHoldingStreamIds lists the stream');
    for (const f of files) await f.file.close();
  } finally {
    if (child) await stopNode(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tap.done();
}
main().catch((e) => {
  console.log(`not ok - ${e.stack}`);
  process.exit(1);
});
