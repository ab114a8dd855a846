/*
 * Fuzz target: segments with proofs, as a SegmentWithProof in JSON
 * (node_rpc_segment_from_json()) or as a binary segment list (node_rpc_segments_decode(),
 * inputs that start with NODE_RPC_BINARY_MAGIC), then node_rpc_segment_check(). Any input
 * must decode or be refused cleanly; a decoded binary list must encode back to the same
 * bytes; and the check must be sound: a segment that claims the root and size of a file
 * the target knows (five segments, the last one short and followed by padding) and passes
 * must carry exactly that file's bytes at that index, zero-padded.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec/merkle.h"
#include "node/rpc/rpc.h"
#include "tests/fuzz/fuzz.h"

#define KNOWN_SIZE (4 * CODEC_SEGMENT_SIZE + 300)

/* A segment that passes the check and claims the known file must be the known file's. */
static void sound(const struct node_rpc_segment *s, const uint8_t *known, const uint8_t *root)
{
	struct node_rpc_error err;
	uint64_t off;
	size_t have;

	if (node_rpc_segment_check(s, &err) != 0 || s->file_size != KNOWN_SIZE ||
	    memcmp(s->root, root, CODEC_HASH_SIZE) != 0)
		return;
	off = s->index * CODEC_SEGMENT_SIZE;
	have =
	    KNOWN_SIZE - off < CODEC_SEGMENT_SIZE ? (size_t)(KNOWN_SIZE - off) : CODEC_SEGMENT_SIZE;
	if (s->len < have || memcmp(s->data, known + off, have) != 0)
		abort();
	for (size_t i = have; i < s->len; i++)
		if (s->data[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *known, root[CODEC_HASH_SIZE];
	static struct node_rpc_segment *s; /* NODE_RPC_SEGMENTS_MAX of them */
	struct node_rpc_error err;
	json_t *o;

	if (!known) {
		uint32_t x = 0x2026b00c;

		known = malloc(KNOWN_SIZE);
		s = malloc(NODE_RPC_SEGMENTS_MAX * sizeof(*s));
		if (!known || !s)
			abort();
		for (size_t i = 0; i < KNOWN_SIZE; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			known[i] = (uint8_t)x;
		}
		codec_file_root(known, KNOWN_SIZE, root);
	}
	if (size >= 8 && memcmp(data, NODE_RPC_BINARY_MAGIC, 8) == 0) {
		size_t count = 0, at;
		uint8_t *again;

		if (node_rpc_segments_decode(data, size, s, NODE_RPC_SEGMENTS_MAX, &count, &err) <
		    0)
			return 0;
		again = malloc(size);
		if (!again)
			abort();
		at = node_rpc_binary_header((uint32_t)count, again);
		for (size_t i = 0; i < count; i++) {
			size_t n =
			    node_rpc_segment_encode(s[i].root, s[i].data, s[i].len, s[i].index,
						    s[i].file_size, &s[i].proof, NULL);

			if (n > size - at)
				abort();
			at += node_rpc_segment_encode(s[i].root, s[i].data, s[i].len, s[i].index,
						      s[i].file_size, &s[i].proof, again + at);
		}
		if (at != size || memcmp(again, data, size) != 0)
			abort();
		free(again);
		for (size_t i = 0; i < count; i++)
			sound(&s[i], known, root);
		return 0;
	}
	o = json_loadb((const char *)data, size, 0, NULL);
	if (!o)
		return 0;
	if (node_rpc_segment_from_json(o, s, &err) == 0)
		sound(s, known, root);
	json_decref(o);
	return 0;
}
