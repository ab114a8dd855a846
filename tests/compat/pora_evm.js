// PoRA on an EVM chain: the Mine contract (chain/contracts/Mine.sol) with the Flow and
// Market, on anvil.
//
// usage: node pora_evm.js ZGFS TEST_CHAIN_PORA [CRASH_ROUNDS]
//
// 1. The chain API (chain.h's chain_pora_*) on anvil, one block per transaction:
//    test_chain_pora --evm URL runs the miner of the embedded-ledger unit test against
//    the contracts: every answer it finds is accepted and paid to the wei, each forgery
//    (flipped byte, wrong seal offset, range, shard, miner, seal context, short proof,
//    another context, a repeat, one over the epoch cap, a stale context) is refused with
//    the same code as on the embedded ledger, and corrupted data earns nothing.
// 2. A real `zgfs node --mine` on anvil making a block a second: `zgfs chain deploy` with
//    the PoRA options, an upload, answers accepted and paid from the donation pool; the
//    node's mine status agrees with the contract's counters and events; the Market's
//    balance is exactly its pools plus the donations left; the node's last answer is the
//    one the chain recorded.
// 3. Crash: SIGKILL the mining node CRASH_ROUNDS times (default 3) while it mines and
//    submits; each restart mines under the same miner id, and the chain never paid one
//    answer twice (one NewSubmission per accepted answer, each (epoch, index) once).
// 4. Shards: two nodes keeping shards 0/2 and 1/2 of the flow (0G's rule, a registry of
//    two), each mining with its own key: both are paid, each for answers in its own
//    shard's range (shardId, shardMask ~1), proved by the proofs of its own segments.
// Exit status: 0 passed, 1 failed, 77 skipped (no anvil or ethers here).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const harness = require('./harness.js');

const startAnvil = harness.needAnvil();
const { ethers } = harness.loadModule('ethers');
const [zgfs, testChainPora, roundsArg] = process.argv.slice(2);
const ROUNDS = Number(roundsArg || 3);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const BASE_REWARD = 1000n;
const DONATE = 10n ** 7n;
const ARTIFACTS = path.join(path.dirname(zgfs), 'chain', 'contracts');

let nodeLog = '';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Part 1: the C test's points, renumbered into ours.
async function chainApi() {
  const chain = await startAnvil();
  try {
    const run = spawnSync(testChainPora, ['--evm', chain.url],
      { env: { ...process.env, ZGFS_KEY: chain.accounts[0].key }, encoding: 'utf8', timeout: 300000 });
    let points = 0;
    for (const line of (run.stdout || '').split('\n')) {
      const m = line.match(/^(not )?ok \d+ - (.*)$/);
      if (m) {
        points++;
        ok(!m[1], `chain API on anvil: ${m[2]}`);
      } else if (line.startsWith('#')) {
        console.log(line);
      }
    }
    ok(run.status === 0 && points > 20,
      `test_chain_pora --evm ran ${points} checks and exited ${run.status}${run.stderr ? `: ${run.stderr.slice(-300)}` : ''}`);
  } finally {
    await chain.stop();
  }
}

function mineStatus(url) {
  const out = execFileSync(zgfs, ['mine', 'status', '--node', url, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.toString());
}

async function waitFor(what, fn, seconds) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await sleep(250);
  }
}

// Part 2 and 3: a mining node.
async function miningNode() {
  const chain = await startAnvil({ blockTime: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-pora-evm-'));
  const data = path.join(dir, 'data');
  const [nodeAcct] = chain.accounts;
  const env = { ...process.env, ZGFS_KEY: nodeAcct.key };
  const port = await harness.freePort();
  const url = `http://127.0.0.1:${port}`;
  const nodeArgs = ['--mine', '--mine-tick-ms', '200'];
  let child = null;
  try {
    const out = execFileSync(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', data,
      '--pora-difficulty', '1', '--epoch-blocks', '6', '--target-answers', '2',
      '--base-reward', String(BASE_REWARD), '--donate', String(DONATE)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const addr = (name) => (out.match(new RegExp(`^${name} (0x[0-9a-f]{40})$`, 'm')) || [])[1];
    ok(addr('flow') && addr('market') && addr('mine'),
      `zgfs chain deploy --pora-difficulty 1 ... prints flow, market and mine ${addr('mine')}`);

    const provider = new ethers.JsonRpcProvider(chain.url);
    const abi = (name) => JSON.parse(fs.readFileSync(path.join(ARTIFACTS, `${name}.json`))).abi;
    const mine = new ethers.Contract(addr('mine'), abi('Mine'), provider);
    const market = new ethers.Contract(addr('market'), abi('Market'), provider);
    const flow = new ethers.Contract(addr('flow'), abi('Flow'), provider);
    ok((await market.mine()).toLowerCase() === addr('mine') && (await market.baseReward()) === BASE_REWARD &&
      (await market.donations()) === DONATE && (await flow.blocksPerEpoch()) === 6n &&
      (await mine.targetSubmissions()) === 2n && (await mine.difficulty()) === 1n,
    'the Market names the Mine, the base reward and the donation; the Flow has 6-block epochs');

    child = await harness.startNode(zgfs, data, port, env, (l) => { nodeLog = l.slice(-4000); }, nodeArgs);
    const file = path.join(dir, 'data.bin');
    fs.writeFileSync(file, harness.randomBytes(harness.rng(0x9a9a), 3 * 1024 * 1024 + 777));
    execFileSync(zgfs, ['upload', file, '--node', url], { env, stdio: ['ignore', 'pipe', 'pipe'] });

    const first = await waitFor('three accepted answers', () => {
      const s = mineStatus(url);
      return s.accepted >= 3 ? s : null;
    }, 120);
    ok(true, `the node's answers are accepted: ${first.accepted} so far, ${first.rewards} wei`);
    ok(/^0x[0-9a-f]{64}$/.test(first.minerId) && (await mine.beneficiaries(first.minerId)).toLowerCase() ===
      nodeAcct.address.toLowerCase(), `its miner id ${first.minerId.slice(0, 10)}... pays the node's account`);

    await stopNode(child);
    child = null;
    await checkBooks(provider, mine, market, nodeAcct.address, url, 'after mining');
    const st = JSON.parse(execFileSync(zgfs, ['mine', 'status', '--data', data, '--json']).toString());
    const last = st.lastAnswer || {};
    const subs = await mine.queryFilter(mine.filters.NewSubmission(), 0, 'latest');
    ok(last.minerId === first.minerId && last.sealedData && last.sealedData.length === 2 + 8192 &&
      subs.some((e) => e.args.minerId === last.minerId && e.args.recallPosition === BigInt(last.recallPosition)),
    `the last answer in mine status (recall position ${last.recallPosition}) is one the chain recorded`);
    const info = execFileSync(zgfs, ['chain', 'info', '--data', data]).toString();
    const acc = await mine.accepted();
    ok(info.includes(`pora answers:    ${acc} accepted`) && info.includes('difficulty 1, 6 blocks per epoch, 2 target answers'),
      `zgfs chain info on the EVM data dir shows the Mine's parameters and its ${acc} answers`);
    const gas = await Promise.all(subs.map(async (e) => (await provider.getTransactionReceipt(e.transactionHash)).gasUsed));
    console.log(`# gas of an accepted answer: ${gas.map(String).join(', ')}`);

    // Part 3: kills while mining.
    let id = first.minerId;
    let sameId = true, grew = true, before = Number(await mine.accepted());
    for (let round = 0; round < ROUNDS; round++) {
      child = await harness.startNode(zgfs, data, port, env, (l) => { nodeLog = l.slice(-4000); }, nodeArgs);
      await sleep(1500 + Math.floor(Math.random() * 3000));
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
      child = await harness.startNode(zgfs, data, port, env, (l) => { nodeLog = l.slice(-4000); }, nodeArgs);
      const s = await waitFor('a status after the restart', () => {
        try { return mineStatus(url); } catch (e) { return null; }
      }, 30);
      sameId = sameId && s.minerId === id;
      const after = await waitFor('one more accepted answer', async () => {
        const n = Number(await mine.accepted());
        return n > before ? n : null;
      }, 90).catch(() => before);
      grew = grew && after > before;
      before = after;
      await stopNode(child);
      child = null;
    }
    ok(sameId, `${ROUNDS} SIGKILLs while mining: every restart mines under the same miner id`);
    ok(grew, 'and earns again after each restart');
    await checkBooks(provider, mine, market, nodeAcct.address, url, `after ${ROUNDS} kills`);
  } finally {
    if (child) await stopNode(child);
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const stopNode = harness.stopNode;

// The contract's counters, its events and the Market's wei agree, and nothing was paid
// twice.
async function checkBooks(provider, mine, market, beneficiary, url, when) {
  const subs = await mine.queryFilter(mine.filters.NewSubmission(), 0, 'latest');
  const paidEvents = await market.queryFilter(market.filters.DistributeReward(), 0, 'latest');
  const accepted = await mine.accepted();
  const paid = await mine.paid();
  const keys = new Set(subs.map((e) => `${e.args.epoch}:${e.args.epochIndex}`));
  const sumSubs = subs.reduce((a, e) => a + e.args.reward, 0n);
  const sumPaid = paidEvents.reduce((a, e) => a + e.args.amount, 0n);
  ok(BigInt(subs.length) === accepted && keys.size === subs.length && paidEvents.length === subs.length,
    `${when}: ${accepted} answers accepted, one NewSubmission and one payment each, no (epoch, index) twice`);
  ok(sumSubs === paid && sumPaid === paid && paid === accepted * BASE_REWARD &&
    paidEvents.every((e) => e.args.beneficiary.toLowerCase() === beneficiary.toLowerCase()),
  `${when}: ${paid} wei paid to the node's account, the base reward per answer (no pool is full yet)`);
  const donations = await market.donations();
  let pools = 0n;
  const n = await market.poolCount();
  for (let i = 0n; i < n; i++) pools += (await market.pools(i)).balance;
  const held = await provider.getBalance(await market.getAddress());
  ok(DONATE - donations === paid && held === pools + donations,
    `${when}: the donation pool gave exactly that, and the Market holds its pools plus the donations left (${held} wei)`);
  return { accepted, paid };
}

// Part 4: two shards, two miners.
async function shardedMiners() {
  const chain = await startAnvil({ blockTime: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-pora-shards-'));
  const children = [];
  try {
    const d0 = path.join(dir, 'node0');
    const out = execFileSync(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', d0,
      '--pora-difficulty', '1', '--epoch-blocks', '6', '--target-answers', '4',
      '--base-reward', String(BASE_REWARD), '--donate', String(DONATE)],
    { env: { ...process.env, ZGFS_KEY: chain.accounts[0].key }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const flowAddr = (out.match(/^flow (0x[0-9a-f]{40})$/m) || [])[1];
    const mineAddr = (out.match(/^mine (0x[0-9a-f]{40})$/m) || [])[1];
    harness.attachChain(zgfs, chain.url, flowAddr, path.join(dir, 'node1'));
    const ports = [await harness.freePort(), await harness.freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    for (let i = 0; i < 2; i++) {
      const env = { ...process.env, ZGFS_KEY: chain.accounts[i].key };
      children.push(await harness.startNode(zgfs, path.join(dir, `node${i}`), ports[i], env,
        (l) => { nodeLog = l.slice(-4000); },
        ['--shard', `${i}/2`, '--url', urls[i], '--peer', urls[1 - i], '--mine', '--mine-tick-ms', '200']));
    }
    const file = path.join(dir, 'data.bin');
    fs.writeFileSync(file, harness.randomBytes(harness.rng(0x5a5a), 4 * 1024 * 1024));
    execFileSync(zgfs, ['upload', file, '--node', urls[0]],
      { env: { ...process.env, ZGFS_KEY: chain.accounts[0].key }, stdio: ['ignore', 'pipe', 'pipe'] });
    const st = await waitFor('both shards paid', () => {
      const s = urls.map((u) => mineStatus(u));
      return s.every((x) => x.accepted >= 2) ? s : null;
    }, 150);
    const provider = new ethers.JsonRpcProvider(chain.url);
    const abi = JSON.parse(fs.readFileSync(path.join(ARTIFACTS, 'Mine.json'))).abi;
    const mine = new ethers.Contract(mineAddr, abi, provider);
    const subs = await mine.queryFilter(mine.filters.NewSubmission(), 0, 'latest');
    let inShard = true;
    for (let i = 0; i < 2; i++) {
      const a = st[i].lastAnswer;
      const mine_i = subs.filter((e) => e.args.minerId === st[i].minerId);
      inShard = inShard && a.range.shardId === i && a.range.shardMask === '0xfffffffffffffffe' &&
        mine_i.length >= 2 && mine_i.every((e) => Number(e.args.recallPosition / 1024n) % 2 === i);
    }
    ok(st[0].minerId !== st[1].minerId && inShard,
      `two shards, two miners: ${st[0].accepted} and ${st[1].accepted} answers accepted, each in its own shard's segments`);
    ok(st.every((x) => x.corrupt === 0), 'no unit reported corrupt: each proves its units from its own segments\' proofs');
  } finally {
    for (const c of children) await stopNode(c);
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  await chainApi();
  await miningNode();
  await shardedMiners();
}

harness.runMain(main, tap, () => [['node', nodeLog]]);
