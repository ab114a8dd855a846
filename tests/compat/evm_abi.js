// ethers (with the 0G SDK's FixedPriceFlow ABI) and zgfs agree on the Flow contract's ABI.
//
// usage: node evm_abi.js ABITOOL
// For 200 random submissions from a fixed seed (1-8 nodes, some with 64; tags of 0-4096
// bytes; lengths up to 2^64-1), ethers encodes the `submit` call and `batchSubmit` calls
// of several at once, and the bytes must equal chain/abi.c's (ABITOOL); ethers encodes
// Submit event logs and chain/abi.c decodes them back to the same fields. Revert data
// encoded by ethers (NotEnoughFee, InvalidSubmission, Error(string), Panic) must read as
// the expected messages. Exits 77 (skipped) when ethers or the SDK is not installed.
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

let ethers, flowAbi;
try {
  ethers = require(path.join(__dirname, 'node_modules', 'ethers')).ethers;
  flowAbi = require(path.join(__dirname, 'node_modules', '@0gfoundation', '0g-ts-sdk',
    'lib.commonjs', 'contracts', 'flow', 'factories', 'FixedPriceFlow__factory.js'))
    .FixedPriceFlow__factory.abi;
} catch (e) {
  console.log('1..0 # SKIP ethers or the 0G SDK is not installed in tests/compat/node_modules (run ./setup.sh)');
  process.exit(77);
}
const abitool = process.argv[2];
if (!abitool) {
  console.log('1..0 # SKIP usage: node evm_abi.js ABITOOL');
  process.exit(77);
}

const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xab1c0de); // the same submissions on every run
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const bytes = (n) => harness.randomBytes(rand, n);
const u64 = () => (BigInt(rand()) << 32n | BigInt(rand())) >> BigInt(rand() % 64);
const iface = new ethers.Interface(flowAbi);

// A submission as ethers takes it, and as abitool does (u64s as decimal strings).
function randomSubmission(i) {
  const many = i % 25 === 7;
  const n = many ? 64 : 1 + (rand() % 8);
  const tagsLen = i % 40 === 3 ? 4096 : i % 3 === 0 ? 0 : rand() % 4097;
  const nodes = [];
  let h = many ? 63 : 10 + (rand() % 50);
  for (let k = 0; k < n; k++) {
    nodes.push({ root: hex(bytes(32)), height: BigInt(h) });
    h -= many ? 1 : 1 + (rand() % 3);
    if (h < 0) h = 0;
  }
  return { length: i === 0 ? (1n << 64n) - 1n : u64(), tags: hex(bytes(tagsLen)), nodes };
}
const toTool = (s) => ({
  length: s.length.toString(),
  tags: s.tags,
  nodes: s.nodes.map((nd) => [nd.root, Number(nd.height)]),
});

// All requests go to one abitool process; answers come back line by line.
function runTool(requests) {
  const out = execFileSync(abitool, [], {
    input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n',
    maxBuffer: 1 << 30,
  });
  return out.toString().trim().split('\n').map((l) => JSON.parse(l));
}

const subs = [], submitters = [];
for (let i = 0; i < 200; i++) {
  subs.push(randomSubmission(i));
  submitters.push(hex(bytes(20)));
}

// ---- calldata ----------------------------------------------------------------------------
const reqs = [], want = [], what = [];
for (let i = 0; i < subs.length; i++) {
  reqs.push({ op: 'submit', submitter: submitters[i], sub: toTool(subs[i]) });
  want.push(iface.encodeFunctionData('submit', [{ data: subs[i], submitter: submitters[i] }]));
  what.push(`submit #${i}`);
}
// batches of 1-6 consecutive submissions, and an empty batch
for (let i = 0; i < subs.length;) {
  const k = Math.min(1 + (rand() % 6), subs.length - i);
  const batch = subs.slice(i, i + k);
  reqs.push({ op: 'batch', submitter: submitters[i], subs: batch.map(toTool) });
  want.push(iface.encodeFunctionData('batchSubmit',
    [batch.map((s) => ({ data: s, submitter: submitters[i] }))]));
  what.push(`batchSubmit of #${i}..#${i + k - 1}`);
  i += k;
}
reqs.push({ op: 'batch', submitter: submitters[0], subs: [] });
want.push(iface.encodeFunctionData('batchSubmit', [[]]));
what.push('batchSubmit of none');

const got = runTool(reqs);
let firstBad = null, nsubmit = 0, nbatch = 0;
for (let i = 0; i < reqs.length; i++) {
  if (reqs[i].op === 'submit') nsubmit++; else nbatch++;
  if (got[i].hex !== want[i] && firstBad === null) firstBad = i;
}
ok(firstBad === null, `${nsubmit} submit and ${nbatch} batchSubmit calldatas are byte-identical to ethers'` +
  (firstBad === null ? '' : ` (first difference: ${what[firstBad]}: ${String(got[firstBad].hex).slice(0, 80)}... vs ${want[firstBad].slice(0, 80)}...)`));
ok(got[0].hex.slice(0, 10) === '0xbc8c11f8' && got[subs.length].hex.slice(0, 10) === '0x49aa3395',
  'selectors 0xbc8c11f8 (submit) and 0x49aa3395 (batchSubmit)');
ok(subs.some((s) => s.nodes.length === 64) && subs.some((s) => s.tags.length === 2 + 2 * 4096),
  'the set includes 64-node submissions and 4096-byte tags');

// ---- Submit events -----------------------------------------------------------------------
const ev = iface.getEvent('Submit');
const evReqs = [], evWant = [];
for (let i = 0; i < subs.length; i++) {
  const fields = {
    sender: submitters[i], identity: hex(bytes(32)), index: u64(), start: u64(), sectors: u64(),
  };
  const log = iface.encodeEventLog(ev, [fields.sender, fields.identity, fields.index,
    fields.start, fields.sectors, subs[i]]);
  evReqs.push({ op: 'event', topics: log.topics, data: log.data });
  evWant.push(fields);
}
const evGot = runTool(evReqs);
let evBad = null;
for (let i = 0; i < subs.length && evBad === null; i++) {
  const g = evGot[i], w = evWant[i], s = subs[i];
  const diff =
    g.error !== undefined ? `refused: ${g.error}` :
    g.sender !== w.sender.toLowerCase() ? 'sender' :
    g.identity !== w.identity ? 'identity' :
    g.index !== w.index.toString() ? 'index' :
    g.start !== w.start.toString() ? 'start' :
    g.sectors !== w.sectors.toString() ? 'sectors' :
    g.sub.length !== s.length.toString() ? 'length' :
    g.sub.tags !== s.tags ? 'tags' :
    JSON.stringify(g.sub.nodes) !== JSON.stringify(toTool(s).nodes) ? 'nodes' : null;
  if (diff) evBad = `event #${i}: ${diff}`;
}
ok(evBad === null, `${subs.length} Submit logs encoded by ethers decode to the same fields` +
  (evBad ? ` (${evBad})` : ''));
ok(evGot.length === subs.length && evReqs[0].topics[0] ===
  '0x167ce04d2aa1981994d3a31695da0d785373335b1078cec239a1a3a2c7675555',
'topic0 is 0x167ce04d...75555');

// A log cut short or with a wrong topic is refused.
const cut = evReqs[1];
const refused = runTool([
  { op: 'event', topics: cut.topics, data: cut.data.slice(0, cut.data.length - 64) },
  { op: 'event', topics: [ethers.id('Other()'), cut.topics[1], cut.topics[2]], data: cut.data },
  { op: 'event', topics: cut.topics.slice(0, 2), data: cut.data },
]);
ok(refused.every((r) => r.error === -22), 'a truncated log, another topic0, a missing topic: -EINVAL');

// ---- revert data -------------------------------------------------------------------------
const coder = ethers.AbiCoder.defaultAbiCoder();
const fmt = (n) => (n < (1n << 64n) ? n.toString() : '0x' + n.toString(16));
const fee = (p, a, paid) =>
  `not enough fee: ${fmt(a)} sectors at ${fmt(p)} wei per sector need ${fmt(p * a)} wei, paid ${fmt(paid)}`;
const printable = (s) => [...Buffer.from(s, 'utf8')].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?')).join('');
const reverts = [
  ['NotEnoughFee(2384, 16, 1000)', iface.encodeErrorResult('NotEnoughFee', [2384n, 16n, 1000n]), fee(2384n, 16n, 1000n)],
  ['NotEnoughFee with a fee past 64 bits', iface.encodeErrorResult('NotEnoughFee', [10n ** 18n, 1n << 40n, 5n]), fee(10n ** 18n, 1n << 40n, 5n)],
  ['NotEnoughFee with 2^256-1', iface.encodeErrorResult('NotEnoughFee', [(1n << 256n) - 1n, 3n, (1n << 200n)]), fee((1n << 256n) - 1n, 3n, 1n << 200n)],
  ['InvalidSubmission()', iface.encodeErrorResult('InvalidSubmission', []), 'invalid submission (a Flow validity rule)'],
  ['Error(string)', '0x08c379a0' + coder.encode(['string'], ['Ownable: caller is not the owner']).slice(2), 'Ownable: caller is not the owner'],
  ['Error(string) with control characters and UTF-8', '0x08c379a0' + coder.encode(['string'], ['bad\ttag é']).slice(2), printable('bad\ttag é')],
  ['Error(string) of 300 characters', '0x08c379a0' + coder.encode(['string'], ['x'.repeat(300)]).slice(2), 'x'.repeat(300)],
  ['Panic(0x11)', '0x4e487b71' + coder.encode(['uint256'], [0x11n]).slice(2), 'panic 0x11 (arithmetic overflow)'],
  ['Panic(0x32)', '0x4e487b71' + coder.encode(['uint256'], [0x32n]).slice(2), 'panic 0x32 (array index out of bounds)'],
  ['an unknown custom error', iface.encodeErrorResult('EnforcedPause', []), 'reverted (selector 0xd93c0665)'],
  ['no data', '0x', 'reverted without a reason'],
];
const rGot = runTool(reverts.map(([, data]) => ({ op: 'revert', data })));
reverts.forEach(([name, , wantMsg], i) => {
  ok(rGot[i].reason === wantMsg, `revert ${name}: "${String(rGot[i].reason).slice(0, 100)}"`);
});

tap.done();
