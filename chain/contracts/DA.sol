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
///
/// Sampling rewards (PoDAS, docs/DA.md "Sampling rewards"): certify() takes a blob fee
/// (blobFee(length)) into the reward pool; every sampling period (samplePeriod blocks) has
/// a seed, recorded by makeSampleSeed(); for samplePeriods periods after its certificate,
/// each signer of a blob is challenged for one share of the rows it holds (challenge()),
/// and a correct answer with its proof through the row root to the data root
/// (answerSample()) earns fee / (sampleWindow · signers) from the pool. A wrong answer is
/// refused; a missing one earns nothing, and its part stays in the pool.
///
/// Bad encoding (docs/DA.md "Bad-encoding proofs"): voidCertificate() takes the codec's
/// bad-encoding proof of one line (chain/../codec/da.h), checks every share proof against
/// the data root and either one symbol of the Reed–Solomon code (GF(2^8), ISA-L's Cauchy
/// matrix) or the line's root, and voids the blob's certificate: it no longer counts as
/// available and is no longer sampled.
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
        uint256 fee; // paid into the reward pool
        uint8 members; // ranks in the quorum
        uint8 signers; // of them, signatures in the certificate
        bool voided; // by a bad-encoding proof
    }

    /// A bad-encoding proof's header (codec/da.h).
    struct Befp {
        uint256 k;
        uint256 s;
        uint256 l2;
        uint256 axis;
        uint256 index;
        uint256 kind; // 0 CODEWORD, 1 ROOT
        uint256 j;
        uint256 b;
        uint256 psize; // an encoded share proof
        uint256 bsize; // a member's body: a share or a leaf
        uint256 members;
    }

    // GF(2^8) with ISA-L's polynomial 0x11d: exp of 0..509 and log of 0..255 to base 2.
    bytes private constant GF_EXP = hex"01020408102040801d3a74e8cd8713264c982d5ab475eac98f03060c183060c09d274e9c254a94356ad4b577eec19f23468c050a142850a05dba69d2b96fdea15fbe61c2992f5ebc65ca890f1e3c78f0fde7d3bb6bd6b17ffee1dfa35bb671e2d9af4386112244880d1a3468d0bd67ce811f3e7cf8edc7933b76ecc5973366cc85172e5cb86ddaa94f9e214284152a54a84d9a2952a455aa49923972e4d5b773e6d1bf63c6913f7efce5d7b37bf6f1ffe3dbab4b963162c495376edca557ae4182193264c88d070e1c3870e0dda753a651a259b279f2f9efc39b2b56ac458a09122448903d7af4f5f7f3fbebcb8b0b162c58b07dfae9cf831b366cd8ad478e01020408102040801d3a74e8cd8713264c982d5ab475eac98f03060c183060c09d274e9c254a94356ad4b577eec19f23468c050a142850a05dba69d2b96fdea15fbe61c2992f5ebc65ca890f1e3c78f0fde7d3bb6bd6b17ffee1dfa35bb671e2d9af4386112244880d1a3468d0bd67ce811f3e7cf8edc7933b76ecc5973366cc85172e5cb86ddaa94f9e214284152a54a84d9a2952a455aa49923972e4d5b773e6d1bf63c6913f7efce5d7b37bf6f1ffe3dbab4b963162c495376edca557ae4182193264c88d070e1c3870e0dda753a651a259b279f2f9efc39b2b56ac458a09122448903d7af4f5f7f3fbebcb8b0b162c58b07dfae9cf831b366cd8ad478e";
    bytes private constant GF_LOG = hex"0000011902321ac603df33ee1b68c74b0464e00e348def811cc169f8c8084c71058a652fe1240f2135938edaf01282451db5c27d6a27f9b9c99a09784de472a606bf8b6266dd30fde29825b31091228836d094ce8f96dbbdf1d2135c833846401e42b6a3c3487e6e6b3a2854fa85ba3dca5e9b9f0a15792b4ed4e5ac73f3a7570770c0f78c80630d674adeed31c5fe18e3a5997726b8b47c114492d92320892e373fd15b95bccfcd908797b2dcfcbe61f256d3ab142a5d9e843c3953476d41a21f2d43d8b77ba476c41749ec7f0c6ff66ca13b52299d55aafb6086b1bbcc3e5acb595fb09ca9a0510bf516eb7a752cd74faed5e9e6e7ade874d6f4eaa85058af";

    event SignerRegistered(address indexed account, bytes32 vrfKey, uint256 stake, string url);
    event ProofPublished(address indexed account, uint256 indexed epoch, bytes proof);
    event EpochSeed(uint256 indexed epoch, bytes32 seed);
    event Certified(bytes32 indexed dataRoot, uint256 indexed epoch, uint64 length, bytes32 quorum, uint16 slotsSigned);
    event SampleSeed(uint256 indexed period, bytes32 seed);
    event SampleAnswered(bytes32 indexed dataRoot, uint256 indexed period, address indexed account, uint256 row, uint256 col, uint256 reward);
    event Withdrawn(address indexed account, uint256 amount);
    event Voided(bytes32 indexed dataRoot, address indexed prover, uint8 axis, uint8 index, uint8 kind);

    uint256 public immutable epochBlocks;
    uint256 public immutable firstBlock;
    uint256 public immutable stakeUnit;
    uint256 public immutable minStake;
    uint256 public immutable slots;
    uint256 public immutable samplePeriod; // blocks
    uint256 public immutable sampleWindow; // periods a certified blob is sampled
    uint256 public immutable feePerKiB; // wei per KiB of blob, rounded up

    uint256 public rewardPool;
    mapping(address => uint256) public earned;

    mapping(address => Signer) private signerOf;
    address[] private accounts;
    mapping(uint256 => bytes32) private seeds;
    mapping(uint256 => mapping(address => bytes)) private proofs;
    mapping(bytes32 => Certificate) private certs;
    mapping(bytes32 => mapping(address => uint256)) private rankOf; // rank + 1 of a signer
    mapping(uint256 => bytes32) private sampleSeeds;
    mapping(bytes32 => mapping(uint256 => mapping(address => bool))) private answered;

    constructor(
        uint256 epochBlocks_,
        uint256 stakeUnit_,
        uint256 minStake_,
        uint256 slots_,
        uint256 samplePeriod_,
        uint256 sampleWindow_,
        uint256 feePerKiB_
    ) {
        require(epochBlocks_ >= 1, "DA: epochBlocks must be at least 1");
        require(stakeUnit_ >= 1, "DA: stakeUnit must be at least 1");
        require(slots_ >= 1 && slots_ <= MAX_SLOTS, "DA: slots must be 1 to 64");
        require(samplePeriod_ >= 1 && sampleWindow_ >= 1, "DA: samplePeriod and sampleWindow must be at least 1");
        epochBlocks = epochBlocks_;
        firstBlock = block.number;
        stakeUnit = stakeUnit_;
        minStake = minStake_ > stakeUnit_ ? minStake_ : stakeUnit_;
        slots = slots_;
        samplePeriod = samplePeriod_;
        sampleWindow = sampleWindow_;
        feePerKiB = feePerKiB_;
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
        s = seedAt(firstBlock + e * epochBlocks, e);
        seeds[e] = s;
        emit EpochSeed(e, s);
        return s;
    }

    /// The hash of block start, or keccak256(n, previous block's hash) when it has none yet
    /// or is out of blockhash's reach.
    function seedAt(uint256 start, uint256 n) private view returns (bytes32) {
        return start < block.number && block.number - start <= 256
            ? blockhash(start)
            : keccak256(abi.encodePacked(n, blockhash(block.number - 1)));
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
    ) external payable returns (uint16 slotsSigned) {
        require(e <= epoch(), "DA: a future epoch");
        require(certs[dataRoot].block == 0, "DA: already certified");
        require(msg.value >= blobFee(length), "DA: the blob fee is blobFee(length)");
        bytes32 quorum = checkQuorum(e, slotAccounts, members);
        uint256 held = countSigned(signDigest(dataRoot, length, e, quorum), slotAccounts, members, ranks, sigs);
        require(3 * held > 2 * slots, "DA: not more than 2/3 of the slots signed");
        slotsSigned = uint16(held);
        markSigners(dataRoot, slotAccounts, ranks);
        rewardPool += msg.value;
        Certificate storage c = certs[dataRoot];
        (c.epoch, c.length, c.quorum, c.slotsSigned, c.block) = (e, length, quorum, slotsSigned, block.number);
        (c.fee, c.members, c.signers) = (msg.value, uint8(members), uint8(ranks.length));
        emit Certified(dataRoot, e, length, quorum, slotsSigned);
    }

    /// Who signed blob dataRoot, and at which rank.
    function markSigners(bytes32 dataRoot, address[] calldata slotAccounts, uint8[] calldata ranks) private {
        for (uint256 i = 0; i < ranks.length; i++) rankOf[dataRoot][slotAccounts[ranks[i]]] = uint256(ranks[i]) + 1;
    }

    /// @notice The fee certify() takes for a blob of length bytes: feePerKiB per KiB,
    /// rounded up (a blob of 0 bytes pays for one).
    function blobFee(uint64 length) public view returns (uint256) {
        uint256 kib = (uint256(length) + 1023) / 1024;
        return feePerKiB * (kib == 0 ? 1 : kib);
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

    // --- sampling rewards (PoDAS) ---------------------------------------------------------

    function period() public view returns (uint256) {
        return (block.number - firstBlock) / samplePeriod;
    }

    /// @notice The seed of the current sampling period, recorded on first use as makeSeed()
    /// records an epoch's.
    function makeSampleSeed() public returns (bytes32) {
        uint256 p = period();
        bytes32 s = sampleSeeds[p];
        if (s != bytes32(0)) return s;
        s = seedAt(firstBlock + p * samplePeriod, p);
        sampleSeeds[p] = s;
        emit SampleSeed(p, s);
        return s;
    }

    function sampleSeedOf(uint256 p) external view returns (bytes32) {
        return sampleSeeds[p];
    }

    /// @notice The blob's geometry (codec/da.h): k, the smallest power of two up to 128
    /// with k²·1984 ≥ length + 4, and the share size s = 32·⌈(length + 4) / (32·k²)⌉.
    function geometry(uint64 length) public pure returns (uint256 k, uint256 s) {
        uint256 n = uint256(length) + 4;
        k = 1;
        while (k * k * 1984 < n) k *= 2;
        s = ((n + k * k * 32 - 1) / (k * k * 32)) * 32;
    }

    /// @notice The share account must answer for blob dataRoot in the current period: due
    /// is false when the blob is not certified, account did not sign it, the period is
    /// outside the blob's sampling window, or the answer is in; reverts when the period's
    /// seed is not recorded yet. The share is drawn from the rows account's slots hold:
    /// x = keccak256("zgfs da sample" 0x00 ‖ seed ‖ dataRoot ‖ account); one of its slots
    /// j = rank + members·(x mod its slots), one row of that slot, r = j mod m + m·((x >> 64)
    /// mod its rows) with m = min(slots, 2k), and the column (x >> 128) mod 2k.
    function challenge(bytes32 dataRoot, address account)
        public
        view
        returns (bool due, uint256 p, uint256 row, uint256 col)
    {
        p = period();
        bytes32 seed = sampleSeeds[p];
        require(seed != bytes32(0), "DA: no sampling seed for this period yet (makeSampleSeed)");
        Certificate storage c = certs[dataRoot];
        uint256 rank = rankOf[dataRoot][account];
        if (c.block == 0 || c.voided || rank == 0 || answered[dataRoot][p][account]) return (false, p, 0, 0);
        uint256 certPeriod = (c.block - firstBlock) / samplePeriod;
        if (p <= certPeriod || p > certPeriod + sampleWindow) return (false, p, 0, 0);
        (uint256 k, ) = geometry(c.length);
        uint256 x = uint256(keccak256(abi.encodePacked("zgfs da sample", bytes1(0), seed, dataRoot, account)));
        uint256 members = c.members;
        uint256 j = rank - 1 + members * (x % ((slots - rank + members) / members));
        uint256 m = 2 * k < slots ? 2 * k : slots;
        uint256 r0 = j % m;
        row = r0 + m * ((x >> 64) % ((2 * k - r0 + m - 1) / m));
        col = (x >> 128) % (2 * k);
        due = true;
    }

    /// @notice Answer this period's challenge for blob dataRoot with the share and its
    /// proof: the row's root, then the share's siblings in the row tree (log2 k + 1 of
    /// them, bottom-up), then the row root's in the data tree (log2 k + 2); earn
    /// fee / (sampleWindow · signers).
    function answerSample(bytes32 dataRoot, bytes calldata share, bytes32[] calldata proof)
        external
        returns (uint256 reward)
    {
        (bool due, uint256 p, uint256 row, uint256 col) = challenge(dataRoot, msg.sender);
        require(due, "DA: no sample due from this account for this blob");
        Certificate storage c = certs[dataRoot];
        uint256 depth = checkShare(c.length, share, proof.length);
        require(fold(keccak256(share), col, proof[1:1 + depth]) == proof[0], "DA: the share is not under the row root");
        require(fold(proof[0], row, proof[1 + depth:]) == dataRoot, "DA: the row root is not under the data root");
        answered[dataRoot][p][msg.sender] = true;
        reward = c.fee / (sampleWindow * c.signers);
        if (reward > rewardPool) reward = rewardPool;
        rewardPool -= reward;
        earned[msg.sender] += reward;
        emit SampleAnswered(dataRoot, p, msg.sender, row, col, reward);
    }

    /// A share of the blob's share size and a proof of the square's depths; the row
    /// tree's depth, log2(2k).
    function checkShare(uint64 length, bytes calldata share, uint256 proofLength) private pure returns (uint256 depth) {
        (uint256 k, uint256 s) = geometry(length);
        require(share.length == s, "DA: a share of the blob's share size");
        depth = 1;
        while ((1 << depth) < 2 * k) depth++;
        require(proofLength == 2 * depth + 2, "DA: a proof of the square's depth");
    }

    /// The root a leaf at index hashes up to with its siblings, bottom-up (0G's tree:
    /// parent = keccak256(left ‖ right)).
    function fold(bytes32 h, uint256 index, bytes32[] calldata path) private pure returns (bytes32) {
        for (uint256 i = 0; i < path.length; i++) {
            h = (index >> i) & 1 == 0
                ? keccak256(abi.encodePacked(h, path[i]))
                : keccak256(abi.encodePacked(path[i], h));
        }
        return h;
    }

    /// @notice Pay the sender what its sampling answers earned.
    function withdraw() external {
        uint256 a = earned[msg.sender];
        require(a > 0, "DA: nothing earned");
        earned[msg.sender] = 0;
        (bool sent, ) = payable(msg.sender).call{value: a}("");
        require(sent, "DA: the transfer failed");
        emit Withdrawn(msg.sender, a);
    }

    // --- bad-encoding proofs ---------------------------------------------------------------

    /// @notice Void blob dataRoot's certificate with a bad-encoding proof of one of its
    /// lines (codec_da_befp_build): refused unless every member's share proof holds under
    /// dataRoot and the members break the code at the byte named (CODEWORD) or hash to
    /// another root than the committed line root (ROOT).
    function voidCertificate(bytes32 dataRoot, bytes calldata proof) external {
        Certificate storage c = certs[dataRoot];
        require(c.block != 0, "DA: no certificate for this blob");
        require(!c.voided, "DA: already voided");
        Befp memory h = befpHeader(c.length, proof);
        require(
            foldBytes(bytes32(proof[10:42]), h.axis == 0 ? h.index : 2 * h.k + h.index, proof[42:42 + 32 * (h.l2 + 2)]) ==
                dataRoot,
            "DA: the line root is not under the data root"
        );
        bytes32[] memory leaves = new bytes32[](h.members);
        for (uint256 m = 0; m < h.members; m++) leaves[m] = befpMember(dataRoot, h, proof, m);
        if (h.kind == 0) require(breaksCode(h, proof), "DA: the line is correctly encoded");
        else require(rootOf(leaves) != bytes32(proof[10:42]), "DA: the line is correctly encoded");
        c.voided = true;
        emit Voided(dataRoot, msg.sender, uint8(h.axis), uint8(h.index), uint8(h.kind));
    }

    function befpHeader(uint64 length, bytes calldata proof) private pure returns (Befp memory h) {
        (h.k, h.s) = geometry(length);
        while ((1 << h.l2) < h.k) h.l2++;
        require(proof.length >= 10 && uint8(proof[0]) == h.l2, "DA: a bad-encoding proof for another square");
        h.axis = uint8(proof[1]);
        h.index = uint8(proof[2]);
        h.kind = uint8(proof[3]);
        h.j = uint8(proof[6]);
        h.b = uint256(uint8(proof[7])) | (uint256(uint8(proof[8])) << 8);
        h.psize = 4 + 32 * (2 * h.l2 + 5);
        h.bsize = h.kind == 0 ? h.s : 32;
        h.members = h.kind == 0 ? h.k + 1 : 2 * h.k;
        require(
            h.axis <= 1 && h.index < 2 * h.k && h.kind <= 1 && proof[9] == 0 &&
                (uint256(uint8(proof[4])) | (uint256(uint8(proof[5])) << 8)) == h.s &&
                (h.kind == 0 ? h.j >= h.k && h.j < 2 * h.k && h.b < h.s : h.j == 0 && h.b == 0) &&
                proof.length == 10 + 32 * (h.l2 + 3) + h.members * (h.psize + h.bsize),
            "DA: a malformed bad-encoding proof"
        );
    }

    /// Member m's share proof through the other axis, checked at the position its kind
    /// names; its leaf.
    function befpMember(bytes32 dataRoot, Befp memory h, bytes calldata proof, uint256 m) private pure returns (bytes32) {
        bytes calldata mp = proof[10 + 32 * (h.l2 + 3) + m * (h.psize + h.bsize):][:h.psize + h.bsize];
        uint256 place = memberPlace(h, mp, h.kind == 0 && m == h.k ? h.j : m, dataRoot);
        return memberProves(h, mp, place, dataRoot);
    }

    /// That member proof mp is through the other axis at position pos of the bad line:
    /// its line's leaf in the data tree (<< 8) and the member's position in its line.
    function memberPlace(Befp memory h, bytes calldata mp, uint256 pos, bytes32 dataRoot) private pure returns (uint256) {
        uint256 r = uint8(mp[2]);
        uint256 c = uint8(mp[3]);
        require(
            uint8(mp[0]) == h.l2 && uint8(mp[1]) == 1 - h.axis &&
                (h.axis == 0 ? r == h.index && c == pos : c == h.index && r == pos) &&
                bytes32(mp[h.psize - 32:h.psize]) == dataRoot,
            "DA: a bad-encoding proof member off its line"
        );
        // a bad row's members are proved through their columns (data leaf 2k + c), at row r
        return h.axis == 0 ? ((2 * h.k + c) << 8) | r : (r << 8) | c;
    }

    /// codec_da_proof_verify's two trees: the member's leaf to its line root, that to
    /// dataRoot. Its leaf: keccak256 of its share, or the leaf itself (ROOT).
    function memberProves(Befp memory h, bytes calldata mp, uint256 place, bytes32 dataRoot) private pure returns (bytes32 leaf) {
        leaf = h.kind == 0 ? keccak256(mp[h.psize:]) : bytes32(mp[h.psize:]);
        require(
            foldBytes(bytes32(mp[4:36]), place >> 8, mp[36 + 32 * (h.l2 + 1):h.psize - 32]) == dataRoot &&
                foldBytes(leaf, place & 0xff, mp[36:36 + 32 * (h.l2 + 1)]) == bytes32(mp[4:36]),
            "DA: a bad-encoding proof member does not prove"
        );
    }

    /// Whether the parity member's byte b differs from the code's: the sum over the data
    /// members d of 1/(j + d) · byte_d in GF(2^8).
    function breaksCode(Befp memory h, bytes calldata proof) private pure returns (bool) {
        bytes memory gexp = GF_EXP;
        bytes memory glog = GF_LOG;
        uint256 acc = 0;
        uint256 base = 10 + 32 * (h.l2 + 3) + h.psize + h.b;
        for (uint256 d = 0; d < h.k; d++) {
            uint256 x = uint8(proof[base + d * (h.psize + h.s)]);
            if (x == 0) continue;
            // 1/(j ^ d) · x = exp(log x − log(j ^ d) mod 255)
            acc ^= uint8(gexp[uint256(uint8(glog[x])) + 255 - uint256(uint8(glog[h.j ^ d]))]);
        }
        return acc != uint8(proof[base + h.k * (h.psize + h.s)]);
    }

    /// The root over a power-of-two number of leaves (0G's tree).
    function rootOf(bytes32[] memory a) private pure returns (bytes32) {
        for (uint256 n = a.length; n > 1; n /= 2)
            for (uint256 i = 0; i < n / 2; i++) a[i] = keccak256(abi.encodePacked(a[2 * i], a[2 * i + 1]));
        return a[0];
    }

    /// fold() with the siblings as 32-byte words of a byte string.
    function foldBytes(bytes32 h, uint256 index, bytes calldata sib) private pure returns (bytes32) {
        for (uint256 i = 0; i < sib.length / 32; i++) {
            bytes32 w = bytes32(sib[32 * i:32 * i + 32]);
            h = (index >> i) & 1 == 0 ? keccak256(abi.encodePacked(h, w)) : keccak256(abi.encodePacked(w, h));
        }
        return h;
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
