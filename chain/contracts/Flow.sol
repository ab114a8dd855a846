// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Market} from "./Market.sol";

// The submission types, ABI-identical to 0G's (contracts/interfaces/Submission.sol), so
// the 0G SDK's FixedPriceFlow ABI encodes calls and decodes events of this contract.
struct SubmissionNode {
    bytes32 root;
    uint256 height;
}

struct Submission {
    uint256 length; // bytes
    bytes tags;
    SubmissionNode[] nodes;
}

struct SubmissionData {
    Submission data;
    address submitter;
}

// Mining epochs, ABI-identical to 0G's (contracts/interfaces/IFlow.sol).
struct MineContext {
    uint256 epoch;
    uint256 mineStart;
    bytes32 flowRoot;
    uint256 flowLength;
    bytes32 blockDigest;
    bytes32 digest;
}

struct EpochRange {
    uint128 start;
    uint128 end;
}

struct EpochRangeWithContextDigest {
    uint128 start;
    uint128 end;
    bytes32 digest;
}

/// @title Flow: the log of submissions and the Merkle tree over all their sectors.
/// @notice The rules of chain/flow.c, on chain: validity (chain_submission_check),
/// placement (chain_flowtree_place) and the flow root (chain_flowtree_root) give the same
/// results byte for byte. Fees are entry sectors × price, paid to the Market this contract
/// deploys. docs/CONTRACTS.md describes the interface and how it differs from 0G's
/// FixedPriceFlow.
contract Flow {
    // Local limits, the same as chain/limits.h and codec/limits.h.
    uint256 private constant MAX_NODES = 64; //                CODEC_MAX_NODES
    uint256 private constant MAX_TAGS = 4096; //               CHAIN_TAGS_MAX
    uint256 private constant MAX_ENTRY_BYTES = 1 << 50; //     CHAIN_ENTRY_MAX_BYTES
    uint256 private constant MAX_FLOW_SECTORS = 1 << 45; //    CHAIN_FLOW_MAX_SECTORS
    // SubmissionLibrary.MAX_LENGTH: the spread of heights, and the padding granularity.
    uint256 private constant MAX_SPREAD = 4;
    // Sectors per data segment: an entry that does not start on a segment boundary must
    // not cross one.
    uint256 private constant SEGMENT_SECTORS = 1024;
    // keccak256 of a zero sector (256 zero bytes): the leaf of the placeholder and of gaps.
    bytes32 private constant ZERO_SECTOR = 0xd397b3b043d87fcd6fad1291ff0bfd16401c274896d8c63a923727f077b8e0b5;
    // keccak256 of nothing: the digest of a context whose block hash is no longer known.
    bytes32 private constant EMPTY_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    event Submit(
        address indexed sender,
        bytes32 indexed identity,
        uint256 submissionIndex,
        uint256 startPos,
        uint256 length,
        Submission submission
    );

    event NewEpoch(
        address indexed sender,
        uint256 indexed index,
        bytes32 startMerkleRoot,
        uint256 submissionIndex,
        uint256 flowLength,
        bytes32 context
    );

    error InvalidSubmission();
    error NotEnoughFee(uint256 price, uint256 amount, uint256 paid);

    Market public immutable market;
    // The cluster's node registry (Registry.sol), deployed before this contract; zero when
    // the Flow was deployed without one. Another host finds it, and the policy, from here.
    address public immutable registry;
    uint256 private immutable price; // the Market's pricePerSector, which never changes

    // Both counters share one slot: a submission rewrites them together.
    uint128 private count; //   submissions so far; the next one's index
    uint128 private sectors; // flow length in sectors, ≥ 1 (sector 0 is the placeholder)
    // The flow tree as the binary decomposition of its length: for each set bit h of the
    // length, roots[h] is the root of the perfect subtree of 2^h sectors it stands for,
    // left to right from the highest bit. Entries at clear bits are stale and never read.
    bytes32[64] private roots;

    // Mining epochs (docs/PORA.md, "On an EVM chain"): epoch e starts at block
    // firstBlock + e·blocksPerEpoch; its context is made by the first call of makeContext()
    // after that block (every submission calls it first), over the flow as it then stands.
    // blocksPerEpoch 0: no epochs (a Flow deployed without mining).
    uint256 public immutable blocksPerEpoch;
    uint256 public immutable firstBlock;
    MineContext private context; // the newest; epoch 0 (all zero) before the first
    uint256 private epochStartPosition; // end of the newest recorded range
    mapping(bytes32 => EpochRange) private epochRanges;
    EpochRangeWithContextDigest[] private epochRangeHistory;

    constructor(uint256 pricePerSector_, address registry_, uint256 blocksPerEpoch_) {
        price = pricePerSector_;
        registry = registry_;
        blocksPerEpoch = blocksPerEpoch_;
        firstBlock = block.number;
        market = new Market(pricePerSector_, address(this), msg.sender);
        sectors = 1;
        roots[0] = ZERO_SECTOR;
    }

    /// @notice Make the context of the newest epoch that has started, if it does not exist
    /// yet: contextDigest = keccak256(abi.encode(blockhash(mineStart), flowRoot,
    /// flowLength)), and the flow range since the last recorded one under that digest when
    /// it is not empty (0G's Flow.makeContext). Epochs nobody touched are skipped in one
    /// step. A context made more than 256 blocks after its epoch started has no block hash
    /// to draw from: its digest is keccak256 of nothing, and it cannot be mined.
    function makeContext() public {
        uint256 bpe = blocksPerEpoch;
        if (bpe == 0 || block.number <= firstBlock) return;
        uint256 e = (block.number - 1 - firstBlock) / bpe;
        if (e <= context.epoch) return;
        uint256 start = firstBlock + e * bpe;
        bytes32 root = flowRoot();
        uint256 len = sectors;
        bytes32 blockDigest = EMPTY_HASH;
        bytes32 digest = EMPTY_HASH;
        if (start + 256 >= block.number) {
            blockDigest = blockhash(start);
            digest = keccak256(abi.encode(blockDigest, root, len));
            uint256 from = epochStartPosition;
            if (len > from) {
                epochRanges[digest] = EpochRange(uint128(from), uint128(len));
                epochRangeHistory.push(EpochRangeWithContextDigest(uint128(from), uint128(len), digest));
                epochStartPosition = len;
            }
        }
        context = MineContext(e, start, root, len, blockDigest, digest);
        emit NewEpoch(msg.sender, e, root, count, len, digest);
    }

    function makeContextWithResult() external returns (MineContext memory) {
        makeContext();
        return context;
    }

    function getContext() external view returns (MineContext memory) {
        return context;
    }

    /// @notice The flow range a context digest covers ({0, 0} for an unknown digest).
    function getEpochRange(bytes32 digest) external view returns (EpochRange memory) {
        return epochRanges[digest];
    }

    function epochRangeCount() external view returns (uint256) {
        return epochRangeHistory.length;
    }

    function getEpochRangeHistory(uint256 index) external view returns (EpochRangeWithContextDigest memory) {
        return epochRangeHistory[index];
    }

    /// @notice Recorded ranges [from, from + max) (fewer at the end), oldest first.
    function epochRangesFrom(uint256 from, uint256 max)
        external
        view
        returns (EpochRangeWithContextDigest[] memory out)
    {
        uint256 n = epochRangeHistory.length;
        uint256 k = from >= n ? 0 : (n - from < max ? n - from : max);
        out = new EpochRangeWithContextDigest[](k);
        for (uint256 i = 0; i < k; ++i) out[i] = epochRangeHistory[from + i];
    }

    /// @notice Append one entry. msg.value must cover sectors × pricePerSector, where
    /// sectors = Σ 2^height; all of it goes to the Market (any excess to the pool of the
    /// entry's first sector). Reverts InvalidSubmission() or NotEnoughFee(...).
    /// @return index the entry's submission index (0, 1, 2, ...)
    /// @return digest keccak256 of the node roots, in order (the event's identity)
    /// @return startIndex the flow sector the entry starts at
    /// @return length the entry's sectors
    function submit(SubmissionData calldata submission)
        external
        payable
        returns (uint256 index, bytes32 digest, uint256 startIndex, uint256 length)
    {
        Submission calldata s = submission.data;
        uint256 h0;
        (length, h0) = check(s);
        makeContext();
        uint256 fee = length * price;
        if (msg.value < fee) revert NotEnoughFee(price, length, msg.value);

        index = count;
        uint256 end;
        (digest, startIndex, end) = append(s, length, h0, sectors, index);
        count = uint128(index + 1);
        sectors = uint128(end);
        market.chargeFee{value: msg.value}(startIndex, length, end);
    }

    /// @notice Append several entries in order, in one transaction: all or none.
    /// msg.value must cover the sum of their fees; any excess goes with the first entry's
    /// fee. An empty batch reverts InvalidSubmission().
    function batchSubmit(SubmissionData[] calldata submissions)
        external
        payable
        returns (
            uint256[] memory indexes,
            bytes32[] memory digests,
            uint256[] memory startIndexes,
            uint256[] memory lengths
        )
    {
        uint256 m = submissions.length;
        if (m == 0) revert InvalidSubmission();
        indexes = new uint256[](m);
        digests = new bytes32[](m);
        startIndexes = new uint256[](m);
        lengths = new uint256[](m);

        // Every entry is checked before anything changes, so the fee of the whole batch is
        // known up front (gaps are not charged, so it does not depend on placement).
        uint256[] memory firstHeights = new uint256[](m);
        uint256 total;
        for (uint256 i = 0; i < m; ++i) {
            (lengths[i], firstHeights[i]) = check(submissions[i].data);
            total += lengths[i];
        }
        if (msg.value < total * price) revert NotEnoughFee(price, total, msg.value);
        makeContext();

        uint256 index = count;
        uint256 len = sectors;
        for (uint256 i = 0; i < m; ++i) {
            indexes[i] = index;
            (digests[i], startIndexes[i], len) = append(submissions[i].data, lengths[i], firstHeights[i], len, index);
            ++index;
        }
        count = uint128(index);
        sectors = uint128(len);

        uint256 excess = msg.value - total * price;
        for (uint256 i = 0; i < m; ++i) {
            uint256 n = lengths[i];
            market.chargeFee{value: n * price + excess}(startIndexes[i], n, startIndexes[i] + n);
            excess = 0;
        }
    }

    /// @notice Submissions so far; 0G's name for the same count is submissionIndex().
    function numSubmissions() external view returns (uint256) {
        return count;
    }

    function submissionIndex() external view returns (uint256) {
        return count;
    }

    /// @notice The flow length in sectors, including the placeholder sector 0 and gaps.
    function flowLength() external view returns (uint256) {
        return sectors;
    }

    /// @notice The root of the flow tree: the perfect subtrees of the length's binary
    /// decomposition folded from the right, r = keccak256(left ‖ r) (chain_flowtree_root).
    function flowRoot() public view returns (bytes32 r) {
        uint256 len = sectors;
        uint256 h = 0;
        while ((len >> h) & 1 == 0) ++h;
        r = roots[h];
        for (++h; (len >> h) != 0; ++h) {
            if ((len >> h) & 1 != 0) r = hashPair(roots[h], r);
        }
    }

    // chain_submission_check(): returns the entry's sectors (capacity) and its first
    // height, or reverts InvalidSubmission().
    function check(Submission calldata s) private pure returns (uint256 capacity, uint256 h0) {
        SubmissionNode[] calldata nodes = s.nodes;
        uint256 n = nodes.length;
        if (n == 0 || n > MAX_NODES || s.tags.length > MAX_TAGS) revert InvalidSubmission();
        uint256 size = s.length;
        if (size == 0 || size > MAX_ENTRY_BYTES) revert InvalidSubmission();
        h0 = nodes[0].height;
        if (h0 >= 64) revert InvalidSubmission();
        capacity = 1 << h0;
        uint256 prev = h0;
        for (uint256 i = 1; i < n; ++i) {
            uint256 h = nodes[i].height;
            if (h >= prev) revert InvalidSubmission();
            capacity += 1 << h; // distinct heights below 64: the sum stays below 2^64
            prev = h;
        }
        // prev is now the last height, ≤ h0.
        if (h0 - prev >= MAX_SPREAD) revert InvalidSubmission();

        // length ≤ capacity·256 and length > lastCapacity·256, compared in whole sectors.
        uint256 chunks = (size + 255) / 256;
        if (chunks > capacity) revert InvalidSubmission();
        // The largest capacity the 0G padding rule gives a shorter file: below 16 sectors
        // every count pads to itself; one node 2^h pads in units of 2^(h-4); several nodes
        // in units of 2^(h0-3), the unit of the next power of two above the capacity.
        uint256 lastCapacity;
        if (capacity < (1 << MAX_SPREAD)) lastCapacity = capacity - 1;
        else if (n == 1) lastCapacity = capacity - (capacity >> MAX_SPREAD);
        else lastCapacity = capacity - (1 << (h0 - MAX_SPREAD + 1));
        if (chunks <= lastCapacity) revert InvalidSubmission();
    }

    // chain_flowtree_place(): where an entry of `n` sectors with first height h0 starts in
    // a flow of `len` sectors. Reverts InvalidSubmission() past MAX_FLOW_SECTORS.
    function place(uint256 len, uint256 h0, uint256 n) private pure returns (uint256 start) {
        start = (((len - 1) >> h0) + 1) << h0; // the next multiple of 2^h0 at or after len
        uint256 off = start % SEGMENT_SECTORS;
        if (off != 0 && start / SEGMENT_SECTORS != (start + n - 1) / SEGMENT_SECTORS) {
            start += SEGMENT_SECTORS - off;
        }
        if (start + n > MAX_FLOW_SECTORS) revert InvalidSubmission();
    }

    // Place one checked entry in a flow of `len` sectors, push the gap and its nodes,
    // and emit Submit. Returns the digest, the start and the new length; the caller
    // stores the counters.
    function append(Submission calldata s, uint256 n, uint256 h0, uint256 len, uint256 index)
        private
        returns (bytes32 digest, uint256 start, uint256 end)
    {
        start = place(len, h0, n);
        (digest, end) = pushNodes(s.nodes, pad(len, start));
        emit Submit(msg.sender, digest, index, start, n, s);
    }

    // Push an entry's nodes at the end of a flow of `len` sectors (aligned for the first
    // node). Returns the digest of their roots and the new length.
    function pushNodes(SubmissionNode[] calldata nodes, uint256 len)
        private
        returns (bytes32 digest, uint256 end)
    {
        uint256 k = nodes.length;
        bytes32[] memory rootList = new bytes32[](k);
        for (uint256 i = 0; i < k; ++i) {
            bytes32 root = nodes[i].root;
            rootList[i] = root;
            // Heights decrease and len starts aligned to the first, so each is aligned.
            len = push(len, root, nodes[i].height);
        }
        assembly ("memory-safe") {
            digest := keccak256(add(rootList, 0x20), mul(k, 0x20))
        }
        end = len;
    }

    // Zero sectors from len up to end: the largest aligned zero subtrees that fit, as
    // pad_to() in chain/flow.c. At most two runs of heights (rising, then falling), so
    // O(log) pushes. Returns end.
    function pad(uint256 len, uint256 end) private returns (uint256) {
        if (len >= end) return len;
        uint256 gap = end - len;
        uint256 top = 0;
        while ((2 << top) <= gap) ++top;
        bytes32[] memory zeros = new bytes32[](top + 1); // zeros[h]: zero subtree of 2^h
        bytes32 z = ZERO_SECTOR;
        zeros[0] = z;
        for (uint256 k = 1; k <= top; ++k) {
            z = hashPair(z, z);
            zeros[k] = z;
        }
        // len stays a multiple of 2^h: h = min(trailing zeros of len, floor(log2 rem)).
        uint256 h = 0;
        while (len < end) {
            uint256 rem = end - len;
            while ((len >> h) & 1 == 0 && (2 << h) <= rem) ++h;
            while ((1 << h) > rem) --h;
            len = push(len, zeros[h], h);
        }
        return len;
    }

    // Push a perfect subtree of height h at position len (a multiple of 2^h): a binary
    // counter increment, merging with roots[h] while bit h of len is set.
    function push(uint256 len, bytes32 node, uint256 h) private returns (uint256 next) {
        next = len + (1 << h);
        while ((len >> h) & 1 != 0) {
            node = hashPair(roots[h], node);
            ++h;
        }
        roots[h] = node;
    }

    function hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            r := keccak256(0x00, 0x40)
        }
    }
}
