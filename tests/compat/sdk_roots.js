// The official 0G SDK and zgfs agree on roots, submission nodes and segment proofs.
//
// usage: node sdk_roots.js ZGFS PROOFCHECK
// Makes 56 files of random bytes (1 B to 40 MiB: powers of two, ±1 around chunk and
// segment boundaries, and random sizes from a fixed seed), asks the SDK for each file's
// Merkle root and submission nodes, and compares with `zgfs root --json`. Then, for
// multi-segment files, proofs built by the SDK verify with zgfs's verifier (PROOFCHECK)
// and proofs printed by `zgfs proof` verify with the SDK's Proof.validateHash.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const harness = require('./harness.js');

const sdk = harness.loadSdk();
const [zgfs, proofcheck] = process.argv.slice(2);
const tap = new harness.Tap();
const ok = tap.ok.bind(tap);
const rand = harness.rng(0x2026b00c); // the same files on every run
const randomBytes = (size) => harness.randomBytes(rand, size);

const KiB = 1024, MiB = 1024 * KiB, SEG = 256 * KiB;
const sizes = [1, 2, 31, 32, 33, 255, 256, 257, 511, 512, 513, 4095, 4096, 4097,
  16 * 256 - 1, 16 * 256 + 1, 65535, 65536, 65537, SEG - 1, SEG, SEG + 1, 2 * SEG - 1,
  2 * SEG, 2 * SEG + 1, 3 * SEG + 256 * 384, MiB - 1, MiB, MiB + 1, 4 * MiB - 1, 4 * MiB,
  4 * MiB + 1, 17 * SEG, 17 * SEG + 1, 8 * MiB, 16 * MiB, 16 * MiB + 1, 40 * MiB];
while (sizes.length < 56) {
  const kind = rand() % 3;
  sizes.push(1 + (kind === 0 ? rand() % 4096 : kind === 1 ? rand() % (2 * MiB) : rand() % (12 * MiB)));
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-compat-'));
  try {
    const files = sizes.map((size, i) => {
      const f = path.join(dir, `f${i}-${size}`);
      fs.writeFileSync(f, randomBytes(size));
      return f;
    });
    const ours = execFileSync(zgfs, ['root', '--json', ...files], { maxBuffer: 64 * MiB })
      .toString().trim().split('\n').map((l) => JSON.parse(l));
    ok(ours.length === files.length, `zgfs root printed ${ours.length} of ${files.length} files`);

    let rootsAgree = 0, nodesAgree = 0;
    const trees = [];
    for (let i = 0; i < files.length; i++) {
      const file = await sdk.ZgFile.fromFilePath(files[i]);
      const [tree, err] = await file.merkleTree();
      if (err) throw err;
      const [sub, serr] = await file.createSubmission('0x');
      if (serr) throw serr;
      const sdkNodes = sub.data.nodes.map((x) => `${x.root}:${x.height}`).join(',');
      const ourNodes = ours[i].nodes.map((x) => `${x.root}:${x.height}`).join(',');
      if (tree.rootHash() === ours[i].root) rootsAgree++;
      else console.log(`# ${sizes[i]} bytes: sdk ${tree.rootHash()} zgfs ${ours[i].root}`);
      if (sdkNodes === ourNodes) nodesAgree++;
      else console.log(`# ${sizes[i]} bytes: nodes differ: sdk ${sdkNodes} zgfs ${ourNodes}`);
      trees.push({ file, tree, size: sizes[i], path: files[i] });
    }
    ok(rootsAgree === files.length, `roots agree on ${rootsAgree}/${files.length} files`);
    ok(nodesAgree === files.length, `submission nodes agree on ${nodesAgree}/${files.length} files`);

    // Proofs both ways, on every file with more than one segment, at the first, last and
    // a middle segment.
    let sdkToOurs = 0, oursToSdk = 0, proofs = 0;
    for (const t of trees) {
      const nseg = t.tree.leaves.length;
      if (nseg < 2) continue;
      for (const idx of new Set([0, nseg - 1, Math.floor(nseg / 2)])) {
        proofs++;
        const p = t.tree.proofAt(idx);
        const leaf = t.tree.leaves[idx].hash;
        try {
          execFileSync(proofcheck, [t.tree.rootHash(), String(idx), String(nseg), leaf],
            { input: JSON.stringify({ lemma: p.lemma, path: p.path }) });
          sdkToOurs++;
        } catch (e) {
          console.log(`# sdk proof of segment ${idx}/${nseg} (${t.size} B) refused: ${e.stdout}${e.stderr}`);
        }
        const mine = JSON.parse(execFileSync(zgfs, ['proof', t.path, String(idx)]).toString());
        const err = new sdk.Proof(mine.proof.lemma, mine.proof.path)
          .validateHash(t.tree.rootHash(), leaf, idx, nseg);
        if (err === null && mine.root === t.tree.rootHash()) oursToSdk++;
        else console.log(`# zgfs proof of segment ${idx}/${nseg} (${t.size} B): ${err}`);
      }
    }
    ok(proofs >= 20, `${proofs} segment proofs checked`);
    ok(sdkToOurs === proofs, `SDK proofs verify with zgfs: ${sdkToOurs}/${proofs}`);
    ok(oursToSdk === proofs, `zgfs proofs verify with the SDK: ${oursToSdk}/${proofs}`);

    // And a wrong proof is refused by both.
    const t = trees.find((x) => x.tree.leaves.length > 4);
    const p = t.tree.proofAt(1);
    const bad = { lemma: [...p.lemma], path: p.path };
    bad.lemma[1] = bad.lemma[1].slice(0, -1) + (bad.lemma[1].endsWith('0') ? '1' : '0');
    let refused = false;
    try {
      execFileSync(proofcheck, [t.tree.rootHash(), '1', String(t.tree.leaves.length),
        t.tree.leaves[1].hash], { input: JSON.stringify(bad), stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      refused = true;
    }
    ok(refused, 'zgfs refuses an SDK proof with a flipped sibling');
    ok(new sdk.Proof(bad.lemma, bad.path).validateHash(t.tree.rootHash(), t.tree.leaves[1].hash,
      1, t.tree.leaves.length) !== null, 'the SDK refuses the same proof');
    for (const x of trees) await x.file.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tap.done();
}
main().catch((e) => {
  console.log(`not ok - ${e.stack}`);
  process.exit(1);
});
