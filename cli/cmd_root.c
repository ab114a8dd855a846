/*
 * zgfs root and zgfs proof: the 0G Merkle root, submission nodes and segment proofs of
 * local files. Regular files are mapped in windows and hashed in place, whole segments
 * spread over threads; pipes are read into a buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/merkle.h"
#include "codec/proof.h"

#define WINDOW (256u << 20) /* bytes mapped at once */
#define BLOCK (16u << 20)   /* bytes handed to the threads at once: 64 segments */
#define PIPE_BUF_SIZE (4u << 20)

/* Segment roots collected for proofs; grows by doubling. */
struct seg_list {
	codec_hash *roots;
	size_t n, cap;
	int err;
};

static void seg_list_add(struct seg_list *l, const uint8_t root[CODEC_HASH_SIZE])
{
	if (l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		codec_hash *r = realloc(l->roots, cap * sizeof(*r));

		if (!r) {
			l->err = -ENOMEM;
			return;
		}
		l->roots = r;
		l->cap = cap;
	}
	memcpy(l->roots[l->n++], root, CODEC_HASH_SIZE);
}

static void on_segment(void *ctx, uint64_t index, const uint8_t root[CODEC_HASH_SIZE])
{
	seg_list_add(ctx, root);
}

/* Feed bytes, taking whole aligned segments through the thread pool. */
static int feed(struct codec_merkle *m, const uint8_t *p, size_t len, unsigned threads,
		codec_hash *scratch)
{
	while (len > 0) {
		size_t nseg = len / CODEC_SEGMENT_SIZE;
		int r;

		if (m->size % CODEC_SEGMENT_SIZE || nseg == 0 || threads <= 1)
			return codec_merkle_update(m, p, len);
		if (nseg > BLOCK / CODEC_SEGMENT_SIZE)
			nseg = BLOCK / CODEC_SEGMENT_SIZE;
		codec_segment_roots_parallel(p, nseg, scratch, threads);
		r = codec_merkle_push_segments(m, scratch[0], nseg);
		if (r < 0)
			return r;
		p += nseg * CODEC_SEGMENT_SIZE;
		len -= nseg * CODEC_SEGMENT_SIZE;
	}
	return 0;
}

static int hash_mapped(int fd, uint64_t size, struct codec_merkle *m, unsigned threads,
		       codec_hash *scratch)
{
	for (uint64_t off = 0; off < size; off += WINDOW) {
		size_t len = size - off < WINDOW ? (size_t)(size - off) : WINDOW;
		void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
		int r;

		if (p == MAP_FAILED)
			return -errno;
		madvise(p, len, MADV_SEQUENTIAL | MADV_WILLNEED);
		r = feed(m, p, len, threads, scratch);
		munmap(p, len);
		if (r < 0)
			return r;
	}
	return 0;
}

static int hash_stream(int fd, struct codec_merkle *m, unsigned threads, codec_hash *scratch)
{
	uint8_t *buf = malloc(PIPE_BUF_SIZE);
	size_t have = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + have, PIPE_BUF_SIZE - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		have += (size_t)n;
		if (have == PIPE_BUF_SIZE || n == 0) {
			r = feed(m, buf, have, threads, scratch);
			have = 0;
			if (r < 0 || n == 0)
				break;
		}
	}
	free(buf);
	return r;
}

struct file_hash {
	uint8_t root[CODEC_HASH_SIZE];
	struct codec_subnode nodes[CODEC_MAX_NODES];
	size_t nnodes;
	uint64_t size;
	uint8_t last_seg[CODEC_HASH_SIZE];
};

/* Hashes one file (or stdin for "-"). Prints its own error; returns 0 or -1. */
static int hash_file(const char *path, unsigned threads, struct seg_list *segs,
		     struct file_hash *ret)
{
	struct codec_merkle m;
	codec_hash *scratch = NULL;
	struct stat st;
	int fd, r;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		goto fail_fd;
	}
	if (S_ISDIR(st.st_mode)) {
		cli_error("%s: is a directory", path);
		goto fail_fd;
	}
	r = codec_merkle_init(&m);
	scratch = malloc(BLOCK / CODEC_SEGMENT_SIZE * sizeof(codec_hash));
	if (r < 0 || !scratch) {
		cli_error("%s: out of memory", path);
		free(scratch);
		codec_merkle_release(&m);
		goto fail_fd;
	}
	if (segs) {
		m.on_segment = on_segment;
		m.on_segment_ctx = segs;
		threads = 1; /* segment roots are collected through the callback */
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0)
		r = hash_mapped(fd, (uint64_t)st.st_size, &m, threads, scratch);
	else
		r = hash_stream(fd, &m, threads, scratch);
	free(scratch);
	if (r == 0 && m.size == 0) {
		cli_error("%s: empty file: an empty file has no 0G root", path);
		r = -1;
	} else if (r < 0) {
		cli_error("%s: %s", path, codec_strerror(r));
	} else {
		ret->size = m.size;
		r = codec_merkle_finish(&m, ret->root, ret->nodes, &ret->nnodes, ret->last_seg);
		if (r < 0)
			cli_error("%s: %s", path, codec_strerror(r));
	}
	codec_merkle_release(&m);
	if (fd != STDIN_FILENO)
		close(fd);
	return r < 0 ? -1 : 0;
fail_fd:
	if (fd != STDIN_FILENO)
		close(fd);
	return -1;
}

static void print_json(const char *path, const struct file_hash *h)
{
	char hex[2 * CODEC_HASH_SIZE + 3];

	codec_hex_encode(h->root, CODEC_HASH_SIZE, hex);
	printf("{\"file\":\"");
	for (const char *c = path; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", (unsigned char)*c);
		else
			putchar(*c);
	}
	printf("\",\"size\":%llu,\"root\":\"%s\",\"nodes\":[", (unsigned long long)h->size, hex);
	for (size_t i = 0; i < h->nnodes; i++) {
		codec_hex_encode(h->nodes[i].root, CODEC_HASH_SIZE, hex);
		printf("%s{\"root\":\"%s\",\"height\":%u}", i ? "," : "", hex, h->nodes[i].height);
	}
	printf("]}\n");
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

int cmd_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{"threads", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},
		{NULL, 0, NULL, 0},
	};
	unsigned threads = online_cpus();
	bool json = false;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "+j:", opts, NULL)) != -1) {
		unsigned long long n;

		switch (c) {
		case 'j':
			if (cli_parse_u64(optarg, &n) < 0 || n < 1 || n > 64) {
				cli_error("root: --threads takes a number from 1 to 64");
				return 2;
			}
			threads = (unsigned)n;
			break;
		case 'J':
			json = true;
			break;
		default:
			cli_usage(stderr, "root");
			return 2;
		}
	}
	if (optind >= argc) {
		cli_usage(stderr, "root");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct file_hash h;
		char hex[2 * CODEC_HASH_SIZE + 3];

		if (hash_file(argv[i], threads, NULL, &h) < 0) {
			status = 1;
			continue;
		}
		if (json) {
			print_json(argv[i], &h);
		} else {
			codec_hex_encode(h.root, CODEC_HASH_SIZE, hex);
			printf("%s  %s\n", hex, argv[i]);
		}
		fflush(stdout);
	}
	return status;
}

int cmd_proof(int argc, char **argv)
{
	struct seg_list segs = {0};
	struct codec_proof proof;
	struct file_hash h;
	unsigned long long index;
	uint64_t nseg;
	char hex[2 * CODEC_HASH_SIZE + 3], *proof_json = NULL;
	int r, status = 1;

	if (argc != 3) {
		cli_usage(stderr, "proof");
		return 2;
	}
	if (cli_parse_u64(argv[2], &index) < 0) {
		cli_error("proof: SEGMENT must be a segment number, not '%s'", argv[2]);
		return 2;
	}
	if (hash_file(argv[1], 1, &segs, &h) < 0)
		goto out;
	nseg = codec_num_segments(h.size);
	if (h.size % CODEC_SEGMENT_SIZE)
		seg_list_add(&segs, h.last_seg);
	while (segs.n < nseg && !segs.err)
		seg_list_add(&segs, codec_zero_root(CODEC_SEGMENT_HEIGHT));
	if (segs.err) {
		cli_error("%s: %s", argv[1], codec_strerror(segs.err));
		goto out;
	}
	if (index >= nseg) {
		cli_error("proof: %s has %llu segment%s; there is no segment %llu", argv[1],
			  (unsigned long long)nseg, nseg == 1 ? "" : "s", index);
		goto out;
	}
	r = codec_proof_build(segs.roots[0], segs.n, (size_t)index, &proof);
	if (r == 0)
		proof_json = codec_proof_to_json(&proof);
	if (r < 0 || !proof_json) {
		cli_error("%s: %s", argv[1], codec_strerror(r < 0 ? r : -ENOMEM));
		goto out;
	}
	codec_hex_encode(h.root, CODEC_HASH_SIZE, hex);
	printf("{\"root\":\"%s\",\"index\":%llu,\"proof\":%s}\n", hex, index, proof_json);
	status = 0;
out:
	free(proof_json);
	free(segs.roots);
	return status;
}

int cli_file_root(const char *path, uint8_t ret_root[CODEC_HASH_SIZE], uint64_t *ret_size)
{
	struct file_hash *h = calloc(1, sizeof(*h));
	int r = h ? hash_file(path, online_cpus(), NULL, h) : -1;

	if (r == 0) {
		memcpy(ret_root, h->root, CODEC_HASH_SIZE);
		*ret_size = h->size;
	}
	free(h);
	return r;
}
