// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Market: the storage fee and the reward pools of the flow.
/// @notice Pool i collects the fees for flow sectors [i·2^25, (i+1)·2^25), one 8 GiB
/// pricing segment. The Flow charges every entry here as it is placed: each pool the
/// entry's sectors fall in gets price × its sectors, and any value paid beyond the fee goes
/// to the pool of the entry's first sector. A pool is full once the flow length reaches
/// its end. The same rules as chain/market.c, except that gap sectors are not charged.
/// Mining rewards (docs/PORA.md): a full pool releases its fees linearly over
/// POOL_LIFETIME from the time it turned full; each accepted answer claims half of what its
/// pool released and nobody claimed yet, plus the base reward from the donations.
/// docs/CONTRACTS.md describes the whole interface.
contract Market {
    /// Sectors per pricing segment (8 GiB of 256-byte sectors).
    uint256 private constant SEGMENT_SECTORS = 1 << 25;
    /// Seconds over which a full pool releases its fees (CHAIN_LOCAL_POOL_LIFETIME).
    uint256 public constant POOL_LIFETIME = 365 days;

    /// A caller other than the flow called chargeFee.
    error OnlyFlow();
    /// The value sent does not cover price × amount sectors (the Flow's error, same shape).
    error NotEnoughFee(uint256 price, uint256 amount, uint256 paid);
    /// A caller other than the Mine contract claimed a reward.
    error OnlyMine();
    /// setMine() by someone other than the deployer, or a second time.
    error MineAlreadySet();
    /// setDA() by someone other than the deployer, or a second time.
    error DAAlreadySet();
    /// The beneficiary did not accept the reward's transfer.
    error TransferFailed();

    event DistributeReward(uint256 indexed pricingIndex, address indexed beneficiary, bytes32 indexed minerId,
                           uint256 amount);

    uint256 public immutable pricePerSector;
    address public immutable flow;
    address private immutable admin; // who deployed the Flow: may name the Mine, once
    /// The Mine contract that may claim rewards (zero until setMine).
    address public mine;
    /// The DA contract of this flow (zero until setDA): how another host finds it.
    address public da;
    /// Paid from the donations with every accepted answer, while they last.
    uint256 public baseReward;
    mapping(uint256 => uint256) private claimedOf;

    /// Value given with donate() or sent plainly; pays base rewards once mining exists.
    uint256 public donations;

    // Pools are kept lazily so that one entry costs O(1) storage writes however many
    // segments it spans (an entry may cover up to 2^17 of them):
    //  - `balanceOf[i]` holds what entries starting or ending in pool i paid it;
    //  - a pool strictly inside one entry is wholly paid by that entry and touched by no
    //    other, so it is not written: `spans` lists those runs, in flow order;
    //  - pools turn full in runs, one run per chargeFee that moved the flow past segment
    //    ends: `fills` lists the first pool of each run and the time it turned full.
    // The views binary-search both lists.
    struct Span {
        uint64 first; // first pool wholly inside one entry
        uint64 last; //  last such pool (inclusive)
    }

    struct Fill {
        uint64 firstPool; // pools [firstPool, next record's firstPool) turned full ...
        uint64 timestamp; // ... in the block with this timestamp
    }

    mapping(uint256 => uint256) private balanceOf;
    Span[] private spans;
    Fill[] private fills;
    // ceil(flowLength / 2^25) and floor(flowLength / 2^25) as last reported: pools the flow
    // touches, and pools that are full. One slot, rewritten only when a segment is crossed.
    uint64 private touchedPools;
    uint64 private fullPools;

    constructor(uint256 pricePerSector_, address flow_, address admin_) {
        pricePerSector = pricePerSector_;
        flow = flow_;
        admin = admin_;
    }

    /// @notice Name the Mine contract and the base reward, once, by the Flow's deployer.
    function setMine(address mine_, uint256 baseReward_) external {
        if (msg.sender != admin || mine != address(0) || mine_ == address(0)) revert MineAlreadySet();
        mine = mine_;
        baseReward = baseReward_;
    }

    /// @notice Name the DA contract, once, by the Flow's deployer.
    function setDA(address da_) external {
        if (msg.sender != admin || da != address(0) || da_ == address(0)) revert DAAlreadySet();
        da = da_;
    }

    /// @notice Pay an accepted answer that hit pool `pricingIndex`: half of what the pool
    /// released and nobody claimed, plus the base reward while the donations last, to
    /// beneficiary. Only the Mine may call. Returns the amount paid.
    function claimMineReward(uint256 pricingIndex, address payable beneficiary, bytes32 minerId)
        external
        returns (uint256 amount)
    {
        if (msg.sender != mine) revert OnlyMine();
        (uint256 balance, , , uint256 claimed, uint256 released) = pools(pricingIndex);
        uint256 fromPool = released > claimed ? (released - claimed) / 2 : 0;
        if (fromPool > balance) fromPool = balance;
        uint256 base = baseReward < donations ? baseReward : donations;
        claimedOf[pricingIndex] = claimed + fromPool;
        donations -= base;
        amount = fromPool + base;
        if (amount > 0) {
            (bool ok, ) = beneficiary.call{value: amount}("");
            if (!ok) revert TransferFailed();
        }
        emit DistributeReward(pricingIndex, beneficiary, minerId, amount);
    }

    receive() external payable {
        donations += msg.value;
    }

    function donate() external payable {
        donations += msg.value;
    }

    /// @notice Pay for flow sectors [start, start + sectors), after which the flow is
    /// flowLength sectors long. Only the flow may call. msg.value must be at least
    /// sectors × pricePerSector; the excess goes to the pool of sector `start`.
    function chargeFee(uint256 start, uint256 sectors, uint256 flowLength) external payable {
        if (msg.sender != flow) revert OnlyFlow();
        uint256 price = pricePerSector;
        uint256 fee = sectors * price;
        if (msg.value < fee) revert NotEnoughFee(price, sectors, msg.value);
        uint256 excess = msg.value - fee;

        uint256 a = start / SEGMENT_SECTORS;
        uint256 b = sectors == 0 ? a : (start + sectors - 1) / SEGMENT_SECTORS;
        if (a == b) {
            balanceOf[a] += msg.value;
        } else {
            // Split by sector counts: exact, as the fee itself is sectors × price.
            balanceOf[a] += ((a + 1) * SEGMENT_SECTORS - start) * price + excess;
            balanceOf[b] += (start + sectors - b * SEGMENT_SECTORS) * price;
            if (b - a >= 2) spans.push(Span(uint64(a + 1), uint64(b - 1)));
        }

        uint256 touched = (flowLength + SEGMENT_SECTORS - 1) / SEGMENT_SECTORS;
        uint256 full = flowLength / SEGMENT_SECTORS;
        uint256 wasFull = fullPools;
        if (full > wasFull) {
            fills.push(Fill(uint64(wasFull), uint64(block.timestamp)));
            fullPools = uint64(full);
        }
        if (touched > touchedPools) touchedPools = uint64(touched);
    }

    /// @notice Pool `index`: what it holds, since when it is full (0 and false while the
    /// flow has not reached its end), what miners claimed from it, and what it has
    /// released so far: (held + claimed) × min(elapsed, POOL_LIFETIME) / POOL_LIFETIME.
    /// Pools past poolCount() read as empty.
    function pools(uint256 index)
        public
        view
        returns (uint256 balance, uint256 fullSince, bool full, uint256 claimed, uint256 released)
    {
        uint256 total = balanceOf[index];
        if (insideSpan(index)) total += SEGMENT_SECTORS * pricePerSector;
        claimed = claimedOf[index];
        balance = total - claimed;
        full = index < fullPools;
        if (full) {
            fullSince = fills[lastAtOrBelow(index)].timestamp;
            uint256 elapsed = block.timestamp > fullSince ? block.timestamp - fullSince : 0;
            released = elapsed >= POOL_LIFETIME ? total : (total * elapsed) / POOL_LIFETIME;
        }
    }

    /// @notice Pools the flow has reached: ceil(flow length / 2^25) as last reported.
    function poolCount() external view returns (uint256) {
        return touchedPools;
    }

    // True when pool i lies strictly inside one entry: the last span starting at or before
    // i reaches it.
    function insideSpan(uint256 i) private view returns (bool) {
        uint256 lo = 0;
        uint256 hi = spans.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (spans[mid].first <= i) lo = mid + 1;
            else hi = mid;
        }
        return lo > 0 && spans[lo - 1].last >= i;
    }

    // The fill record covering full pool i: the last one whose first pool is ≤ i. fills[0]
    // starts at pool 0, so one exists for every full pool.
    function lastAtOrBelow(uint256 i) private view returns (uint256) {
        uint256 lo = 0;
        uint256 hi = fills.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (fills[mid].firstPool <= i) lo = mid + 1;
            else hi = mid;
        }
        return lo - 1;
    }
}
