/*
 * test_kv: KV replay with 0G's rules, and the queries. Covers: the first transaction on a
 * new stream makes its sender admin; writes are visible from their version on; version
 * conflicts on reads and writes; writes to streams missing from the tags; permission
 * denied; grant/revoke/renounce of every role; special keys and their writers; 0G's
 * quirks in building the ACL set; results recorded with 0G's texts; non-KV and
 * unwritable entries skipped; out-of-order apply refused; iteration with deleted keys
 * and binary keys; a random workload checked against a model at every version; reopen
 * keeps the state; deleting the state and replaying the same entries gives the same
 * digest; a SIGKILL in the middle of replay leaves a state equal to a prefix of it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/kv/kv.h"
#include "tests/tap.h"

/* ---- accounts, streams, and a log of everything applied (to replay it) ---- */

static uint8_t A[20], B[20], C[20], D[20];
static uint8_t S1[32], S2[32], S3[32], S4[32];

struct entry {
	uint8_t sender[20];
	uint8_t *tags;
	size_t tags_len;
	uint8_t *data;
	size_t len;
};

static struct entry *log_entries;
static size_t log_n, log_cap;
static char dir[] = "/tmp/zgfs-test-kv-XXXXXX";
static char dbdir[sizeof(dir) + 16];

static void log_add(const uint8_t *sender, const uint8_t *tags, size_t tags_len,
		    const uint8_t *data, size_t len)
{
	struct entry *e;

	if (log_n == log_cap) {
		log_cap = log_cap ? 2 * log_cap : 64;
		log_entries = realloc(log_entries, log_cap * sizeof(*log_entries));
		if (!log_entries)
			abort();
	}
	e = &log_entries[log_n++];
	memcpy(e->sender, sender, 20);
	e->tags = tags_len ? malloc(tags_len) : NULL;
	e->data = len ? malloc(len) : NULL;
	if ((tags_len && !e->tags) || (len && !e->data))
		abort();
	if (tags_len)
		memcpy(e->tags, tags, tags_len);
	if (len)
		memcpy(e->data, data, len);
	e->tags_len = tags_len;
	e->len = len;
}

/* ---- building transactions ---- */

struct txb {
	struct node_kv_tx tx;
	struct node_kv_read r[64];
	struct node_kv_write w[64];
	struct node_kv_acl a[64];
	const uint8_t *streams[8];
	size_t n_streams;
};

static void tb_init(struct txb *b, uint64_t version)
{
	memset(b, 0, sizeof(*b));
	b->tx.version = version;
	b->tx.reads = b->r;
	b->tx.writes = b->w;
	b->tx.acls = b->a;
}

static void tb_tag(struct txb *b, const uint8_t *stream)
{
	b->streams[b->n_streams++] = stream;
}

static void tb_read(struct txb *b, const uint8_t *stream, const char *key)
{
	b->r[b->tx.n_reads++] =
	    (struct node_kv_read){stream, (const uint8_t *)key, (uint32_t)strlen(key)};
}

static void tb_write_bin(struct txb *b, const uint8_t *stream, const void *key, size_t key_len,
			 const void *val, size_t val_len)
{
	b->w[b->tx.n_writes++] =
	    (struct node_kv_write){stream, key, (uint32_t)key_len, val, val_len};
}

static void tb_write(struct txb *b, const uint8_t *stream, const char *key, const char *val)
{
	tb_write_bin(b, stream, key, strlen(key), val, strlen(val));
}

static void tb_acl(struct txb *b, uint8_t op, const uint8_t *stream, const char *key,
		   const uint8_t *account)
{
	b->a[b->tx.n_acls++] = (struct node_kv_acl){op, stream, (const uint8_t *)key,
						    key ? (uint32_t)strlen(key) : 0, account};
}

static struct node_kv *kv;

/* Applies raw bytes as the next entry; returns the outcome, or -1 on failure. */
static int apply_raw(const uint8_t *sender, const uint8_t *tags, size_t tags_len,
		     const uint8_t *data, size_t len)
{
	enum node_kv_outcome o;
	uint64_t seq;

	if (node_kv_next_tx_seq(kv, &seq) < 0 ||
	    node_kv_apply(kv, seq, sender, tags, tags_len, data, len, &o) < 0)
		return -1;
	log_add(sender, tags, tags_len, data, len);
	return (int)o;
}

static int apply_tx(const uint8_t *sender, struct txb *b)
{
	uint8_t ids[8 * 32], tags[9 * 32], *buf;
	size_t tags_len = 0, len;
	uint64_t size;
	int r;

	for (size_t i = 0; i < b->n_streams; i++)
		memcpy(ids + 32 * i, b->streams[i], 32);
	if (b->n_streams && node_kv_tags_build(ids, b->n_streams, tags, sizeof(tags), &tags_len))
		return -1;
	if (node_kv_tx_encoded_size(&b->tx, &size) < 0)
		return -1;
	buf = malloc(size);
	if (!buf || node_kv_tx_encode(&b->tx, buf, size, &len) < 0) {
		free(buf);
		return -1;
	}
	r = apply_raw(sender, tags, tags_len, buf, len);
	free(buf);
	return r;
}

static uint64_t last_seq(void)
{
	uint64_t seq = 0;

	if (node_kv_next_tx_seq(kv, &seq) < 0 || seq == 0)
		return UINT64_MAX;
	return seq - 1;
}

static const char *last_text(void)
{
	static struct node_kv_result res;

	if (node_kv_result(kv, last_seq(), &res) < 0)
		return "(none)";
	return res.text;
}

/* The latest value of key as a string ("" for none), and its version. */
static const char *get(const uint8_t *stream, const char *key, uint64_t version, uint64_t *ret_v)
{
	static char out[256];
	struct node_kv_value v;
	int r = node_kv_get(kv, stream, (const uint8_t *)key, strlen(key), 0, sizeof(out) - 1,
			    version, &v);

	if (r < 0)
		return r == -ENOENT ? "(none)" : "(error)";
	memcpy(out, v.data ? (const char *)v.data : "", v.len);
	out[v.len] = 0;
	if (ret_v)
		*ret_v = v.version;
	node_kv_value_release(&v);
	return out;
}

static bool is_admin(const uint8_t *acct, const uint8_t *stream, uint64_t version)
{
	bool b = false;

	return node_kv_is_admin(kv, acct, stream, version, &b) == 0 && b;
}

static bool can_write_key(const uint8_t *acct, const uint8_t *stream, const char *key)
{
	bool b = false;

	return node_kv_has_write_permission(kv, acct, stream, (const uint8_t *)key, strlen(key),
					    NODE_KV_LATEST, &b) == 0 &&
	       b;
}

static void test_first_tx_and_versions(void)
{
	struct txb b;
	uint64_t v = 0;
	int o;

	ok(apply_raw(A, NULL, 0, (const uint8_t *)"hello", 5) == NODE_KV_SKIPPED &&
	       strcmp(last_text(), "Skipped: not a KV transaction") == 0,
	   "seq 0: an entry without KV tags is skipped (%s)", last_text());
	ok(node_kv_apply(kv, 5, A, NULL, 0, NULL, 0, NULL) == -EINVAL &&
	       node_kv_apply(kv, 0, A, NULL, 0, NULL, 0, NULL) == -EINVAL,
	   "out-of-order seqs (ahead, repeated) are refused");

	tb_init(&b, 0);
	tb_tag(&b, S1);
	tb_write(&b, S1, "k1", "v1");
	tb_write(&b, S1, "k2", "v2");
	o = apply_tx(A, &b);
	ok(o == NODE_KV_COMMIT && strcmp(last_text(), "Commit") == 0,
	   "seq 1: first transaction on S1 commits");
	ok(is_admin(A, S1, NODE_KV_LATEST) && is_admin(A, S1, 1) && !is_admin(A, S1, 0),
	   "the first transaction made its sender admin of S1, from version 1");
	ok(!is_admin(B, S1, NODE_KV_LATEST), "B is not admin");
	ok(strcmp(get(S1, "k1", NODE_KV_LATEST, &v), "v1") == 0 && v == 1, "k1 = v1 at version 1");
	ok(strcmp(get(S1, "k1", 0, NULL), "(none)") == 0, "k1 does not exist at version 0");

	tb_init(&b, 1);
	tb_tag(&b, S1);
	tb_write(&b, S1, "k1", "v1b");
	tb_write(&b, S1, "k1", "v1c"); /* the last write of a key wins */
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "seq 2: A rewrites k1 (read at version 1)");
	ok(strcmp(get(S1, "k1", NODE_KV_LATEST, &v), "v1c") == 0 && v == 2,
	   "latest k1 = v1c (the last of two writes in one transaction), version 2");
	ok(strcmp(get(S1, "k1", 1, NULL), "v1") == 0, "k1 at version 1 is still v1");

	tb_init(&b, 1);
	tb_tag(&b, S1);
	tb_write(&b, S1, "k1", "stale");
	ok(apply_tx(A, &b) == NODE_KV_VERSION_CONFLICTION &&
	       strcmp(last_text(), "VersionConfliction") == 0,
	   "seq 3: a write of k1 at version 1 (k1 now at 2) conflicts");
	ok(strcmp(get(S1, "k1", NODE_KV_LATEST, NULL), "v1c") == 0, "and changed nothing");

	tb_init(&b, 1);
	tb_tag(&b, S1);
	tb_read(&b, S1, "k1");
	tb_write(&b, S1, "k3", "x");
	ok(apply_tx(A, &b) == NODE_KV_VERSION_CONFLICTION,
	   "seq 4: a read of k1 at version 1 conflicts too");
	ok(strcmp(get(S1, "k3", NODE_KV_LATEST, NULL), "(none)") == 0, "k3 was not written");

	tb_init(&b, 2);
	tb_tag(&b, S1);
	tb_read(&b, S1, "k1");
	tb_read(&b, S2, "never-written"); /* latest version 0: never conflicts */
	tb_write(&b, S1, "k3", "x");
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "seq 5: read k1 at version 2 commits");

	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "k4", "y");
	tb_write(&b, S2, "k", "z");
	ok(apply_tx(A, &b) == NODE_KV_TAGS_MISMATCH && strcmp(last_text(), "TagsMismatch") == 0,
	   "seq 6: a write to S2, which the tags do not name, is TagsMismatch");
	ok(strcmp(get(S1, "k4", NODE_KV_LATEST, NULL), "(none)") == 0, "nothing of it was applied");
}

static void test_acl(void)
{
	struct txb b;
	bool x;
	uint64_t seq;

	/* C has no role anywhere: its transaction on S1 is skipped, not recorded as denied. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "k1", "c");
	ok(apply_tx(C, &b) == NODE_KV_SKIPPED &&
	       strcmp(last_text(), "Skipped: the sender may not write to any of its streams") == 0,
	   "C, with no role on S1, is skipped as 0G skips it");

	/* ... unless it also tags a new stream: then it is replayed and denied. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_tag(&b, S3);
	tb_write(&b, S1, "k1", "c");
	tb_write(&b, S3, "k", "c");
	ok(apply_tx(C, &b) == NODE_KV_WRITE_PERMISSION_DENIED,
	   "C writing S1 and a new stream S3: WritePermissionDenied");
	{
		char want[256];

		snprintf(want, sizeof(want), "WritePermissionDenied: stream: 0x%s, key: k1",
			 "1111111111111111111111111111111111111111111111111111111111111111");
		ok(strcmp(last_text(), want) == 0, "with 0G's text: %s", last_text());
	}
	ok(!is_admin(C, S3, NODE_KV_LATEST) && can_write_key(D, S3, "any"),
	   "a rejected transaction leaves S3 new: nobody is admin, anyone may write");

	/* A grants B the writer role; B writes; B (a writer) grants C; A revokes B. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_WRITER, S1, NULL, B);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "A grants B the writer role on S1");
	seq = last_seq();
	ok(node_kv_is_writer_of_stream(kv, B, S1, NODE_KV_LATEST, &x) == 0 && x,
	   "B is a writer of S1");
	ok(node_kv_is_writer_of_stream(kv, B, S1, seq - 1, &x) == 0 && !x,
	   "... but was not one version before");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "kb", "from-b");
	tb_acl(&b, NODE_KV_GRANT_WRITER, S1, NULL, C);
	ok(apply_tx(B, &b) == NODE_KV_COMMIT, "B writes and grants C the writer role");
	ok(strcmp(get(S1, "kb", NODE_KV_LATEST, NULL), "from-b") == 0 && can_write_key(C, S1, "q"),
	   "B's write is there, and C may write now");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_REVOKE_WRITER, S1, NULL, A);
	ok(apply_tx(B, &b) == NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED,
	   "B (writer, not admin) may not revoke");
	{
		char want[300];

		snprintf(want, sizeof(want),
			 "AccessControlPermissionDenied: operation: REVOKE_WRITER_ROLE, stream: "
			 "0x%s, key: NONE, account: 0x%s",
			 "1111111111111111111111111111111111111111111111111111111111111111",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		ok(strcmp(last_text(), want) == 0, "with 0G's text: %s", last_text());
	}
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S1, NULL, D);
	ok(apply_tx(B, &b) == NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED,
	   "B may not grant the admin role");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S1, NULL, B);
	ok(apply_tx(B, &b) == NODE_KV_COMMIT && !is_admin(B, S1, NODE_KV_LATEST),
	   "B granting admin to itself: 0G drops the op, the transaction commits empty");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_REVOKE_WRITER, S1, NULL, B);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT && !can_write_key(B, S1, "kb"),
	   "A revokes B: B may no longer write");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_RENOUNCE_WRITER, S1, NULL, NULL);
	ok(apply_tx(C, &b) == NODE_KV_COMMIT && !can_write_key(C, S1, "kb"),
	   "C renounces its writer role");

	/* Special keys and special writers. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_WRITER, S1, NULL, B);
	tb_acl(&b, NODE_KV_SET_KEY_SPECIAL, S1, "sk", NULL);
	tb_acl(&b, NODE_KV_GRANT_SPECIAL_WRITER, S1, "sk", C);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT,
	   "A: B writer again, key sk special, C special writer of sk");
	ok(node_kv_is_special_key(kv, S1, (const uint8_t *)"sk", 2, NODE_KV_LATEST, &x) == 0 && x,
	   "sk is special");
	ok(node_kv_is_writer_of_key(kv, C, S1, (const uint8_t *)"sk", 2, NODE_KV_LATEST, &x) == 0 &&
	       x,
	   "C is a writer of sk");
	ok(!can_write_key(B, S1, "sk") && can_write_key(B, S1, "normal"),
	   "B (stream writer) may write normal keys but not sk");
	ok(can_write_key(C, S1, "sk") && !can_write_key(C, S1, "normal"),
	   "C (special writer of sk) may write sk only");
	ok(can_write_key(A, S1, "sk"), "the admin may write sk");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "sk", "by-b");
	ok(apply_tx(B, &b) == NODE_KV_WRITE_PERMISSION_DENIED, "B writing sk: denied");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "sk", "by-c");
	tb_acl(&b, NODE_KV_GRANT_SPECIAL_WRITER, S1, "sk", D);
	ok(apply_tx(C, &b) == NODE_KV_COMMIT &&
	       strcmp(get(S1, "sk", NODE_KV_LATEST, NULL), "by-c") == 0,
	   "C (only a special writer) is replayed, writes sk and grants D on sk");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "normal", "by-c");
	ok(apply_tx(C, &b) == NODE_KV_WRITE_PERMISSION_DENIED, "C writing a normal key: denied");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_SPECIAL_WRITER, S1, "other", D);
	ok(apply_tx(C, &b) == NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED,
	   "C may not grant special writers of a key it does not write");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_RENOUNCE_SPECIAL_WRITER, S1, "sk", NULL);
	ok(apply_tx(C, &b) == NODE_KV_COMMIT && !can_write_key(C, S1, "sk"), "C renounces sk");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_write(&b, S1, "sk", "again");
	ok(apply_tx(C, &b) == NODE_KV_SKIPPED, "C, with no role left on S1, is skipped");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_REVOKE_SPECIAL_WRITER, S1, "sk", D);
	tb_acl(&b, NODE_KV_SET_KEY_NORMAL, S1, "sk", NULL);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT && can_write_key(B, S1, "sk") &&
	       !can_write_key(D, S1, "sk"),
	   "A revokes D and sets sk normal: B may write sk, D may not");
	ok(node_kv_is_special_key(kv, S1, (const uint8_t *)"sk", 2, seq, &x) == 0 && !x,
	   "sk was not special at an earlier version");

	/* Admin grant and renounce. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S1, NULL, D);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT && is_admin(D, S1, NODE_KV_LATEST),
	   "A grants D admin");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_RENOUNCE_ADMIN, S1, NULL, NULL);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT && !is_admin(A, S1, NODE_KV_LATEST) &&
	       is_admin(A, S1, 1),
	   "A renounces admin (and was admin before)");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_GRANT_WRITER, S1, NULL, C);
	ok(apply_tx(A, &b) == NODE_KV_SKIPPED, "A, no longer admin nor writer, is skipped");
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S1);
	tb_acl(&b, NODE_KV_SET_KEY_SPECIAL, S1, "x", NULL);
	tb_acl(&b, NODE_KV_REVOKE_WRITER, S1, NULL, B);
	ok(apply_tx(D, &b) == NODE_KV_COMMIT && !can_write_key(B, S1, "y"),
	   "D, the new admin, revokes B");

	/* 0G's ACL-set quirks on a new stream (S4): the implicit grant of admin to the sender
	 * is replaced by a later renounce, and a grant of admin to oneself is dropped. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S4);
	tb_acl(&b, NODE_KV_RENOUNCE_ADMIN, S4, NULL, NULL);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S4, NULL, A);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S4, NULL, B);
	tb_acl(&b, NODE_KV_GRANT_ADMIN, S4, NULL, B);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "new S4: renounce, grant self, grant B twice");
	ok(!is_admin(A, S4, NODE_KV_LATEST) && is_admin(B, S4, NODE_KV_LATEST),
	   "A is not admin of S4 (renounced; self-grant dropped), B is");
	ok(can_write_key(C, S1, "k") == false, "C still may not write S1");

	/* An ACL op on a stream the tags do not name. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S4);
	tb_acl(&b, NODE_KV_GRANT_WRITER, S1, NULL, B);
	ok(apply_tx(B, &b) == NODE_KV_TAGS_MISMATCH,
	   "an ACL op on an untagged stream: TagsMismatch");
}

static void test_parse_errors(void)
{
	uint8_t tags[64], buf[64] = {0};
	size_t tl;
	struct txb b;
	int o;

	if (node_kv_tags_build(S1, 1, tags, sizeof(tags), &tl))
		abort();
	o = apply_raw(D, tags, tl, buf, 7);
	ok(o == NODE_KV_DATA_PARSE_ERROR &&
	       strcmp(last_text(), "DataParseError: Invalid stream data") == 0,
	   "7 bytes: DataParseError (%s)", last_text());
	buf[8] = 0xff; /* nReads = 0xff000000 */
	o = apply_raw(D, tags, tl, buf, 20);
	ok(o == NODE_KV_DATA_PARSE_ERROR &&
	       strcmp(last_text(),
		      "DataParseError: Stream read/write/access_control list too long") == 0,
	   "a huge read count: %s", last_text());
	memset(buf, 0, sizeof(buf));
	o = apply_raw(D, tags, tl, buf, 21);
	ok(o == NODE_KV_DATA_PARSE_ERROR, "a trailing byte: DataParseError");
	o = apply_raw(D, tags, tl, buf, 20);
	ok(o == NODE_KV_COMMIT, "the empty transaction (20 zero bytes) commits");

	/* 0G checks the reads before it parses the writes: a conflicting read wins over a
	 * malformed write set. */
	{
		uint8_t p[128] = {0};
		size_t n = 0;

		p[11] = 1; /* version 0, one read */
		memcpy(p + 12, S1, 32);
		p[46] = 2;
		memcpy(p + 47, "k1", 2);
		n = 49;
		memset(p + n, 0xff, 4); /* nWrites too large */
		n += 4;
		o = apply_raw(D, tags, tl, p, n);
		ok(o == NODE_KV_VERSION_CONFLICTION,
		   "stale read + malformed writes: VersionConfliction, as 0G orders the checks");
	}

	/* A large value is sliced. */
	{
		static uint8_t big[100000];
		struct node_kv_value v;

		tap_fill(big, sizeof(big));
		tb_init(&b, NODE_KV_LATEST);
		tb_tag(&b, S1);
		tb_write_bin(&b, S1, "big", 3, big, sizeof(big));
		ok(apply_tx(D, &b) == NODE_KV_COMMIT, "D (admin) writes a 100000-byte value");
		ok(node_kv_get(kv, S1, (const uint8_t *)"big", 3, 99990, 100, NODE_KV_LATEST, &v) ==
			   0 &&
		       v.size == sizeof(big) && v.len == 10 && memcmp(v.data, big + 99990, 10) == 0,
		   "get(start 99990, len 100) gives its last 10 bytes and the size");
		node_kv_value_release(&v);
		ok(node_kv_get(kv, S1, (const uint8_t *)"big", 3, 100000, 5, NODE_KV_LATEST, &v) ==
			   0 &&
		       v.len == 0,
		   "start == size: empty slice");
		ok(node_kv_get(kv, S1, (const uint8_t *)"big", 3, 100001, 5, NODE_KV_LATEST, &v) ==
		       -EINVAL,
		   "start > size: -EINVAL");
		ok(node_kv_get(kv, S1, (const uint8_t *)"big", 3, 0, NODE_KV_QUERY_MAX + 1,
			       NODE_KV_LATEST, &v) == -E2BIG,
		   "len over NODE_KV_QUERY_MAX: -E2BIG");
		ok(node_kv_get(kv, S1, (const uint8_t *)"big", 0, 0, 5, NODE_KV_LATEST, &v) ==
		       -EINVAL,
		   "empty key: -EINVAL");
	}
}

/* ---- iteration ---- */

struct key {
	const char *k;
	size_t len;
};

static int collect_keys(const uint8_t *stream, uint64_t version, bool forward, char *out,
			size_t cap)
{
	struct node_kv_pair p;
	int r, n = 0;

	out[0] = 0;
	r = forward ? node_kv_get_first(kv, stream, 0, 0, version, &p)
		    : node_kv_get_last(kv, stream, 0, 0, version, &p);
	while (r == 0) {
		char hexk[64];
		size_t l = strlen(out);

		for (size_t i = 0; i < p.key_len && i < 20; i++)
			snprintf(hexk + 2 * i, 3, "%02x", p.key[i]);
		hexk[2 * (p.key_len < 20 ? p.key_len : 20)] = 0;
		snprintf(out + l, cap - l, "%s%s", n ? "," : "", hexk);
		n++;
		{
			struct node_kv_pair q;

			r = forward ? node_kv_get_next(kv, stream, p.key, p.key_len, false, 0, 0,
						       version, &q)
				    : node_kv_get_prev(kv, stream, p.key, p.key_len, false, 0, 0,
						       version, &q);
			node_kv_pair_release(&p);
			p = q;
		}
	}
	return r == -ENOENT ? n : -1;
}

static void test_iteration(void)
{
	/* Binary keys that are prefixes of each other, with zero bytes. */
	static const struct key keys[] = {
	    {"\x00", 1},  {"\x00\x00", 2},  {"\x00\x01", 2},  {"a", 1},
	    {"a\x00", 2}, {"a\x00\x00", 3}, {"a\x00\xff", 3}, {"a\x01", 2},
	    {"ab", 2},	  {"\xff", 1},	    {"\xff\xff", 2},
	};
	const size_t nk = sizeof(keys) / sizeof(keys[0]);
	struct txb b;
	char fwd[512], bwd[512];
	struct node_kv_pair p;
	uint64_t v1;
	int n;

	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S2);
	for (size_t i = nk; i-- > 0;) /* written in reverse order */
		tb_write_bin(&b, S2, keys[i].k, keys[i].len, "v", 1);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "A creates S2 with 11 binary keys");
	v1 = last_seq();
	n = collect_keys(S2, NODE_KV_LATEST, true, fwd, sizeof(fwd));
	ok(n == (int)nk && strcmp(fwd, "00,0000,0001,61,6100,610000,6100ff,6101,6162,ff,ffff") == 0,
	   "first/next walk the keys in byte order: %s", fwd);
	n = collect_keys(S2, NODE_KV_LATEST, false, bwd, sizeof(bwd));
	ok(n == (int)nk && strcmp(bwd, "ffff,ff,6162,6101,6100ff,610000,6100,61,0001,0000,00") == 0,
	   "last/prev walk them backwards: %s", bwd);

	/* Delete (empty value) two keys; they disappear from iteration from then on. */
	tb_init(&b, NODE_KV_LATEST);
	tb_tag(&b, S2);
	tb_write_bin(&b, S2, "a\x00", 2, "", 0);
	tb_write_bin(&b, S2, "\x00", 1, "", 0);
	ok(apply_tx(A, &b) == NODE_KV_COMMIT, "A deletes two keys (empty values)");
	n = collect_keys(S2, NODE_KV_LATEST, true, fwd, sizeof(fwd));
	ok(n == (int)nk - 2 && strcmp(fwd, "0000,0001,61,610000,6100ff,6101,6162,ff,ffff") == 0,
	   "deleted keys are passed over: %s", fwd);
	n = collect_keys(S2, v1, true, fwd, sizeof(fwd));
	ok(n == (int)nk, "at the earlier version all 11 are there");
	{
		struct node_kv_value v;

		ok(node_kv_get(kv, S2, (const uint8_t *)"a\x00", 2, 0, 10, NODE_KV_LATEST, &v) ==
			   0 &&
		       v.size == 0 && v.len == 0 && v.version == last_seq(),
		   "get of a deleted key: size 0 at the deleting version");
	}

	ok(node_kv_get_next(kv, S2, (const uint8_t *)"a", 1, true, 0, 1, NODE_KV_LATEST, &p) == 0 &&
	       p.key_len == 1 && p.key[0] == 'a' && p.value.len == 1,
	   "next inclusive from an existing key returns it");
	node_kv_pair_release(&p);
	ok(node_kv_get_next(kv, S2, (const uint8_t *)"a", 1, false, 0, 1, NODE_KV_LATEST, &p) ==
		   0 &&
	       p.key_len == 3 && memcmp(p.key, "a\x00\x00", 3) == 0,
	   "next exclusive skips it and the deleted a\\0");
	node_kv_pair_release(&p);
	ok(node_kv_get_prev(kv, S2, (const uint8_t *)"a\x00", 2, true, 0, 1, NODE_KV_LATEST, &p) ==
		   0 &&
	       p.key_len == 1 && p.key[0] == 'a',
	   "prev inclusive from a deleted key goes to the key before");
	node_kv_pair_release(&p);
	ok(node_kv_get_prev(kv, S2, (const uint8_t *)"aa", 2, true, 0, 1, NODE_KV_LATEST, &p) ==
		   0 &&
	       p.key_len == 2 && memcmp(p.key, "a\x01", 2) == 0,
	   "prev inclusive from a missing key: the greatest key below it");
	node_kv_pair_release(&p);
	ok(node_kv_get_next(kv, S2, (const uint8_t *)"\xff\xff", 2, false, 0, 1, NODE_KV_LATEST,
			    &p) == -ENOENT,
	   "next after the last key: -ENOENT");
	ok(node_kv_get_first(kv, S3, 0, 1, NODE_KV_LATEST, &p) == -ENOENT,
	   "first of a stream without keys: -ENOENT");
	ok(node_kv_get_first(kv, S2, 0, 1, 0, &p) == -ENOENT,
	   "first at a version before the stream existed: -ENOENT");
}

static int history_fn(void *ctx, const struct node_kv_version *v)
{
	char *out = ctx;
	size_t l = strlen(out);

	snprintf(out + l, 256 - l, "%s%llu:%llu", l ? "," : "", (unsigned long long)v->version,
		 (unsigned long long)v->size);
	return v->tx_seq == v->version ? 0 : -1;
}

static int stream_fn(void *ctx, const uint8_t *stream)
{
	int *n = ctx;

	if (!memcmp(stream, S1, 32) || !memcmp(stream, S2, 32) || !memcmp(stream, S3, 32) ||
	    !memcmp(stream, S4, 32))
		(*n)++;
	else
		*n += 100;
	return 0;
}

static void test_history_and_streams(void)
{
	char out[256] = "";
	int n = 0;
	struct node_kv_result res;

	ok(node_kv_history(kv, S1, (const uint8_t *)"k1", 2, history_fn, out) == 0 &&
	       strcmp(out, "1:2,2:3") == 0,
	   "history of k1: %s", out);
	ok(node_kv_holding_stream_ids(kv, stream_fn, &n) == 0 && n == 4,
	   "holding streams: S1..S4, including S3 seen only in a rejected transaction (%d)", n);
	ok(node_kv_result(kv, 1, &res) == 0 && res.outcome == NODE_KV_COMMIT &&
	       node_kv_result(kv, 0, &res) == 0 && res.outcome == NODE_KV_SKIPPED &&
	       node_kv_result(kv, last_seq() + 1, &res) == -ENOENT,
	   "results are kept per tx seq; -ENOENT past the end");
	ok(strcmp(node_kv_outcome_name(NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED),
		  "AccessControlPermissionDenied") == 0 &&
	       strcmp(node_kv_outcome_name(NODE_KV_VERSION_CONFLICTION), "VersionConfliction") == 0,
	   "outcome names are 0G's");
}

/* ---- a random workload against a model ---- */

#define MKEYS 12
#define MTX   300

struct mval {
	int present;
	uint8_t val[8];
	size_t len;
	uint64_t version;
};

static void test_model(void)
{
	static struct mval model[MTX + 1][MKEYS]; /* state after each of our transactions */
	static uint64_t seqs[MTX + 1];
	uint8_t stream[32];
	int mismatches = 0, checked = 0, order_ok = 1;

	memset(stream, 0x5a, 32);
	tap_seed(99);
	for (int t = 1; t <= MTX; t++) {
		struct txb b;
		char keys[8][16];
		uint8_t vals[8][8];
		int nw = 1 + (int)(tap_rand() % 4), written[8];

		memcpy(model[t], model[t - 1], sizeof(model[t]));
		tb_init(&b, NODE_KV_LATEST);
		tb_tag(&b, stream);
		for (int i = 0; i < nw; i++) {
			int k = (int)(tap_rand() % MKEYS);
			size_t len = tap_rand() % 4 == 0 ? 0 : 1 + tap_rand() % 8;

			snprintf(keys[i], sizeof(keys[i]), "m%02d", k);
			tap_fill(vals[i], len);
			tb_write_bin(&b, stream, keys[i], 3, vals[i], len);
			model[t][k].present = 1;
			memcpy(model[t][k].val, vals[i], len);
			model[t][k].len = len;
			written[i] = k;
		}
		if (apply_tx(A, &b) != NODE_KV_COMMIT) {
			mismatches++;
			break;
		}
		seqs[t] = last_seq();
		for (int i = 0; i < nw; i++)
			model[t][written[i]].version = seqs[t];
	}
	for (int t = 0; t <= MTX; t += 1 + (int)(tap_rand() % 7)) {
		uint64_t v = t ? seqs[t] : seqs[1] - 1;
		char order[MKEYS * 8] = "", want[MKEYS * 8] = "";
		struct node_kv_pair p;
		int r;

		for (int k = 0; k < MKEYS; k++) {
			char key[16];
			struct node_kv_value val;

			snprintf(key, sizeof(key), "m%02d", k);
			r = node_kv_get(kv, stream, (const uint8_t *)key, 3, 0, 64, v, &val);
			checked++;
			if (!model[t][k].present) {
				mismatches += r != -ENOENT;
			} else {
				mismatches +=
				    r != 0 || val.len != model[t][k].len ||
				    val.version != model[t][k].version ||
				    (val.len && memcmp(val.data, model[t][k].val, val.len));
				if (r == 0)
					node_kv_value_release(&val);
			}
			if (model[t][k].present && model[t][k].len) {
				size_t l = strlen(want);

				snprintf(want + l, sizeof(want) - l, "%d,", k);
			}
		}
		r = node_kv_get_first(kv, stream, 0, 0, v, &p);
		while (r == 0) {
			struct node_kv_pair q;
			size_t l = strlen(order);

			char kstr[4] = "";

			if (p.key_len == 3)
				memcpy(kstr, p.key, 3);
			snprintf(order + l, sizeof(order) - l, "%d,", atoi(kstr + 1));
			r = node_kv_get_next(kv, stream, p.key, p.key_len, false, 0, 0, v, &q);
			node_kv_pair_release(&p);
			p = q;
		}
		order_ok &= r == -ENOENT && strcmp(order, want) == 0;
	}
	ok(mismatches == 0,
	   "300 random transactions: %d of %d (key, version) lookups differ "
	   "from the model",
	   mismatches, checked);
	ok(order_ok, "iteration at every checked version lists exactly the live keys, in order");
}

/* ---- persistence, determinism, crashes ---- */

static int replay_into(const char *path, size_t n, uint8_t digest[32])
{
	struct node_kv *k2;
	int r = node_kv_open(path, &k2);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = node_kv_apply(k2, i, log_entries[i].sender, log_entries[i].tags,
				  log_entries[i].tags_len, log_entries[i].data, log_entries[i].len,
				  NULL);
	if (r == 0)
		r = node_kv_digest(k2, digest);
	node_kv_close(k2);
	return r;
}

static void rm_rf(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

static void test_persistence(void)
{
	uint8_t d1[32], d2[32], d3[32];
	uint64_t next;
	char path2[sizeof(dir) + 16];
	struct node_kv *other;

	ok(node_kv_digest(kv, d1) == 0, "digest");
	ok(node_kv_apply(kv, log_n + 1, A, NULL, 0, NULL, 0, NULL) == -EINVAL &&
	       node_kv_digest(kv, d2) == 0 && memcmp(d1, d2, 32) == 0,
	   "a refused out-of-order apply changes nothing");
	ok(node_kv_open(dbdir, &other) == -EBUSY, "a second open of the same state: -EBUSY");
	node_kv_close(kv);
	kv = NULL;
	ok(node_kv_open(dbdir, &kv) == 0 && node_kv_next_tx_seq(kv, &next) == 0 && next == log_n &&
	       node_kv_digest(kv, d2) == 0 && memcmp(d1, d2, 32) == 0,
	   "reopen: same next seq (%llu) and digest", (unsigned long long)next);
	ok(strcmp(get(S1, "k1", NODE_KV_LATEST, NULL), "v1c") == 0, "and the same values");

	node_kv_close(kv);
	kv = NULL;
	rm_rf(dbdir);
	ok(replay_into(dbdir, log_n, d3) == 0 && memcmp(d1, d3, 32) == 0,
	   "delete the state, replay the same %zu entries: same digest", log_n);
	snprintf(path2, sizeof(path2), "%s/second", dir);
	ok(replay_into(path2, log_n - 1, d3) == 0 && memcmp(d1, d3, 32) != 0,
	   "replaying one entry fewer gives another digest");
	rm_rf(path2);
	ok(node_kv_open(dbdir, &kv) == 0, "open again");
}

/* A child replays the log over and over into a fresh state and is killed at a random
 * moment; whatever it left must equal the replay of a prefix of the log. */
static void test_sigkill(void)
{
	char path[sizeof(dir) + 16];
	int good = 0, rounds = 6;

	snprintf(path, sizeof(path), "%s/crash", dir);
	for (int round = 0; round < rounds; round++) {
		pid_t pid;
		struct node_kv *k2;
		uint64_t next = 0;
		uint8_t got[32], want[32];
		char pref[sizeof(path) + 8];

		rm_rf(path);
		pid = fork();
		if (pid == 0) {
			uint8_t d[32];

			alarm(30);
			replay_into(path, log_n, d);
			_exit(0);
		}
		usleep(5000 + (useconds_t)(tap_rand() % 400000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (node_kv_open(path, &k2) != 0)
			continue;
		if (node_kv_next_tx_seq(k2, &next) == 0 && node_kv_digest(k2, got) == 0) {
			snprintf(pref, sizeof(pref), "%s/p", dir);
			rm_rf(pref);
			if (replay_into(pref, next, want) == 0 && memcmp(got, want, 32) == 0)
				good++;
			rm_rf(pref);
		}
		diag("round %d: killed after %llu of %zu entries", round, (unsigned long long)next,
		     log_n);
		node_kv_close(k2);
	}
	rm_rf(path);
	ok(good == rounds, "SIGKILL during replay: %d/%d states equal the replay of a prefix", good,
	   rounds);
}

static void *reader(void *arg)
{
	long bad = 0;

	for (int i = 0; i < 2000; i++) {
		struct node_kv_value v;
		int r = node_kv_get(kv, S1, (const uint8_t *)"k1", 2, 0, 16, NODE_KV_LATEST, &v);

		bad += r != 0;
		node_kv_value_release(&v);
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t th[4];
	long bad = 0;

	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 50; i++) {
		struct txb b;

		tb_init(&b, NODE_KV_LATEST);
		tb_tag(&b, S2);
		tb_write(&b, S2, "t", "x");
		if (apply_tx(A, &b) != NODE_KV_COMMIT)
			bad++;
	}
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(th[i], &r);
		bad += (long)r;
	}
	ok(bad == 0, "4 reader threads during 50 applies: no failures");
}

int main(void)
{
	memset(A, 0xaa, 20);
	memset(B, 0xbb, 20);
	memset(C, 0xcc, 20);
	memset(D, 0xdd, 20);
	memset(S1, 0x11, 32);
	memset(S2, 0x22, 32);
	memset(S3, 0x33, 32);
	memset(S4, 0x44, 32);
	if (!mkdtemp(dir))
		skip_all("cannot create a temporary directory");
	snprintf(dbdir, sizeof(dbdir), "%s/kv", dir);
	if (node_kv_open(dbdir, &kv) != 0) {
		ok(0, "node_kv_open");
		return tap_done();
	}
	test_first_tx_and_versions();
	test_acl();
	test_parse_errors();
	test_iteration();
	test_history_and_streams();
	test_model();
	test_threads();
	test_persistence();
	test_sigkill();
	node_kv_close(kv);
	rm_rf(dir);
	for (size_t i = 0; i < log_n; i++) {
		free(log_entries[i].tags);
		free(log_entries[i].data);
	}
	free(log_entries);
	return tap_done();
}
