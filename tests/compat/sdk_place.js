// The official 0G SDK and zgfs agree on shard placement.
//
// usage: node sdk_place.js PLACETOOL
// For random lists of shard configs (fixed seed, mixed shard counts up to 32, some
// invalid), the SDK's checkReplica(list, R) must be true exactly for R <= zgfs's
// node_shards_replicas(list); the node the SDK's nodeForSegment picks from its
// selectNodes(list, 1) must be among zgfs's holders of each segment, and the holders
// must be exactly those with seg % numShard == shardId; and SegmentRange(start, size) must
// span node_place_nsegs(start, size) segments. PLACETOOL is tests/compat/placetool.c.
'use strict';
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

const sdk = harness.loadSdk();
const tool = process.argv[2];
if (!tool) {
  console.log('1..0 # SKIP usage: node sdk_place.js PLACETOOL');
  process.exit(77);
}
const { checkReplica, selectNodes, nodeForSegment, SegmentRange } = sdk;
if (!checkReplica || !selectNodes || !nodeForSegment || !SegmentRange) {
  console.log('1..0 # SKIP this SDK has no checkReplica/selectNodes/nodeForSegment/SegmentRange');
  process.exit(77);
}

const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x706c6163);

const lists = [];
for (let t = 0; t < 400; t++) {
  const n = 1 + (rand() % 8);
  const list = [];
  for (let i = 0; i < n; i++) {
    const numShard = 1 << (rand() % 6);
    // One config in 20 invalid: an id out of range. The SDK's nodes come from
    // zgs_getShardConfig; both sides must ignore such a config.
    const shardId = rand() % 20 === 0 ? numShard : rand() % numShard;
    list.push({ shardId, numShard });
  }
  lists.push(list);
}
const valid = (c) => c.numShard > 0 && (c.numShard & (c.numShard - 1)) === 0 && c.shardId < c.numShard;
const words = (list) => list.map((c) => `${c.shardId}/${c.numShard}`).join(' ');

const queries = [];
for (const list of lists) queries.push(`R ${words(list)}`);
for (const list of lists) for (let s = 0; s < 64; s++) queries.push(`H ${s} ${words(list)}`);
const ranges = [];
for (let t = 0; t < 300; t++) {
  const start = rand() % 5 === 0 ? rand() % 100000 : (rand() % 100) * 1024;
  const size = 1 + (rand() % 4 === 0 ? rand() % 4096 : rand() % (3 << 20));
  ranges.push([start, size]);
  queries.push(`S ${start} ${size}`);
}
const answers = execFileSync(tool, { input: queries.join('\n') + '\n' }).toString().trim().split('\n');

const dist = [0, 0, 0, 0, 0];
let a = 0, badReplica = 0, badHolder = 0, badRoute = 0, badRange = 0;
for (const list of lists) {
  const ours = Number(answers[a++]);
  dist[Math.min(ours, 4)]++;
  for (let r = 1; r <= 4; r++) {
    // The SDK wants only valid configs from its nodes; it would throw on some invalid ones.
    if (checkReplica(list.filter(valid), r) !== (r <= ours)) badReplica++;
  }
}
for (const list of lists) {
  const nodes = list.map((c, i) => ({ url: String(i), config: c, latency: 0, since: 0 }));
  const [selected, covered] = selectNodes(nodes.filter((n) => valid(n.config)), 1);
  for (let s = 0; s < 64; s++) {
    const line = answers[a++];
    const ours = line === '-' ? [] : line.split(' ').map(Number);
    const expect = list.map((c, i) => (valid(c) && s % c.numShard === c.shardId ? i : -1)).filter((i) => i >= 0);
    if (ours.join(',') !== expect.join(',')) badHolder++;
    if (covered) {
      const n = nodeForSegment(selected, s);
      if (!n || !ours.includes(Number(n.url))) badRoute++;
    }
  }
}
for (const [start, size] of ranges) {
  const [first, last] = SegmentRange(start, size);
  if (Number(answers[a++]) !== last - first + 1) badRange++;
}
console.log(`# lists held 0, 1, 2, 3, 4+ times: ${dist.join(', ')}`);
ok(dist[0] > 0 && dist[1] > 0 && dist[2] > 0, 'the lists include uncovered, once and twice held ones');
ok(badReplica === 0, `checkReplica(list, 1..4) agrees with node_shards_replicas on 400 lists (${badReplica} differ)`);
ok(badHolder === 0, `holders of segments 0..63 are exactly seg % numShard == shardId (${badHolder} differ)`);
ok(badRoute === 0, `the SDK's nodeForSegment picks one of zgfs's holders (${badRoute} differ)`);
ok(badRange === 0, `SegmentRange spans node_place_nsegs segments on 300 entries (${badRange} differ)`);
tap.done();
