/*
 * contracts_i.h - the creation bytecode of the Flow, Market, Registry and Mine contracts
 * (chain/contracts/Flow.sol, Market.sol, Registry.sol, Mine.sol), compiled into the chain library
 * by the build. Internal to chain/; constant data, safe from any thread.
 *
 * Each array is the contract's creation code as lowercase hex digits, without "0x",
 * NUL-terminated. To deploy, append the ABI-encoded constructor arguments:
 *   Registry: (uint16 ecK, uint16 ecM) - first: the cluster's nodes and policy;
 *   Flow:   (uint256 pricePerSector, address registry, uint256 blocksPerEpoch) - it
 *           deploys its Market itself; Flow.market() and Flow.registry() return them;
 *   Market: (uint256 pricePerSector, address flow, address admin) - only needed alone;
 *   Mine:   (address flow, uint256 difficulty, uint256 targetSubmissions) - after the
 *           Flow; then Market.setMine(mine, baseReward) from the Flow's deployer.
 * The contracts apply the rules of flow.c and market.c (docs/CONTRACTS.md says where they
 * differ: gap sectors are not charged).
 *
 * The generator is chain/contracts/compile.js (solc-js from tests/compat/node_modules,
 * optimizer on, 200 runs, EVM cancun). A build without node or solc still defines the
 * arrays, as empty strings: callers must check chain_evm_flow_bytecode[0] != '\0'
 * and otherwise report "this build has no contract bytecode; run ./setup.sh".
 */
#ifndef CHAIN_CONTRACTS_I_H
#define CHAIN_CONTRACTS_I_H

extern const char chain_evm_flow_bytecode[];   /* Flow creation code, hex; "" if absent */
extern const char chain_evm_market_bytecode[]; /* Market creation code, hex; "" if absent */
extern const char chain_evm_registry_bytecode[]; /* Registry creation code, hex; "" */
extern const char chain_evm_mine_bytecode[];	 /* Mine creation code, hex; "" if absent */
/* DA creation code, hex; "" if absent. Constructor (uint256 epochBlocks, uint256 stakeUnit,
 * uint256 minStake, uint256 slots); not yet deployed by zgfs chain deploy (docs/DA.md). */
extern const char chain_evm_da_bytecode[];
extern const char chain_evm_solc_version[];    /* e.g. "0.8.37+commit.f401782d..."; "" */

#endif
