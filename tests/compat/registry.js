// The node Registry (chain/contracts/Registry.sol) on anvil, through `zgfs chain deploy`,
// chain/chain.h (registrytool) and ethers.
//
// usage: node registry.js ZGFS REGISTRYTOOL ARTIFACTS_DIR
//
//   - `zgfs chain deploy --ec 2+2` deploys the Registry with the policy, and the Flow names it;
//   - four nodes register from four funded accounts (shards 0/4 to 3/4) and read back, in
//     C and with ethers; NodeRegistered says what happened;
//   - a node re-registers (its entry is replaced in place) and a new key takes over a lost
//     node's entry with `replaces`;
//   - every refusal (numShard not a power of two, shardId ≥ numShard, a URL too long or
//     empty, a takeover of another shard, of nobody, by a registered sender; constructor
//     policies past ISA-L's 256 symbols) is a clear error and changes nothing;
//   - `zgfs chain attach` from another data directory finds the registry and the policy
//     through the Flow alone, and `zgfs chain info` shows them.
// Exit status: 0 passed, 1 failed, 77 skipped (no anvil, ethers or compiled contracts).
'use strict';
const fs = require('fs');
const path = require('path');
const harness = require('./harness.js');

const [zgfs, tool, artifactsDir] = process.argv.slice(2);
harness.needAnvil();
const { ethers } = harness.loadModule('ethers');
const artifacts = harness.loadArtifact(artifactsDir, 'Registry');
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);

const run = harness.runProgram;

// registrytool DIR nodes, parsed.
function toolNodes(dir) {
  const r = run(tool, [dir, 'nodes']);
  if (r.status !== 0) return null;
  return r.out.trim().split('\n').filter(Boolean).map((l) => {
    const [index, id, shard, block, ...url] = l.split(' ');
    const [shardId, numShard] = shard.split('/').map(Number);
    return { index: Number(index), id: id.toLowerCase(), shardId, numShard, block: Number(block), url: url.join(' ') };
  });
}

async function checks(chain, tmp) {
  const provider = new ethers.JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const acct = chain.accounts;
  const dirA = path.join(tmp, 'a'), dirB = path.join(tmp, 'b');

  // --- deployment -------------------------------------------------------------------------
  const dep = run(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', dirA, '--ec', '2+2'], { ZGFS_KEY: acct[0].key });
  if (!ok(dep.status === 0, `zgfs chain deploy --ec 2+2 (${dep.err.trim()})`)) return;
  const word = (name) => (dep.out.match(new RegExp(`^${name} (\\S+)$`, 'm')) || [])[1];
  const flowAddr = word('flow'), regAddr = word('registry');
  ok(regAddr && word('policy') === '2+2', `it prints the registry ${regAddr} and the policy 2+2`);
  const rec = JSON.parse(fs.readFileSync(path.join(dirA, 'chain.json'), 'utf8'));
  ok(rec.registry === regAddr && rec.flow === flowAddr, 'chain.json records the registry beside the flow');
  const flow = new ethers.Contract(flowAddr, ['function registry() view returns (address)', 'function market() view returns (address)'], provider);
  ok((await flow.registry()).toLowerCase() === regAddr, 'Flow.registry() names it');
  const reg = new ethers.Contract(regAddr, artifacts.abi, provider);
  const pol = await reg.policy();
  ok(pol[0] === 2n && pol[1] === 2n, 'Registry.policy() is 2+2');
  ok((await reg.deployer()) === acct[0].address && (await reg.nodeCount()) === 0n,
    'the deployer is the deploying key; no nodes yet');
  ok(run(tool, [dirA, 'policy']).out.trim() === '2+2', 'chain_registry_policy(): 2+2');

  // A data dir deployed without --ec has policy none.
  const dirN = path.join(tmp, 'none');
  const depN = run(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', dirN], { ZGFS_KEY: acct[0].key });
  ok(depN.status === 0 && /^policy none$/m.test(depN.out) && run(tool, [dirN, 'policy']).out.trim() === 'none',
    'zgfs chain deploy without --ec: policy none');

  // --- four nodes from four accounts -------------------------------------------------------
  const urls = [0, 1, 2, 3].map((i) => `http://10.0.0.${i + 1}:5678`);
  let allIndexed = true;
  for (let i = 0; i < 4; i++) {
    const r = run(tool, [dirA, 'register', urls[i], `${i}/4`], { ZGFS_KEY: acct[i + 1].key });
    allIndexed &&= r.status === 0 && r.out.trim() === `index ${i}`;
  }
  ok(allIndexed, 'four accounts register shards 0/4 to 3/4 at indexes 0 to 3');
  let nodes = toolNodes(dirA);
  ok(nodes && nodes.length === 4 && nodes.every((n, i) => n.id === acct[i + 1].address.toLowerCase() &&
    n.url === urls[i] && n.shardId === i && n.numShard === 4 && n.block > 0),
  'chain_registry_nodes() reads them back: id, URL, shard, block');
  const all = await reg.nodes();
  ok(all.length === 4 && all.every((n, i) => n.id === acct[i + 1].address && n.url === urls[i] &&
    n.shardId === BigInt(i) && n.numShard === 4n && Number(n.registered) === nodes[i].block),
  'Registry.nodes() (ethers) says the same');
  const one = await reg.node(2);
  ok(one.id === acct[3].address && one.url === urls[2], 'Registry.node(2) is the third node');

  // Everything a refusal must leave alone.
  const snapshot = async () => JSON.stringify((await reg.nodes()).map((n) => n.toArray().map(String)));

  // --- re-registration --------------------------------------------------------------------
  const before = nodes[1].block;
  let r = run(tool, [dirA, 'register', 'https://node1.example:443', '1/4'], { ZGFS_KEY: acct[2].key });
  nodes = toolNodes(dirA);
  ok(r.status === 0 && r.out.trim() === 'index 1' && nodes.length === 4 &&
    nodes[1].url === 'https://node1.example:443' && nodes[1].id === acct[2].address.toLowerCase() &&
    nodes[1].block > before, 're-registering replaces the entry in place (same index, new URL and block)');
  r = run(tool, [dirA, 'register', 'http://10.0.0.2:5678', '1/4', acct[2].address], { ZGFS_KEY: acct[2].key });
  ok(r.status === 0 && r.out.trim() === 'index 1' && toolNodes(dirA)[1].url === 'http://10.0.0.2:5678',
    'replaces = the own id is a re-registration too');

  // --- a takeover -------------------------------------------------------------------------
  r = run(tool, [dirA, 'register', 'http://10.0.0.9:5678', '3/4', acct[4].address], { ZGFS_KEY: acct[5].key });
  nodes = toolNodes(dirA);
  ok(r.status === 0 && r.out.trim() === 'index 3' && nodes.length === 4 &&
    nodes[3].id === acct[5].address.toLowerCase() && nodes[3].url === 'http://10.0.0.9:5678' &&
    nodes[3].shardId === 3, 'a new key takes over the lost node 3/4 with replaces: same index, new id and URL');
  const logs = await provider.getLogs({ address: regAddr, fromBlock: 0, topics: [reg.interface.getEvent('NodeRegistered').topicHash] });
  const last = reg.interface.parseLog(logs[logs.length - 1]);
  ok(logs.length === 7 && last.args.id === acct[5].address && last.args.replaced === acct[4].address &&
    last.args.index === 3n && last.args.shardId === 3n && last.args.numShard === 4n,
  'NodeRegistered: one per registration; the takeover names the replaced id');
  let threw = null;
  try { await reg.indexOf(acct[4].address); } catch (e) { threw = e.reason; }
  ok(threw === 'Registry: not registered', 'the replaced id has no entry any more');

  // --- refusals: through chain.h ----------------------------------------------------------
  const state = await snapshot();
  const refusals = [
    ['numShard not a power of two', ['http://x', '0/3'], acct[6], /^error -22: .*power of two/],
    ['shardId ≥ numShard', ['http://x', '4/4'], acct[6], /^error -22: .*shard 4 does not exist/],
    ['a URL of 257 bytes', ['http://' + 'a'.repeat(250), '0/4'], acct[6], /^error -22: .*at most 256 bytes/],
    ['a takeover of another shard', ['http://x', '1/4', acct[1].address], acct[6], /^error -\d+: transaction reverted: .*Registry: replaced node has another shard/],
    ['a takeover of an id without an entry', ['http://x', '0/4', acct[9].address], acct[6], /Registry: replaced node is not registered/],
    ['a takeover by a registered sender', ['http://x', '0/4', acct[1].address], acct[3], /Registry: sender is registered; re-register without replaces/],
  ];
  for (const [what, args, who, want] of refusals) {
    const res = run(tool, [dirA, 'register', ...args], { ZGFS_KEY: who.key });
    ok(res.status === 1 && want.test(res.out.trim()) && (await snapshot()) === state,
      `refused, nothing changed: ${what} (${res.out.trim()})`);
  }
  const noKey = run(tool, [dirA, 'register', 'http://x', '0/4'], { ZGFS_KEY: '' });
  ok(noKey.status === 1 && /no signing key/.test(noKey.out), 'without a key: "no signing key"');

  // --- refusals: the contract's own checks, by eth_call and mined ---------------------------
  const wallet = new ethers.Wallet(acct[7].key, provider);
  const regW = reg.connect(wallet);
  const reasons = [
    ['numShard 3', ['http://x', 0, 3, ethers.ZeroAddress], 'Registry: numShard is not a power of two'],
    ['numShard 0', ['http://x', 0, 0, ethers.ZeroAddress], 'Registry: numShard is not a power of two'],
    ['shardId 4 of 4', ['http://x', 4, 4, ethers.ZeroAddress], 'Registry: shardId must be below numShard'],
    ['a URL of 257 bytes', ['u'.repeat(257), 0, 1, ethers.ZeroAddress], 'Registry: url longer than 256 bytes'],
    ['an empty URL', ['', 0, 1, ethers.ZeroAddress], 'Registry: url is empty'],
  ];
  for (const [what, args, want] of reasons) {
    let reason = null;
    try { await regW.register.staticCall(...args); } catch (e) { reason = e.reason; }
    const tx = await wallet.sendTransaction({ to: regAddr, data: reg.interface.encodeFunctionData('register', args), gasLimit: 500000 });
    const rc = await provider.waitForTransaction(tx.hash);
    ok(reason === want && rc.status === 0 && (await snapshot()) === state,
      `the contract refuses ${what} with "${reason}", mined as failed, nothing changed`);
  }
  const long = 'u'.repeat(256);
  await (await regW.register(long, 1, 2, ethers.ZeroAddress)).wait();
  ok((await reg.nodeCount()) === 5n && (await reg.node(4)).url === long, 'a URL of exactly 256 bytes is accepted');

  // --- the constructor's policy --------------------------------------------------------------
  const factory = new ethers.ContractFactory(artifacts.abi, artifacts.bytecode, wallet);
  for (const [k, m, want] of [[0, 2, 'Registry: ecK must be at least 1'], [2, 0, 'Registry: ecM must be at least 1'],
    [200, 57, 'Registry: ecK + ecM exceeds 256'], [256, 1, 'Registry: ecK + ecM exceeds 256']]) {
    let reason = null;
    try { await provider.call(await factory.getDeployTransaction(k, m)); } catch (e) { reason = e.reason; }
    ok(reason === want, `a policy of ${k}+${m} is refused at deployment: "${reason}"`);
  }
  const okPolicy = await (await factory.deploy(128, 128)).waitForDeployment();
  const p2 = await okPolicy.policy();
  ok(p2[0] === 128n && p2[1] === 128n, 'a policy of 128+128 (256 symbols) is accepted');
  const bad = run(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', path.join(tmp, 'bad'), '--ec', '200+57'], { ZGFS_KEY: acct[0].key });
  ok(bad.status === 2 && /exceeds the 256 symbols/.test(bad.err) && !fs.existsSync(path.join(tmp, 'bad', 'chain.json')),
    `zgfs chain deploy --ec 200+57 is refused before anything is sent (${bad.err.trim()})`);

  // --- another host: attach through the Flow alone ------------------------------------------
  const att = run(zgfs, ['chain', 'attach', '--rpc', chain.url, '--flow', flowAddr, '--data', dirB]);
  const recB = att.status === 0 ? JSON.parse(fs.readFileSync(path.join(dirB, 'chain.json'), 'utf8')) : {};
  ok(att.status === 0 && recB.registry === regAddr && recB.market === rec.market,
    `zgfs chain attach --flow finds the registry through the Flow (${att.err.trim()})`);
  ok(run(tool, [dirB, 'policy']).out.trim() === '2+2', 'and the policy 2+2');
  const nb = toolNodes(dirB);
  ok(nb && nb.length === 5 && nb[3].id === acct[5].address.toLowerCase(), 'and the same five nodes');
  const info = run(zgfs, ['chain', 'info', '--data', dirB]);
  ok(info.status === 0 && info.out.includes(`registry:        ${regAddr}`) &&
    info.out.includes('policy:          erasure code 2+2') && info.out.includes('nodes:           5') &&
    info.out.includes(`shard 3/4 http://10.0.0.9:5678`), 'zgfs chain info shows the registry, the policy and the nodes');
}

harness.onAnvil('zgfs-registry-', checks, tap);
