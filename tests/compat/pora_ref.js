// PoRA vectors: a JavaScript reference written from 0G's code (0g-storage-node
// node/miner/src/{pora,recall_range,mine}.rs, common/zgs_seal; 0g-storage-contracts
// contracts/miner/{Mine,MineLib,RecallRange}.sol, test/mine.spec.ts) on npm hash-wasm,
// the keccak and BLAKE2b that 0G's own contract tests use.
//
// usage: node pora_ref.js                          print the vectors (tests/vectors/pora.tsv)
//        node pora_ref.js check FILE               recompute every row of FILE, TAP out
//        node pora_ref.js compat PORATOOL VECTORS  the compat test: this reference, the
//                                                  committed VECTORS and codec/pora.h (through
//                                                  PORATOOL) must agree, in both directions
//
// A row is a kind, its inputs, then its outputs, separated by tabs (KINDS below). Bytes
// are 0x-hex, 256-bit integers 0x-hex of 32 bytes, other integers decimal; "-" is an
// output that does not exist (the contract would revert, the node would not mine).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

const hashWasm = harness.loadModule('hash-wasm');

// kind: [inputs, outputs]
const KINDS = {
  seal: [['miner_id', 'context', 'start_sector', 'data'], ['sealed']],
  miner: [['blockhash', 'sender', 'seed'], ['miner_id']],
  subtask: [['blockhash', 'flow_root', 'flow_length', 'miner_id', 'n_subtasks', 'mine_start',
    'interval', 'start_blockhash'], ['context_digest', 'index', 'start_block', 'subtask_digest']],
  range: [['flow_length', 'start_hint', 'shard_id', 'num_shards'],
    ['start_position', 'mine_length', 'shard_mask', 'digest']],
  check: [['start_position', 'mine_length', 'shard_id', 'shard_mask', 'flow_length', 'max_shards'],
    ['result']],
  try: [['miner_id', 'nonce', 'subtask_digest', 'start_position', 'mine_length', 'shard_id',
    'shard_mask', 'flow_length', 'target', 'seal_offset', 'sealed'],
  ['range_digest', 'pad_seed', 'pad_keccak', 'recall_seed', 'load_position', 'recall_position',
    'quality', 'scale_x64', 'bound', 'win']],
  target: [['target', 'target_submissions', 'submissions', 'ratio', 'min_difficulty'], ['next']],
  initial: [['difficulty'], ['target']],
};

const U64 = (1n << 64n) - 1n;
const U256 = (1n << 256n) - 1n;
const SECTORS_PER_SEAL = 16n, SECTORS_PER_LOAD = 1024n, SECTORS_PER_PRICING = 1n << 25n;
const MAX_MINING_LENGTH = 1n << 35n;
const UNITS_PER_SEAL = 128, BYTES_PER_SEAL = 4096, BHASHES_PER_PAD = 256, SEALS_PER_PAD = 4;

let kec, b2b;
function keccak(...parts) {
  kec.init();
  for (const p of parts) kec.update(p);
  return Buffer.from(kec.digest('binary'));
}
function blake2b(...parts) {
  b2b.init();
  for (const p of parts) b2b.update(p);
  return Buffer.from(b2b.digest('binary'));
}

const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const unhex = (s) => Buffer.from(s.replace(/^0x/, ''), 'hex');
const big = (b) => BigInt(hex(b));
const u256 = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
const h256 = (n) => '0x' + n.toString(16).padStart(64, '0');
const u64be = (n) => u256(n).subarray(24);
const min = (a, b) => (a < b ? a : b);
const popcount = (x) => { let n = 0; for (; x; x &= x - 1n) n++; return n; };
const numShards = (mask) => 1n << BigInt(popcount(~mask & U64)); // RecallRangeLib.numShards

// ---- the reference, one function per output family ----

// zgs_seal::seal; mine.spec.ts seal(): mask input minerId ‖ context ‖ u256(start), then
// each sealed word.
function seal(minerId, context, start, data) {
  const out = Buffer.from(data);
  let maskInput = Buffer.concat([minerId, context, u256(start)]);
  for (let i = 0; i < UNITS_PER_SEAL; i++) {
    const mask = keccak(maskInput);
    for (let j = 0; j < 32; j++) out[32 * i + j] ^= mask[j];
    maskInput = out.subarray(32 * i, 32 * i + 32);
  }
  return out;
}

// PoraMine.requestMinerId: keccak(abi.encodePacked(blockhash, msg.sender, uint64 seed))
const minerId = (blockhash, sender, seed) => keccak(blockhash, sender, u64be(seed));

// Flow's context digest, PoraMine.getSubtaskDigest
function subtask(blockhash, flowRoot, flowLength, miner, n, mineStart, interval, startHash) {
  const ctx = keccak(blockhash, flowRoot, u256(flowLength));
  const index = big(keccak(ctx, miner)) % n;
  return [hex(ctx), index, mineStart + index * interval, hex(keccak(ctx, startHash))];
}

// RecallRange::digest, RecallRangeLib.digest: start, length, id, mask
const rangeDigest = (r) => keccak(u256(r.start), u256(r.length), u256(r.id), u256(r.mask));

// MineRangeConfig::to_valid_range with start_position = hint, and ShardConfig's rules
function rangeMake(flowLength, hint, id, n) {
  if (n === 0n || (n & (n - 1n)) || id >= n) return null;
  const minable = flowLength / SECTORS_PER_LOAD * SECTORS_PER_LOAD;
  const length = min(minable, min(MAX_MINING_LENGTH * n, U64)); // saturating_mul
  if (length === 0n) return null; // "mine range is zero"
  let start = min(hint, minable - length);
  start = start / SECTORS_PER_PRICING * SECTORS_PER_PRICING;
  return { start, length, id, mask: ~(n - 1n) & U64 };
}

// RecallRangeLib.check(range, flowLength rounded down to a load), then numShards ≤ maxShards
function rangeCheck(r, flowLength, maxShards) {
  const maxEnd = flowLength / SECTORS_PER_LOAD * SECTORS_PER_LOAD;
  if (r.start % SECTORS_PER_PRICING !== 0n) return 'fail';
  if (r.start + r.length > maxEnd) return 'fail';
  const maxLength = MAX_MINING_LENGTH * numShards(r.mask);
  if (r.length > maxLength) return 'fail';
  if (r.length < min(maxEnd, maxLength)) return 'fail';
  if ((r.id & r.mask) !== 0n) return 'fail';
  if (numShards(r.mask) > maxShards) return 'fail';
  return 'pass';
}

// Miner::make_scratch_pad
function scratchPad(padSeed) {
  const cells = [];
  let d = Buffer.from(padSeed);
  for (let i = 0; i < BHASHES_PER_PAD; i++) {
    const first = keccak(d);
    d = Buffer.concat([first, keccak(first, d.subarray(32))]);
    cells.push(d);
  }
  return { pad: Buffer.concat(cells), recallSeed: keccak(d) };
}

// RecallRange::load_position and RecallRangeLib.recallChunk (with its bound check)
function loadPosition(r, recallSeed) {
  const chunks = r.length / SECTORS_PER_LOAD;
  if (chunks === 0n) return null;
  const chunk = ((big(recallSeed) % chunks) & r.mask) | r.id;
  if (chunk * SECTORS_PER_LOAD > r.length) return null;
  return r.start + chunk * SECTORS_PER_LOAD;
}

// Miner::pora; MineLib.computePoraHash; the pad quarter as in mine.spec.ts mixData
function quality(sealOffset, padSeed, pad, sealed) {
  const q = Number(sealOffset) % SEALS_PER_PAD;
  const quarter = pad.subarray(q * BYTES_PER_SEAL, (q + 1) * BYTES_PER_SEAL);
  const mixed = Buffer.alloc(BYTES_PER_SEAL);
  for (let i = 0; i < BYTES_PER_SEAL; i++) mixed[i] = sealed[i] ^ quarter[i];
  return blake2b(u256(sealOffset), padSeed, Buffer.alloc(32), mixed).subarray(0, 32);
}

// RecallRangeLib.targetScaleX64
function scaleX64(flowLength, mask) {
  const noShard = min(flowLength, MAX_MINING_LENGTH);
  const actual = min(flowLength / numShards(mask), MAX_MINING_LENGTH);
  if (actual === 0n) return null;
  return (noShard << 64n) / actual;
}

function tryRow(miner, nonce, subtaskDigest, r, flowLength, target, sealOffset, sealed) {
  const rd = rangeDigest(r);
  const padSeed = blake2b(miner, nonce, subtaskDigest, rd);
  const { pad, recallSeed } = scratchPad(padSeed);
  const load = loadPosition(r, recallSeed);
  const q = quality(sealOffset, padSeed, pad, sealed);
  const scale = scaleX64(flowLength, r.mask);
  const bound = scale === null ? null : ((target / scale) << 64n) & U256;
  return [hex(rd), hex(padSeed), hex(keccak(pad)), hex(recallSeed),
    load === null ? '-' : load, load === null ? '-' : load + SECTORS_PER_SEAL * sealOffset,
    hex(q), scale === null ? '-' : h256(scale), bound === null ? '-' : h256(bound),
    bound === null ? '-' : (big(q) <= bound ? 1 : 0)];
}

// PoraMine._adjustDifficultyOnNewEpoch and _adjustDifficultyInner, with Solidity's
// checked arithmetic (a result past 2^256 - 1 reverts) and OpenZeppelin's exact mulDiv
function nextTarget(target, targetSubs, subs, n, minDifficulty) {
  if (n === 0n) return null;
  const scaledTarget = target >> 16n;
  const expected = subs > 0n ? scaledTarget * targetSubs / subs : U256 >> 16n;
  if (expected > U256) return null;
  const sum = scaledTarget * (n - 1n);
  if (sum > U256 || sum + expected > U256) return null;
  let adjusted = (sum + expected) / n;
  if (adjusted > scaledTarget * 2n) adjusted = scaledTarget * 2n;
  if (adjusted < scaledTarget / 2n) adjusted = scaledTarget / 2n;
  if (adjusted > U256 >> 16n) adjusted = U256 >> 16n;
  let next = adjusted << 16n;
  const maxTarget = minDifficulty === 0n ? U256 : U256 / minDifficulty;
  if (next > maxTarget) next = maxTarget;
  return next;
}

// ---- rows ----

function parse(field, name) {
  if (field.startsWith('0x')) return name === 'target' ? big(unhex(field)) : unhex(field);
  return BigInt(field);
}

// The outputs of a row from its inputs (strings), as strings.
function compute(kind, f) {
  const v = f.map((x, i) => parse(x, KINDS[kind][0][i]));
  switch (kind) {
    case 'seal': return [hex(seal(v[0], v[1], v[2], v[3]))];
    case 'miner': return [hex(minerId(v[0], v[1], v[2]))];
    case 'subtask': return subtask(...v);
    case 'range': {
      const r = rangeMake(...v);
      return r ? [r.start, r.length, r.mask, hex(rangeDigest(r))] : ['-', '-', '-', '-'];
    }
    case 'check':
      return [rangeCheck({ start: v[0], length: v[1], id: v[2], mask: v[3] }, v[4], v[5])];
    case 'try':
      return tryRow(v[0], v[1], v[2], { start: v[3], length: v[4], id: v[5], mask: v[6] },
        v[7], v[8], v[9], v[10]);
    case 'target': {
      const t = nextTarget(...v);
      return [t === null ? '-' : h256(t)];
    }
    case 'initial': return [v[0] === 0n ? '-' : h256(U256 / v[0])];
  }
  throw new Error(`unknown kind ${kind}`);
}

// inputs: bigints (decimal), strings (as they are), bytes (0x-hex)
function row(kind, inputs) {
  const f = inputs.map((x) => (typeof x === 'bigint' ? x.toString() : typeof x === 'string' ? x : hex(x)));
  return [kind, ...f, ...compute(kind, f).map(String)].join('\t');
}

// ---- the inputs of the committed vectors ----

function genRows() {
  const rand = harness.rng(0x706f7261); // the same inputs on every run
  const bytes = (n) => harness.randomBytes(rand, n);
  const r64 = () => (BigInt(rand()) << 32n) | BigInt(rand());
  const below = (n) => r64() % n;
  const rows = [];
  const add = (kind, ...inputs) => rows.push(row(kind, inputs));

  // 0G's test/mine.spec.ts makeTestData(): its fixed inputs, its mock flow of 16384
  // sectors (sector i is 256 bytes with byte 0 = i mod 256; leaf 0 of the mock tree is
  // zero), range [0, 16384) unsharded and sharded 3 of 8, difficulty 1. The block hash
  // it takes from its hardhat chain is keccak("blockhash") here.
  const specMiner = keccak(Buffer.from('minerId'));
  const specSealCtx = keccak(Buffer.from('44'));
  const specBlock = keccak(Buffer.from('blockhash'));
  const sector = (i) => { const b = Buffer.alloc(256); b[0] = Number(i % 256n); return b; };
  let level = [Buffer.alloc(32)];
  for (let i = 1n; i < 16384n; i++) level.push(keccak(sector(i)));
  while (level.length > 1) {
    const up = [];
    for (let i = 0; i < level.length; i += 2) up.push(keccak(level[i], level[i + 1]));
    level = up;
  }
  const specFlow = 16384n;
  add('subtask', specBlock, level[0], specFlow, specMiner, 1n, 0n, 100n, specBlock);
  const specSubtask = unhex(rows[rows.length - 1].split('\t')[12]);
  const specTarget = h256(U256 / 1n);
  const spec = (mask, id, nonceSeed) => {
    const nonce = keccak(Buffer.from(nonceSeed));
    const r = { start: 0n, length: specFlow, id, mask };
    const padSeed = blake2b(specMiner, nonce, specSubtask, rangeDigest(r));
    const recall = loadPosition(r, scratchPad(padSeed).recallSeed) + 11n * SECTORS_PER_SEAL;
    const unsealed = Buffer.concat(Array.from({ length: 16 }, (_, i) => sector(recall + BigInt(i))));
    add('seal', specMiner, specSealCtx, recall, unsealed);
    add('try', specMiner, nonce, specSubtask, r.start, r.length, r.id, r.mask, specFlow,
      specTarget, 11n, seal(specMiner, specSealCtx, recall, unsealed));
  };
  spec(U64, 0n, 'nonce');
  for (let i = 0; i < 3; i++) spec(U64 - 7n, 3n, String(i));

  // 0G's "incorrect sharded" and "out of bound" cases: mask bits under the id; a shard id
  // whose chunk lies past a 5-load range
  add('check', 0n, specFlow, 3n, U64 - 1n, specFlow, 32n);
  add('try', specMiner, keccak(Buffer.from('nonce')), specSubtask, 0n, 5120n, 7n, U64 - 7n,
    5120n, specTarget, 0n, bytes(4096));

  // 0G's "basic checks" and "Sharded mine range checks", in its units
  const TB = (1n << 40n) / 256n, GB = (1n << 30n) / 256n, KB = 4n;
  const basic = [
    [3n * TB, 8n * TB, U64, 10n * TB, 'fail'], [2n * TB - GB, 8n * TB, U64, 10n * TB, 'fail'],
    [2n * TB, 8n * TB - 8n * GB, U64, 10n * TB, 'fail'], [2n * TB, 8n * TB, U64, 10n * TB, 'pass'],
    [8n * GB, 8n * TB, U64, 10n * TB, 'pass'], [0n, 8n * TB - 256n * KB, U64, 8n * TB - 1n, 'pass'],
    [8n * GB, 8n * TB - 16n * GB, U64, 8n * TB - 1n, 'fail'],
    [6n * TB, 16n * TB, U64 - 1n, 20n * TB, 'fail'], [4n * TB - GB, 16n * TB, U64 - 1n, 20n * TB, 'fail'],
    [4n * TB, 16n * TB - 8n * GB, U64 - 1n, 20n * TB, 'fail'], [4n * TB, 16n * TB, U64 - 1n, 20n * TB, 'pass'],
    [16n * GB, 16n * TB, U64 - 1n, 20n * TB, 'pass'],
    [0n, 16n * TB - 256n * KB, U64 - 1n, 16n * TB - 1n, 'pass'],
    [8n * GB, 16n * TB - 16n * GB, U64 - 1n, 16n * TB - 1n, 'fail'],
  ];
  for (const [start, length, mask, flow, want] of basic) {
    const id = mask === U64 ? 0n : 1n;
    add('check', start, length, id, mask, flow, 32n);
    const got = rows[rows.length - 1].split('\t')[7];
    if (got !== want) throw new Error(`mine.spec.ts range check ${start}/${length}: ${got}, want ${want}`);
  }

  // sealing: first sectors at the edges and at random, random data
  for (const start of [0n, 16n, U64 - 15n, 1n << 35n, below(1n << 40n) * 16n, below(U64 / 16n) * 16n,
    below(1n << 20n) * 16n, below(1n << 50n) * 16n])
    add('seal', bytes(32), bytes(32), start, bytes(4096));

  for (let i = 0; i < 8; i++)
    add('miner', bytes(32), bytes(20), i < 2 ? [0n, U64][i] : r64());

  for (let i = 0; i < 8; i++) {
    add('subtask', bytes(32), bytes(32), r64() >> BigInt(rand() % 64), bytes(32),
      1n + below(i < 4 ? 8n : 1n << 32n), below(1n << 40n), 1n + below(1000n), bytes(32));
  }

  // ranges: flows below one load, around 8 TiB per shard, shard counts from 1 to 2^20,
  // and invalid shard configurations
  const flows = [0n, 1023n, 1024n, 1025n, 16384n, (1n << 35n) - 1n, 1n << 35n, (1n << 35n) + 1024n,
    10n * TB, 20n * TB, 1n << 40n, U64];
  const shardCounts = [1n, 2n, 4n, 8n, 32n, 64n, 1n << 20n];
  for (const flow of flows) {
    const n = shardCounts[rand() % shardCounts.length];
    add('range', flow, rand() % 2 ? U64 : below(flow + 1n), below(n), n);
  }
  for (let i = 0; i < 8; i++) {
    const n = shardCounts[rand() % shardCounts.length];
    add('range', r64() >> BigInt(rand() % 40), r64() >> BigInt(rand() % 40), below(n), n);
  }
  add('range', 1n << 30n, 0n, 0n, 3n);
  add('range', 1n << 30n, 0n, 4n, 4n);
  add('range', 1n << 30n, 0n, 0n, 0n);

  // the contract's range checks: ranges a node makes, and each one broken one way
  for (let i = 0; i < 12; i++) {
    const n = shardCounts[rand() % 5];
    const flow = (r64() >> BigInt(16 + (rand() % 30))) + 1024n;
    const r = rangeMake(flow, r64() >> BigInt(rand() % 40), below(n), n);
    const variants = [[r.start, r.length, r.id, r.mask, 32n],
      [r.start + (1n << 24n), r.length, r.id, r.mask, 32n],
      [r.start, r.length + 1024n, r.id, r.mask, 32n],
      [r.start, r.length - 1024n, r.id, r.mask, 32n],
      [r.start, r.length, r.id | (1n << 40n), r.mask, 32n],
      [r.start, r.length, r.id, r.mask, n / 2n]];
    const [s, l, id, mask, maxShards] = variants[i % variants.length];
    add('check', s, l, id, mask, flow, maxShards);
  }

  // tries on random ranges, with every seal offset 0..63 covered in turn
  for (let i = 0; i < 16; i++) {
    const n = shardCounts[rand() % 5];
    const flow = (r64() >> BigInt(12 + (rand() % 40))) + 1024n;
    const r = rangeMake(flow, rand() % 2 ? 0n : r64(), below(n), n);
    const target = h256([U256, U256 / 2n, U256 >> 8n, U256 / 180000n][i % 4]);
    add('try', bytes(32), bytes(32), bytes(32), r.start, r.length, r.id, r.mask, flow, target,
      BigInt((i * 17 + 11) % 64), bytes(4096));
  }

  // difficulty: 0G's deployed parameters and random ones, fewer and more submissions than
  // targeted, none, a minimum difficulty, and overflows
  for (const d of [1n, 2n, 3n, 180000n, 1n << 32n, U64, r64(), 0n]) add('initial', d);
  for (let i = 0; i < 24; i++) {
    const target = i % 6 === 0 ? U256 : U256 / (1n + (r64() >> BigInt(rand() % 64)));
    const ts = i % 3 === 0 ? 5n : 1n + below(20n);
    const subs = i % 4 === 0 ? 0n : below(3n * ts);
    const ratio = i % 5 === 0 ? 1n : 20n;
    const minDiff = i % 7 === 0 ? 1n + below(1000000n) : 0n;
    add('target', h256(target), ts, subs, ratio, minDiff);
  }
  add('target', h256(U256), U64, 1n, 20n, 0n);
  add('target', h256(U256), 5n, 5n, U64, 0n);
  add('target', h256(U256 / 180000n), 5n, 5n, 0n, 0n);
  add('target', h256(0n), 5n, 2n, 20n, 0n);
  add('target', h256(U256 / 180000n), 5n, 10n, 20n, 1000000n);
  return rows;
}

function header() {
  const lines = ['# PoRA vectors from tests/compat/pora_ref.js (a reference written from 0G\'s node and',
    '# PoraMine code, on npm hash-wasm). One row: kind, inputs, outputs, tab-separated;',
    '# "-" is an output that does not exist. Kinds:'];
  for (const [k, [ins, outs]] of Object.entries(KINDS))
    lines.push(`# ${k}\t${ins.join(' ')} -> ${outs.join(' ')}`);
  return lines;
}

// Recomputes the outputs of each row of text; returns the rows that differ.
function checkText(text) {
  const bad = [];
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split('\t');
    const kind = f[0];
    if (!KINDS[kind]) {
      bad.push(`unknown kind: ${line.slice(0, 80)}`);
      continue;
    }
    const nin = KINDS[kind][0].length;
    const want = compute(kind, f.slice(1, 1 + nin)).map(String).join('\t');
    const got = f.slice(1 + nin).join('\t');
    n++;
    if (got !== want) bad.push(`${kind} row ${n}: got ${got.slice(0, 200)}, want ${want.slice(0, 200)}`);
  }
  return { n, bad };
}

async function main() {
  kec = await hashWasm.createKeccak(256);
  b2b = await hashWasm.createBLAKE2b(512);
  const [cmd, a, b] = process.argv.slice(2);
  if (!cmd) {
    process.stdout.write([...header(), ...genRows()].join('\n') + '\n');
    return;
  }
  const tap = new harness.Tap();
  if (cmd === 'check') {
    const { n, bad } = checkText(fs.readFileSync(a, 'utf8'));
    tap.ok(n > 0 && bad.length === 0, `${n} rows of ${a} recompute (${bad.length} differ)`);
    bad.slice(0, 10).forEach((x) => console.log('# ' + x));
    tap.done();
  }
  if (cmd !== 'compat' || !a || !b) {
    console.log('1..0 # SKIP usage: node pora_ref.js [check FILE | compat PORATOOL VECTORS]');
    process.exit(77);
  }
  // 1. this reference reproduces the committed file
  const mine = [...header(), ...genRows()].join('\n') + '\n';
  const committed = fs.readFileSync(b, 'utf8');
  tap.ok(mine === committed, `the reference regenerates ${path.basename(b)} byte for byte`);
  // 2. C on the reference's inputs: PORATOOL prints the rows it computes from the inputs
  const inputs = mine.split('\n').filter((l) => l && !l.startsWith('#'));
  const cOut = execFileSync(a, ['rows'], { input: inputs.join('\n') + '\n', maxBuffer: 1 << 28 })
    .toString().split('\n').filter((l) => l);
  let same = 0;
  const kinds = {};
  inputs.forEach((want, i) => {
    const kind = want.split('\t')[0];
    kinds[kind] = kinds[kind] || [0, 0];
    kinds[kind][1]++;
    if (cOut[i] === want) { same++; kinds[kind][0]++; } else if (kinds[kind][1] - kinds[kind][0] <= 2) {
      console.log(`# C differs on ${kind}: ${(cOut[i] || '(none)').slice(0, 300)}`);
    }
  });
  for (const [k, [s, t]] of Object.entries(kinds)) tap.ok(s === t, `C agrees on ${s}/${t} ${k} rows`);
  tap.ok(cOut.length === inputs.length && same === inputs.length, `C agrees on ${same}/${inputs.length} rows`);
  // 3. the reference on C's inputs: PORATOOL makes rows of its own random inputs
  const cRows = execFileSync(a, ['gen', '0x5eed', '400'], { maxBuffer: 1 << 28 }).toString();
  const { n, bad } = checkText(cRows);
  bad.slice(0, 10).forEach((x) => console.log('# ' + x));
  tap.ok(n >= 400 && bad.length === 0, `the reference agrees on ${n - bad.length}/${n} rows made by C`);
  tap.done();
}

// For tests/compat/pora_lib.js, which compares the contract's functions with these.
async function init() {
  kec = await hashWasm.createKeccak(256);
  b2b = await hashWasm.createBLAKE2b(512);
}
module.exports = { init, keccak: (...p) => keccak(...p), blake2b: (...p) => blake2b(...p), seal,
  scratchPad, quality };

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
