/*
 * hex.h - hex encoding of byte strings, as 0G and Ethereum write them ("0x" + lowercase).
 */
#ifndef CODEC_HEX_H
#define CODEC_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes "0x" followed by 2*len lowercase hex digits and a NUL to out, which must hold
 * 2*len + 3 bytes. */
void codec_hex_encode(const uint8_t *data, size_t len, char *out);

/*
 * codec_hex_decode() - decode exactly len bytes from text, with or without a "0x" prefix.
 * Returns 0, or -CODEC_EFORMAT when text is not exactly 2*len hex digits. ret_data is
 * written only on success.
 */
__attribute__((warn_unused_result)) int codec_hex_decode(const char *text, uint8_t *ret_data,
							  size_t len);

#endif
