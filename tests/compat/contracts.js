// The Flow and Market contracts (chain/contracts) on a real EVM chain (anvil), checked with
// real transactions against a model of the rules written here independently of them.
//
// usage: node contracts.js ARTIFACTS_DIR      (the build dir holding Flow.json, Market.json)
//
// Every validity rule has an accepted and a refused case; fees, placement (gaps and the
// 1024-sector segment rule), flowLength and flowRoot() after every submission, the Submit
// event, batchSubmit, the pools of the 8 GiB pricing segments (with entries of up to 2^42
// sectors: a submission carries only roots and heights, so no data is needed), donations,
// the flow's 2^45-sector bound, and the 0G SDK's ABIs against the deployed contracts.
// Prints TAP lines and the gas of one submit and of a batchSubmit of 16; exits 0 when all
// pass, 1 otherwise, 77 (skipped) when anvil, ethers, the SDK or the artifacts are missing.
'use strict';
const fs = require('fs');
const path = require('path');

const harness = require('./harness.js');
const { anvilPath, startAnvil, rpc } = require('./anvil.js');

function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(77);
}

const artifactsDir = process.argv[2];
if (!artifactsDir) {
  console.error('usage: node contracts.js ARTIFACTS_DIR');
  process.exit(1);
}
let ethers;
try {
  ethers = require(path.join(__dirname, 'node_modules', 'ethers'));
} catch (e) {
  skip('ethers is not installed in tests/compat/node_modules (run ./setup.sh)');
}
const artifacts = {};
for (const name of ['Flow', 'Market']) {
  const file = path.join(artifactsDir, `${name}.json`);
  if (!fs.existsSync(file)) skip(`${file} was not built (this build has no node or solc; run ./setup.sh)`);
  artifacts[name] = JSON.parse(fs.readFileSync(file, 'utf8'));
}
if (!anvilPath()) skip('anvil is not installed in tests/compat/node_modules (run ./setup.sh)');
const sdk = harness.loadSdk();
const sdkFlowAbi = require(path.join(__dirname, 'node_modules', '@0gfoundation', '0g-ts-sdk',
  'lib.commonjs', 'contracts', 'flow', 'factories', 'FixedPriceFlow__factory.js')).FixedPriceFlow__factory.abi;

const { keccak256, concat, hexlify, toBeHex, zeroPadValue, Interface } = ethers;
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x0f10c0de); // the same roots and tags on every run

// ---------------------------------------------------------------------------------------
// The model: the rules of chain/flow.c and chain/market.c restated in BigInt arithmetic.

const PRICE = 2384n * 10n ** 9n; // wei per sector: 0G's 10 tokens per GiB-year, in gwei units
const SEGMENT = 1024n;
const POOL = 1n << 25n;
const MAX_FLOW = 1n << 45n;
const ZERO_LEAF = keccak256(new Uint8Array(256));

const hashPair = (a, b) => keccak256(concat([a, b]));
const zeroRoots = [ZERO_LEAF];
function zeroRoot(h) {
  while (zeroRoots.length <= h) zeroRoots.push(hashPair(zeroRoots.at(-1), zeroRoots.at(-1)));
  return zeroRoots[h];
}
const log2 = (n) => n.toString(2).length - 1; // n ≥ 1, BigInt
const isPow2 = (n) => (n & (n - 1n)) === 0n;

class Model {
  constructor() {
    this.length = 1n; // sector 0 is the placeholder
    this.count = 0n;
    this.nodes = []; // every submission node in flow order: {start, size, root}
    this.balances = new Map(); // pool index → wei
    this.fills = []; // {first, last, time}: pools [first, last] turned full at time
    this.paid = 0n;
  }

  static sectors(sub) {
    return sub.nodes.reduce((s, n) => s + (1n << BigInt(n.height)), 0n);
  }

  // chain_flowtree_place(): null when the entry would pass the flow bound.
  place(sub) {
    const h0 = BigInt(sub.nodes[0].height);
    const n = Model.sectors(sub);
    let start = (((this.length - 1n) >> h0) + 1n) << h0;
    if (start % SEGMENT !== 0n && start / SEGMENT !== (start + n - 1n) / SEGMENT) {
      start += SEGMENT - (start % SEGMENT);
    }
    return start + n > MAX_FLOW ? null : start;
  }

  // Apply an accepted submission paid with `value`; returns what the contract should say.
  append(sub, value, time) {
    const start = this.place(sub);
    const n = Model.sectors(sub);
    let pos = start;
    for (const node of sub.nodes) {
      const size = 1n << BigInt(node.height);
      this.nodes.push({ start: pos, size, root: node.root });
      pos += size;
    }
    const before = this.length;
    this.length = pos;
    this.charge(start, n, value, before, time);
    const index = this.count++;
    const digest = keccak256(concat(sub.nodes.map((x) => x.root)));
    return { index, digest, start, sectors: n };
  }

  charge(start, n, value, before, time) {
    const end = start + n;
    for (let i = start / POOL; i * POOL < end; i++) {
      const lo = i * POOL > start ? i * POOL : start;
      const hi = (i + 1n) * POOL < end ? (i + 1n) * POOL : end;
      this.balances.set(i, (this.balances.get(i) || 0n) + (hi - lo) * PRICE);
    }
    const first = start / POOL;
    this.balances.set(first, this.balances.get(first) + value - n * PRICE);
    this.paid += value;
    if (end / POOL > before / POOL) this.fills.push({ first: before / POOL, last: end / POOL - 1n, time });
  }

  pool(i) {
    const fill = this.fills.find((f) => f.first <= i && i <= f.last);
    return { balance: this.balances.get(i) || 0n, fullSince: fill ? fill.time : 0n, full: !!fill };
  }

  poolCount() {
    return this.count === 0n ? 0n : (this.length + POOL - 1n) / POOL;
  }

  // The flow root computed top-down by the 0G file-tree rule over all sectors (the left
  // subtree of n leaves holds the largest power of two below n), with every sector outside
  // a node a zero sector: a different algorithm from the contract's stack.
  root() {
    return this.rootOf(0n, this.length);
  }

  rootOf(lo, n) {
    const hit = this.firstNodeFrom(lo);
    if (hit === null || hit.start >= lo + n) {
      if (isPow2(n)) return zeroRoot(log2(n));
    } else if (hit.start === lo && hit.size === n) {
      return hit.root;
    } else if (hit.start < lo || hit.start + hit.size > lo + n) {
      throw new Error(`model: node [${hit.start}, +${hit.size}) straddles [${lo}, +${n})`);
    }
    let p = 1n << BigInt(log2(n));
    if (p === n) p >>= 1n;
    return hashPair(this.rootOf(lo, p), this.rootOf(lo + p, n - p));
  }

  // The first node ending after sector lo (nodes are sorted and disjoint).
  firstNodeFrom(lo) {
    let a = 0;
    let b = this.nodes.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (this.nodes[m].start + this.nodes[m].size <= lo) a = m + 1;
      else b = m;
    }
    return a < this.nodes.length ? this.nodes[a] : null;
  }
}

// ---------------------------------------------------------------------------------------
// Submissions.

const randomRoot = () => hexlify(harness.randomBytes(rand, 32));

// A submission with these heights; length defaults to the full capacity (always valid for a
// valid shape), nodes get random roots.
function mkSub(heights, length, tags = '0x') {
  const nodes = heights.map((h) => ({ root: randomRoot(), height: BigInt(h) }));
  const cap = heights.reduce((s, h) => s + (1n << BigInt(h)), 0n);
  return { length: length === undefined ? cap * 256n : BigInt(length), tags, nodes };
}
const wrap = (sub, submitter) => ({ data: sub, submitter });
const fee = (sub) => Model.sectors(sub) * PRICE;
const eq = (a, b) => JSON.stringify(a, (k, v) => (typeof v === 'bigint' ? v.toString() : v)) ===
  JSON.stringify(b, (k, v) => (typeof v === 'bigint' ? v.toString() : v));

async function main() {
  const chain = await startAnvil();
  try {
    await run(chain);
  } finally {
    await chain.stop();
  }
}

async function run(chain) {
  const provider = new ethers.JsonRpcProvider(chain.url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  const wallet = new ethers.Wallet(chain.accounts[0].key, provider);
  const other = new ethers.Wallet(chain.accounts[1].key, provider);
  const model = new Model();
  const gasLog = []; // every accepted submit: {what, nodes, sectors, gap, gas}

  // anvil mines each transaction at once: read the receipt instead of waiting for polls.
  async function receiptOf(tx) {
    for (let i = 0; i < 500; i++) {
      const r = await provider.getTransactionReceipt(tx.hash);
      if (r) return r;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`no receipt for ${tx.hash}`);
  }
  const blockTime = async (r) => BigInt((await provider.getBlock(r.blockNumber)).timestamp);

  // --- deployment -----------------------------------------------------------------------
  const factory = new ethers.ContractFactory(artifacts.Flow.abi, artifacts.Flow.bytecode, wallet);
  const deployTx = await factory.getDeployTransaction(PRICE, ethers.ZeroAddress, 0);
  const deployed = await receiptOf(await wallet.sendTransaction(deployTx));
  ok(deployed.status === 1 && deployed.contractAddress, `Flow deployed in one transaction (gas ${deployed.gasUsed})`);
  const flowAddr = deployed.contractAddress;
  const flow = new ethers.Contract(flowAddr, artifacts.Flow.abi, wallet);
  const marketAddr = await flow.market();
  const market = new ethers.Contract(marketAddr, artifacts.Market.abi, wallet);
  ok((await provider.getCode(marketAddr)) !== '0x', 'Flow created its Market (code at market())');
  ok((await market.flow()) === flowAddr, 'Market.flow() is the Flow');
  ok((await flow.registry()) === ethers.ZeroAddress, 'Flow.registry() is the constructor argument (none here)');
  ok((await market.pricePerSector()) === PRICE, 'Market.pricePerSector() is the constructor argument');
  ok((await flow.flowLength()) === 1n && (await flow.numSubmissions()) === 0n &&
    (await flow.submissionIndex()) === 0n, 'a new flow: length 1 (the placeholder), no submissions');
  ok((await flow.flowRoot()) === ZERO_LEAF && model.root() === ZERO_LEAF,
    'a new flow\'s root is the zero sector\'s hash');
  ok((await market.poolCount()) === 0n && (await market.donations()) === 0n, 'a new market: no pools, no donations');

  const flowIface = flow.interface;
  const marketIface = market.interface;
  const sdkIface = new Interface(sdkFlowAbi);

  // Contract state that a refused submission must leave alone.
  const snapshot = async () => [await flow.flowLength(), await flow.numSubmissions(), await flow.flowRoot(),
    await market.poolCount(), await provider.getBalance(marketAddr)];

  // Compare what the chain says after an accepted transaction with the model.
  async function checkState(what) {
    const [len, count, root] = [await flow.flowLength(), await flow.numSubmissions(), await flow.flowRoot()];
    const want = model.root();
    const good = len === model.length && count === model.count && root === want &&
      (await flow.submissionIndex()) === count && (await market.poolCount()) === model.poolCount();
    if (!good) {
      console.log(`# ${what}: length ${len} (model ${model.length}), count ${count} (model ${model.count}),` +
        ` root ${root} (model ${want}), pools ${await market.poolCount()} (model ${model.poolCount()})`);
    }
    return good;
  }

  // One Submit log as the model says it should be.
  function eventMatches(log, iface, want, sub, sender) {
    const ev = iface.parseLog(log);
    if (!ev || ev.name !== 'Submit') return false;
    // By position: a Result is an array, so .length would be its size, not the field.
    const [evSender, identity, index, startPos, length, s] = ev.args;
    return evSender === sender && identity === want.digest && index === want.index &&
      startPos === want.start && length === want.sectors && s[0] === sub.length && s[1] === hexlify(sub.tags) &&
      s[2].length === sub.nodes.length &&
      s[2].every((n, i) => n[0] === sub.nodes[i].root && n[1] === sub.nodes[i].height) &&
      log.topics[0] === flowIface.getEvent('Submit').topicHash;
  }

  // Submit one entry, expecting it to be accepted; checks the return values (by eth_call
  // first), the event, the state and the root. Returns the receipt.
  async function submitOne(what, sub, opts = {}) {
    const value = opts.value === undefined ? fee(sub) : opts.value;
    const c = opts.contract || flow;
    const arg = wrap(sub, opts.submitter || wallet.address);
    let ret;
    try {
      ret = await c.submit.staticCall(opts.arg || arg, { value });
    } catch (e) {
      ok(false, `${what}: accepted (eth_call reverted: ${e.shortMessage || e.message})`);
      return null;
    }
    const r = await receiptOf(await c.submit(opts.arg || arg, { value }));
    const gap = model.place(sub) - model.length;
    const want = model.append(sub, value, await blockTime(r));
    gasLog.push({ what, nodes: sub.nodes.length, sectors: want.sectors, gap, gas: r.gasUsed });
    const retGood = ret[0] === want.index && ret[1] === want.digest && ret[2] === want.start && ret[3] === want.sectors;
    const logs = r.logs.filter((l) => l.address === flowAddr);
    const evGood = logs.length === 1 && eventMatches(logs[0], opts.iface || flowIface, want, sub, wallet.address);
    const stGood = await checkState(what);
    if (opts.start !== undefined && want.start !== BigInt(opts.start)) {
      console.log(`# ${what}: model places it at ${want.start}, expected ${opts.start}`);
    }
    ok(r.status === 1 && retGood && evGood && stGood &&
      (opts.start === undefined || want.start === BigInt(opts.start)),
    `${what}: accepted at sector ${want.start} (${want.sectors} sectors), event, length and root agree`);
    if (!retGood) console.log(`# returned ${ret}, model ${JSON.stringify(want, (k, v) => String(v))}`);
    return r;
  }

  // A call that must revert with `error` (name, and args when given): by eth_call, where the
  // revert data is returned, then as a mined transaction that must fail and change nothing.
  async function expectRevert(what, send, error, args) {
    const before = await snapshot();
    let decoded = null;
    try {
      await send(true);
    } catch (e) {
      const data = e.data || e.info?.error?.data;
      try {
        decoded = data ? (flowIface.parseError(data) || marketIface.parseError(data)) : null;
      } catch (e2) {
        decoded = null;
      }
    }
    let mined = null;
    try {
      mined = await receiptOf(await send(false));
    } catch (e) {
      mined = null;
    }
    const after = await snapshot();
    const nameGood = decoded && decoded.name === error && (args === undefined || eq([...decoded.args], args));
    if (!nameGood) console.log(`# ${what}: reverted with ${decoded ? `${decoded.name}(${[...decoded.args]})` : 'nothing decodable'}`);
    ok(nameGood && mined && mined.status === 0 && eq(before, after),
      `${what}: reverts ${error}${args ? `(${args.join(', ')})` : ''}, mined as failed, nothing changes`);
  }
  // A fixed gas limit makes ethers skip estimateGas, so the failing transaction is mined.
  const GAS = { gasLimit: 3_000_000 };
  const refuseSubmit = (what, sub, error = 'InvalidSubmission', args, value) => expectRevert(what,
    (dry) => {
      // An invalid entry may claim more sectors than an account holds value for.
      const v = value !== undefined ? value : fee(sub) < 10n ** 21n ? fee(sub) : 10n ** 21n;
      return dry ? flow.submit.staticCall(wrap(sub, wallet.address), { value: v })
        : flow.submit(wrap(sub, wallet.address), { value: v, ...GAS });
    }, error, args);

  // --- ABI identity with 0G -------------------------------------------------------------
  ok(flowIface.getFunction('submit').selector === '0xbc8c11f8' &&
    sdkIface.getFunction('submit').selector === '0xbc8c11f8', 'submit selector 0xbc8c11f8, as the SDK\'s');
  ok(flowIface.getFunction('batchSubmit').selector === '0x49aa3395' &&
    sdkIface.getFunction('batchSubmit').selector === '0x49aa3395', 'batchSubmit selector 0x49aa3395, as the SDK\'s');
  ok(flowIface.getEvent('Submit').topicHash === '0x167ce04d2aa1981994d3a31695da0d785373335b1078cec239a1a3a2c7675555' &&
    sdkIface.getEvent('Submit').topicHash === flowIface.getEvent('Submit').topicHash, 'Submit topic as the SDK\'s');
  ok(['InvalidSubmission', 'NotEnoughFee'].every((n) => flowIface.getError(n).selector === sdkIface.getError(n).selector),
    'InvalidSubmission and NotEnoughFee have the SDK\'s selectors');
  ok(['market', 'numSubmissions', 'submissionIndex', 'submit', 'batchSubmit'].every((n) =>
    flowIface.getFunction(n).format('full') === sdkIface.getFunction(n).format('full')),
  'market, numSubmissions, submissionIndex, submit, batchSubmit have the SDK\'s signatures and outputs');

  // --- placement: the worked example of docs/LEDGER.md ------------------------------------
  await submitOne('3 sectors (2+1) after the placeholder', mkSub([1, 0]), { start: 2 });
  await submitOne('20 sectors (16+4): aligned to 16', mkSub([4, 2]), { start: 16 });
  await submitOne('768 sectors (512+256): 512 would cross 1024', mkSub([9, 8]), { start: 1024 });
  await submitOne('1 sector right after', mkSub([0]), { start: 1792 });
  await submitOne('16 sectors: aligned to 16', mkSub([4]), { start: 1808 });
  await submitOne('1152 sectors (1024+128): at the next segment', mkSub([10, 7]), { start: 2048 });
  await submitOne('8 sectors aligned inside a segment, not crossing', mkSub([3]), { start: 3200 });
  await submitOne('640 sectors (512+128) from 3584 would cross 4096', mkSub([9, 7]), { start: 4096 });
  await submitOne('6 sectors from 4736, inside the segment', mkSub([2, 1]), { start: 4736 });
  await submitOne('2 sectors aligned to 2', mkSub([1]), { start: 4742 });
  await submitOne('1024 sectors: the next multiple of 1024', mkSub([10]), { start: 5120 });
  await submitOne('15 sectors (8+4+2+1) right after, at a segment start', mkSub([3, 2, 1, 0]), { start: 6144 });

  // --- validity: each rule accepted and refused ------------------------------------------
  await refuseSubmit('no nodes', { length: 256n, tags: '0x', nodes: [] });
  await submitOne('4 nodes (the most a spread below 4 allows)', mkSub([3, 2, 1, 0]));
  await refuseSubmit('65 nodes', { length: 256n, tags: '0x',
    nodes: Array.from({ length: 65 }, (x, i) => ({ root: randomRoot(), height: BigInt(64 - i) })) });
  await submitOne('4096 bytes of tags', mkSub([0], 256, hexlify(harness.randomBytes(rand, 4096))));
  await refuseSubmit('4097 bytes of tags', mkSub([0], 256, hexlify(harness.randomBytes(rand, 4097))));
  await refuseSubmit('length 0', mkSub([0], 0));
  await submitOne('length 1', mkSub([0], 1));
  await refuseSubmit('heights equal (2, 2)', mkSub([2, 2]));
  await refuseSubmit('heights increasing (1, 2)', mkSub([1, 2]));
  await submitOne('heights decreasing (2, 1)', mkSub([2, 1]));
  await refuseSubmit('first − last = 4 (4, 0)', mkSub([4, 0]));
  await submitOne('first − last = 3 (4, 1)', mkSub([4, 1]));
  await refuseSubmit('first height 64', mkSub([64], 256));
  await refuseSubmit('first height 2^256 − 1', { length: 256n, tags: '0x', nodes: [{ root: randomRoot(), height: ethers.MaxUint256 }] }, 'InvalidSubmission', undefined, PRICE);
  await refuseSubmit('a later height 2^256 − 1', { length: 256n * 3n, tags: '0x',
    nodes: [{ root: randomRoot(), height: 1n }, { root: randomRoot(), height: ethers.MaxUint256 }] }, 'InvalidSubmission', undefined, 3n * PRICE);
  await submitOne('length = capacity·256 (16 sectors, 4096 B)', mkSub([4], 4096));
  await refuseSubmit('length = capacity·256 + 1', mkSub([4], 4097));
  await refuseSubmit('one node 2^4, 15·256 B: pads to 15 sectors, not 16', mkSub([4], 15 * 256));
  await submitOne('one node 2^4, 15·256 + 1 B', mkSub([4], 15 * 256 + 1));
  await refuseSubmit('one node 2^10, 960·256 B (pads to 960)', mkSub([10], 960 * 256));
  await submitOne('one node 2^10, 960·256 + 1 B', mkSub([10], 960 * 256 + 1));
  await refuseSubmit('nodes (4, 1), 16·256 B: pads to 16', mkSub([4, 1], 16 * 256));
  await submitOne('nodes (4, 1), 16·256 + 1 B: pads to 18', mkSub([4, 1], 16 * 256 + 1));
  await refuseSubmit('nodes (1, 0), 2·256 B: pads to 2', mkSub([1, 0], 512));
  await submitOne('nodes (1, 0), 2·256 + 1 B', mkSub([1, 0], 513));
  await refuseSubmit('one node 2^3, 7·256 B', mkSub([3], 7 * 256));
  await submitOne('one node 2^3, 7·256 + 1 B', mkSub([3], 7 * 256 + 1));
  await refuseSubmit('nodes (12, 11, 9), 6143·256 B (pads to 6144 = 4096+2048)', mkSub([12, 11, 9], 6144 * 256));
  await submitOne('nodes (12, 11, 9), 6144·256 + 1 B', mkSub([12, 11, 9], 6144 * 256 + 1));
  await refuseSubmit('length over 2^50 B (nodes 42, 0; within capacity)', mkSub([42, 0], (1n << 50n) + 1n));

  // --- fees -------------------------------------------------------------------------------
  {
    const sub = mkSub([5, 3]);
    await refuseSubmit('fee 1 wei short', sub, 'NotEnoughFee', [PRICE, 40n, fee(sub) - 1n], fee(sub) - 1n);
    await refuseSubmit('no value', sub, 'NotEnoughFee', [PRICE, 40n, 0n], 0n);
    await submitOne('exact fee (40 sectors × price)', sub);
    const gapped = mkSub([7]);
    await submitOne(`exact fee with a gap before the entry (gap not charged)`, gapped);
    await submitOne('overpaid by 12345 wei (excess to the first sector\'s pool)', mkSub([2]), { value: fee(mkSub([2])) + 12345n });
  }

  // --- the 0G SDK's ABIs against the deployed contracts ----------------------------------
  {
    const sdkFlow = sdk.getFlowContract(flowAddr, wallet);
    ok((await sdkFlow.market()) === marketAddr, 'SDK FixedPriceFlow.market() reads our Market');
    const sdkMarket = sdk.getMarketContract(marketAddr, provider);
    const price = await sdkMarket.pricePerSector();
    ok(price === PRICE, 'SDK FixedPrice.pricePerSector() reads our price');
    // Submissions made by the SDK from data, paid with the SDK's own fee rule.
    for (const size of [1, 256, 257, 4097, 65536 * 4 + 1, 1 << 20, 3 * (1 << 20) + 12345]) {
      const [sub, err] = await new sdk.MemData(harness.randomBytes(rand, size)).createSubmission('0x', wallet.address);
      if (err) {
        ok(false, `SDK submission of ${size} B: ${err}`);
        continue;
      }
      const plain = {
        length: BigInt(sub.data.length), tags: '0x',
        nodes: sub.data.nodes.map((n) => ({ root: n.root, height: BigInt(n.height) })),
      };
      const sdkFee = sdk.calculatePrice(sub, price);
      ok(sdkFee === fee(plain), `SDK fee for ${size} B is Σ 2^height × price`);
      await submitOne(`SDK-made submission of ${size} B (${plain.nodes.length} nodes) sent through the SDK's ABI`,
        plain, { contract: sdkFlow, iface: sdkIface, value: sdkFee, arg: sub });
    }
    ok((await sdkFlow.numSubmissions()) === model.count && (await sdkFlow.submissionIndex()) === model.count,
      'SDK numSubmissions() and submissionIndex() read our count');
    // The SDK decodes our errors too.
    try {
      await sdkFlow.submit.staticCall(wrap(mkSub([0], 256), wallet.address), { value: 1n });
      ok(false, 'SDK sees NotEnoughFee');
    } catch (e) {
      const err = e.data ? sdkIface.parseError(e.data) : null;
      ok(err && err.name === 'NotEnoughFee' && err.args[0] === PRICE && err.args[1] === 1n && err.args[2] === 1n,
        'SDK decodes NotEnoughFee(price, 1, 1)');
    }
  }

  {
    const one = gasLog.find((g) => g.what === '1 sector right after');
    console.log(`# gas: submit of one 1-node entry (1 sector, no gap) = ${one.gas}`);
    const small = gasLog.map((g) => g.gas).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const most = (f) => gasLog.reduce((m, g) => (f(g) > m ? f(g) : m), 0n);
    console.log(`# gas: ${small.length} submits so far (up to ${most((g) => BigInt(g.nodes))} nodes, ` +
      `${most((g) => g.sectors)} sectors, a gap of ${most((g) => g.gap)}, 4096 B of tags): ` +
      `min ${small[0]}, median ${small[small.length >> 1]}, max ${small.at(-1)}`);
  }

  // --- batchSubmit ------------------------------------------------------------------------
  {
    const heights = [[0], [4], [9, 8], [1, 0], [3], [10], [2, 1], [5, 3], [0], [6], [4, 2], [8], [0], [11, 10, 9], [3, 2, 1, 0], [1]];
    const subs = heights.map((h) => mkSub(h, undefined, hexlify(harness.randomBytes(rand, rand() % 64))));
    const total = subs.reduce((s, x) => s + fee(x), 0n);
    const args = subs.map((s) => wrap(s, wallet.address));
    const ret = await flow.batchSubmit.staticCall(args, { value: total });
    const r = await receiptOf(await flow.batchSubmit(args, { value: total }));
    const time = await blockTime(r);
    const wants = subs.map((s) => model.append(s, fee(s), time));
    const logs = r.logs.filter((l) => l.address === flowAddr);
    ok(r.status === 1 && logs.length === 16 && logs.every((l, i) => eventMatches(l, flowIface, wants[i], subs[i], wallet.address)),
      'batchSubmit of 16: 16 Submit events in order, each as the model says');
    ok(wants.every((w, i) => w.index === wants[0].index + BigInt(i)) &&
      wants.every((w, i) => ret[0][i] === w.index && ret[1][i] === w.digest && ret[2][i] === w.start && ret[3][i] === w.sectors),
    'batchSubmit returns consecutive indexes, digests, starts and lengths');
    ok(await checkState('batch'), 'after the batch: length, count and root agree with the model');
    console.log(`# gas: batchSubmit of 16 entries (${wants.reduce((s, w) => s + w.sectors, 0n)} sectors) = ${r.gasUsed}` +
      ` (${r.gasUsed / 16n} per entry)`);

    const more = [mkSub([0]), mkSub([3]), mkSub([5, 4])];
    const moreFee = more.reduce((s, x) => s + fee(x), 0n);
    const moreArgs = more.map((s) => wrap(s, wallet.address));
    await expectRevert('batch paid 1 wei short', (dry) => dry
      ? flow.batchSubmit.staticCall(moreArgs, { value: moreFee - 1n })
      : flow.batchSubmit(moreArgs, { value: moreFee - 1n, ...GAS }), 'NotEnoughFee', [PRICE, 57n, moreFee - 1n]);
    const withBad = [mkSub([0]), mkSub([2, 2]), mkSub([1])].map((s) => wrap(s, wallet.address));
    await expectRevert('batch with one invalid entry', (dry) => dry
      ? flow.batchSubmit.staticCall(withBad, { value: moreFee })
      : flow.batchSubmit(withBad, { value: moreFee, ...GAS }), 'InvalidSubmission');
    await expectRevert('empty batch', (dry) => dry ? flow.batchSubmit.staticCall([], { value: 0n })
      : flow.batchSubmit([], { value: 0n, ...GAS }), 'InvalidSubmission');
    // Overpaid: the excess goes with the first entry.
    const r2 = await receiptOf(await flow.batchSubmit(moreArgs, { value: moreFee + 999n }));
    const t2 = await blockTime(r2);
    model.append(more[0], fee(more[0]) + 999n, t2);
    model.append(more[1], fee(more[1]), t2);
    model.append(more[2], fee(more[2]), t2);
    ok(r2.status === 1 && await checkState('overpaid batch'), 'batch overpaid by 999 wei: accepted');
  }

  // --- pools: entries across pricing segments ---------------------------------------------
  async function checkPools(what, indexes) {
    const bad = [];
    for (const i of indexes) {
      const [balance, fullSince, full] = await market.pools(i);
      const want = model.pool(i);
      if (balance !== want.balance || fullSince !== want.fullSince || full !== want.full) {
        bad.push(`pool ${i}: (${balance}, ${fullSince}, ${full}), model (${want.balance}, ${want.fullSince}, ${want.full})`);
      }
    }
    for (const b of bad.slice(0, 5)) console.log(`# ${b}`);
    const count = await market.poolCount();
    ok(bad.length === 0 && count === model.poolCount(), `${what}: ${indexes.length} pools and poolCount ${count} as the model`);
  }
  const range = (a, b) => Array.from({ length: Number(b - a) }, (x, i) => a + BigInt(i));
  await checkPools('before any large entry', range(0n, 3n));
  await submitOne('2^25 sectors: one whole pricing segment (pool 1)', mkSub([25]), { start: 1n << 25n });
  await checkPools('pool 0 full, pool 1 paid whole', range(0n, 4n));
  await submitOne('small entry in pool 2', mkSub([3, 1]));
  await submitOne('2^24 sectors, in the second half of pool 2', mkSub([24]), { start: (1n << 26n) + (1n << 24n) });
  await submitOne('2^24 sectors at the start of pool 3', mkSub([24]), { start: 3n << 25n });
  {
    const across = mkSub([24, 23]);
    await submitOne('2^24+2^23 sectors across the pool 3/4 boundary, overpaid by 777 wei', across,
      { start: 7n << 24n, value: fee(across) + 777n });
  }
  await checkPools('an entry split across two pools; excess in the first', range(0n, 6n));
  await submitOne('2^26 sectors: pools 6 and 7, after an empty pool 5 (gap)', mkSub([26]), { start: 3n << 26n });
  await submitOne('2^27+2^26 sectors: pools 8 to 13, 9..12 inside one entry', mkSub([27, 26]), { start: 1n << 28n });
  await checkPools('whole pools inside entries, empty gap pools, full times', range(0n, 16n));

  // --- donations and where the value is ---------------------------------------------------
  {
    const r1 = await receiptOf(await market.donate({ value: 1000n }));
    const r2 = await receiptOf(await other.sendTransaction({ to: marketAddr, value: 234n }));
    ok(r1.status === 1 && r2.status === 1 && (await market.donations()) === 1234n,
      'donate() and a plain transfer both add to donations()');
    ok((await provider.getBalance(marketAddr)) === model.paid + 1234n && (await provider.getBalance(flowAddr)) === 0n,
      'the Market holds every fee paid plus donations; the Flow keeps nothing');
    await expectRevert('chargeFee from an account that is not the Flow', (dry) => dry
      ? market.chargeFee.staticCall(0n, 1n, 2n, { value: PRICE })
      : market.chargeFee(0n, 1n, 2n, { value: PRICE, ...GAS }), 'OnlyFlow');
  }

  // --- the largest entry, and the flow's 2^45-sector bound ---------------------------------
  {
    await rpc(chain.url, 'anvil_setBalance', [wallet.address, toBeHex(1n << 120n)]);
    await submitOne('the largest entry: one node 2^42, length 2^50 B (2^17 pools)', mkSub([42], 1n << 50n), { start: 1n << 42n });
    await checkPools('pools around and inside a 2^42-sector entry',
      [...range(0n, 20n), (1n << 17n) - 2n, 1n << 17n, (1n << 17n) + 1n, 3n << 16n, (1n << 18n) - 1n, 1n << 18n, (1n << 18n) + 1n]);
    for (let k = 2n; k <= 7n; k++) await submitOne(`2^42 sectors at ${k}·2^42`, mkSub([42], 1n << 50n), { start: k << 42n });
    ok((await flow.flowLength()) === MAX_FLOW, 'the flow is exactly 2^45 sectors long');
    await refuseSubmit('one more sector past 2^45', mkSub([0]));
    await checkPools('the last pools of a full flow', [(1n << 20n) - 2n, (1n << 20n) - 1n, 1n << 20n]);
  }
}

main().then(() => tap.done(), (e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});
