#include <string.h>

#include "chain/chain.h"
#include "codec/errors.h"

const char *chain_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case CHAIN_EINVALID_SUBMISSION:
		return "submission breaks a Flow validity rule";
	case CHAIN_EFUNDS:
		return "account balance cannot pay the fee";
	case CHAIN_ETAMPERED:
		return "ledger does not verify: a block or the stored state was altered";
	case CHAIN_EREVERTED:
		return "transaction reverted";
	case CHAIN_ENOKEY:
		return "no signing key: set ZGFS_KEY (hex) or pass --key FILE";
	case CHAIN_EDIVERGED:
		return "the chain's Submit events break the Flow rules as this node applies them";
	case CHAIN_EPORA_OFF:
		return "PoRA answer refused: this chain has no mining parameters";
	case CHAIN_EPORA_MINER:
		return "PoRA answer refused: miner id not registered";
	case CHAIN_EPORA_WINDOW:
		return "PoRA answer refused: outside the subtask's block window";
	case CHAIN_EPORA_CONTEXT:
		return "PoRA answer refused: not the current epoch's context (stale)";
	case CHAIN_EPORA_RANGE:
		return "PoRA answer refused: invalid recall range or shard";
	case CHAIN_EPORA_SEAL_CONTEXT:
		return "PoRA answer refused: the seal context's epoch does not cover the recall position";
	case CHAIN_EPORA_MERKLE:
		return "PoRA answer refused: the unsealed data does not prove into the flow root";
	case CHAIN_EPORA_RECALL:
		return "PoRA answer refused: recall position or seal offset is not the nonce's";
	case CHAIN_EPORA_QUALITY:
		return "PoRA answer refused: quality misses the target";
	case CHAIN_EPORA_REPEAT:
		return "PoRA answer refused: this answer was already accepted";
	case CHAIN_EPORA_CAP:
		return "PoRA answer refused: the epoch has its maximum of answers";
	case CHAIN_ECLUSTER:
		return "the embedded ledger is one machine; a cluster needs an EVM chain (zgfs "
		       "chain deploy --rpc URL)";
	case CHAIN_EDA_EPOCH:
		return "DA certificate for another epoch than the quorum's";
	case CHAIN_EDA_QUORUM:
		return "DA certificate names another quorum than the epoch's";
	case CHAIN_EDA_MEMBER:
		return "DA certificate signer is not a member of the quorum";
	case CHAIN_EDA_SIGNATURE:
		return "DA certificate signature is not its member's";
	case CHAIN_EDA_THRESHOLD:
		return "DA certificate holds no more than 2/3 of the quorum's slots";
	case CHAIN_EDA_VOIDED:
		return "DA certificate voided by a bad-encoding proof: the blob is not available";
	default:
		/* Chain functions pass codec errors through (hashing, proofs). */
		if (err >= CODEC_EFIRST && err < CHAIN_EFIRST)
			return codec_strerror(-err);
		if (err < CODEC_EFIRST)
			return strerror(err);
		return "unknown chain error";
	}
}
