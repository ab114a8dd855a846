#include <string.h>

#include "codec/errors.h"

const char *codec_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case CODEC_EPROOF_LENGTH:
		return "merkle proof has the wrong length for its tree";
	case CODEC_EPROOF_LEAF:
		return "merkle proof is for another leaf";
	case CODEC_EPROOF_ROOT:
		return "merkle proof ends at another root";
	case CODEC_EPROOF_POSITION:
		return "merkle proof is for another position";
	case CODEC_EPROOF_HASH:
		return "merkle proof does not hash to its root";
	case CODEC_EFORMAT:
		return "malformed encoding";
	case CODEC_EDA_SHARE:
		return "share is not under the row or column root of its proof";
	case CODEC_EDA_LINE_ROOT:
		return "row or column root is not under the data root";
	case CODEC_EDA_DATA_ROOT:
		return "data availability proof or square is for another data root";
	case CODEC_EDA_UNRECOVERABLE:
		return "too few shares to rebuild the square";
	case CODEC_EDA_LENGTH:
		return "square's length field does not fit the square";
	case CODEC_EDA_GOOD_LINE:
		return "bad-encoding proof names a correctly encoded line";
	case CODEC_EVRF_KEY:
		return "VRF public key is invalid";
	case CODEC_EVRF_PROOF:
		return "VRF proof does not verify";
	case CODEC_EDA_CODEWORD:
		return "DA row or column is not a codeword of the code";
	default:
		if (err < CODEC_EFIRST)
			return strerror(err);
		return "unknown codec error";
	}
}
