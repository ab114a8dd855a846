// A local EVM chain for the node tests: starts anvil (tests/compat/node_modules, installed
// by setup.sh) on a free loopback port and stops it again.
//
//   const { anvilPath, startAnvil } = require('./anvil.js');
//   if (!anvilPath()) { console.log('1..0 # SKIP ...'); process.exit(77); }
//   const chain = await startAnvil();      // { url, port, accounts, stop() }
//   ...
//   await chain.stop();
//
// accounts are anvil's ten funded dev accounts ({address, key}), derived from its default
// mnemonic. The child is killed when this process exits, however it exits.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

const MODULES = path.join(__dirname, 'node_modules');
// anvil's default dev mnemonic; it funds the first ten accounts of m/44'/60'/0'/0/i.
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const START_TIMEOUT_MS = 20000;

const running = new Set();
let hooked = false;

// Kill every anvil still running when this process exits. Signals end a process without
// running 'exit' handlers unless someone listens, so they become an ordinary exit with the
// shell's status for the signal (meson stops a test that times out with SIGTERM).
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(128 + num));
  }
}

// The anvil binary, or null when it is not installed. The native binary of the platform
// package when there is one (so that the pid we kill is anvil itself), else the npm
// wrapper in node_modules/.bin.
function anvilPath() {
  const candidates = [
    path.join(MODULES, '@foundry-rs', `anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`, 'bin', 'anvil'),
    path.join(MODULES, '.bin', 'anvil'),
  ];
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch (e) {
      // try the next one
    }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

function devAccounts(n) {
  const { HDNodeWallet, Mnemonic } = require(path.join(MODULES, 'ethers'));
  const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC);
  const accounts = [];
  for (let i = 0; i < n; i++) {
    const w = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    accounts.push({ address: w.address, key: w.privateKey });
  }
  return accounts;
}

/**
 * startAnvil(opts) - a fresh anvil chain on 127.0.0.1.
 * opts.blockTime: seconds per block (default: a block per transaction);
 * opts.args: more command-line arguments.
 * Resolves to {url, port, accounts, stop()} once eth_chainId answers; rejects when anvil
 * is missing, exits early, or does not answer within 20 s.
 */
async function startAnvil(opts = {}) {
  const bin = anvilPath();
  if (!bin) throw new Error('anvil is not installed in tests/compat/node_modules (run ./setup.sh)');
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--silent'];
  if (opts.blockTime) args.push('--block-time', String(opts.blockTime));
  if (opts.args) args.push(...opts.args);

  hookExit();
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4096); });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      exited = signal || code;
      resolve();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) throw new Error(`anvil exited (${exited}) before answering: ${stderr.trim()}`);
    try {
      await rpc(url, 'eth_chainId');
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`anvil did not answer on ${url} within ${START_TIMEOUT_MS / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    url,
    port,
    accounts: devAccounts(10),
    // SIGTERM, then SIGKILL when anvil has not exited 5 s later.
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
    },
  };
}

module.exports = { anvilPath, startAnvil, rpc };
