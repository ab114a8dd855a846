/*
 * key.h - the node's ed25519 key and its data directory.
 *
 * The key lives in DIR/node.key as 64 hex digits of the 32-byte seed and a newline, mode
 * 0600; a key file that others can read is refused, as ssh refuses such keys.
 */
#ifndef NODE_KEY_H
#define NODE_KEY_H

#include <stdbool.h>
#include <stdint.h>

/* Creates dir (and missing parents) with mode 0700. 0 or -errno. */
int node_data_dir_create(const char *dir);

/*
 * node_key_load() - read DIR/node.key, or create it when create is true and it is missing.
 * ret_sk is libsodium's 64-byte secret key, ret_pk the 32-byte public key.
 * -ENOENT (missing, not creating), -EACCES (readable by group or others), -EINVAL (not a
 * key file).
 */
int node_key_load(const char *dir, bool create, uint8_t ret_sk[64], uint8_t ret_pk[32]);

#endif
