/*
 * evmsign - test helper: sign EIP-1559 transactions with chain/evm_tx.c.
 * usage: evmsign [MAX_RAW_BYTES] < transactions
 * One transaction per input line, fields separated by spaces:
 *   KEY CHAIN_ID NONCE MAX_PRIORITY_FEE MAX_FEE GAS TO VALUE DATA
 * KEY is the secret in hex; the integers are decimal; TO is 20 bytes in hex, or "create";
 * VALUE is 32 bytes in hex (big-endian); DATA is hex, "0x" when empty.
 * For each line, prints "RAW HASH" (both 0x-hex) or "error MESSAGE" when it cannot be
 * signed (the writer is bounded by MAX_RAW_BYTES, 1 MiB by default). Exit 0, or 2 for a
 * malformed line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/evm_tx_i.h"
#include "codec/hex.h"

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Signs the transaction on one line; prints the result. -EINVAL for a malformed line. */
static int sign_line(char *line, size_t max)
{
	char *f[9], *save = NULL;
	struct chain_evm_key key;
	struct chain_evm_tx tx = {0};
	struct chain_wbuf w;
	uint8_t hash[32], *data = NULL;
	char hh[67], *raw = NULL;
	size_t dlen;
	int n = 0, r;

	for (char *t = strtok_r(line, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
		if (n < 9)
			f[n++] = t;
		else
			return -EINVAL;
	if (n != 9)
		return -EINVAL;
	if (parse_u64(f[1], &tx.chain_id) || parse_u64(f[2], &tx.nonce) ||
	    parse_u64(f[3], &tx.max_priority_fee) || parse_u64(f[4], &tx.max_fee) ||
	    parse_u64(f[5], &tx.gas))
		return -EINVAL;
	tx.create = strcmp(f[6], "create") == 0;
	if (!tx.create && codec_hex_decode(f[6], tx.to, 20) < 0)
		return -EINVAL;
	if (codec_hex_decode(f[7], tx.value, 32) < 0)
		return -EINVAL;
	dlen = strlen(f[8]);
	if (dlen < 2 || dlen % 2)
		return -EINVAL;
	dlen = dlen / 2 - 1;
	data = malloc(dlen + 1);
	if (!data || codec_hex_decode(f[8], data, dlen) < 0) {
		free(data);
		return -EINVAL;
	}
	tx.data = data;
	tx.data_len = dlen;

	r = chain_evm_key_from_hex(f[0], &key);
	if (r < 0) {
		printf("error key: %s\n", strerror(-r));
		free(data);
		return 0;
	}
	chain_wbuf_init(&w, max);
	r = chain_evm_tx_sign(&tx, &key, &w, hash);
	chain_evm_key_wipe(&key);
	if (r == 0)
		raw = malloc(2 * w.len + 3);
	if (r == 0 && !raw)
		r = -ENOMEM;
	if (r < 0) {
		printf("error sign: %s\n", strerror(-r));
	} else {
		codec_hex_encode(w.data, w.len, raw);
		codec_hex_encode(hash, 32, hh);
		printf("%s %s\n", raw, hh);
	}
	free(raw);
	chain_wbuf_release(&w);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t max = 1 << 20;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;

	if (argc > 2 || (argc == 2 && parse_u64(argv[1], &max) < 0)) {
		fprintf(stderr, "usage: evmsign [MAX_RAW_BYTES] < transactions\n");
		return 2;
	}
	while (getline(&line, &cap, stdin) > 0) {
		lineno++;
		if (sign_line(line, (size_t)max) < 0) {
			fprintf(stderr, "evmsign: line %lu: malformed\n", lineno);
			free(line);
			return 2;
		}
	}
	free(line);
	return 0;
}
