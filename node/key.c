/* The node key file and the data directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/hex.h"
#include "node/key.h"

int node_data_dir_create(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	/* mkdir -p: each missing parent too, all 0700 (only the last one matters). */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int key_create(const char *path, uint8_t seed[32])
{
	char hex[2 * 32 + 3];
	int fd;
	ssize_t n;

	randombytes_buf(seed, 32);
	codec_hex_encode(seed, 32, hex);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	hex[66] = '\n';
	n = write(fd, hex + 2, 65); /* without 0x */
	if (n != 65 || fsync(fd) < 0) {
		int r = n < 0 ? -errno : -EIO;

		close(fd);
		unlink(path);
		sodium_memzero(hex, sizeof(hex));
		return r;
	}
	close(fd);
	sodium_memzero(hex, sizeof(hex));
	return 0;
}

int node_key_load(const char *dir, bool create, uint8_t ret_sk[64], uint8_t ret_pk[32])
{
	char path[PATH_MAX], text[80];
	uint8_t seed[32];
	struct stat st;
	ssize_t n;
	int fd, r;

	if (sodium_init() < 0)
		return -EIO;
	if (snprintf(path, sizeof(path), "%s/node.key", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		r = key_create(path, seed);
		if (r == -EEXIST) /* another process made it first: read theirs */
			return node_key_load(dir, false, ret_sk, ret_pk);
		if (r < 0)
			return r;
		goto derive;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		close(fd);
		return -EACCES;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 64)
		return -EINVAL;
	text[64] = '\0';
	r = codec_hex_decode(text, seed, 32);
	sodium_memzero(text, sizeof(text));
	if (r < 0)
		return -EINVAL;
derive:
	crypto_sign_seed_keypair(ret_pk, ret_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}
