// zgfs signs EIP-1559 transactions exactly as ethers 6 does.
//
// usage: node evm_sign.js EVMSIGN
// Makes about 200 transactions from a fixed seed (random keys; chain ids up to 2^53;
// nonces up to 2^53-1, the most ethers takes; fees and gas up to 2^64-1; calls and
// contract creations; values up to 2^256-1; 0 to 3000 bytes of data), plus the edge
// cases (all zero, all largest, data lengths at the RLP header boundaries). EVMSIGN
// (chain/evm_tx.c) signs them all. For each, ethers parses the raw transaction and every
// field, the sender (recovered from the signature) and the hash must match; ethers signing
// the same fields with the same key must give byte-identical bytes, since both use RFC 6979
// nonces and low s. Also: an invalid key and a raw transaction over the writer's bound are
// refused.
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

let ethers;
try {
  ethers = require(path.join(__dirname, 'node_modules', 'ethers'));
} catch (e) {
  console.log('1..0 # SKIP ethers is not installed in tests/compat/node_modules (run ./setup.sh)');
  process.exit(77);
}
const evmsign = process.argv[2];
if (!evmsign) {
  console.log('1..0 # SKIP usage: node evm_sign.js EVMSIGN');
  process.exit(77);
}

const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x65766d73); // the same transactions on every run
const bytes = (n) => harness.randomBytes(rand, n);
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const U64_MAX = (1n << 64n) - 1n;

// An integer below 2^bits whose bit length is itself random, so that small values (and
// zero) are as common as large ones.
function randomBig(bits) {
  const width = rand() % (bits + 1);
  if (width === 0) return 0n;
  const v = BigInt(hex(bytes(Math.ceil(width / 8))));
  return v & ((1n << BigInt(width)) - 1n);
}

function randomKey() {
  for (;;) {
    const k = BigInt(hex(bytes(32)));
    if (k > 0n && k < ORDER) return '0x' + k.toString(16).padStart(64, '0');
  }
}

function randomDataLength() {
  switch (rand() % 4) {
    case 0: return rand() % 60; // around the 55/56-byte header boundary
    case 1: return [0, 1, 55, 56][rand() % 4];
    default: return rand() % 3001;
  }
}

function randomTx() {
  const create = rand() % 4 === 0;
  let tip = randomBig(64), cap = randomBig(64);
  if (tip > cap) [tip, cap] = [cap, tip]; // nodes (and ethers) refuse a tip above the cap
  return {
    key: randomKey(),
    chainId: rand() % 8 === 0 ? (1n << 53n) : randomBig(53) || 1n,
    nonce: Number(randomBig(53)),
    maxPriorityFeePerGas: tip,
    maxFeePerGas: cap,
    gasLimit: randomBig(64),
    to: create ? null : ethers.getAddress(hex(bytes(20))),
    value: randomBig(256),
    data: hex(bytes(randomDataLength())),
  };
}

const txs = [];
const base = {
  key: randomKey(), chainId: 1n, nonce: 0, maxPriorityFeePerGas: 0n, maxFeePerGas: 0n,
  gasLimit: 0n, to: null, value: 0n, data: '0x',
};
txs.push({ ...base }); // everything zero or empty, a creation
txs.push({ ...base, to: ethers.getAddress(hex(Buffer.alloc(20))) }); // a call to address 0
txs.push({
  ...base, chainId: 1n << 53n, nonce: Number.MAX_SAFE_INTEGER, maxPriorityFeePerGas: U64_MAX,
  maxFeePerGas: U64_MAX, gasLimit: U64_MAX, to: ethers.getAddress('0x' + 'ff'.repeat(20)),
  value: (1n << 256n) - 1n, data: hex(Buffer.alloc(3000, 0xff)),
});
for (const d of ['0x00', '0x7f', '0x80', '0xff', hex(bytes(55)), hex(bytes(56))])
  txs.push({ ...base, data: d });
txs.push({ ...base, key: '0x' + '00'.repeat(31) + '01', value: 127n });
txs.push({ ...base, key: '0x' + (ORDER - 1n).toString(16), value: 128n });
while (txs.length < 200) txs.push(randomTx());

const line = (t, key = t.key) => [
  key, t.chainId, t.nonce, t.maxPriorityFeePerGas, t.maxFeePerGas, t.gasLimit,
  t.to === null ? 'create' : t.to, '0x' + t.value.toString(16).padStart(64, '0'), t.data,
].join(' ');

const out = execFileSync(evmsign, [], {
  input: txs.map((t) => line(t)).join('\n') + '\n',
  maxBuffer: 64 << 20,
}).toString().trim().split('\n');
ok(out.length === txs.length, `evmsign answered all ${txs.length} transactions`);

// The same fields, as ethers takes them.
const fields = (t) => ({
  type: 2, chainId: t.chainId, nonce: t.nonce, maxPriorityFeePerGas: t.maxPriorityFeePerGas,
  maxFeePerGas: t.maxFeePerGas, gasLimit: t.gasLimit, to: t.to, value: t.value, data: t.data,
  accessList: [],
});

function check(t, i) {
  const [raw, hash] = (out[i] || '').split(' ');
  const bad = [];
  const what = `tx ${i}: ${t.to === null ? 'create' : 'call'}, ${(t.data.length - 2) / 2} data bytes`;
  let parsed;
  try {
    parsed = ethers.Transaction.from(raw);
  } catch (e) {
    ok(false, `${what}: ethers cannot parse "${out[i]}": ${e.message}`);
    return;
  }
  const wallet = new ethers.Wallet(t.key);
  if (parsed.type !== 2) bad.push('type');
  if (parsed.chainId !== t.chainId) bad.push('chainId');
  if (parsed.nonce !== t.nonce) bad.push('nonce');
  if (parsed.maxPriorityFeePerGas !== t.maxPriorityFeePerGas) bad.push('maxPriorityFeePerGas');
  if (parsed.maxFeePerGas !== t.maxFeePerGas) bad.push('maxFeePerGas');
  if (parsed.gasLimit !== t.gasLimit) bad.push('gasLimit');
  if (parsed.to !== t.to) bad.push(`to ${parsed.to}`);
  if (parsed.value !== t.value) bad.push('value');
  if (parsed.data !== t.data) bad.push('data');
  if (parsed.accessList.length !== 0) bad.push('accessList');
  if (parsed.from !== wallet.address) bad.push(`from ${parsed.from}, not ${wallet.address}`);
  if (parsed.hash !== hash) bad.push(`hash ${hash}, ethers ${parsed.hash}`);
  if (parsed.serialized !== raw) bad.push('not canonical: ethers re-serializes differently');

  const theirs = ethers.Transaction.from(fields(t));
  theirs.signature = wallet.signingKey.sign(theirs.unsignedHash);
  if (theirs.serialized !== raw) bad.push(`ethers signs ${theirs.serialized}, zgfs ${raw}`);
  ok(bad.length === 0, `${what}${bad.length ? ': ' + bad.join('; ') : ''}`);
}

txs.forEach((t, i) => {
  try {
    check(t, i);
  } catch (e) {
    ok(false, `tx ${i}: ${e.message}`);
  }
});

// Refusals, reported per line without stopping.
const t0 = { ...base, data: hex(bytes(200)) };
const refused = execFileSync(evmsign, ['150'], {
  input: [line(t0, '0x' + ORDER.toString(16)), line(t0), line({ ...base }),
    line({ ...base, maxPriorityFeePerGas: 2n, maxFeePerGas: 1n })].join('\n') + '\n',
}).toString().trim().split('\n');
ok(/^error key/.test(refused[0]), `a secret equal to the group order is refused (${refused[0]})`);
ok(/^error sign: Argument list too long/.test(refused[1]),
  `a transaction over the writer's 150 bytes is refused (${refused[1]})`);
ok(/^0x02/.test(refused[2] || ''), 'a small one under the same bound is signed');
ok(/^error sign: Invalid argument/.test(refused[3] || ''),
  `a priority fee above the fee cap is refused (${refused[3]})`);

tap.done();
