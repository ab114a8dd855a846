// What the compatibility scripts share: loading the SDK (or exiting 77 with the reason,
// which meson counts as a skip), TAP-style lines for people, and a fixed-seed generator so
// that every run makes the same inputs.
'use strict';
const fs = require('fs');
const path = require('path');

// zgfs node and zgfs mount read a config file under $XDG_CONFIG_HOME (docs/CONFIG.md): the
// tests run with an empty one, so a config of whoever runs them changes nothing.
{
  const os = require('os');
  const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'zgfs-test-xdg-'));
  process.env.XDG_CONFIG_HOME = xdg;
  process.on('exit', () => fs.rmSync(xdg, { recursive: true, force: true }));
}

function loadSdk() {
  try {
    return require(path.join(__dirname, 'node_modules', '@0gfoundation', '0g-ts-sdk'));
  } catch (e) {
    console.log('1..0 # SKIP the 0G SDK is not installed in tests/compat/node_modules (run ./setup.sh)');
    process.exit(77);
  }
}

// A module installed in tests/compat/node_modules, or exit 77 with the reason.
function loadModule(name) {
  try {
    return require(path.join(__dirname, 'node_modules', name));
  } catch (e) {
    console.log(`1..0 # SKIP ${name} is not installed in tests/compat/node_modules (run ./setup.sh)`);
    process.exit(77);
  }
}

class Tap {
  constructor() {
    this.n = 0;
    this.failed = 0;
  }

  ok(cond, what) {
    this.n++;
    if (!cond) this.failed++;
    console.log(`${cond ? '' : 'not '}ok ${this.n} - ${what}`);
    return cond;
  }

  // A point that cannot be checked here, and why (TAP's SKIP directive).
  skip(what, why) {
    this.n++;
    console.log(`ok ${this.n} - ${what} # SKIP ${why}`);
  }

  // Prints the plan and exits: 0 when every point passed.
  done() {
    console.log(`1..${this.n}`);
    process.exit(this.failed ? 1 : 0);
  }
}

// xorshift32: rand() gives the next 32-bit value of the sequence started by seed.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return function rand() {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

// size bytes from rand, four at a time.
function randomBytes(rand, size) {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(rand(), i);
  for (let i = size - (size % 4); i < size; i++) b[i] = rand() & 255;
  return b;
}

// Nodes still running, SIGKILLed when this process exits however it exits (anvil.js turns
// the signals meson sends into an exit), so that no node outlives its test.
const nodeChildren = new Set();
process.on('exit', () => {
  for (const child of nodeChildren) child.kill('SIGKILL');
});

// Starts `zgfs node` on dir, serving 127.0.0.1:port; resolves with the child once it says
// it serves. onLog (optional) sees everything it prints.
function startNode(zgfs, dir, port, env, onLog, extra = []) {
  const { spawn } = require('child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(zgfs, ['node', '--data', dir, '--rpc', `127.0.0.1:${port}`, ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'], env: env || process.env });
    nodeChildren.add(child);
    child.once('exit', () => nodeChildren.delete(child));
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zgfs node did not start within 30 s: ${log}`));
    }, 30000);
    child.stderr.on('data', (d) => {
      log += d.toString();
      if (onLog) onLog(log);
      if (log.includes('serving http://')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`zgfs node exited (${code}): ${log}`));
    });
  });
}

// SIGTERM, then SIGKILL after 10 s; resolves once it exited. (A child ended by a signal
// has exitCode null and its signalCode set.)
function stopNode(child) {
  return new Promise((resolve) => {
    // Exited already, with a status or (SIGKILLed) a signal: no 'exit' is coming.
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.removeAllListeners('exit');
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// A free TCP port on 127.0.0.1.
function freePort() {
  const net = require('net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// anvil.js's startAnvil, or exit 77 with the reason when anvil is not installed.
function needAnvil() {
  const { anvilPath, startAnvil } = require('./anvil.js');
  if (!anvilPath()) {
    console.log('1..0 # SKIP anvil is not installed in tests/compat/node_modules (run ./setup.sh)');
    process.exit(77);
  }
  return startAnvil;
}

// Runs a program with env added to the environment: {status, out, err} (never throws).
function runProgram(file, args, env = {}) {
  const { execFileSync } = require('child_process');
  try {
    const out = execFileSync(file, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, out, err: '' };
  } catch (e) {
    return { status: e.status, out: String(e.stdout || ''), err: String(e.stderr || '') };
  }
}

// The ABI and bytecode the build compiled for a contract (chain/contracts/NAME.json in
// ARTIFACTS_DIR); skips the test (77) when the build had no solc.
function loadArtifact(dir, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  } catch (e) {
    console.log('1..0 # SKIP the contracts were not compiled (no solc when the build was configured)');
    process.exit(77);
  }
}

// The SDK prints progress with console.log: quiet(fn) runs fn with it kept in sdkLog, out
// of the TAP lines (ZGFS_TEST_VERBOSE=1 lets it through).
const sdkLog = [];
async function quiet(fn) {
  if (process.env.ZGFS_TEST_VERBOSE) return fn();
  const log = console.log;
  console.log = (...a) => sdkLog.push(a.map(String).join(' '));
  try {
    return await fn();
  } finally {
    console.log = log;
  }
}

// Downloads every file {path, size, bytes, root} with the SDK's Downloader over storages,
// proofs checked, into PATH.sdk; how many came back identical (the others are logged).
async function sdkDownloadAll(sdk, storages, files) {
  const dl = new sdk.Downloader(storages);
  let same = 0;
  for (const f of files) {
    const o = `${f.path}.sdk`;
    const err = await quiet(() => dl.download(f.root, o, true));
    if (!err && fs.readFileSync(o).equals(f.bytes)) same++;
    else console.log(`# SDK download ${f.size} B: ${err}`);
  }
  return same;
}

// Runs an async main with the plan and exit status from tap; when it throws, a failed
// point with the stack and the tail of each log that logs() names ([[name, text]...]).
function runMain(main, tap, logs = () => []) {
  main().then(() => process.exit(tap.done()), (e) => {
    console.log(`not ok - ${e.stack || e}`);
    for (const [name, l] of logs()) if (l) console.log(`# ${name} log: ${l.replace(/\n/g, '\n# ')}`);
    process.exit(1);
  });
}

// Runs checks(chain, tmp) on a fresh anvil with a scratch directory (prefix), both removed
// afterwards, then ends the TAP run; an exception is one failed point and exit 1.
function onAnvil(prefix, checks, tap, anvilOpts = {}) {
  const os = require('os');
  const startAnvil = needAnvil();
  runMain(async () => {
    const chain = await startAnvil(anvilOpts);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    try {
      await checks(chain, tmp);
    } finally {
      await chain.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, tap);
}

// One JSON-RPC call to a node: its whole answer ({result} or {error}).
async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return res.json();
}

// `zgfs chain deploy` of zgfs's contracts on chainUrl into data dir data, signed with key;
// returns {flow, market} (the addresses it prints).
function deployChain(zgfs, chainUrl, data, key) {
  const { execFileSync } = require('child_process');
  const out = execFileSync(zgfs, ['chain', 'deploy', '--rpc', chainUrl, '--data', data],
    { env: { ...process.env, ZGFS_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return {
    flow: (out.match(/^flow (0x[0-9a-f]{40})$/m) || [])[1],
    market: (out.match(/^market (0x[0-9a-f]{40})$/m) || [])[1],
  };
}

// `zgfs chain attach` of a data dir to the contracts found through flow.
function attachChain(zgfs, chainUrl, flow, data) {
  const { execFileSync } = require('child_process');
  execFileSync(zgfs, ['chain', 'attach', '--rpc', chainUrl, '--flow', flow, '--data', data],
    { stdio: ['ignore', 'pipe', 'pipe'] });
}

module.exports = {
  loadSdk, loadModule, loadArtifact, runProgram, onAnvil, Tap, rng, randomBytes, startNode, stopNode, freePort, needAnvil, quiet,
  sdkLog, rpc, deployChain, attachChain, sdkDownloadAll, runMain,
};
