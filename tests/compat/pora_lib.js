// chain/contracts/PoraLib.sol on a real EVM chain (anvil), against tests/compat/pora_ref.js
// (the JavaScript reference written from 0G's code, which equals codec/pora.h on every
// vector) on random inputs: unsealing, the unit's Merkle proof to the flow root on random
// flows (0G tree rule), BLAKE2b-512 through precompile 0x09 (lengths of 1 to 40 blocks),
// padSeed, the scratchpad quarter and recall seed, and the quality of a unit.
//
// usage: node pora_lib.js [ROUNDS]     (default 12 random inputs per function)
// Prints TAP; exits 0 when all pass, 1 otherwise, 77 (skipped) when anvil, ethers, solc or
// hash-wasm is missing.
'use strict';
const fs = require('fs');
const path = require('path');

const harness = require('./harness.js');
const { anvilPath, startAnvil } = require('./anvil.js');

function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(77);
}

const MODULES = path.join(__dirname, 'node_modules');
let ethers, solc;
try {
  ethers = require(path.join(MODULES, 'ethers'));
  solc = require(path.join(MODULES, 'solc'));
} catch (e) {
  skip('ethers or solc is not installed in tests/compat/node_modules (run ./setup.sh)');
}
if (!anvilPath()) skip('anvil is not installed (run ./setup.sh)');
const ref = require('./pora_ref.js');

const ROUNDS = Number(process.argv[2] || 12);
const rand = harness.rng(0x90a1);
const bytes = (n) => Buffer.from(harness.randomBytes(rand, n));
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const words = (b) => Array.from({ length: b.length / 32 }, (_, i) => hex(b.subarray(32 * i, 32 * i + 32)));
const u256 = (n) => Buffer.from(BigInt(n).toString(16).padStart(64, '0'), 'hex');
const join = (ws) => Buffer.concat(ws.map((w) => Buffer.from(w.slice(2), 'hex')));

function compile() {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'chain', 'contracts', 'PoraLib.sol'), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'PoraLib.sol': { content: src } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['PoraLib.sol'].PoraCheck;
  return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
}

// The flow tree by levels, odd node carried (the 0G rule), over leaf hashes.
function levels(leaves) {
  const lv = [leaves];
  while (lv[lv.length - 1].length > 1) {
    const prev = lv[lv.length - 1], next = [];
    for (let i = 0; i < prev.length; i += 2)
      next.push(i + 1 < prev.length ? ref.keccak(prev[i], prev[i + 1]) : prev[i]);
    lv.push(next);
  }
  return lv;
}

function proofOf(lv, index) {
  const proof = [];
  for (let k = 4; lv[k].length > 1; k++, index >>= 1) {
    if (index & 1) proof.push(lv[k][index - 1]);
    else if (index + 1 < lv[k].length) proof.push(lv[k][index + 1]);
  }
  return proof;
}

async function main() {
  await ref.init();
  const tap = new harness.Tap();
  const chain = await startAnvil();
  try {
    const provider = new ethers.JsonRpcProvider(chain.url);
    const wallet = new ethers.Wallet(chain.accounts[0].key, provider);
    const { abi, bytecode } = compile();
    const lib = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy()).waitForDeployment();

    let good = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const miner = bytes(32), ctx = bytes(32), start = BigInt(rand() % 100000) * 16n, data = bytes(4096);
      const sealed = ref.seal(miner, ctx, start, data);
      const got = join(await lib.unseal(hex(miner), hex(ctx), start, words(sealed)));
      good += got.equals(data);
    }
    tap.ok(good === ROUNDS, `unseal equals the reference's data on ${good}/${ROUNDS} random units`);

    good = 0;
    let bad = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const length = 16 + (rand() % 3000);
      const sectors = bytes(length * 256);
      const leaves = Array.from({ length }, (_, i) => ref.keccak(sectors.subarray(256 * i, 256 * i + 256)));
      const lv = levels(leaves);
      const index = rand() % Math.floor(length / 16);
      const miner = bytes(32), ctx = bytes(32);
      const unit = sectors.subarray(index * 4096, index * 4096 + 4096);
      const sealed = ref.seal(miner, ctx, BigInt(index * 16), unit);
      const proof = proofOf(lv, index).map(hex);
      const root = await lib.proves(hex(miner), hex(ctx), index * 16, words(sealed), length, proof);
      good += root === hex(lv[lv.length - 1][0]);
      sealed[rand() % 4096] ^= 1;
      const forged = await lib.proves(hex(miner), hex(ctx), index * 16, words(sealed), length, proof);
      bad += forged !== hex(lv[lv.length - 1][0]);
    }
    tap.ok(good === ROUNDS && bad === ROUNDS,
      `Merkle recovery gives the flow root on ${good}/${ROUNDS} random flows; a flipped sealed bit never does (${bad}/${ROUNDS})`);

    good = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const n = 1 + (rand() % 40), data = bytes(128 * n);
      const [a, b] = await lib.blake2b(hex(data));
      good += join([a, b]).equals(ref.blake2b(data));
    }
    tap.ok(good === ROUNDS, `BLAKE2b-512 through precompile 0x09 equals hash-wasm on ${good}/${ROUNDS} random inputs`);

    good = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const m = bytes(32), nonce = bytes(32), st = bytes(32), rd = bytes(32);
      const seed = ref.blake2b(m, nonce, st, rd);
      const [a, b] = await lib.padSeed(hex(m), hex(nonce), hex(st), hex(rd));
      const q = rand() % 4;
      const [cells, recall] = await lib.scratchPad(a, b, q);
      const want = ref.scratchPad(seed);
      good += join([a, b]).equals(seed) && recall === hex(want.recallSeed) &&
        join(cells).equals(want.pad.subarray(q * 4096, q * 4096 + 4096));
    }
    tap.ok(good === ROUNDS, `padSeed, the scratchpad quarter and the recall seed agree on ${good}/${ROUNDS}`);

    good = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const seed = bytes(64), sealed = bytes(4096), off = rand() % 64;
      const want = ref.quality(BigInt(off), seed, ref.scratchPad(seed).pad, sealed);
      const got = await lib.quality(off, hex(seed.subarray(0, 32)), hex(seed.subarray(32)), words(sealed));
      good += got === hex(want);
    }
    tap.ok(good === ROUNDS, `quality agrees on ${good}/${ROUNDS} random units`);
  } finally {
    chain.stop();
  }
  tap.done();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
