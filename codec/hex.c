#include <string.h>

#include "codec/errors.h"
#include "codec/hex.h"

void codec_hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[data[i] >> 4];
		*out++ = digits[data[i] & 15];
	}
	*out = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int codec_hex_decode(const char *text, uint8_t *ret_data, size_t len)
{
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text += 2;
	if (strlen(text) != 2 * len)
		return -CODEC_EFORMAT;
	for (size_t i = 0; i < 2 * len; i++)
		if (nibble(text[i]) < 0)
			return -CODEC_EFORMAT;
	for (size_t i = 0; i < len; i++)
		ret_data[i] = (uint8_t)(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
	return 0;
}
