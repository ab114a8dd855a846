// The official 0G SDK against zgfs settled on a real EVM chain (anvil on loopback).
//
// usage: node sdk_evm.js ZGFS
//
// `zgfs chain deploy` puts zgfs's Flow and Market on a fresh anvil; `zgfs node` follows
// them. Then, with another account than the node's:
//   - the SDK's Uploader (its flow contract pointed at ours, its node list at the zgfs
//     node) uploads files from 1 B to 10 MiB: the SDK signs and sends each submission,
//     the node learns it from the Submit event and takes the SDK's segments;
//   - the SDK's Downloader and `zgfs download` get the same bytes back;
//   - `zgfs upload --node` (signed in C with the node's key) is downloadable by the SDK;
//   - the SDK's KV Batcher writes a stream; the node replays it; the SDK's KV client and
//     `zgfs kv get` read the values;
//   - the node's flow root equals the contract's flowRoot().
// Exit status: 0 passed, 1 failed, 77 skipped (no SDK or no anvil here).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const harness = require('./harness.js');
const { freePort, stopNode, quiet, sdkLog } = harness;

const sdk = harness.loadSdk();
const startAnvil = harness.needAnvil();
const { ethers } = require(path.join(__dirname, 'node_modules', 'ethers'));
const [zgfs] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xe7e7e7);
const randomBytes = (size) => harness.randomBytes(rand, size);

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const sizes = [1, 255, 256, 257, 4097, SEG - 1, SEG, SEG + 1, 3 * SEG + 700, MiB + 1, 10 * MiB];

let nodeLog = '';
const rpc = async (url, method, params) => (await harness.rpc(url, method, params)).result;

async function main() {
  const chain = await startAnvil();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-sdk-evm-'));
  const data = path.join(dir, 'data');
  const [nodeAcct, userAcct] = chain.accounts;
  const env = { ...process.env, ZGFS_KEY: nodeAcct.key };
  let child = null;
  try {
    const { flow: flowAddr, market: marketAddr } = harness.deployChain(zgfs, chain.url, data, nodeAcct.key);
    ok(flowAddr && marketAddr, `zgfs chain deploy prints flow ${flowAddr} and market ${marketAddr}`);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    child = await harness.startNode(zgfs, data, port, env, (log) => { nodeLog = log.slice(-4000); });
    const status = await rpc(url, 'zgs_getStatus');
    ok(status && status.networkIdentity.flowAddress.toLowerCase() === flowAddr &&
      status.networkIdentity.chainId === 31337,
    `zgs_getStatus names the flow contract and chain 31337 (${JSON.stringify(status && status.networkIdentity)})`);

    const provider = new ethers.JsonRpcProvider(chain.url);
    const signer = new ethers.Wallet(userAcct.key, provider);
    const flow = sdk.getFlowContract(flowAddr, signer);
    ok((await flow.market()).toLowerCase() === marketAddr, 'the SDK reads market() of our Flow');
    const price = await sdk.getMarketContract(marketAddr, provider).pricePerSector();
    ok(price > 0n, `the SDK reads pricePerSector() of our Market: ${price} wei`);

    // The SDK's Uploader: it signs the submissions with the user's key and uploads the
    // segments to the zgfs node, which learns each entry from the chain.
    const storage = new sdk.StorageNode(url);
    const uploader = new sdk.Uploader([storage], chain.url, flow);
    const files = [];
    let uploaded = 0;
    for (const [i, size] of sizes.entries()) {
      const f = path.join(dir, `f${i}-${size}`);
      const bytes = randomBytes(size);
      fs.writeFileSync(f, bytes);
      const file = await sdk.ZgFile.fromFilePath(f);
      const [res, err] = await quiet(() => uploader.uploadFile(file));
      await file.close();
      if (err) console.log(`# SDK upload of ${size} B: ${err}`);
      else uploaded++;
      files.push({ path: f, size, bytes, root: res && res.rootHash, seq: res && res.txSeq });
    }
    ok(uploaded === sizes.length,
      `the SDK's Uploader settles on our Flow and uploads to zgfs: ${uploaded}/${sizes.length} files, 1 B to 10 MiB`);
    const roots = execFileSync(zgfs, ['root', ...files.map((f) => f.path)]).toString()
      .trim().split('\n').map((l) => l.split(/\s+/)[0]);
    ok(files.every((f, i) => f.root === roots[i]), 'every root the SDK settled equals zgfs root');

    let finalized = 0;
    for (const f of files) {
      const info = await storage.getFileInfo(f.root, true);
      if (info && info.finalized && info.tx.size === f.size) finalized++;
    }
    ok(finalized === files.length, `the node reports every entry finalized (${finalized}/${files.length})`);

    let same = await harness.sdkDownloadAll(sdk, [storage], files);
    ok(same === files.length, `the SDK's Downloader (with proofs) gets identical bytes: ${same}/${files.length}`);

    same = 0;
    for (const f of files) {
      const o = `${f.path}.zgfs`;
      execFileSync(zgfs, ["download", "--node", url, f.root, o]);
      if (fs.readFileSync(o).equals(f.bytes)) same++;
    }
    ok(same === files.length, `zgfs download gets identical bytes: ${same}/${files.length}`);

    // Signed in C: zgfs upload through the node, downloaded by the SDK.
    const mine = [];
    for (const size of [1, SEG + 3, 2 * MiB]) {
      const f = path.join(dir, `c-${size}`);
      const bytes = randomBytes(size);
      fs.writeFileSync(f, bytes);
      const [root, seq] = execFileSync(zgfs, ['upload', '--node', url, f]).toString().trim().split(/\s+/);
      mine.push({ f, path: f, size, bytes, root, seq: Number(seq) });
    }
    same = await harness.sdkDownloadAll(sdk, [storage], mine);
    ok(same === mine.length, `zgfs upload (signed in C) is downloadable by the SDK: ${same}/${mine.length}`);

    // Who sent what, as the chain's Submit events say.
    const events = await flow.queryFilter(flow.filters.Submit());
    const bySeq = new Map(events.map((e) => [Number(e.args.submissionIndex), e.args.sender]));
    ok(files.every((f) => bySeq.get(f.seq) === userAcct.address) &&
      mine.every((m) => bySeq.get(m.seq) === nodeAcct.address),
    'Submit events: the SDK\'s entries from the user, zgfs upload\'s from the node key');

    // KV through the SDK's Batcher, with the user's key.
    const stream = '0x' + 'e7'.repeat(31) + '01';
    const pairs = [['alpha', 'one'], ['beta', 'two'.repeat(1000)], ['gamma', 'three']];
    const batcher = new sdk.Batcher(1, [storage], flow, chain.url);
    for (const [k, v] of pairs) batcher.streamDataBuilder.set(stream, Buffer.from(k), Buffer.from(v));
    const [, kerr] = await quiet(() => batcher.exec());
    ok(!kerr, `the SDK's Batcher settles and uploads a KV transaction${kerr ? `: ${kerr}` : ''}`);
    const kv = new sdk.StorageKv(url);
    let values = 0;
    for (let tries = 0; tries < 100 && values < pairs.length; tries++) {
      values = 0;
      for (const [k, v] of pairs) {
        const val = await kv.getValue(stream, Buffer.from(k), 0, 100000);
        if (val && val.size === v.length && Buffer.from(val.data, 'base64').toString() === v) values++;
      }
      if (values < pairs.length) await new Promise((r) => setTimeout(r, 100));
    }
    ok(values === pairs.length, `the node replays it: StorageKv reads ${values}/${pairs.length} values`);
    const client = new sdk.KvClient(url);
    const g = await client.getValue(stream, Buffer.from('gamma'));
    ok(g && Buffer.from(g.data, 'base64').toString() === 'three', 'KvClient.getValue reads gamma');
    const cli = execFileSync(zgfs, ['kv', 'get', stream, 'beta', '--node', url]).toString();
    ok(cli === 'two'.repeat(1000) || cli === `${'two'.repeat(1000)}\n`, 'zgfs kv get reads beta');

    // The node's flow, followed from events, equals the contract's.
    const st = JSON.parse(execFileSync(zgfs, ['status', '--node', url, '--json']).toString());
    const reader = new ethers.Contract(flowAddr,
      ['function flowRoot() view returns (bytes32)', 'function flowLength() view returns (uint256)',
        'function numSubmissions() view returns (uint256)'], provider);
    const [root, length, n] = await Promise.all([reader.flowRoot(), reader.flowLength(), reader.numSubmissions()]);
    ok(st.flowRoot === root && BigInt(st.flowLength) === length && BigInt(st.nextTxSeq) === n,
      `the node's flow (${st.nextTxSeq} entries, ${st.flowLength} sectors) equals the contract's, root ${root}`);
  } finally {
    if (child) await stopNode(child);
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tap.done();
}

main().catch((e) => {
  console.log(`not ok - ${e.stack}`);
  if (sdkLog.length) console.log(`# SDK said:\n# ${sdkLog.slice(-20).join('\n# ')}`);
  if (nodeLog) console.log(`# zgfs node said:\n# ${nodeLog.trim().split('\n').join('\n# ')}`);
  process.exit(1);
});
