// Data availability on one machine: `zgfs node --da` on the embedded ledger (no EVM chain),
// driven through `zgfs da` as a user would.
//
// usage: node da_local.js ZGFS DATOOL
//
//   - the node gives its new ledger DA rules (epochs and sampling periods of 2 s), registers
//     as the one signer and publishes a VRF proof every epoch; `zgfs da status` says so;
//   - blobs of 1 B and 1 MiB: `zgfs da put` prints the data root, "certified epoch E quorum
//     Q signed 16 of 16" and the log entry of the extended square, which `zgfs download`
//     gives back; `zgfs da get` gives the bytes back identical; `zgfs da sample` says
//     available with at least 99 % confidence; `zgfs da status ROOT` shows the certificate,
//     the epoch's draw and the signer;
//   - sampling rewards: in the periods after, the signer answers the ledger's challenges and
//     earns part of the blob fees (`zgfs da status`: samplesAnswered, earnedWei);
//   - bad input changes nothing: a certificate that does not decode, one with a changed
//     signature; the node keeps serving;
//   - a badly encoded blob (datool square) dispersed by hand and certified: `zgfs da get`
//     proves it so and the ledger voids the certificate; get, sample and status refuse it;
//   - SIGKILL and restart: the certificates are still there and `da get` still works; after
//     a clean stop `zgfs chain verify` replays every block, DA transactions included, and
//     `zgfs chain info` shows the DA rules and the reward pool.
// Exit status: 0 passed, 1 failed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const harness = require('./harness.js');

const [zgfs, tool] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0xda1);
const SLOTS = 16;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(args) {
  const r = spawnSync(zgfs, args, { timeout: 300000, maxBuffer: 64 << 20 });
  return { status: r.status, out: String(r.stdout || '').trim(), err: String(r.stderr || '').trim() };
}

async function rpcErr(url, method, params) {
  const a = await harness.rpc(url, method, params);
  return a.error ? `${a.error.message}${a.error.data ? `: ${a.error.data}` : ''}` : null;
}

// The current epoch's draw once the signer is in it.
async function drawAt(url) {
  let d = null;
  for (let t = 0; t < 80; t++) {
    d = (await harness.rpc(url, 'zgfs_daDraw', [])).result;
    if (d && d.members && d.members.length === 1) return d;
    await sleep(250);
  }
  return d;
}

const hex = (h) => Buffer.from(h.replace(/^0x/, ''), 'hex');
const be64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };

harness.runMain(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-da-local-'));
  const data = path.join(dir, 'node');
  const port = await harness.freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--url', url, '--da', '--da-epoch', '2', '--da-sample-period', '2'];
  let node = await harness.startNode(zgfs, data, port, process.env, null, args);
  try {
    const st = JSON.parse(run(['da', 'status', '--node', url]).out || '{}');
    ok(st.signer === true && st.url === url && /^0x[0-9a-f]{40}$/.test(st.account || ''),
      `zgfs node --da on the embedded ledger: a signer at its URL, account ${st.account}`);
    const draw = await drawAt(url);
    ok(draw && draw.members.length === 1 && draw.members[0].account === st.account,
      `within a few epochs the draw is that signer (epoch ${draw && draw.epoch})`);

    const blobs = [];
    for (const size of [1, 1 << 20]) {
      const f = path.join(dir, `blob-${size}`);
      const bytes = harness.randomBytes(rand, size);
      fs.writeFileSync(f, bytes);
      const put = run(['da', 'put', f, '--node', url]);
      const root = (put.out.match(/^blob (0x[0-9a-f]{64})$/m) || [])[1];
      const cert = put.out.match(/^certified epoch (\d+) quorum (0x[0-9a-f]{64}) signed (\d+) of (\d+)$/m);
      const lg = put.out.match(/^stored in the log: tx seq (\d+) root (0x[0-9a-f]{64})$/m);
      ok(put.status === 0 && root && cert && cert[3] === String(SLOTS) && cert[4] === String(SLOTS) && lg,
        `zgfs da put of ${size} B: ${put.out.replace(/\n/g, ' | ') || put.err}`);
      if (!root) continue;
      blobs.push({ size, bytes, root });
      if (lg) {
        let k = 1;
        while (k < 128 && k * k * 1984 < size + 4) k *= 2;
        const s = 32 * Math.ceil((size + 4) / (32 * k * k));
        const sq = path.join(dir, `square-${size}`);
        const dl = run(['download', lg[2], sq, '--node', url]);
        const got = dl.status === 0 ? fs.readFileSync(sq) : Buffer.alloc(0);
        ok(got.length === 4 * k * k * s && got.readUInt32LE(0) === size && got[4] === bytes[0],
          `the extended square is log entry ${lg[1]}, ${got.length} bytes, opening with the blob (${dl.err})`);
      }
      const out = path.join(dir, `back-${size}`);
      const get = run(['da', 'get', root, out, '--node', url]);
      ok(get.status === 0 && fs.readFileSync(out).equals(bytes), `zgfs da get gives the ${size} B back identical (${get.err})`);
      const smp = JSON.parse(run(['da', 'sample', root, '--node', url, '--json']).out || '{}');
      ok(smp.available && smp.verified === smp.samples && smp.confidence >= 0.99,
        `zgfs da sample: available, ${smp.verified} of ${smp.samples}, confidence ${smp.confidence}`);
      const ds = run(['da', 'status', root, '--node', url]);
      ok(ds.status === 0 && /the epoch's draw/.test(ds.out) && ds.out.includes(st.account) &&
        new RegExp(`${size} bytes`).test(ds.out), `zgfs da status ROOT: ${ds.out.split('\n')[0]}`);
    }

    // Sampling: the signer answers each period for each blob and earns from the fees.
    let s2 = {};
    for (let t = 0; t < 60; t++) {
      s2 = JSON.parse(run(['da', 'status', '--node', url]).out || '{}');
      if (s2.samplesAnswered >= 4 && BigInt(s2.earnedWei || 0) > 0n) break;
      await sleep(250);
    }
    ok(s2.samplesAnswered >= 4 && BigInt(s2.earnedWei || 0) > 0n && s2.samplesMissed === 0,
      `the signer answers the ledger's challenges: ${s2.samplesAnswered} answered, ${s2.samplesMissed} missed, ${s2.earnedWei} earned`);

    // Bad input over the RPC.
    const e1 = await rpcErr(url, 'zgfs_daCertify', [Buffer.from('not a certificate').toString('base64')]);
    const e2 = await rpcErr(url, 'zgfs_daCertify', ['%%%']);
    ok(e1 && e2, `certificates that do not decode are refused: ${e1}; ${e2}`);

    // A badly encoded blob, dispersed by hand, certified, then proved bad by da get.
    {
      const L = 1 << 20, sqDir = path.join(dir, 'badsq');
      fs.mkdirSync(sqDir);
      const o = execFileSync(tool, ['square', String(L), '33', sqDir]).toString();
      const broot = o.match(/^root (0x\S+)$/m)[1], k = Number(o.match(/^k (\d+)$/m)[1]);
      const roots = fs.readFileSync(path.join(sqDir, 'roots')).toString('base64');
      const d = await drawAt(url);
      const rows = [];
      for (let r = 0; r < 2 * k; r++) rows.push({ index: r, data: fs.readFileSync(path.join(sqDir, `row.${r}`)).toString('base64') });
      const b1 = await rpcErr(url, 'zgfs_daBegin', [broot, L, roots]);
      const b2 = await rpcErr(url, 'zgfs_daPutRows', [broot, rows]);
      const sg = await harness.rpc(url, 'zgfs_daSign', [broot, Number(d.epoch), d.quorum]);
      ok(!b1 && !b2 && sg.result, `the bad square is dispersed and signed: ${b1}; ${b2}; ${JSON.stringify(sg.error || '')}`);
      const cert = (sig) => Buffer.concat([hex(broot), be64(L), be64(d.epoch), hex(d.quorum), Buffer.from([1, sg.result.rank]),
        sig]).toString('base64');
      const sig = sg.result ? hex(sg.result.signature) : Buffer.alloc(65);
      const forged = Buffer.from(sig);
      forged[10] ^= 1;
      const e3 = await rpcErr(url, 'zgfs_daCertify', [cert(forged)]);
      const none = await harness.rpc(url, 'zgfs_daCertificate', [broot]);
      ok(e3 && !(none.result && none.result.epoch !== undefined),
        `a certificate with a changed signature is refused and records nothing: ${e3}`);
      const cr = await harness.rpc(url, 'zgfs_daCertify', [cert(sig)]);
      ok(cr.result && cr.result.slotsSigned === SLOTS, `the bad square is certified (${JSON.stringify(cr.error || cr.result)})`);
      const out = path.join(dir, 'bad-out');
      const g = run(['da', 'get', broot, out, '--node', url]);
      const rec = (await harness.rpc(url, 'zgfs_daCertificate', [broot])).result || {};
      ok(g.status === 1 && /badly encoded/.test(g.err) && /voided/.test(g.err) && !fs.existsSync(out) && rec.voided === true,
        `zgfs da get proves it badly encoded and the ledger voids its certificate, nothing written: ${g.err}`);
      const s3 = run(['da', 'status', broot, '--node', url]);
      const smp = run(['da', 'sample', broot, '--node', url]);
      ok(s3.status === 1 && /^VOIDED/m.test(s3.out) && smp.status !== 0 && /voided/.test(smp.err + smp.out),
        'then da status and da sample refuse it as voided');
      const again = await harness.rpc(url, 'zgfs_daVoid', [broot, Buffer.from('junk').toString('base64')]);
      ok(again.result && again.result.already === true, 'zgfs_daVoid of a voided blob says it is voided already');
    }

    // Four epochs on, the proofs of the blobs' epoch have left the ledger's rings: their
    // draw comes from the record the certifying blocks wrote.
    const certEpoch = Number(draw.epoch);
    for (let t = 0; t < 80; t++) {
      const d = (await harness.rpc(url, 'zgfs_daDraw', [])).result;
      if (d && Number(d.epoch) >= certEpoch + 4) break;
      await sleep(250);
    }
    // SIGKILL, restart: everything settled is still there.
    node.removeAllListeners('exit');
    const gone = new Promise((r) => node.on('exit', r));
    node.kill('SIGKILL');
    await gone;
    node = await harness.startNode(zgfs, data, port, process.env, null, args);
    for (const b of blobs) {
      const out = path.join(dir, `again-${b.size}`);
      const get = run(['da', 'get', b.root, out, '--node', url]);
      ok(get.status === 0 && fs.readFileSync(out).equals(b.bytes), `after SIGKILL and a restart, da get of ${b.size} B still works (${get.err})`);
    }
    await harness.stopNode(node);
    node = null;
    const v = run(['chain', 'verify', '--data', data]);
    ok(v.status === 0 && /^ok: \d+ blocks/.test(v.out), `zgfs chain verify replays every block: ${v.out || v.err}`);
    const info = run(['chain', 'info', '--data', data]);
    const pool = (info.out.match(/reward pool (\d+) wei/) || [])[1];
    ok(info.status === 0 && /embedded ledger's DA rules/.test(info.out) && /epochs of 2s/.test(info.out) && Number(pool) > 0,
      `zgfs chain info shows the DA rules and a reward pool of ${pool}`);
  } finally {
    if (node) await harness.stopNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, tap);
