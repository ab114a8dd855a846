// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Registry: the cluster's storage nodes and its redundancy policy.
/// @notice Each entry is one storage node: its id (the address that registered it), its
/// public URL and its shard (shardId of numShard, the 0G rule: flow segment s is held by
/// the node with s mod numShard == shardId; numShard a power of two). The policy is fixed
/// by the deployer in the constructor: ecK data segments get ecM Reed–Solomon parity
/// segments per stripe, or 0/0 for none (0G's own replication by shard).
///
/// Access rule. An address holds at most one entry. register(url, shardId, numShard, 0)
/// by an address with an entry replaces that entry (URL, shard and block); by a new
/// address it appends one. register(..., replaces = X) by an address without an entry
/// takes over X's entry in place, if X's entry has the same shardId and numShard: the node
/// replacing a lost one, with a new key. Anyone may do so. The registry says where data
/// should be, not whether it is right: every segment is verified against its entry's
/// Merkle root on chain, so a bad entry can cost availability but never integrity, and
/// a node that was taken over sees the NodeRegistered event and can register again.
/// docs/CONTRACTS.md describes the interface.
contract Registry {
    // Bounds, the same as chain/chain.h.
    uint256 public constant MAX_URL = 256; //       CHAIN_REGISTRY_URL_MAX
    uint256 public constant MAX_NODES = 1024; //    CHAIN_REGISTRY_NODES_MAX
    // ISA-L's GF(2^8) Cauchy matrices have at most 256 rows: K + M ≤ 256.
    uint256 public constant MAX_EC_SYMBOLS = 256;

    struct Node {
        address id;
        string url;
        uint64 shardId;
        uint64 numShard;
        uint256 registered; // block of the last register() that wrote this entry
    }

    /// @notice An entry was written at `index`: appended, replaced by its own id, or taken
    /// over from `replaced` (zero unless it was a takeover).
    event NodeRegistered(
        address indexed id,
        address indexed replaced,
        uint256 index,
        string url,
        uint64 shardId,
        uint64 numShard
    );

    uint16 private immutable k;
    uint16 private immutable m;
    address public immutable deployer;

    Node[] private entries;
    mapping(address => uint256) private slot; // id => index + 1; 0: not registered

    constructor(uint16 ecK, uint16 ecM) {
        if (ecK != 0 || ecM != 0) {
            require(ecK >= 1, "Registry: ecK must be at least 1");
            require(ecM >= 1, "Registry: ecM must be at least 1");
            require(uint256(ecK) + ecM <= MAX_EC_SYMBOLS, "Registry: ecK + ecM exceeds 256");
        }
        k = ecK;
        m = ecM;
        deployer = msg.sender;
    }

    /// @notice Register msg.sender as a node (see the access rule above). Reverts with a
    /// reason when the URL is empty or longer than MAX_URL bytes, numShard is not a power
    /// of two, shardId ≥ numShard, the registry is full, or a takeover is not allowed.
    /// @return index where the entry is
    function register(string calldata url, uint64 shardId, uint64 numShard, address replaces)
        external
        returns (uint256 index)
    {
        bytes calldata u = bytes(url);
        require(u.length != 0, "Registry: url is empty");
        require(u.length <= MAX_URL, "Registry: url longer than 256 bytes");
        require(numShard != 0 && (numShard & (numShard - 1)) == 0, "Registry: numShard is not a power of two");
        require(shardId < numShard, "Registry: shardId must be below numShard");

        uint256 own = slot[msg.sender];
        address replaced = address(0);
        if (replaces != address(0) && replaces != msg.sender) {
            require(own == 0, "Registry: sender is registered; re-register without replaces");
            uint256 theirs = slot[replaces];
            require(theirs != 0, "Registry: replaced node is not registered");
            Node storage old = entries[theirs - 1];
            require(old.shardId == shardId && old.numShard == numShard, "Registry: replaced node has another shard");
            delete slot[replaces];
            slot[msg.sender] = theirs;
            own = theirs;
            replaced = replaces;
        } else if (own == 0) {
            require(entries.length < MAX_NODES, "Registry: full");
            entries.push();
            own = entries.length;
            slot[msg.sender] = own;
        }
        index = own - 1;
        entries[index] = Node(msg.sender, url, shardId, numShard, block.number);
        emit NodeRegistered(msg.sender, replaced, index, url, shardId, numShard);
    }

    /// @notice The redundancy policy: ecK data + ecM parity segments per stripe; 0/0: none.
    function policy() external view returns (uint16 ecK, uint16 ecM) {
        return (k, m);
    }

    function nodeCount() external view returns (uint256) {
        return entries.length;
    }

    /// @notice Entry i (0 ≤ i < nodeCount()); reverts "Registry: no such node" past the end.
    function node(uint256 i)
        external
        view
        returns (address id, string memory url, uint64 shardId, uint64 numShard, uint256 registered)
    {
        require(i < entries.length, "Registry: no such node");
        Node storage n = entries[i];
        return (n.id, n.url, n.shardId, n.numShard, n.registered);
    }

    /// @notice Every entry, in index order (at most MAX_NODES).
    function nodes() external view returns (Node[] memory) {
        return entries;
    }

    /// @notice The index of id's entry, or reverts "Registry: not registered".
    function indexOf(address id) external view returns (uint256) {
        uint256 s = slot[id];
        require(s != 0, "Registry: not registered");
        return s - 1;
    }
}
