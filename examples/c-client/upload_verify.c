/*
 * upload_verify - store a file on a zgfs node and read it back verified (README.md).
 *
 *   upload_verify FILE --node URL      a running node (zgfs node), over JSON-RPC
 *   upload_verify FILE --data DIR      a node in this process, on data directory DIR
 *
 * Exit status 0 when the node settled the file under the root computed here and gave back
 * exactly its bytes; 1 otherwise, with the reason on standard error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/merkle.h"
#include "node/node.h"

#define READ_BLOCK (4u << 20)

static int fail(const char *what, int err)
{
	fprintf(stderr, "upload_verify: %s: %s\n", what, node_strerror(err));
	return 1;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Reads the whole entry back through the node, block by block, and compares. */
static int read_back(struct node *n, uint64_t seq, const uint8_t *want, size_t size)
{
	uint8_t *buf = malloc(READ_BLOCK);
	int r = buf ? 0 : -ENOMEM;

	for (size_t off = 0; r == 0 && off < size;) {
		size_t got = 0;

		r = node_read(n, seq, off, buf, READ_BLOCK, &got);
		if (r == 0 && (got == 0 || got > size - off || memcmp(buf, want + off, got) != 0))
			r = -EIO;
		off += got;
	}
	free(buf);
	return r;
}

int main(int argc, char **argv)
{
	struct node_config cfg = {0};
	struct node_file_info info;
	struct node *n = NULL;
	uint8_t root[CODEC_HASH_SIZE];
	char roothex[2 * CODEC_HASH_SIZE + 1];
	struct stat st;
	uint8_t *data;
	int fd, r;

	if (argc != 4 || (strcmp(argv[2], "--node") != 0 && strcmp(argv[2], "--data") != 0)) {
		fprintf(stderr, "usage: upload_verify FILE --node URL | --data DIR\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "upload_verify: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (st.st_size == 0) {
		fprintf(stderr, "upload_verify: %s: empty (0G has no empty entries)\n", argv[1]);
		return 1;
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED)
		return fail("mmap", -errno);

	/* The root, computed here: what the node must settle the file under. */
	r = codec_file_root(data, (size_t)st.st_size, root);
	if (r < 0)
		return fail("root", r);

	if (strcmp(argv[2], "--node") == 0) {
		r = node_open_remote(argv[3], &n);
	} else {
		cfg.data_dir = argv[3];
		r = node_open_local(&cfg, &n);
	}
	if (r < 0)
		return fail(argv[3], r);

	r = node_upload_file(n, fd, NULL, 0, &info);
	if (r == -EOPNOTSUPP) { /* a node in this process takes the bytes as a stream */
		struct node_upload *u;

		r = node_upload_begin(n, NULL, 0, &u);
		if (r == 0)
			r = node_upload_write(u, data, (size_t)st.st_size);
		r = r == 0 ? node_upload_finish(u, &info) : (node_upload_abort(u), r);
	}
	if (r < 0) {
		node_close(n);
		return fail("upload", r);
	}
	if (memcmp(info.entry.root, root, CODEC_HASH_SIZE) != 0 ||
	    info.entry.length != (uint64_t)st.st_size) {
		node_close(n);
		fprintf(stderr, "upload_verify: the node settled another root or size\n");
		return 1;
	}
	r = read_back(n, info.entry.tx_seq, data, (size_t)st.st_size);
	node_close(n);
	if (r < 0)
		return fail("read back", r);
	hex(root, CODEC_HASH_SIZE, roothex);
	printf("0x%s %llu %s: uploaded and read back identical\n", roothex,
	       (unsigned long long)info.entry.tx_seq, argv[1]);
	return 0;
}
