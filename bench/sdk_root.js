// Times the official 0G SDK computing the Merkle root of one file.
// usage: node sdk_root.js FILE   → prints "<MB/s> <root>"
'use strict';
const path = require('path');
let sdk;
try {
  sdk = require(path.join(__dirname, '..', 'tests', 'compat', 'node_modules', '@0gfoundation', '0g-ts-sdk'));
} catch (e) {
  console.error('the 0G SDK is not installed: run ./setup.sh');
  process.exit(77);
}
(async () => {
  const file = await sdk.ZgFile.fromFilePath(process.argv[2]);
  const t0 = process.hrtime.bigint();
  const [tree, err] = await file.merkleTree();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (err) throw err;
  console.log(`${(file.size() / secs / 1e6).toFixed(1)} ${tree.rootHash()}`);
  await file.close();
})();
