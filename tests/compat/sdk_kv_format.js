// The official 0G SDK and zgfs agree on the KV stream format, both ways.
//
// usage: node sdk_kv_format.js KVDUMP
// Builds stream datas with the SDK's StreamDataBuilder (kv/builder.js): one and several
// streams, reads, writes, every kind of ACL op, binary keys and values, empty values, a
// large value and a long key, the largest safe version, sorted builds, and a set of random
// ones from a fixed seed. For each, the SDK's encoded bytes are decoded by zgfs (KVDUMP,
// node/kv_format.c) and compared field by field with what the builder produced; the same
// transaction encoded by zgfs must be byte-identical to the SDK's; the tags built by zgfs
// must equal the builder's buildTags(). Truncated and extended SDK payloads are refused.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

const sdk = harness.loadSdk();
const kvdump = process.argv[2];
if (!kvdump) {
  console.log('1..0 # SKIP usage: node sdk_kv_format.js KVDUMP');
  process.exit(77);
}
const { StreamDataBuilder } = sdk;

const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x6b76f00d); // the same transactions on every run
function randomBytes(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const r = rand();
    b[i] = r % 5 === 0 ? 0 : r % 7 === 0 ? 0xff : r & 0xff;
  }
  return b;
}
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const id = (byte) => '0x' + byte.repeat(32);
const addr = (byte) => '0x' + byte.repeat(20);

const S1 = id('11'), S2 = id('22'), S3 = id('33');
const ALICE = addr('aa'), BOB = addr('bb');
const Op = {
  GrantAdmin: 0x00, RenounceAdmin: 0x01, SetKeyToSpecial: 0x10, SetKeyToNormal: 0x11,
  GrantWriter: 0x20, RevokeWriter: 0x21, RenounceWriter: 0x22,
  GrantSpecialWriter: 0x30, RevokeSpecialWriter: 0x31, RenounceSpecialWriter: 0x32,
};
// What follows the stream id of each op, as 0G's KV node parses it.
const hasKey = (t) => [0x10, 0x11, 0x30, 0x31, 0x32].includes(t);
const hasAccount = (t) => [0x00, 0x20, 0x21, 0x30, 0x31].includes(t);
function control(type, streamId, key, account) {
  const c = { Type: type, StreamId: streamId };
  if (hasKey(type)) c.Key = Buffer.from(key);
  if (hasAccount(type)) c.Account = account;
  return c;
}

// The builder has set() for writes; reads and controls are filled through its fields.
function builder(version, { writes = [], reads = [], controls = [] }) {
  const b = new StreamDataBuilder(version);
  for (const [s, k, v] of writes) b.set(s, Buffer.from(k), Buffer.from(v));
  for (const [s, k] of reads) {
    if (!b.reads.has(s)) b.reads.set(s, new Map());
    b.reads.get(s).set(Buffer.from(k).toString('hex'), true);
  }
  for (const c of controls) {
    b.controls.push(c);
    b.addStreamId(c.StreamId);
  }
  return b;
}

// The StreamData the builder made, in kvdump's canonical JSON.
function canonical(sd) {
  return {
    Version: String(sd.Version),
    Reads: sd.Reads.map((r) => ({ StreamId: r.StreamId.toLowerCase(), Key: hex(r.Key) })),
    Writes: sd.Writes.map((w) => ({
      StreamId: w.StreamId.toLowerCase(), Key: hex(w.Key), Data: hex(w.Data),
    })),
    Controls: sd.Controls.map((c) => {
      const o = { Type: c.Type, StreamId: c.StreamId.toLowerCase() };
      if (c.Key !== undefined) o.Key = hex(c.Key);
      if (c.Account !== undefined) o.Account = c.Account.toLowerCase();
      return o;
    }),
  };
}

// Field-by-field comparison; returns the first difference or null.
function diff(want, got) {
  if (got.Version !== want.Version) return `Version ${got.Version} != ${want.Version}`;
  for (const set of ['Reads', 'Writes', 'Controls']) {
    if (got[set].length !== want[set].length)
      return `${set}: ${got[set].length} items, want ${want[set].length}`;
    for (let i = 0; i < want[set].length; i++) {
      const keys = new Set([...Object.keys(want[set][i]), ...Object.keys(got[set][i])]);
      for (const f of keys)
        if (want[set][i][f] !== got[set][i][f])
          return `${set}[${i}].${f}: ${String(got[set][i][f]).slice(0, 80)} != ${String(want[set][i][f]).slice(0, 80)}`;
    }
  }
  return null;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-kvcompat-'));
function check(name, b, sorted = false) {
  const sd = b.build(sorted);
  const bytes = Buffer.from(sd.encode());
  const bin = path.join(dir, `${name}.bin`);
  fs.writeFileSync(bin, bytes);
  const want = canonical(sd);

  let got, d = 'kvdump failed';
  try {
    got = JSON.parse(execFileSync(kvdump, ['decode', bin], { maxBuffer: 64 << 20 }).toString());
    d = diff(want, got);
  } catch (e) {
    d = `kvdump decode: ${e.stderr}`;
  }
  ok(d === null, `${name}: zgfs decodes the SDK's ${bytes.length} bytes field by field` +
    (d ? ` (${d})` : ''));

  const json = path.join(dir, `${name}.json`), out = path.join(dir, `${name}.ours`);
  fs.writeFileSync(json, JSON.stringify(want));
  let same = false;
  try {
    execFileSync(kvdump, ['encode', json, out]);
    same = Buffer.compare(fs.readFileSync(out), bytes) === 0;
  } catch (e) {
    console.log(`# kvdump encode: ${e.stderr}`);
  }
  ok(same, `${name}: zgfs encodes the same transaction to the SDK's bytes`);

  const ids = [...b.streamIds.keys()];
  if (ids.length) {
    const ours = execFileSync(kvdump, ['tags', ...ids]).toString().trim();
    ok(ours === hex(b.buildTags()), `${name}: zgfs tags equal the SDK's buildTags()`);
  }
  return bytes;
}

try {
  check('one-write', builder(1, { writes: [[S1, 'key', 'value']] }));
  check('several-streams', builder(42, {
    writes: [[S1, 'a', 'A'], [S2, 'b', 'BB'], [S3, 'c', ''], [S1, 'd', 'DDDD'], [S2, 'a', 'x']],
  }));
  check('binary-and-empty', builder(7, {
    writes: [[S1, Buffer.from([0]), Buffer.from([0, 0, 0])], [S1, Buffer.from([0xff, 0, 0xff]), Buffer.alloc(0)],
      [S2, Buffer.from([0, 1, 2, 3]), Buffer.from([0xff])]],
  }));
  check('reads-and-writes', builder(3, {
    reads: [[S1, 'r1'], [S1, Buffer.from([0])], [S2, 'r2']],
    writes: [[S1, 'w', 'v'], [S2, 'w2', '']],
  }));
  check('reads-only', builder(0, { reads: [[S3, 'only']] }));
  check('empty', builder(0, {}));
  check('every-acl-op', builder(9, {
    controls: [
      control(Op.GrantAdmin, S1, null, BOB),
      control(Op.RenounceAdmin, S1),
      control(Op.SetKeyToSpecial, S1, 'sk'),
      control(Op.SetKeyToNormal, S1, 'sk'),
      control(Op.GrantWriter, S2, null, ALICE),
      control(Op.RevokeWriter, S2, null, BOB),
      control(Op.RenounceWriter, S2),
      control(Op.GrantSpecialWriter, S1, Buffer.from([0, 0xff]), BOB),
      control(Op.RevokeSpecialWriter, S1, 'sk', ALICE),
      control(Op.RenounceSpecialWriter, S3, 'sk3'),
    ],
  }));
  check('acl-and-writes', builder(Number.MAX_SAFE_INTEGER, {
    reads: [[S2, 'r']],
    writes: [[S1, 'k', 'v'], [S2, 'k2', 'v2']],
    controls: [control(Op.GrantWriter, S1, null, BOB), control(Op.SetKeyToSpecial, S2, 'k2')],
  }));
  check('large', builder(5, {
    writes: [[S1, randomBytes(1000), randomBytes(300000)], [S1, 'small', 'x'],
      [S2, randomBytes(70000), randomBytes(10)]],
  }));
  check('sorted', builder(11, {
    reads: [[S2, 'z'], [S1, 'b'], [S1, 'a']],
    writes: [[S3, 'z', '1'], [S1, 'b', '2'], [S1, 'a', '3'], [S2, 'm', '']],
  }), true);

  // Random ones from the fixed seed.
  const streams = [S1, S2, S3, id('44'), id('55')];
  const ops = Object.values(Op);
  let randomOk = 0;
  const count = 25;
  for (let i = 0; i < count; i++) {
    const spec = { writes: [], reads: [], controls: [] };
    const nw = rand() % 8, nr = rand() % 6, nc = rand() % 8;
    for (let j = 0; j < nw; j++)
      spec.writes.push([streams[rand() % 5], randomBytes(1 + (rand() % 40)),
        rand() % 4 === 0 ? Buffer.alloc(0) : randomBytes(rand() % 2000)]);
    for (let j = 0; j < nr; j++)
      spec.reads.push([streams[rand() % 5], randomBytes(1 + (rand() % 40))]);
    for (let j = 0; j < nc; j++)
      spec.controls.push(control(ops[rand() % ops.length], streams[rand() % 5],
        randomBytes(1 + (rand() % 40)), hex(randomBytes(20))));
    const before = tap.failed;
    check(`random-${i}`, builder(rand() % 1000000, spec), rand() % 2 === 0);
    if (tap.failed === before) randomOk++;
  }
  ok(randomOk === count, `${randomOk}/${count} random transactions agree`);

  // zgfs refuses what is not exactly one transaction.
  const bytes = Buffer.from(builder(3, {
    reads: [[S1, 'r']], writes: [[S1, 'k', 'value']], controls: [control(Op.GrantWriter, S1, null, BOB)],
  }).build().encode());
  let refused = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    const f = path.join(dir, 'cut.bin');
    fs.writeFileSync(f, bytes.subarray(0, cut));
    try {
      execFileSync(kvdump, ['decode', f], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      if (e.status === 1) refused++;
    }
  }
  ok(refused === bytes.length, `every truncation of an SDK payload is refused (${refused}/${bytes.length})`);
  let extended = false;
  try {
    const f = path.join(dir, 'extended.bin');
    fs.writeFileSync(f, Buffer.concat([bytes, Buffer.from([0])]));
    execFileSync(kvdump, ['decode', f], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    extended = e.status === 1;
  }
  ok(extended, 'an SDK payload with a trailing byte is refused');
} catch (e) {
  ok(false, `unexpected error: ${e.stack}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
tap.done();
