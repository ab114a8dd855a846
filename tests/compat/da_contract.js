// The DA contract (chain/contracts/DA.sol) on anvil against chain/da.h (datool): what the
// contract checks itself and what every node re-derives.
//
// usage: node da_contract.js ZGFS DATOOL ARTIFACTS_DIR
//
//   - `zgfs chain deploy --da-epoch-blocks 32 --da-slots 16 ...` deploys the DA contract
//     beside the others with those parameters, and Flow.market().da() names it; DA options
//     out of range are refused before anything is sent;
//   - four signers register with stakes and their Ed25519 VRF keys, publish VRF proofs for
//     the next epoch over the seed the contract recorded; the epoch's quorum derived in C
//     from those public proofs has the digest DA.quorumDigest computes, and the digest
//     signers sign is DA.signDigest's;
//   - a certificate of 3 of the 4 members (12 of 16 slots) is recorded, with Certified;
//     2 of 4 (8 of 16, not more than 2/3), a non-member's signature, ranks out of order, a
//     slot layout that breaks "rank j mod members", an unstaked or proof-less member, a
//     high-s signature, proofs for the wrong epoch or of the wrong size, and a second
//     certificate of the same blob are refused and change nothing;
//   - the contract cannot check VRF proofs, so it accepts a certificate whose quorum lists
//     the members in another order; chain_da_cert_verify, as every node runs it, refuses
//     that one (another quorum) and accepts the real one;
//   - sampling rewards: certify() takes the blob fee (blobFee(length), --da-fee wei per
//     KiB) into the reward pool and refuses less; DA.geometry agrees with codec/da.h; no
//     challenge before the period's seed; in the periods after the certificate each of the
//     three signers is challenged for a share of its own rows, a share with one byte
//     changed or from another row is refused, the right share with its proof (datool
//     share, the codec's proof) earns fee / (window · signers) once; the member that did not
//     sign and a stranger owe nothing; after the window nothing is due; withdraw() pays;
//   - bad-encoding proofs (datool befp, the codec's): for blobs whose square has one share
//     changed (of a 1 MiB blob and of a 32,505,852-byte one, a CODEWORD proof) or a column
//     root that is not its column's (a ROOT proof), voidCertificate() accepts the proof and
//     voids the certificate (no longer sampled; a second void is refused); the proof of a
//     good line, a proof with one member byte changed and a proof of another blob are
//     refused and change nothing.
// Exit status: 0 passed, 1 failed, 77 skipped (no anvil, ethers or compiled contracts).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const harness = require('./harness.js');
const { rpc } = require('./anvil.js');

const [zgfs, tool, artifactsDir] = process.argv.slice(2);
harness.needAnvil();
const { ethers } = harness.loadModule('ethers');
const artifacts = harness.loadArtifact(artifactsDir, 'DA');
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const EPOCH_BLOCKS = 32, UNIT = 10n ** 15n, SLOTS = 16;
const SAMPLE_BLOCKS = 64, WINDOW = 4, FEE_PER_KIB = 1000n;

function da(...args) {
  return execFileSync(tool, args.map(String), { encoding: 'utf8' }).trim();
}
function daIn(input, ...args) {
  try {
    return { status: 0, out: execFileSync(tool, args.map(String), { encoding: 'utf8', input }).trim() };
  } catch (e) {
    return { status: e.status, out: String(e.stdout || '').trim() };
  }
}

async function reverts(p) {
  try {
    await (await p).wait();
  } catch (e) {
    return e.reason || e.shortMessage || String(e);
  }
  return null;
}

async function mineUntil(url, provider, c, e) {
  while ((await c.epoch()) < BigInt(e)) await rpc(url, 'evm_mine');
}

const run = harness.runProgram;

async function checks(chain, tmp) {
  const provider = new ethers.JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const acct = chain.accounts;
  const deployer = new ethers.Wallet(acct[0].key, provider);

  // --- zgfs chain deploy --------------------------------------------------------------------------
  const env = { ZGFS_KEY: acct[0].key };
  const bad = run(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', path.join(tmp, 'bad'), '--da-slots', '65'], env);
  ok(bad.status === 2 && /--da-slots 1 to/.test(bad.err) && !fs.existsSync(path.join(tmp, 'bad')),
    `--da-slots 65 is refused before anything is sent (${bad.err.trim()})`);
  const dep = run(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', path.join(tmp, 'a'), '--da-epoch-blocks',
    EPOCH_BLOCKS, '--da-slots', SLOTS, '--da-stake-unit', UNIT, '--da-min-stake', UNIT, '--da-sample-blocks', SAMPLE_BLOCKS,
    '--da-sample-window', WINDOW, '--da-fee', FEE_PER_KIB].map(String), env);
  const word = (name) => (dep.out.match(new RegExp(`^${name} (\\S+)$`, 'm')) || [])[1];
  if (!ok(dep.status === 0 && word('da'), `zgfs chain deploy prints the DA contract ${word('da')} (${dep.err.trim()})`)) return;
  const market = new ethers.Contract(word('market'), ['function da() view returns (address)'], provider);
  const addr = word('da');
  ok((await market.da()).toLowerCase() === addr, 'Flow.market().da() names it');
  const c = new ethers.Contract(addr, artifacts.abi, deployer);
  const chainId = (await provider.getNetwork()).chainId;
  ok((await c.slots()) === BigInt(SLOTS) && (await c.epochBlocks()) === BigInt(EPOCH_BLOCKS) &&
    (await c.stakeUnit()) === UNIT && (await c.minStake()) === UNIT && (await c.samplePeriod()) === BigInt(SAMPLE_BLOCKS) &&
    (await c.sampleWindow()) === BigInt(WINDOW) && (await c.feePerKiB()) === FEE_PER_KIB,
  'with the parameters given: 16 slots, epochs of 32 blocks, a ticket and the least stake of 10^15 wei, sampling periods of 64 blocks, a window of 4, 1000 wei per KiB');

  // --- four signers ----------------------------------------------------------------------------
  const signers = [1, 2, 3, 4].map((i) => {
    const vrfSeed = ethers.keccak256(ethers.toUtf8Bytes(`vrf ${i}`));
    return { i, wallet: new ethers.Wallet(acct[i].key, provider), key: acct[i].key, vrfSeed, vrfKey: da('key', vrfSeed) };
  });
  for (const s of signers) {
    await (await c.connect(s.wallet).register(s.vrfKey, `http://10.0.0.${s.i}:5678`, { value: UNIT * BigInt(s.i) })).wait();
  }
  ok((await c.signerCount()) === 4n, 'four signers registered with stakes of 1 to 4 units');
  const info = run(zgfs, ['chain', 'info', '--data', path.join(tmp, 'a')]);
  ok(info.status === 0 && info.out.includes(`da:              ${addr}`) &&
    info.out.includes(`da params:       epochs of 32 blocks from block `) && info.out.includes('16 slots, a ticket per 1000000000000000 wei') &&
    /^da signers:      4$/m.test(info.out), 'zgfs chain info shows the DA contract, its parameters and its 4 signers', info.out + info.err);
  ok(await reverts(c.connect(new ethers.Wallet(acct[5].key, provider)).register(signers[0].vrfKey, 'http://x', { value: UNIT - 1n })) ===
    'DA: stake below minStake', 'a stake below minStake is refused');

  // Proofs for the next epoch, over the seed the contract recorded for this one (from the
  // start of a fresh epoch, so that the few transactions below stay within it).
  await mineUntil(chain.url, provider, c, Number(await c.epoch()) + 1);
  await (await c.connect(deployer).makeSeed()).wait();
  const cur = Number(await c.epoch()), e = cur + 1;
  const seed = await c.seedOf(cur);
  ok(seed !== ethers.ZeroHash, `epoch ${cur} has a seed ${seed.slice(0, 18)}…`);
  for (const s of signers) {
    s.proof = da('prove', s.vrfSeed, chainId, addr, e, seed);
    await (await c.connect(s.wallet).publishProof(e, s.proof)).wait();
  }
  ok(await reverts(c.connect(signers[0].wallet).publishProof(e + 1, signers[0].proof)) ===
    'DA: proofs are published for the next epoch', 'a proof for a later epoch is refused');
  ok(await reverts(c.connect(signers[0].wallet).publishProof(e, '0x1234')) === 'DA: a VRF proof is 80 bytes',
    'a proof of the wrong size is refused');
  await mineUntil(chain.url, provider, c, e);

  // --- the quorum, derived in C from the public proofs -------------------------------------------
  let list = '';
  for (let i = 0; i < Number(await c.signerCount()); i++) {
    const [account, vrfKey, stake] = await c.signerAt(i);
    list += `${account.toLowerCase()} ${vrfKey} ${stake / UNIT * 100n} ${await c.proofOf(e, account)}\n`;
  }
  // datool takes stakes in tickets of 100 (UNIT here): 1 to 4 tickets.
  const q = daIn(list, 'quorum', chainId, addr, e, seed, 100, SLOTS);
  const qd = (q.out.match(/^digest (0x\S+)$/m) || [])[1];
  const members = Number((q.out.match(/^members (\d+)$/m) || [])[1]);
  const slotAccounts = [...q.out.matchAll(/^slot \d+ (0x\S+)$/mg)].map((m) => ethers.getAddress(m[1]));
  ok(q.status === 0 && members === 4 && slotAccounts.length === SLOTS, `the epoch's quorum: 4 members over 16 slots`);
  ok(qd === await c.quorumDigest(e, slotAccounts), 'DA.quorumDigest equals chain_da_quorum\'s digest');
  const len = 1048576;
  const root = da('share', len).split(' ')[1];
  const digest = da('digest', chainId, addr, e, qd, root, len);
  ok(digest === await c.signDigest(root, len, e, qd), 'DA.signDigest equals chain_da_sign_digest');

  const rankOf = (a) => slotAccounts.indexOf(a);
  const byRank = [...signers].sort((x, y) => rankOf(x.wallet.address) - rankOf(y.wallet.address));
  const sig = (s, d = digest) => da('sign', s.key, d);
  const sigs = (ss, d) => ethers.concat(ss.map((s) => sig(s, d)));
  const certHex = (ranks, ss, quorum) => ethers.concat([root, ethers.toBeHex(len, 8), ethers.toBeHex(e, 8), quorum,
    ethers.toBeHex(ranks.length, 1), ...ranks.map((r, k) => ethers.concat([ethers.toBeHex(r, 1), sig(ss[k])]))]);

  // --- refusals: nothing recorded ------------------------------------------------------------------
  const fee = await c.blobFee(len);
  ok(fee === 1024n * FEE_PER_KIB && (await c.blobFee(0)) === FEE_PER_KIB && (await c.blobFee(1025)) === 2n * FEE_PER_KIB,
    `the blob fee is ${FEE_PER_KIB} wei per KiB, rounded up (1 MiB: ${fee} wei)`);
  const certify = (sa, m, ranks, s, value = fee) => c.connect(deployer).certify(root, len, e, sa, m, ranks, s, { value });
  ok(await reverts(certify(slotAccounts, 4, [0, 1, 2], sigs(byRank.slice(0, 3)), fee - 1n)) ===
    'DA: the blob fee is blobFee(length)', 'a certificate that pays less than the blob fee is refused');
  ok(await reverts(certify(slotAccounts, 4, [0, 1], sigs(byRank.slice(0, 2)))) ===
    'DA: not more than 2/3 of the slots signed', '2 of 4 members (8 of 16 slots) are not enough');
  const stranger = { key: acct[6].key };
  ok(await reverts(certify(slotAccounts, 4, [0, 1, 2], sigs([byRank[0], byRank[1], stranger]))) ===
    'DA: a signature is not its member\'s', 'a non-member\'s signature in a member\'s place');
  ok(await reverts(certify(slotAccounts, 4, [1, 0, 2], sigs([byRank[1], byRank[0], byRank[2]]))) ===
    'DA: ranks must be increasing members', 'ranks out of order');
  const swapped = [...slotAccounts];
  [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
  ok(await reverts(certify(swapped, 4, [0, 1, 2], sigs(byRank.slice(0, 3)))) ===
    'DA: slot j must be held by rank j mod members', 'a slot layout that is not rank j mod members');
  const withStranger = slotAccounts.map((a) => (a === slotAccounts[3] ? new ethers.Wallet(acct[6].key).address : a));
  ok(await reverts(certify(withStranger, 4, [0, 1, 2], sigs(byRank.slice(0, 3)))) ===
    'DA: a slot held by no staked signer', 'a slot held by an account that is no signer');
  {
    const good = sig(byRank[0]);
    const s = BigInt(ethers.dataSlice(good, 32, 64));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const high = ethers.concat([ethers.dataSlice(good, 0, 32), ethers.toBeHex(n - s, 32),
      ethers.toBeHex(1 - Number(ethers.dataSlice(good, 64, 65)), 1)]);
    ok(await reverts(certify(slotAccounts, 4, [0, 1, 2], ethers.concat([high, sig(byRank[1]), sig(byRank[2])]))) ===
      'DA: a malformed signature', 'the high-s twin of a valid signature is refused (EIP-2)');
  }
  ok((await c.certificate(root)).block === 0n, 'and nothing is recorded');

  // --- a certificate of 3 of 4 -------------------------------------------------------------------------
  const rc = await (await certify(slotAccounts, 4, [0, 1, 2], sigs(byRank.slice(0, 3)))).wait();
  const ev = rc.logs.map((l) => { try { return c.interface.parseLog(l); } catch { return null; } }).find((x) => x && x.name === 'Certified');
  const rec = await c.certificate(root);
  // rec[1] is the field `length` (a Result's .length is its number of fields).
  ok(ev && ev.args.slotsSigned === 12n && rec.epoch === BigInt(e) && rec[1] === BigInt(len) && rec.quorum === qd &&
    rec.slotsSigned === 12n, 'certified by 3 of 4 members: 12 of 16 slots, Certified, certificate() reads it back');
  ok(await reverts(certify(slotAccounts, 4, [0, 1, 2], sigs(byRank.slice(0, 3)))) === 'DA: already certified',
    'the same blob twice is refused');
  const real = daIn(list, 'verify', chainId, addr, e, seed, 100, SLOTS, certHex([0, 1, 2], byRank.slice(0, 3), qd));
  ok(real.status === 0 && real.out === 'ok 12', `chain_da_cert_verify accepts it (${real.out})`);

  // --- what only the nodes can catch ----------------------------------------------------------------
  // The contract cannot check VRF proofs: a quorum in another order (a forged draw) passes
  // there, and the nodes refuse it.
  const forged = [slotAccounts[1], slotAccounts[0], slotAccounts[2], slotAccounts[3]];
  const forgedSlots = Array.from({ length: SLOTS }, (_, j) => forged[j % 4]);
  const fq = await c.quorumDigest(e, forgedSlots);
  const root2 = ethers.keccak256(ethers.toUtf8Bytes('another blob'));
  const d2 = await c.signDigest(root2, len, e, fq);
  const ranked2 = [byRank[1], byRank[0], byRank[2]];
  await (await c.connect(deployer).certify(root2, len, e, forgedSlots, 4, [0, 1, 2], sigs(ranked2, d2), { value: fee })).wait();
  ok((await c.certificate(root2)).slotsSigned === 12n, 'the contract records a certificate whose quorum order is forged');
  const forgedCert = ethers.concat([root2, ethers.toBeHex(len, 8), ethers.toBeHex(e, 8), fq, ethers.toBeHex(3, 1),
    ...ranked2.map((s, k) => ethers.concat([ethers.toBeHex(k, 1), sig(s, d2)]))]);
  const node = daIn(list, 'verify', chainId, addr, e, seed, 100, SLOTS, forgedCert);
  ok(node.status === 1 && /another quorum/.test(node.out), `every node refuses it: ${node.out}`);
  ok((await c.rewardPool()) === 2n * fee, `both fees are in the reward pool (${2n * fee} wei)`);

  // --- sampling rewards -------------------------------------------------------------------------------
  for (const [L, k, sz] of [[0, 1, 32], [1024, 1, 1056], [1048576, 32, 1056], [8388608, 128, 544], [32505852, 128, 1984]]) {
    const [gk, gs] = await c.geometry(L);
    ok(gk === BigInt(k) && gs === BigInt(sz), `DA.geometry(${L}) = k ${gk}, s ${gs}, as codec/da.h lays it out`);
  }
  const certPeriod = (rec.block - (await c.firstBlock())) / BigInt(SAMPLE_BLOCKS);
  ok(await reverts(c.challenge(root, byRank[0].wallet.address)) === 'DA: no sampling seed for this period yet (makeSampleSeed)',
    'no challenge before the period has a seed');
  await rpc(chain.url, 'anvil_mine', [ethers.toQuantity(Number((certPeriod + 1n) * BigInt(SAMPLE_BLOCKS) + (await c.firstBlock())) - await provider.getBlockNumber())]);
  await (await c.connect(deployer).makeSampleSeed()).wait();
  const reward = fee / BigInt(WINDOW * 3);
  let answered = 0;
  for (const s of byRank.slice(0, 3)) {
    const [due, , row, col] = await c.challenge(root, s.wallet.address);
    // A signer's challenge is in its own rows: rank j holds the rows ≡ its slots mod 16.
    const owns = due && slotAccounts[Number(row) % SLOTS] === s.wallet.address;
    const out = da('share', len, row, col).split('\n');
    const share = out[1].split(' ')[1], proof = out[2].split(' ').slice(1);
    const bad = ethers.concat([ethers.toBeHex(ethers.getBytes(share)[0] ^ 1, 1), ethers.dataSlice(share, 1)]);
    const other = da('share', len, (Number(row) + 1) % 64, col).split('\n')[1].split(' ')[1];
    const as = c.connect(s.wallet);
    const e1 = await reverts(as.answerSample(root, bad, proof));
    const e2 = await reverts(as.answerSample(root, other, proof));
    const e3 = await reverts(as.answerSample(root, share, proof.slice(1)));
    const rc2 = await (await as.answerSample(root, share, proof)).wait();
    const got = rc2.logs.map((l) => c.interface.parseLog(l)).find((x) => x && x.name === 'SampleAnswered');
    const again = await reverts(as.answerSample(root, share, proof));
    if (owns && e1 === 'DA: the share is not under the row root' && e2 === e1 && e3 === 'DA: a proof of the square\'s depth' &&
      got && got.args.reward === reward && (await c.earned(s.wallet.address)) === reward &&
      again === 'DA: no sample due from this account for this blob') answered++;
    else ok(false, `signer at rank ${rankOf(s.wallet.address)}: due ${due} row ${row} col ${col}: ${e1}; ${e2}; ${e3}; ${again}`);
  }
  ok(answered === 3, `each of the 3 signers is challenged for a share of its own rows; a changed share, another row's share and a short proof are refused; the right one earns ${reward} wei once`);
  const [due3] = await c.challenge(root, byRank[3].wallet.address);
  const [dueS] = await c.challenge(root, new ethers.Wallet(acct[6].key).address);
  ok(!due3 && !dueS, 'the member that did not sign and a stranger owe no answer');
  ok((await c.rewardPool()) === 2n * fee - 3n * reward, 'the pool paid exactly those rewards');
  {
    const before = await provider.getBalance(byRank[0].wallet.address);
    const rc3 = await (await c.connect(byRank[0].wallet).withdraw()).wait();
    const after = await provider.getBalance(byRank[0].wallet.address);
    ok(after - before + rc3.gasUsed * rc3.gasPrice === reward && (await c.earned(byRank[0].wallet.address)) === 0n,
      `withdraw() pays the ${reward} wei earned`);
    ok(await reverts(c.connect(byRank[0].wallet).withdraw()) === 'DA: nothing earned', 'and nothing twice');
  }
  await rpc(chain.url, 'anvil_mine', [ethers.toQuantity(WINDOW * SAMPLE_BLOCKS)]);
  await (await c.connect(deployer).makeSampleSeed()).wait();
  const [late] = await c.challenge(root, byRank[1].wallet.address);
  ok(!late, `after ${WINDOW} periods the blob is no longer sampled`);

  // --- bad-encoding proofs ---------------------------------------------------------------------------
  const certifyAs = async (r, L) => {
    const dg = await c.signDigest(r, L, e, qd);
    await (await c.connect(deployer).certify(r, L, e, slotAccounts, 4, [0, 1, 2], sigs(byRank.slice(0, 3), dg),
      { value: await c.blobFee(L) })).wait();
  };
  const befp = (L, how, axis, index) => {
    const out = da('befp', L, how, axis, index).split('\n');
    return { root: out[0].split(' ')[1], proof: out[1].split(' ')[1] };
  };
  const voids = (r, proof) => c.connect(byRank[3].wallet).voidCertificate(r, proof);
  const good = befp(len, 'good', 'col', 3);
  ok(good.root === root && await reverts(voids(root, good.proof)) === 'DA: the line is correctly encoded' &&
    !(await c.certificate(root)).voided, 'the proof of a good line is refused (the line is correctly encoded); nothing voided');
  const badSq = befp(len, 'share:40:3', 'col', 3);
  await certifyAs(badSq.root, len);
  const flipped = ethers.concat([ethers.dataSlice(badSq.proof, 0, 2000), ethers.toBeHex(ethers.getBytes(badSq.proof)[2000] ^ 1, 1),
    ethers.dataSlice(badSq.proof, 2001)]);
  const e1 = await reverts(voids(badSq.root, flipped));
  const e2 = await reverts(voids(root, badSq.proof));
  const e3 = await reverts(voids(badSq.root, ethers.dataSlice(badSq.proof, 1)));
  ok(/does not prove|off its line/.test(e1 || '') && e2 === 'DA: the line root is not under the data root' &&
    /malformed|another square/.test(e3 || '') && !(await c.certificate(badSq.root)).voided,
  `a proof with a member byte changed (${e1}), a proof of another blob (${e2}) and one cut short (${e3}) are refused`);
  {
    const rc = await (await voids(badSq.root, badSq.proof)).wait();
    const ev = rc.logs.map((l) => c.interface.parseLog(l)).find((x) => x && x.name === 'Voided');
    const [due] = await c.challenge(badSq.root, byRank[0].wallet.address);
    ok(ev && ev.args.axis === 1n && ev.args.index === 3n && ev.args.kind === 0n && (await c.certificate(badSq.root)).voided && !due,
      `a 1 MiB blob with share (40, 3) changed: column 3's CODEWORD proof (${(badSq.proof.length - 2) / 2} bytes) voids its certificate, gas ${rc.gasUsed}; it is no longer sampled`);
    ok(await reverts(voids(badSq.root, badSq.proof)) === 'DA: already voided', 'a second void is refused');
  }
  {
    const wr = befp(len, 'colroot:5', 'col', 5);
    await certifyAs(wr.root, len);
    const rc = await (await voids(wr.root, wr.proof)).wait();
    const ev = rc.logs.map((l) => c.interface.parseLog(l)).find((x) => x && x.name === 'Voided');
    ok(ev && ev.args.kind === 1n && (await c.certificate(wr.root)).voided,
      `a column root that is not its column's: the ROOT proof of its 64 leaves voids the certificate, gas ${rc.gasUsed}`);
  }
  {
    const MAX = 32505852;
    const big = befp(MAX, 'share:200:7', 'col', 7);
    await certifyAs(big.root, MAX);
    const rc = await (await voids(big.root, big.proof)).wait();
    ok((await c.certificate(big.root)).voided,
      `the largest blob (k = 128): a CODEWORD proof of ${(big.proof.length - 2) / 2} bytes voids its certificate, gas ${rc.gasUsed}`);
  }
}

harness.onAnvil('zgfs-da-', checks, tap);
