/*
 * contracts_i.h - the creation bytecode of the Flow and Market contracts
 * (chain/contracts/Flow.sol, Market.sol), compiled into the chain library by the build.
 * Internal to chain/; constant data, safe from any thread.
 *
 * Each array is the contract's creation code as lowercase hex digits, without "0x",
 * NUL-terminated. To deploy, append the ABI-encoded constructor arguments:
 *   Flow:   (uint256 pricePerSector)  - one transaction; it deploys its Market itself,
 *                                        and Flow.market() returns its address;
 *   Market: (uint256 pricePerSector, address flow) - only needed to deploy one alone.
 * The contracts apply the rules of flow.c and market.c (docs/CONTRACTS.md says where they
 * differ: gap sectors are not charged).
 *
 * The generator is chain/contracts/compile.js (solc-js from tests/compat/node_modules,
 * optimizer on, 200 runs, EVM cancun). A build without node or solc still defines the
 * three arrays, as empty strings: callers must check chain_evm_flow_bytecode[0] != '\0'
 * and otherwise report "this build has no contract bytecode; run ./setup.sh".
 */
#ifndef CHAIN_CONTRACTS_I_H
#define CHAIN_CONTRACTS_I_H

extern const char chain_evm_flow_bytecode[];   /* Flow creation code, hex; "" if absent */
extern const char chain_evm_market_bytecode[]; /* Market creation code, hex; "" if absent */
extern const char chain_evm_solc_version[];    /* e.g. "0.8.37+commit.f401782d..."; "" */

#endif
