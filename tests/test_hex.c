/* Hex encoding and strict decoding. */
#include <string.h>

#include "codec/errors.h"
#include "codec/hex.h"
#include "tests/tap.h"

int main(void)
{
	uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
	char text[16];

	codec_hex_encode(in, 4, text);
	ok(strcmp(text, "0x00ab7fff") == 0, "encodes with 0x and lowercase");
	ok(codec_hex_decode("0x00AB7fff", out, 4) == 0 && memcmp(in, out, 4) == 0,
	   "decodes mixed case with prefix");
	ok(codec_hex_decode("00ab7fff", out, 4) == 0, "decodes without prefix");
	memset(out, 0x55, 4);
	ok(codec_hex_decode("0x00ab7ff", out, 4) == -CODEC_EFORMAT, "odd length refused");
	ok(codec_hex_decode("0x00ab7fffff", out, 4) == -CODEC_EFORMAT, "too long refused");
	ok(codec_hex_decode("0x00ag7fff", out, 4) == -CODEC_EFORMAT, "non-hex digit refused");
	ok(codec_hex_decode("", out, 4) == -CODEC_EFORMAT, "empty refused");
	ok(out[0] == 0x55 && out[3] == 0x55, "nothing written on failure");
	ok(codec_hex_decode("0x", out, 0) == 0, "zero bytes from a bare prefix");
	return tap_done();
}
