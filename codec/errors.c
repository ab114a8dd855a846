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
	default:
		if (err < CODEC_EFIRST)
			return strerror(err);
		return "unknown codec error";
	}
}
