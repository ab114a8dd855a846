// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// PoraLib: the pure parts of checking a PoRA answer on an EVM chain, as 0G's MineLib and
// PoraMine compute them (docs/PORA.md): unsealing a 4 KiB unit, its 16-sector subtree,
// the Merkle proof to the flow root under the 0G tree rule (an odd last node is carried
// up), BLAKE2b-512 through the EIP-152 precompile at 0x09, padSeed, the scratchpad and the
// quality of a unit. The Mine contract that will check and pay answers builds on these;
// tests/compat/pora_lib.js compares every function with tests/compat/pora_ref.js on
// random inputs. Words are bytes32; sealed data is bytes32[128].
library PoraLib {
    uint256 internal constant SEAL_WORDS = 128;
    uint256 internal constant SEAL_SECTORS = 16;

    // BLAKE2b-512's initial state, no key: IV with h0 ^= 0x01010040, as the precompile
    // takes it (eight little-endian 64-bit words).
    bytes32 internal constant B2B_H0 = 0x48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5;
    bytes32 internal constant B2B_H1 = 0xd182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b;

    /// Unsealing: word i = sealed i XOR keccak(sealed i-1), word 0 with keccak(the seed
    /// minerId ‖ context ‖ u256(startSector)).
    function unseal(bytes32 minerId, bytes32 context, uint256 startSector, bytes32[128] memory sealedData)
        internal pure returns (bytes32[128] memory words)
    {
        words[0] = sealedData[0] ^ keccak256(abi.encode(minerId, context, startSector));
        for (uint256 i = 1; i < SEAL_WORDS; i++) words[i] = sealedData[i] ^ keccak256(abi.encode(sealedData[i - 1]));
    }

    /// Root of the unit's 16 sectors: leaves keccak(256 bytes), then pairs.
    function subtreeRoot(bytes32[128] memory words) internal pure returns (bytes32 root) {
        bytes32[16] memory h;
        for (uint256 i = 0; i < 16; i++) {
            bytes32 leaf;
            assembly {
                leaf := keccak256(add(words, mul(i, 256)), 256)
            }
            h[i] = leaf;
        }
        for (uint256 n = 16; n > 1; n /= 2)
            for (uint256 i = 0; i < n / 2; i++) h[i] = keccak256(abi.encode(h[2 * i], h[2 * i + 1]));
        root = h[0];
    }

    function levelCount(uint256 length, uint256 k) private pure returns (uint256) {
        return (length + (1 << k) - 1) >> k;
    }

    /// Whether the level-4 node `index` lies in a flow of `length` sectors and `n` is the
    /// number of siblings its path has (what recoverRoot takes without reverting).
    function proofFits(uint256 index, uint256 length, uint256 n) internal pure returns (bool) {
        if (index >= levelCount(length, 4)) return false;
        uint256 want = 0;
        for (uint256 k = 4; levelCount(length, k) > 1; k++) {
            if (index & 1 == 1 || index + 1 < levelCount(length, k)) want++;
            index >>= 1;
        }
        return want == n;
    }

    /// Folds proof onto the level-4 node `index` of a flow of `length` sectors: a node
    /// with index i at level k has a sibling unless it is the odd last node of its level.
    function recoverRoot(bytes32 node, uint256 index, uint256 length, bytes32[] memory proof)
        internal pure returns (bytes32)
    {
        uint256 used = 0;
        require(index < levelCount(length, 4), "PoraLib: recall position out of the flow");
        for (uint256 k = 4; levelCount(length, k) > 1; k++) {
            if (index & 1 == 1) {
                require(used < proof.length, "PoraLib: short Merkle proof");
                node = keccak256(abi.encode(proof[used++], node));
            } else if (index + 1 < levelCount(length, k)) {
                require(used < proof.length, "PoraLib: short Merkle proof");
                node = keccak256(abi.encode(node, proof[used++]));
            }
            index >>= 1;
        }
        require(used == proof.length, "PoraLib: long Merkle proof");
        return node;
    }

    /// BLAKE2b-512 of data (a whole number of 128-byte blocks) through precompile 0x09.
    function blake2b(bytes memory data) internal view returns (bytes32 a, bytes32 b) {
        uint256 n = data.length / 128;
        require(n > 0 && data.length % 128 == 0, "PoraLib: blake2b takes whole blocks");
        bytes memory input = new bytes(256);
        a = B2B_H0;
        b = B2B_H1;
        for (uint256 i = 0; i < n; i++) {
            bool ok;
            assembly {
                let p := add(input, 32)
                let src := add(add(data, 32), mul(i, 128))
                let t := mul(add(i, 1), 128)
                mstore(p, shl(224, 12)) // rounds, big-endian u32
                mstore(add(p, 4), a)
                mstore(add(p, 36), b)
                mstore(add(p, 68), mload(src))
                mstore(add(p, 100), mload(add(src, 32)))
                mstore(add(p, 132), mload(add(src, 64)))
                mstore(add(p, 164), mload(add(src, 96)))
                mstore(add(p, 196), 0) // t (little-endian u128), then f
                mstore8(add(p, 196), and(t, 0xff))
                mstore8(add(p, 197), and(shr(8, t), 0xff))
                mstore8(add(p, 198), and(shr(16, t), 0xff))
                mstore8(add(p, 212), eq(i, sub(n, 1)))
                ok := staticcall(gas(), 0x09, p, 213, p, 64)
                a := mload(p)
                b := mload(add(p, 32))
            }
            require(ok, "PoraLib: the BLAKE2b precompile failed");
        }
    }

    /// padSeed = BLAKE2b-512(minerId ‖ nonce ‖ subtaskDigest ‖ rangeDigest).
    function padSeed(bytes32 minerId, bytes32 nonce, bytes32 subtaskDigest, bytes32 rangeDigest)
        internal view returns (bytes32, bytes32)
    {
        return blake2b(abi.encode(minerId, nonce, subtaskDigest, rangeDigest));
    }

    /// The scratchpad's quarter `quarter` (64 cells, 4096 bytes) and the recall seed.
    function scratchPad(bytes32 a, bytes32 b, uint256 quarter)
        internal pure returns (bytes32[128] memory cells, bytes32 recallSeed)
    {
        for (uint256 i = 0; i < 256; i++) {
            a = keccak256(abi.encode(a, b));
            b = keccak256(abi.encode(a, b));
            if (i / 64 == quarter) {
                cells[2 * (i % 64)] = a;
                cells[2 * (i % 64) + 1] = b;
            }
        }
        recallSeed = keccak256(abi.encode(a, b));
    }

    /// Quality of seal unit sealOffset: the first 32 bytes of BLAKE2b-512(u256(sealOffset)
    /// ‖ padSeed ‖ 32 zero bytes ‖ sealed XOR the pad quarter sealOffset mod 4).
    function quality(uint256 sealOffset, bytes32 seedA, bytes32 seedB, bytes32[128] memory sealedData,
                     bytes32[128] memory padQuarter) internal view returns (bytes32 q) {
        bytes memory data = new bytes(128 + 4096);
        assembly {
            let p := add(data, 32)
            mstore(p, sealOffset)
            mstore(add(p, 32), seedA)
            mstore(add(p, 64), seedB)
            mstore(add(p, 96), 0)
        }
        for (uint256 i = 0; i < SEAL_WORDS; i++) {
            bytes32 w = sealedData[i] ^ padQuarter[i];
            assembly {
                mstore(add(add(data, 160), mul(i, 32)), w)
            }
        }
        (q, ) = blake2b(data);
    }
}

/// External entry points for tests (tests/compat/pora_lib.js).
contract PoraCheck {
    function unseal(bytes32 minerId, bytes32 context, uint256 startSector, bytes32[128] memory sealedData)
        external pure returns (bytes32[128] memory)
    {
        return PoraLib.unseal(minerId, context, startSector, sealedData);
    }

    function proves(bytes32 minerId, bytes32 context, uint256 recallPosition, bytes32[128] memory sealedData,
                    uint256 flowLength, bytes32[] memory proof) external pure returns (bytes32) {
        bytes32[128] memory w = PoraLib.unseal(minerId, context, recallPosition, sealedData);
        return PoraLib.recoverRoot(PoraLib.subtreeRoot(w), recallPosition / 16, flowLength, proof);
    }

    function blake2b(bytes memory data) external view returns (bytes32, bytes32) {
        return PoraLib.blake2b(data);
    }

    function padSeed(bytes32 minerId, bytes32 nonce, bytes32 subtaskDigest, bytes32 rangeDigest)
        external view returns (bytes32, bytes32)
    {
        return PoraLib.padSeed(minerId, nonce, subtaskDigest, rangeDigest);
    }

    function scratchPad(bytes32 a, bytes32 b, uint256 quarter)
        external pure returns (bytes32[128] memory, bytes32)
    {
        return PoraLib.scratchPad(a, b, quarter);
    }

    function quality(uint256 sealOffset, bytes32 seedA, bytes32 seedB, bytes32[128] memory sealedData)
        external view returns (bytes32)
    {
        (bytes32[128] memory quarter, ) = PoraLib.scratchPad(seedA, seedB, sealOffset % 4);
        return PoraLib.quality(sealOffset, seedA, seedB, sealedData, quarter);
    }
}
