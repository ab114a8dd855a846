// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title DA: data-availability signers, epoch seeds, VRF proofs and certificates.
/// @notice The on-chain half of docs/DA.md ("Signers, quorums and certificates"). Signers
/// register with a stake and the Ed25519 key of their VRF; every DA epoch
/// (epochBlocks blocks) has a seed, the hash of its first block, recorded by the first
/// call that needs it; signers publish their VRF proof for the next epoch; a certificate
/// names the epoch's quorum (who holds each slot) and carries members' signatures, and is
/// recorded when those signatures, checked here with ecrecover, hold more than 2/3 of the
/// slots.
///
/// What this contract checks itself: signatures (ecrecover, low s), that every account the
/// quorum names is registered with at least minStake and published a proof for the epoch,
/// the slot layout (slot j held by rank j mod members), distinct signers, the threshold.
/// What it cannot check: the Ed25519 VRF proofs (the EVM has no such precompile), so it
/// takes the quorum's order from the certifier. Every node re-derives the quorum from the
/// published proofs (chain/da.h, chain_da_quorum) and rejects a certificate whose quorum
/// digest differs (chain_da_cert_verify).
contract DA {
    uint256 public constant MAX_SLOTS = 64; // CHAIN_DA_SLOTS_MAX
    uint256 public constant MAX_URL = 256;
    uint256 public constant PROOF_SIZE = 80; // CODEC_VRF_PROOF_SIZE
    // secp256k1's order / 2: a larger s is the malleable twin (EIP-2).
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    struct Signer {
        bytes32 vrfKey;
        uint256 stake;
        string url;
        uint256 registered; // block
    }

    struct Certificate {
        uint64 epoch;
        uint64 length;
        bytes32 quorum;
        uint16 slotsSigned;
        uint256 block;
    }

    event SignerRegistered(address indexed account, bytes32 vrfKey, uint256 stake, string url);
    event ProofPublished(address indexed account, uint256 indexed epoch, bytes proof);
    event EpochSeed(uint256 indexed epoch, bytes32 seed);
    event Certified(bytes32 indexed dataRoot, uint256 indexed epoch, uint64 length, bytes32 quorum, uint16 slotsSigned);

    uint256 public immutable epochBlocks;
    uint256 public immutable firstBlock;
    uint256 public immutable stakeUnit;
    uint256 public immutable minStake;
    uint256 public immutable slots;

    mapping(address => Signer) private signerOf;
    address[] private accounts;
    mapping(uint256 => bytes32) private seeds;
    mapping(uint256 => mapping(address => bytes)) private proofs;
    mapping(bytes32 => Certificate) private certs;

    constructor(uint256 epochBlocks_, uint256 stakeUnit_, uint256 minStake_, uint256 slots_) {
        require(epochBlocks_ >= 1, "DA: epochBlocks must be at least 1");
        require(stakeUnit_ >= 1, "DA: stakeUnit must be at least 1");
        require(slots_ >= 1 && slots_ <= MAX_SLOTS, "DA: slots must be 1 to 64");
        epochBlocks = epochBlocks_;
        firstBlock = block.number;
        stakeUnit = stakeUnit_;
        minStake = minStake_ > stakeUnit_ ? minStake_ : stakeUnit_;
        slots = slots_;
    }

    function epoch() public view returns (uint256) {
        return (block.number - firstBlock) / epochBlocks;
    }

    /// @notice Register (or add stake and change the key and URL of) the sender as a signer.
    function register(bytes32 vrfKey, string calldata url) external payable {
        require(bytes(url).length > 0 && bytes(url).length <= MAX_URL, "DA: URL must be 1 to 256 bytes");
        require(vrfKey != bytes32(0), "DA: no VRF key");
        Signer storage s = signerOf[msg.sender];
        if (s.registered == 0) accounts.push(msg.sender);
        s.vrfKey = vrfKey;
        s.stake += msg.value;
        s.url = url;
        s.registered = block.number;
        require(s.stake >= minStake, "DA: stake below minStake");
        emit SignerRegistered(msg.sender, vrfKey, s.stake, url);
    }

    function signerCount() external view returns (uint256) {
        return accounts.length;
    }

    function signerAt(uint256 i) external view returns (address account, bytes32 vrfKey, uint256 stake, string memory url) {
        account = accounts[i];
        Signer storage s = signerOf[account];
        return (account, s.vrfKey, s.stake, s.url);
    }

    /// @notice The seed of the current epoch, recorded on first use: the hash of its first
    /// block. The draw of epoch e + 1 uses it (its proofs are published during e). When the
    /// first block is the current one (no hash yet) or more than 256 blocks old, the seed
    /// is keccak256 of the epoch's number and the previous block's hash, which no one could
    /// choose either.
    function makeSeed() public returns (bytes32) {
        uint256 e = epoch();
        bytes32 s = seeds[e];
        if (s != bytes32(0)) return s;
        uint256 start = firstBlock + e * epochBlocks;
        s = start < block.number && block.number - start <= 256
            ? blockhash(start)
            : keccak256(abi.encodePacked(e, blockhash(block.number - 1)));
        seeds[e] = s;
        emit EpochSeed(e, s);
        return s;
    }

    function seedOf(uint256 e) external view returns (bytes32) {
        return seeds[e];
    }

    /// @notice Publish the sender's VRF proof for the next epoch e (80 bytes, stored as it
    /// is), over alpha with the current epoch's seed (seedOf(e - 1)).
    function publishProof(uint256 e, bytes calldata proof) external {
        require(signerOf[msg.sender].registered != 0, "DA: not a registered signer");
        require(e == epoch() + 1, "DA: proofs are published for the next epoch");
        require(proof.length == PROOF_SIZE, "DA: a VRF proof is 80 bytes");
        makeSeed();
        proofs[e][msg.sender] = proof;
        emit ProofPublished(msg.sender, e, proof);
    }

    function proofOf(uint256 e, address account) external view returns (bytes memory) {
        return proofs[e][account];
    }

    /// @notice The digest chain/da.h commits a quorum to.
    function quorumDigest(uint64 e, address[] calldata slotAccounts) public pure returns (bytes32) {
        // 20 bytes an address (abi.encodePacked would pad array elements to 32).
        bytes memory b = abi.encodePacked("zgfs da quorum digest", bytes1(0), e, uint16(slotAccounts.length));
        for (uint256 j = 0; j < slotAccounts.length; j++) b = bytes.concat(b, bytes20(slotAccounts[j]));
        return keccak256(b);
    }

    /// @notice The digest a signer signs for a blob in a quorum.
    function signDigest(bytes32 dataRoot, uint64 length, uint64 e, bytes32 quorum) public view returns (bytes32) {
        return keccak256(abi.encodePacked("zgfs da sign", bytes1(0), uint64(block.chainid), address(this), dataRoot, length, e, quorum));
    }

    /// @notice Record a certificate for blob (dataRoot, length) in epoch e. slotAccounts
    /// names who holds each of the epoch's slots (slot j: rank j mod members); ranks are
    /// the signers' ranks, strictly increasing; sigs holds 65 bytes (r ‖ s ‖ v, v 0 or 1)
    /// per rank.
    function certify(
        bytes32 dataRoot,
        uint64 length,
        uint64 e,
        address[] calldata slotAccounts,
        uint256 members,
        uint8[] calldata ranks,
        bytes calldata sigs
    ) external returns (uint16 slotsSigned) {
        require(e <= epoch(), "DA: a future epoch");
        require(certs[dataRoot].block == 0, "DA: already certified");
        bytes32 quorum = checkQuorum(e, slotAccounts, members);
        uint256 held = countSigned(signDigest(dataRoot, length, e, quorum), slotAccounts, members, ranks, sigs);
        require(3 * held > 2 * slots, "DA: not more than 2/3 of the slots signed");
        slotsSigned = uint16(held);
        certs[dataRoot] = Certificate(e, length, quorum, slotsSigned, block.number);
        emit Certified(dataRoot, e, length, quorum, slotsSigned);
    }

    /// The quorum's layout and members, checked; its digest.
    function checkQuorum(uint64 e, address[] calldata slotAccounts, uint256 members) private view returns (bytes32) {
        require(slotAccounts.length == slots, "DA: the quorum must name every slot");
        require(members >= 1 && members <= slots, "DA: members must be 1 to slots");
        for (uint256 j = 0; j < slots; j++) {
            address a = slotAccounts[j];
            require(a == slotAccounts[j % members], "DA: slot j must be held by rank j mod members");
            if (j >= members) continue;
            for (uint256 i = 0; i < j; i++) require(slotAccounts[i] != a, "DA: a member twice");
            require(signerOf[a].stake >= minStake, "DA: a slot held by no staked signer");
            require(proofs[e][a].length == PROOF_SIZE, "DA: a member without a proof for the epoch");
        }
        return quorumDigest(e, slotAccounts);
    }

    /// The slots held by the members whose signatures of digest are valid.
    function countSigned(
        bytes32 digest,
        address[] calldata slotAccounts,
        uint256 members,
        uint8[] calldata ranks,
        bytes calldata sigs
    ) private view returns (uint256 held) {
        require(ranks.length >= 1 && sigs.length == ranks.length * 65, "DA: one 65-byte signature per rank");
        for (uint256 i = 0; i < ranks.length; i++) {
            require(ranks[i] < members && (i == 0 || ranks[i] > ranks[i - 1]), "DA: ranks must be increasing members");
            require(recover(digest, sigs[i * 65:(i + 1) * 65]) == slotAccounts[ranks[i]], "DA: a signature is not its member's");
            held += (slots - ranks[i] + members - 1) / members; // the slots j with j mod members == rank
        }
    }

    function certificate(bytes32 dataRoot) external view returns (Certificate memory) {
        return certs[dataRoot];
    }

    function recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        require(v <= 1 && uint256(s) <= HALF_N, "DA: a malformed signature");
        address a = ecrecover(digest, v + 27, r, s);
        require(a != address(0), "DA: a signature that recovers no key");
        return a;
    }
}
