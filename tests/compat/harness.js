// What the compatibility scripts share: loading the SDK (or exiting 77 with the reason,
// which meson counts as a skip), TAP-style lines for people, and a fixed-seed generator so
// that every run makes the same inputs.
'use strict';
const path = require('path');

function loadSdk() {
  try {
    return require(path.join(__dirname, 'node_modules', '@0gfoundation', '0g-ts-sdk'));
  } catch (e) {
    console.log('1..0 # SKIP the 0G SDK is not installed in tests/compat/node_modules (run ./setup.sh)');
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

module.exports = { loadSdk, Tap, rng, randomBytes };
