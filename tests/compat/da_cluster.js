// Data availability on a cluster: four zgfs DA signers on one EVM chain (anvil, a block a
// second, DA epochs of 4 blocks), driven through `zgfs da` as a user would.
//
// usage: node da_cluster.js ZGFS DATOOL ARTIFACTS_DIR
//
//   - four `zgfs node --da` register as signers and publish a VRF proof every epoch;
//     `zgfs da status` (no root) shows each node's signer state;
//   - blobs of 1 B, 1 MiB and 32,505,852 B (0G's maximum): `zgfs da put` prints the data
//     root, then "certified epoch E quorum Q signed 16 of 16" and exits 0; `zgfs da get`
//     through another node gives the bytes back identical; `zgfs da sample` says available
//     with at least 99 % confidence; `zgfs da status` shows the certificate, the epoch's
//     draw and the four signers;
//   - `zgfs da put` also stores the extended square as one log entry ("stored in the log: tx
//     seq N root R"), which `zgfs download R` through another node gives back: (2k)²·s
//     bytes, opening with the blob's length and its first bytes;
//   - bad input over the RPC changes nothing: roots that are not the data root's, a row
//     with one byte changed, a row that is not a codeword, base64 that is not, an index
//     past the square, a certificate that does not decode, one of 8 of 16 slots, one with
//     a non-member's signature in a member's place (chain_da_cert_verify before anything
//     is sent), a blob over the maximum refused before anything is sent;
//   - a certificate the contract accepts but whose quorum is not the epoch's draw (the
//     members in another order) is reported as not trusted by `zgfs da status` and refused
//     by `zgfs da get`;
//   - a signer that signed but lost its rows is named by `zgfs da sample`, which still
//     shows the blob available through the other signers (each share rebuilt from its
//     column and checked against the column root);
//   - sampling rewards: `da put` paid the blob fee into the pool; in the sampling periods
//     after the loss, every signer that holds its rows answers the chain's challenge for
//     that blob and is paid, the one that lost them answers nothing and earns nothing for
//     it, and `zgfs da status` of that node counts the challenges it missed;
//   - a badly encoded blob (datool square: one row changed to another codeword, so every
//     row is a codeword under its root and the columns are not) is dispersed by hand over
//     the RPC and certified: `zgfs da get` finds the square does not rebuild to the data
//     root, fetches every row, proves a bad column (a CODEWORD proof) and has the entry
//     node void the certificate on chain; it writes nothing and exits 1; after that `da
//     get`, `da sample` and `da status` refuse the blob as voided; zgfs_daVoid refuses a
//     proof of another square before sending anything, and says "already" once voided;
//   - bounds: signer 3 (--da-max-blobs 6) refuses a seventh blob (ENOSPC) and changes
//     nothing; the blobs begun and never certified are dropped after 3 epochs, and the
//     voided one too, so it has room again;
//   - SIGKILL one signer, then a second: `zgfs da get` and `zgfs da sample` still succeed
//     (two of four hold exactly half of the rows, which is enough); a third: `zgfs da
//     sample` says unavailable (exit 1) and `zgfs da get` fails cleanly, writing nothing,
//     except for the 1-byte blob, whose two rows are each held by two signers.
// DA_CLUSTER_SIZES=a,b,c picks the blob sizes. Exit status: 0 passed, 1 failed, 77 skipped.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const harness = require('./harness.js');

const [zgfs, tool, artifactsDir] = process.argv.slice(2);
harness.needAnvil();
const { ethers } = harness.loadModule('ethers');
const daArtifact = harness.loadArtifact(artifactsDir, 'DA');
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xda4);
const N = 4, SLOTS = 16, MAX = 32505852, SAMPLE_BLOCKS = 8, MAX_BLOBS = 6;
const sizes = process.env.DA_CLUSTER_SIZES ? process.env.DA_CLUSTER_SIZES.split(',').map(Number)
  : [1, 1 << 20, MAX];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(args, opts = {}) {
  const r = spawnSync(zgfs, args, { timeout: 300000, maxBuffer: 64 << 20, ...opts });
  return { status: r.status, out: String(r.stdout || '').trim(), err: String(r.stderr || '').trim() };
}

// The current epoch's draw once all N signers are in it (a loaded machine can make a
// signer publish its proof an epoch late).
async function fullDrawAt(url) {
  let d = null;
  for (let t = 0; t < 120; t++) {
    d = (await harness.rpc(url, 'zgfs_daDraw', [])).result;
    if (d && d.members && d.members.length === N) return d;
    await sleep(250);
  }
  return d;
}

async function rpcErr(url, method, params) {
  const a = await harness.rpc(url, method, params);
  return a.error ? `${a.error.message}${a.error.data ? `: ${a.error.data}` : ''}` : null;
}

harness.onAnvil('zgfs-da-cluster-', async (chain, dir) => {
  const data = (i) => path.join(dir, `node${i}`);
  const key = (i) => chain.accounts[2 + i].key;
  const dep = execFileSync(zgfs, ['chain', 'deploy', '--rpc', chain.url, '--data', data(0), '--da-epoch-blocks', '4',
    '--da-sample-blocks', String(SAMPLE_BLOCKS), '--da-sample-window', '1000'],
    { env: { ...process.env, ZGFS_KEY: chain.accounts[0].key }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const flow = (dep.match(/^flow (0x[0-9a-f]{40})$/m) || [])[1];
  const daAddr = (dep.match(/^da (0x[0-9a-f]{40})$/m) || [])[1];
  ok(flow && daAddr, `zgfs chain deploy --da-epoch-blocks 4 deploys the DA contract (${daAddr})`);
  for (let i = 1; i < N; i++) harness.attachChain(zgfs, chain.url, flow, data(i));
  const ports = [];
  for (let i = 0; i < N; i++) ports.push(await harness.freePort());
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes = [];
  for (let i = 0; i < N; i++) {
    nodes[i] = await harness.startNode(zgfs, data(i), ports[i], { ...process.env, ZGFS_KEY: key(i) }, null,
      ['--url', urls[i], '--da', ...(i === 3 ? ['--da-max-blobs', String(MAX_BLOBS)] : [])]);
  }
  const fullDraw = () => fullDrawAt(urls[0]);
  const kill = async (i) => {
    nodes[i].removeAllListeners('exit');
    const gone = new Promise((r) => nodes[i].on('exit', r));
    nodes[i].kill('SIGKILL');
    await gone;
  };

  // Each signer registered and publishes; a put waits for an epoch whose draw has all four.
  const st = JSON.parse(run(['da', 'status', '--node', urls[1]]).out || '{}');
  ok(st.signer === true && st.url === urls[1] && st.account === new ethers.Wallet(key(1)).address.toLowerCase(),
    `zgfs da status (no root): node 1 is a signer at its URL with its account (${st.account})`);
  const provider = new ethers.JsonRpcProvider(chain.url);
  const da = new ethers.Contract(daAddr, daArtifact.abi, new ethers.Wallet(chain.accounts[0].key, provider));
  const e0 = Number(await da.epoch());
  for (let t = 0; t < 60 && Number(await da.epoch()) < e0 + 2; t++) await sleep(500);

  const blobs = [];
  for (const size of sizes) {
    const f = path.join(dir, `blob-${size}`);
    const bytes = harness.randomBytes(rand, size);
    fs.writeFileSync(f, bytes);
    const t0 = Date.now();
    const put = run(['da', 'put', f, '--node', urls[0]]);
    const root = (put.out.match(/^blob (0x[0-9a-f]{64})$/m) || [])[1];
    const cert = put.out.match(/^certified epoch (\d+) quorum (0x[0-9a-f]{64}) signed (\d+) of (\d+)$/m);
    ok(put.status === 0 && root && cert && cert[3] === '16' && cert[4] === '16',
      `zgfs da put of ${size} B: ${put.out.replace(/\n/g, ' | ') || put.err} (${Date.now() - t0} ms)`);
    if (!root) continue;
    blobs.push({ size, bytes, root, f });
    let k = 1;
    while (k < 128 && k * k * 1984 < size + 4) k *= 2;
    {
      // The extended square is a log entry too: row-major, so it opens with u32le(L) ‖ blob.
      const lg = put.out.match(/^stored in the log: tx seq (\d+) root (0x[0-9a-f]{64})$/m);
      const s = 32 * Math.ceil((size + 4) / (32 * k * k));
      const sq = path.join(dir, `square-${size}`);
      // Another node has it once it has followed the chain to the entry.
      let dl = { status: -1, err: 'no log line' };
      for (let t = 0; lg && t < 40 && dl.status !== 0; t++) {
        if (t) await sleep(250);
        dl = run(['download', lg[2], sq, '--node', urls[1]]);
      }
      const got = dl.status === 0 ? fs.readFileSync(sq) : Buffer.alloc(0);
      const head = Math.min(size, k * s - 4);
      ok(dl.status === 0 && got.length === 4 * k * k * s && got.readUInt32LE(0) === size &&
        got.subarray(4, 4 + Math.min(head, 4096)).equals(bytes.subarray(0, Math.min(head, 4096))),
      `the extended square of the ${size} B blob is log entry ${lg && lg[1]}: ${got.length} bytes, downloaded through another node, beginning with the blob (${dl.err})`);
      if (dl.status === 0) fs.rmSync(sq);
    }
    const out = path.join(dir, `back-${size}`);
    const get = run(['da', 'get', root, out, '--node', urls[2]]);
    ok(get.status === 0 && fs.readFileSync(out).equals(bytes),
      `zgfs da get through another node gives the ${size} B back identical (${get.err})`);
    const smp = run(['da', 'sample', root, '--node', urls[3], '--json']);
    const s = JSON.parse(smp.out || '{}');
    ok(smp.status === 0 && s.available && s.verified === s.samples && s.samples === Math.min(16, 4 * k * k) && s.confidence >= 0.99,
      `zgfs da sample: ${s.verified}/${s.samples} shares verified, confidence ${(100 * s.confidence).toFixed(3)} %`);
  }
  const blob = blobs.find((b) => b.size === (1 << 20)) || blobs[0];
  {
    const s = run(['da', 'status', blob.root, '--node', urls[1]]);
    ok(s.status === 0 && /the epoch's draw/.test(s.out) && (s.out.match(/^signer /mg) || []).length === N &&
      /^sampling +available/m.test(s.out), `zgfs da status ROOT: ${s.out.split('\n').slice(0, 2).join(' | ')}`);
  }

  // --- bad input changes nothing ----------------------------------------------------------
  {
    const big = path.join(dir, 'too-big');
    fs.writeFileSync(big, Buffer.alloc(MAX + 1));
    const r = run(['da', 'put', big, '--node', urls[0]]);
    ok(r.status === 1 && /larger than a blob may be/.test(r.err), `a blob over the maximum is refused: ${r.err}`);
    fs.rmSync(big);
  }
  const fake = ethers.keccak256(ethers.toUtf8Bytes('no such blob'));
  const rootsOf = (b) => harness.rpc(urls[0], 'zgfs_daGetRoots', [b.root]).then((a) => a.result);
  const held = await rootsOf(blob);
  ok(held && Number(held.size) === blob.size, 'zgfs_daGetRoots gives the blob\'s length and line roots');
  ok(/not the data root|another data root/.test(await rpcErr(urls[0], 'zgfs_daBegin', [fake, blob.size, held.roots]) || ''),
    'zgfs_daBegin with roots that are not the data root\'s is refused');
  ok(/Invalid params/.test(await rpcErr(urls[0], 'zgfs_daBegin', [blob.root, blob.size, 'not base64!']) || ''),
    'zgfs_daBegin with roots that are not base64 is refused');
  {
    // The first row this node holds, changed by one byte: refused, and the row kept intact.
    let idx = -1, row;
    for (let r = 0; r < 256 && idx < 0; r++) {
      const a = await harness.rpc(urls[0], 'zgfs_daGetRow', [blob.root, r]);
      if (a.result) { idx = r; row = Buffer.from(a.result, 'base64'); }
    }
    const bad = Buffer.from(row);
    bad[7] ^= 1;
    const e1 = await rpcErr(urls[0], 'zgfs_daPutRows', [blob.root, [{ index: idx, data: bad.toString('base64') }]]);
    const after = await harness.rpc(urls[0], 'zgfs_daGetRow', [blob.root, idx]);
    ok(/codeword|not under/.test(e1 || '') && Buffer.from(after.result, 'base64').equals(row),
      `a row with one byte changed is refused (${e1}) and the stored row is unchanged`);
    const e2 = await rpcErr(urls[0], 'zgfs_daPutRows', [blob.root, [{ index: 100000, data: row.toString('base64') }]]);
    const e3 = await rpcErr(urls[0], 'zgfs_daPutRows', [blob.root, [{ index: idx, data: row.subarray(1).toString('base64') }]]);
    const e4 = await rpcErr(urls[0], 'zgfs_daPutRows', [fake, [{ index: 0, data: row.toString('base64') }]]);
    ok(/Invalid params/.test(e2 || '') && /Invalid params/.test(e3 || '') && /No such file/.test(e4 || ''),
      `rows off the square, of the wrong length or of an unknown blob are refused: ${e2}; ${e3}; ${e4}`);
  }
  ok(/Invalid params: certificate/.test(await rpcErr(urls[0], 'zgfs_daCertify', [Buffer.from('junk').toString('base64')]) || ''),
    'zgfs_daCertify of bytes that are not a certificate is refused');
  {
    // Certificates for a blob no one certified: 2 of 4 members, and a stranger in a member's
    // place; the node refuses both before sending anything, the chain records nothing.
    const draw = await fullDraw();
    const e = Number(draw.epoch), len = 1000;
    const digest = await da.signDigest(fake, len, e, draw.quorum);
    const byAccount = Object.fromEntries([0, 1, 2, 3].map((i) => [new ethers.Wallet(key(i)).address.toLowerCase(), key(i)]));
    const sign = (k) => {
      const sg = new ethers.SigningKey(k).sign(digest);
      return ethers.concat([sg.r, sg.s, ethers.toBeHex(sg.yParity, 1)]);
    };
    const cert = (ranks, keys) => Buffer.from(ethers.getBytes(ethers.concat([fake, ethers.toBeHex(len, 8),
      ethers.toBeHex(e, 8), draw.quorum, ethers.toBeHex(ranks.length, 1),
      ...ranks.map((r, j) => ethers.concat([ethers.toBeHex(r, 1), sign(keys[j])]))]))).toString('base64');
    const memberKey = (r) => byAccount[draw.members[r].account];
    const few = await rpcErr(urls[0], 'zgfs_daCertify', [cert([0, 1], [memberKey(0), memberKey(1)])]);
    const stranger = await rpcErr(urls[0], 'zgfs_daCertify', [cert([0, 1, 2], [memberKey(0), memberKey(1), chain.accounts[8].key])]);
    const rec = await da.certificate(fake);
    ok(/2\/3/.test(few || '') && /not the member|signature/.test(stranger || '') && rec.block === 0n,
      `certificates of 8 of 16 slots (${few}) and with a non-member's signature (${stranger}) are refused; nothing recorded`);

    // A quorum the contract cannot tell from the draw (members in another order): recorded
    // on chain, but every node refuses to trust it.
    const other = ethers.keccak256(ethers.toUtf8Bytes('misordered'));
    const order = [1, 0, 2, 3].map((r) => ethers.getAddress(draw.members[r].account));
    const slotAccounts = Array.from({ length: SLOTS }, (_, j) => order[j % N]);
    const q2 = await da.quorumDigest(e, slotAccounts);
    const d2 = await da.signDigest(other, len, e, q2);
    const sigs = ethers.concat(order.slice(0, 3).map((a) => {
      const sg = new ethers.SigningKey(byAccount[a.toLowerCase()]).sign(d2);
      return ethers.concat([sg.r, sg.s, ethers.toBeHex(sg.yParity, 1)]);
    }));
    await (await da.certify(other, len, e, slotAccounts, N, [0, 1, 2], sigs, { value: await da.blobFee(len) })).wait();
    const s = run(['da', 'status', other, '--node', urls[1]]);
    const g = run(['da', 'get', other, path.join(dir, 'other'), '--node', urls[1]]);
    ok(s.status === 1 && /NOT the epoch's draw/.test(s.out) && g.status === 1 && /not epoch \d+'s draw/.test(g.err) &&
      !fs.existsSync(path.join(dir, 'other')),
      `a certificate the contract took with the members reordered is not trusted: ${g.err}`);
  }

  // --- a signer that signed but lost its rows is named by sampling ---------------------------
  {
    const lost = path.join(data(3), 'da', blob.root.slice(2));
    const rows = fs.readdirSync(lost).filter((n) => n.startsWith('row.'));
    for (const n of rows) fs.rmSync(path.join(lost, n));
    const smp = run(['da', 'sample', blob.root, '--node', urls[0], '--samples', '64', '--json']);
    const s = JSON.parse(smp.out || '{}');
    ok(smp.status === 0 && s.available && s.missed > 0 && s.rebuilt === s.missed && s.failed.includes(urls[3]),
      `after signer 3 lost its ${rows.length} rows: sampling still shows the blob available (${s.rebuilt} of 64 shares rebuilt from their columns) and names the signer`);

    // The chain's challenges: two whole sampling periods after the loss.
    const lostAt = await da.period();
    const rec = await da.certificate(blob.root);
    ok(rec.fee === await da.blobFee(blob.size) && rec.fee > 0n && (await da.rewardPool()) > 0n,
      `zgfs da put paid the blob fee (${rec.fee} wei) into the reward pool`);
    for (let t = 0; t < 120 && (await da.period()) < lostAt + 3n; t++) await sleep(500);
    const evs = await da.queryFilter(da.filters.SampleAnswered(blob.root), Number(rec.block));
    const after = evs.filter((x) => x.args.period > lostAt);
    const by = (i) => after.filter((x) => x.args.account.toLowerCase() === new ethers.Wallet(key(i)).address.toLowerCase());
    const paid = [0, 1, 2].every((i) => by(i).length >= 1 && by(i).every((x) => x.args.reward > 0n));
    const earned = await Promise.all([0, 1, 2, 3].map((i) => da.earned(new ethers.Wallet(key(i)).address)));
    ok(paid && by(3).length === 0 && earned.slice(0, 3).every((w) => w > 0n),
      `in periods ${lostAt + 1n}..${lostAt + 2n} the three signers holding their rows answered and were paid ` +
      `(${[0, 1, 2].map((i) => by(i).length).join(', ')} answers), the one that lost them answered nothing (earned so far ${earned.join(', ')} wei)`);
    const st3 = JSON.parse(run(['da', 'status', '--node', urls[3]]).out || '{}');
    ok(st3.samplesMissed >= 2 && st3.samplesAnswered >= 0 && /^\d+$/.test(st3.earnedWei || ''),
      `zgfs da status of that node: ${st3.samplesMissed} challenges missed, ${st3.samplesAnswered} answered, ${st3.earnedWei} wei earned`);
  }

  // --- a badly encoded blob is proved so and its certificate voided --------------------------
  {
    const L = 1 << 20, sqDir = path.join(dir, 'badsq');
    fs.mkdirSync(sqDir);
    const o = execFileSync(tool, ['square', String(L), '33', sqDir]).toString();
    const broot = o.match(/^root (0x\S+)$/m)[1], k = Number(o.match(/^k (\d+)$/m)[1]);
    const roots = fs.readFileSync(path.join(sqDir, 'roots')).toString('base64');
    const draw = await fullDraw();
    const m = Math.min(SLOTS, 2 * k), members = draw.members.length;
    const holds = (q, r) => { for (let i = r % m; i < SLOTS; i += m) if (draw.slotRanks[i] === q) return true; return false; };
    const sigs = [];
    for (let q = 0; q < members; q++) {
      const u = draw.members[q].url;
      const rows = [];
      for (let r = 0; r < 2 * k; r++) {
        if (holds(q, r)) rows.push({ index: r, data: fs.readFileSync(path.join(sqDir, `row.${r}`)).toString('base64') });
      }
      const b1 = await rpcErr(u, 'zgfs_daBegin', [broot, L, roots]);
      const b2 = await rpcErr(u, 'zgfs_daPutRows', [broot, rows]);
      const sg = await harness.rpc(u, 'zgfs_daSign', [broot, Number(draw.epoch), draw.quorum]);
      if (b1 || b2 || !sg.result) ok(false, `dispersing the bad square to rank ${q}: ${b1}; ${b2}; ${JSON.stringify(sg.error)}`);
      else sigs.push(ethers.concat([ethers.toBeHex(sg.result.rank, 1), sg.result.signature]));
    }
    const certB = Buffer.from(ethers.getBytes(ethers.concat([broot, ethers.toBeHex(L, 8), ethers.toBeHex(Number(draw.epoch), 8),
      draw.quorum, ethers.toBeHex(sigs.length, 1), ...sigs]))).toString('base64');
    const cr = await harness.rpc(urls[0], 'zgfs_daCertify', [certB]);
    ok(cr.result && cr.result.slotsSigned === SLOTS,
      `a square whose rows are all codewords and whose columns are not is signed by all ${members} signers and certified (${JSON.stringify(cr.error || cr.result)})`);
    const good = await rpcErr(urls[0], 'zgfs_daVoid', [blob.root, Buffer.from(ethers.getBytes(
      execFileSync(tool, ['befp', String(blob.size), 'good', 'col', '0']).toString().match(/^proof (0x\S+)$/m)[1])).toString('base64')]);
    ok(/Invalid params: proof|correctly encoded|not under|line root/.test(good || '') && !(await da.certificate(blob.root)).voided,
      `zgfs_daVoid of a good blob with a proof of another square is refused before anything is sent: ${good}`);
    const out = path.join(dir, 'bad-out');
    const g = run(['da', 'get', broot, out, '--node', urls[0]]);
    const rec = await da.certificate(broot);
    ok(g.status === 1 && /badly encoded/.test(g.err) && /voided/.test(g.err) && !fs.existsSync(out) && rec.voided,
      `zgfs da get proves the blob badly encoded and voids its certificate on chain, writing nothing: ${g.err}`);
    const g2 = run(['da', 'get', broot, out, '--node', urls[1]]);
    const s2 = run(['da', 'status', broot, '--node', urls[1]]);
    const smp = run(['da', 'sample', broot, '--node', urls[2]]);
    ok(g2.status === 1 && /voided/.test(g2.err) && s2.status === 1 && /^VOIDED/m.test(s2.out) && smp.status !== 0 &&
      /voided/.test(smp.err + smp.out), `then da get (${g2.err}), da status and da sample refuse it as voided`);
    const again = await harness.rpc(urls[0], 'zgfs_daVoid', [broot, Buffer.from('junk').toString('base64')]);
    ok(again.result && again.result.already === true, 'zgfs_daVoid of a voided blob says it is voided already');
  }

  // --- a signer's bounds, and what it drops ---------------------------------------------------
  {
    const held = () => JSON.parse(run(['da', 'status', '--node', urls[3]]).out || '{}');
    const begin = (L) => {
      const d = path.join(dir, `pending-${L}`);
      fs.mkdirSync(d);
      const r = execFileSync(tool, ['square', String(L), '0', d]).toString().match(/^root (0x\S+)$/m)[1];
      return rpcErr(urls[3], 'zgfs_daBegin', [r, L, fs.readFileSync(path.join(d, 'roots')).toString('base64')])
        .then((e) => ({ r, e }));
    };
    const before = held().blobsHeld;
    const begun = [];
    let refused = null;
    for (let L = 100; L < 100 + 10 * MAX_BLOBS && !refused; L += 10) {
      const b = await begin(L);
      if (b.e) refused = b; else begun.push(b.r);
    }
    const dirOf = (r) => path.join(data(3), 'da', r.slice(2));
    ok(refused && /No space left/.test(refused.e) && before + begun.length === MAX_BLOBS && !fs.existsSync(dirOf(refused.r)),
      `--da-max-blobs ${MAX_BLOBS}: with ${before} held, ${begun.length} more are begun and the next is refused (${refused && refused.e}), nothing written for it`);
    const e0 = await da.epoch();
    for (let t = 0; t < 120 && (begun.some((r) => fs.existsSync(dirOf(r))) || held().blobsHeld > before); t++) await sleep(500);
    const st = held();
    ok(begun.every((r) => !fs.existsSync(dirOf(r))) && (await da.epoch()) >= e0 + 3n && st.blobsDropped >= begun.length,
      `blobs never certified are dropped after 3 epochs (now ${st.blobsHeld} held, ${st.blobsDropped} dropped, the voided one among them)`);
    ok(!(await begin(100 + 10 * MAX_BLOBS + 5)).e, 'and the signer has room again');
  }

  // --- SIGKILL signers: one, two, three ----------------------------------------------------
  for (const [victim, survive] of [[3, true], [2, true], [1, false]]) {
    await kill(victim);
    const alive = N - [3, 2, 1].indexOf(victim) - 1;
    for (const b of blobs.filter((x) => x.size <= (1 << 20))) {
      const out = path.join(dir, `after-${victim}-${b.size}`);
      const get = run(['da', 'get', b.root, out, '--node', urls[0]]);
      const smp = run(['da', 'sample', b.root, '--node', urls[0]]);
      // A 1-byte blob has 2 rows and 16 slots: each row is held by two signers, and one
      // row rebuilds it, so it outlives even three losses.
      if (survive || b.size === 1) {
        ok(get.status === 0 && fs.readFileSync(out).equals(b.bytes) && smp.status === 0 && /^available/.test(smp.out),
          `${alive} of ${N} signers alive: ${b.size} B still rebuilt identical and sampled available`);
      } else {
        ok(get.status === 1 && !fs.existsSync(out) && /only \d+ of the \d+ rows/.test(get.err) &&
          smp.status === 1 && /^unavailable/.test(smp.out),
          `${alive} of ${N} alive: da get fails cleanly (${get.err.slice(0, 90)}), nothing written; sample says unavailable`);
      }
    }
  }
  for (let i = 0; i < N; i++) if (nodes[i].exitCode === null && nodes[i].signalCode === null) await harness.stopNode(nodes[i]);
}, tap, { blockTime: 1 });
