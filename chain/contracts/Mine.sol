// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Flow, MineContext, EpochRange} from "./Flow.sol";
import {Market} from "./Market.sol";
import {PoraLib} from "./PoraLib.sol";

// ABI-identical to 0G's RecallRange and MineLib.PoraAnswer, so 0G's own tooling encodes
// answers for this contract.
struct RecallRange {
    uint256 startPosition;
    uint256 mineLength;
    uint64 shardId;
    uint64 shardMask;
}

struct PoraAnswer {
    bytes32 contextDigest;
    bytes32 nonce;
    bytes32 minerId;
    RecallRange range;
    uint256 recallPosition;
    uint256 sealOffset;
    bytes32 sealedContextDigest;
    bytes32[128] sealedData;
    bytes32[] merkleProof;
}

/// What a miner needs for the current epoch (Mine.info, read with eth_call).
struct MineInfo {
    MineContext context;
    bytes32 subtaskDigest; // zero outside the window
    uint256 poraTarget;
    uint256 epochAnswers; // accepted in the context's epoch
    uint256 accepted; //     since deployment
    uint256 paid; //         wei, since deployment
    uint256 difficulty; //   initial
    uint256 targetSubmissions;
    uint256 blocksPerEpoch;
    uint256 baseReward;
}

/// @title Mine: checks PoRA answers as 0G's PoraMine does and pays them from the Market.
/// @notice The checks run in the order of the embedded ledger (chain/pora.c), so that an
/// answer gets the same refusal on both backends; each refusal is PoraRefused(code) with
/// the code of chain.h's CHAIN_EPORA_* list (1 = no context ... 11 = epoch cap).
/// One subtask per epoch: the window is (mineStart, mineStart + targetMineBlocks], with
/// targetMineBlocks = min(blocksPerEpoch, 256). docs/PORA.md ("On an EVM chain") lists
/// where this differs from PoraMine.
contract Mine {
    uint256 private constant SECTORS_PER_LOAD = 1024;
    uint256 private constant SECTORS_PER_SEAL = 16;
    uint256 private constant SECTORS_PER_PRICE = 1 << 25;
    uint256 private constant MAX_MINING_LENGTH = 1 << 35;
    uint256 private constant MAX_SHARDS = 32;
    uint256 private constant ADJUST_RATIO = 20;
    uint256 private constant MAX_TARGET_ANSWERS = 64;
    bytes32 private constant EMPTY_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    // Refusal codes, CHAIN_EPORA_OFF + code - 1 in chain.h.
    uint8 private constant OFF = 1;
    uint8 private constant MINER = 2;
    uint8 private constant WINDOW = 3;
    uint8 private constant CONTEXT = 4;
    uint8 private constant RANGE = 5;
    uint8 private constant SEAL_CONTEXT = 6;
    uint8 private constant MERKLE = 7;
    uint8 private constant RECALL = 8;
    uint8 private constant QUALITY = 9;
    uint8 private constant REPEAT = 10;
    uint8 private constant CAP = 11;

    error PoraRefused(uint8 code);
    error MinerIdTaken(bytes32 minerId);
    error BadParameters();

    event NewMinerId(bytes32 indexed minerId, address indexed beneficiary);
    event NewSubmission(uint256 indexed epoch, bytes32 indexed minerId, uint256 epochIndex, uint256 recallPosition,
                        uint256 reward);

    Flow public immutable flow;
    Market public immutable market;
    uint256 public immutable difficulty;
    uint256 public immutable targetSubmissions;
    uint256 public immutable targetMineBlocks;

    uint256 public poraTarget;
    uint256 public lastMinedEpoch; // the epoch currentSubmissions counts
    uint256 public currentSubmissions;
    uint256 public accepted;
    uint256 public paid;
    mapping(bytes32 => address) public beneficiaries;
    mapping(address => bytes32) public minerOf; // the first id registered for a beneficiary
    mapping(bytes32 => bool) private submitted; // qualities paid

    constructor(Flow flow_, uint256 difficulty_, uint256 targetSubmissions_) {
        uint256 bpe = flow_.blocksPerEpoch();
        if (difficulty_ == 0 || bpe < 2 || targetSubmissions_ == 0 || targetSubmissions_ > MAX_TARGET_ANSWERS)
            revert BadParameters();
        flow = flow_;
        market = flow_.market();
        difficulty = difficulty_;
        targetSubmissions = targetSubmissions_;
        targetMineBlocks = bpe < 256 ? bpe : 256;
        poraTarget = type(uint256).max / difficulty_;
    }

    /// @notice PoraMine.requestMinerId: id = keccak256(abi.encodePacked(blockhash(n - 1),
    /// msg.sender, seed)); rewards go to beneficiary.
    function requestMinerId(address beneficiary, uint64 seed) external {
        bytes32 id = keccak256(abi.encodePacked(blockhash(block.number - 1), msg.sender, seed));
        if (beneficiaries[id] != address(0) || beneficiary == address(0)) revert MinerIdTaken(id);
        beneficiaries[id] = beneficiary;
        if (minerOf[beneficiary] == bytes32(0)) minerOf[beneficiary] = id;
        emit NewMinerId(id, beneficiary);
    }

    /// @notice Check an answer and pay its reward to the miner's beneficiary; reverts
    /// PoraRefused(code) and changes nothing when a check fails.
    function submit(PoraAnswer memory answer) external {
        MineContext memory ctx = flow.makeContextWithResult();
        if (ctx.epoch == 0) revert PoraRefused(OFF);
        newEpoch(ctx.epoch);
        address beneficiary = beneficiaries[answer.minerId];
        if (beneficiary == address(0)) revert PoraRefused(MINER);
        if (answer.contextDigest != ctx.digest || ctx.digest == EMPTY_HASH) revert PoraRefused(CONTEXT);
        if (!(ctx.mineStart < block.number && block.number <= ctx.mineStart + targetMineBlocks))
            revert PoraRefused(WINDOW);
        if (!rangeValid(answer.range, ctx.flowLength)) revert PoraRefused(RANGE);
        EpochRange memory er = flow.getEpochRange(answer.sealedContextDigest);
        uint256 recallEnd = answer.recallPosition + SECTORS_PER_SEAL;
        if (!(er.start < recallEnd && recallEnd <= er.end)) revert PoraRefused(SEAL_CONTEXT);
        if (!proves(answer, ctx)) revert PoraRefused(MERKLE);
        bytes32 quality = work(answer, keccak256(abi.encode(ctx.digest, blockhash(ctx.mineStart))), ctx.flowLength);
        if (submitted[quality]) revert PoraRefused(REPEAT);
        if (currentSubmissions >= 2 * targetSubmissions) revert PoraRefused(CAP);
        submitted[quality] = true;

        uint256 reward = market.claimMineReward(answer.recallPosition / SECTORS_PER_PRICE, payable(beneficiary),
                                                answer.minerId);
        emit NewSubmission(ctx.epoch, answer.minerId, currentSubmissions, answer.recallPosition, reward);
        currentSubmissions += 1;
        accepted += 1;
        paid += reward;
    }

    /// @notice The current epoch as a miner sees it, with the difficulty update of a new
    /// epoch applied. Changes state (it makes the context): read it with eth_call.
    function info() external returns (MineInfo memory r) {
        r.context = flow.makeContextWithResult();
        if (r.context.epoch > 0) newEpoch(r.context.epoch);
        if (r.context.epoch > 0 && r.context.mineStart < block.number &&
            block.number <= r.context.mineStart + targetMineBlocks)
            r.subtaskDigest = keccak256(abi.encode(r.context.digest, blockhash(r.context.mineStart)));
        r.poraTarget = poraTarget;
        r.epochAnswers = currentSubmissions;
        r.accepted = accepted;
        r.paid = paid;
        r.difficulty = difficulty;
        r.targetSubmissions = targetSubmissions;
        r.blocksPerEpoch = flow.blocksPerEpoch();
        r.baseReward = market.baseReward();
    }

    // A new epoch: the difficulty update for the epoch that ended, and once more with no
    // answers for each epoch skipped (at most 256 steps, which reach the maximum target
    // from any target), as chain/pora.c does.
    function newEpoch(uint256 epoch) private {
        uint256 last = lastMinedEpoch;
        if (epoch <= last) return;
        if (last > 0) {
            uint256 steps = epoch - last;
            if (steps > 256) steps = 256;
            uint256 t = poraTarget;
            for (uint256 i = 0; i < steps; ++i) t = nextTarget(t, i == 0 ? currentSubmissions : 0);
            poraTarget = t;
        }
        lastMinedEpoch = epoch;
        currentSubmissions = 0;
    }

    // PoraMine._adjustDifficultyOnNewEpoch with difficultyAdjustRatio 20, no minimum
    // difficulty (codec_pora_next_target).
    function nextTarget(uint256 target, uint256 submissions) private view returns (uint256) {
        uint256 scaledTarget = target >> 16;
        uint256 scaledExpected = submissions > 0 ? (scaledTarget * targetSubmissions) / submissions
                                                 : type(uint256).max >> 16;
        uint256 adjusted = (scaledTarget * (ADJUST_RATIO - 1) + scaledExpected) / ADJUST_RATIO;
        if (adjusted > scaledTarget * 2) adjusted = scaledTarget * 2;
        if (adjusted < scaledTarget / 2) adjusted = scaledTarget / 2;
        if (adjusted > type(uint256).max >> 16) adjusted = type(uint256).max >> 16;
        return adjusted << 16;
    }

    function numShards(uint64 mask) private pure returns (uint256 n) {
        uint64 neg = ~mask;
        while (neg > 0) {
            neg &= neg - 1;
            n++;
        }
        return n > 8 ? type(uint256).max : 1 << n;
    }

    // RecallRangeLib.check with maxEndPosition = the flow rounded down to whole loads, and
    // at most MAX_SHARDS shards.
    function rangeValid(RecallRange memory r, uint256 flowLength) private pure returns (bool) {
        uint256 maxEnd = (flowLength / SECTORS_PER_LOAD) * SECTORS_PER_LOAD;
        uint256 shards = numShards(r.shardMask);
        if (shards > MAX_SHARDS) return false;
        uint256 maxLen = MAX_MINING_LENGTH * shards;
        return r.startPosition % SECTORS_PER_PRICE == 0 && r.startPosition + r.mineLength <= maxEnd &&
            r.mineLength <= maxLen && r.mineLength >= (maxEnd < maxLen ? maxEnd : maxLen) &&
            r.shardId & r.shardMask == 0;
    }

    function proves(PoraAnswer memory a, MineContext memory ctx) private pure returns (bool) {
        uint256 index = a.recallPosition / SECTORS_PER_SEAL;
        if (a.recallPosition % SECTORS_PER_SEAL != 0 || !PoraLib.proofFits(index, ctx.flowLength, a.merkleProof.length))
            return false;
        bytes32[128] memory words = PoraLib.unseal(a.minerId, a.sealedContextDigest, a.recallPosition, a.sealedData);
        return PoraLib.recoverRoot(PoraLib.subtreeRoot(words), index, ctx.flowLength, a.merkleProof) == ctx.flowRoot;
    }

    function rangeDigest(RecallRange memory r) private pure returns (bytes32) {
        return keccak256(abi.encode(r.startPosition, r.mineLength, r.shardId, r.shardMask));
    }

    // padSeed, the scratchpad, the recall position (RECALL) and the quality against the
    // scaled target (QUALITY). Returns the quality.
    function work(PoraAnswer memory a, bytes32 subtaskDigest, uint256 flowLength) private view returns (bytes32 q) {
        (bytes32 sa, bytes32 sb) = PoraLib.padSeed(a.minerId, a.nonce, subtaskDigest, rangeDigest(a.range));
        if (a.sealOffset >= 64) revert PoraRefused(RECALL);
        (bytes32[128] memory quarter, bytes32 recallSeed) = PoraLib.scratchPad(sa, sb, a.sealOffset % 4);
        uint256 loads = a.range.mineLength / SECTORS_PER_LOAD;
        if (loads == 0) revert PoraRefused(RECALL);
        uint64 chunk = (uint64(uint256(recallSeed) % loads) & a.range.shardMask) | a.range.shardId;
        if (uint256(chunk) * SECTORS_PER_LOAD > a.range.mineLength ||
            a.range.startPosition + uint256(chunk) * SECTORS_PER_LOAD + a.sealOffset * SECTORS_PER_SEAL != a.recallPosition)
            revert PoraRefused(RECALL);
        q = PoraLib.quality(a.sealOffset, sa, sb, a.sealedData, quarter);
        // scaleX64 = (min(flowLength, 2^35) << 64) / min(flowLength / numShards, 2^35)
        uint256 noShard = flowLength > MAX_MINING_LENGTH ? MAX_MINING_LENGTH : flowLength;
        uint256 shardLen = flowLength / numShards(a.range.shardMask);
        if (shardLen > MAX_MINING_LENGTH) shardLen = MAX_MINING_LENGTH;
        if (shardLen == 0) revert PoraRefused(QUALITY);
        uint256 scale = (noShard << 64) / shardLen;
        if (uint256(q) > (poraTarget / scale) << 64) revert PoraRefused(QUALITY);
    }
}
