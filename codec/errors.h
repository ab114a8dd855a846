/*
 * errors.h - the codec layer's error numbers.
 *
 * Functions return 0 or a negative number: -errno for conditions errno names (EINVAL, E2BIG,
 * ENOMEM), or -CODEC_E* for conditions it does not, such as which part of a Merkle proof is
 * wrong. Codes are only ever appended, never renumbered.
 */
#ifndef CODEC_ERRORS_H
#define CODEC_ERRORS_H

enum codec_error {
	CODEC_EFIRST = 4096,	 /* above every errno value */
	CODEC_EPROOF_LENGTH,	 /* lemma and path lengths disagree, or depth is not the tree's */
	CODEC_EPROOF_LEAF,	 /* lemma[0] is not the hash of the claimed leaf */
	CODEC_EPROOF_ROOT,	 /* the last lemma entry is not the expected root */
	CODEC_EPROOF_POSITION,	 /* the path leads to another leaf index */
	CODEC_EPROOF_HASH,	 /* the siblings do not hash up to the root */
	CODEC_EFORMAT,		 /* malformed encoding: hex, base64, JSON shape */
	CODEC_EDA_SHARE,	 /* a DA share is not under the row or column root of its proof */
	CODEC_EDA_LINE_ROOT,	 /* a DA row or column root is not under the data root */
	CODEC_EDA_DATA_ROOT,	 /* a DA proof or rebuilt square is for another data root */
	CODEC_EDA_UNRECOVERABLE, /* too few DA shares to rebuild the square */
	CODEC_EDA_LENGTH,	 /* a DA square's length field does not fit the square */
	CODEC_EDA_GOOD_LINE,	 /* a bad-encoding proof names a correctly encoded line */
	CODEC_EVRF_KEY,		 /* a VRF public key is not a valid point or is of small order */
	CODEC_EVRF_PROOF,	 /* a VRF proof does not verify for this key and input */
	CODEC_EDA_CODEWORD,	 /* a DA row or column is not a codeword of the code */
	CODEC_ELAST,
};

/* A message for a return code of any codec function (or any -errno). Never NULL. */
const char *codec_strerror(int err);

#endif
