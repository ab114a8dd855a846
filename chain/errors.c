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
	default:
		/* Chain functions pass codec errors through (hashing, proofs). */
		if (err >= CODEC_EFIRST && err < CHAIN_EFIRST)
			return codec_strerror(-err);
		if (err < CODEC_EFIRST)
			return strerror(err);
		return "unknown chain error";
	}
}
