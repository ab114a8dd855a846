/*
 * kv.c - replay of KV transactions into a leveldb, and the queries on it.
 *
 * The rules follow 0G's KV node (0glabs/0g-storage-kv): stream_replayer.rs for the order
 * of checks and the results, stream_manager/mod.rs (skippable) for the entries it passes
 * over, storage_with_stream/src/store/stream_store.rs and sqlite_db_statements.rs for what
 * each ACL query means. docs/KV.md maps each rule to its source.
 *
 * Layout. 0G keeps rows (stream, key, version) in SQL tables and asks "the newest row with
 * version <= V". Here each row is a leveldb record whose key ends in the bitwise NOT of the
 * version, big-endian, so the records of one (stream, key) sort newest first and a single
 * seek to prefix || ~V lands on the newest record at or before V. Record kinds, by first
 * byte:
 *
 *   'M' "format" / "next"          format number; the next tx seq to apply
 *   'r' seq                        result of entry seq: outcome byte, then 0G's text
 *   'h' stream                     a stream seen in KV tags: seq of the first such entry
 *   'n' stream                     the seq of the first commit that touched the stream
 *                                  (before it, 0G calls the stream "new")
 *   'v' stream esc(key) ~version   the value written at version (empty: deleted)
 *   'a' stream account ~version    admin role op (grant/renounce) + operator
 *   'w' stream account ~version    writer role op (grant/revoke/renounce) + operator
 *   'k' stream esc(key) ~version   special-key op (special/normal) + operator
 *   'x' stream account esc(key) ~version   special-writer op + operator
 *
 * esc() makes variable-length keys self-delimiting without breaking byte order: 0x00
 * becomes 00 FF and the key ends with 00 00, so esc(a) < esc(b) exactly when a < b, and a
 * key that is a prefix of another sorts first. The state is exactly these records, so the
 * digest over them is a digest of the state.
 *
 * Every apply builds one write batch and writes it with sync; the reads it makes all go
 * through one iterator created before anything is written, so the checks see the state
 * as of the previous entry, as 0G's "version <= tx_seq" queries do.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "codec/hex.h"
#include "codec/keccak.h"
#include "node/kv/kv.h"
#include "sys/ldb.h"

#define KV_FORMAT 1

#define TAG_META    'M'
#define TAG_RESULT  'r'
#define TAG_HOLDING 'h'
#define TAG_CREATED 'n'
#define TAG_VALUE   'v'
#define TAG_ADMIN   'a'
#define TAG_WRITER  'w'
#define TAG_SPECIAL 'k'
#define TAG_SWRITER 'x'

#define ACL_RECORD_SIZE (1 + NODE_KV_ADDRESS_SIZE) /* op, operator */

/* Longest record key: tag, stream, account, an escaped key (at most twice as long, plus
 * its terminator) and a version. */
#define DBKEY_MAX                                                                                  \
	(1 + NODE_KV_STREAM_ID_SIZE + NODE_KV_ADDRESS_SIZE + 2 * (size_t)NODE_KV_MAX_KEY_SIZE +    \
	 2 + 8)

static const char meta_format[] = "Mformat";
static const char meta_next[] = "Mnext";

struct node_kv {
	pthread_mutex_t lock;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_readoptions_t *scan_ropts; /* digest: whole-database scans skip the cache */
	leveldb_writeoptions_t *wopts;	   /* sync */
	leveldb_writeoptions_t *apply_wopts; /* what node_kv_apply() uses: wopts unless lazy */
	leveldb_writeoptions_t *lazy_wopts;  /* no sync */
	uint64_t next_seq;
};

/* ---- errors: the one place leveldb's messages become codes ---- */

static int lvl_error(char *err)
{
	return sys_ldb_error(err, NULL, 0);
}

static int iter_error(leveldb_iterator_t *it)
{
	char *err = NULL;

	leveldb_iter_get_error(it, &err);
	return lvl_error(err);
}

/* ---- record keys: a growable buffer capped at DBKEY_MAX ---- */

struct kbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void kb_reserve(struct kbuf *b, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (b->err)
		return;
	if (n > DBKEY_MAX - b->len) {
		b->err = -E2BIG;
		return;
	}
	if (b->len + n <= b->cap)
		return;
	cap = b->cap ? b->cap : 128;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void kb_put(struct kbuf *b, const void *src, size_t n)
{
	kb_reserve(b, n);
	if (b->err || n == 0)
		return;
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void kb_u8(struct kbuf *b, uint8_t v)
{
	kb_put(b, &v, 1);
}

static void be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void kb_be64(struct kbuf *b, uint64_t v)
{
	uint8_t x[8];

	be64_put(x, v);
	kb_put(b, x, 8);
}

static void kb_esc(struct kbuf *b, const uint8_t *key, size_t len)
{
	static const uint8_t zero_esc[2] = {0x00, 0xff}, end[2] = {0x00, 0x00};
	size_t run = 0;

	kb_reserve(b, len + 2);
	for (size_t i = 0; i < len; i++) {
		if (key[i] != 0)
			continue;
		kb_put(b, key + run, i - run);
		kb_put(b, zero_esc, 2);
		run = i + 1;
	}
	kb_put(b, key + run, len - run);
	kb_put(b, end, 2);
}

static void kb_free(struct kbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Starts a record key: tag, stream. */
static void kb_start(struct kbuf *b, char tag, const uint8_t *stream)
{
	b->len = 0;
	kb_u8(b, (uint8_t)tag);
	if (stream)
		kb_put(b, stream, NODE_KV_STREAM_ID_SIZE);
}

/*
 * Decodes an escaped key starting at p (n bytes available). Returns the number of bytes
 * the escaped form took (terminator included), or 0 when it is malformed; the key goes to
 * *ret_key (malloc'd, NULL for an empty key) and *ret_len.
 */
static size_t unesc(const uint8_t *p, size_t n, uint8_t **ret_key, size_t *ret_len)
{
	uint8_t *key = malloc(n ? n : 1);
	size_t len = 0;

	if (!key)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != 0) {
			key[len++] = p[i];
			continue;
		}
		if (i + 1 >= n)
			break;
		if (p[i + 1] == 0xff) {
			key[len++] = 0;
			i++;
			continue;
		}
		if (p[i + 1] != 0x00)
			break;
		*ret_key = key;
		*ret_len = len;
		return i + 2;
	}
	free(key);
	return 0;
}

/* ---- iterator helpers ---- */

static bool it_key_has_prefix(leveldb_iterator_t *it, const uint8_t *prefix, size_t n)
{
	size_t klen;
	const char *k;

	if (!leveldb_iter_valid(it))
		return false;
	k = leveldb_iter_key(it, &klen);
	return klen >= n && memcmp(k, prefix, n) == 0;
}

static void it_seek(leveldb_iterator_t *it, const uint8_t *key, size_t n)
{
	leveldb_iter_seek(it, (const char *)key, n);
}

/* Positions it at the last record whose key is < key. */
static void it_seek_lt(leveldb_iterator_t *it, const uint8_t *key, size_t n)
{
	it_seek(it, key, n);
	if (leveldb_iter_valid(it))
		leveldb_iter_prev(it);
	else
		leveldb_iter_seek_to_last(it);
}

/* The smallest key greater than every key starting with prefix; false if there is none. */
static bool successor(struct kbuf *b)
{
	for (size_t i = b->len; i-- > 0;) {
		if (b->p[i] != 0xff) {
			b->p[i]++;
			b->len = i + 1;
			return true;
		}
	}
	return false;
}

/* Positions it at the last record whose key starts with a prefix <= group (the records
 * of group itself included). Leaves group unchanged. */
static int it_seek_group_last(leveldb_iterator_t *it, struct kbuf *group)
{
	struct kbuf s = {0};

	kb_put(&s, group->p, group->len);
	if (s.err)
		return s.err;
	if (successor(&s))
		it_seek_lt(it, s.p, s.len);
	else
		leveldb_iter_seek_to_last(it);
	kb_free(&s);
	return 0;
}

/*
 * Positions it at the newest record of group (prefix || ~version) with version <= v, and
 * returns whether there is one. group is left as it was.
 */
static bool it_seek_version(leveldb_iterator_t *it, struct kbuf *group, uint64_t v)
{
	size_t glen = group->len, klen;
	const char *k;

	kb_be64(group, ~v);
	if (group->err)
		return false;
	it_seek(it, group->p, group->len);
	group->len = glen;
	if (!leveldb_iter_valid(it))
		return false;
	k = leveldb_iter_key(it, &klen);
	return klen == glen + 8 && memcmp(k, group->p, glen) == 0;
}

/* Positions it at the first record after all of group's records. */
static void it_seek_past_group(leveldb_iterator_t *it, struct kbuf *group)
{
	size_t glen = group->len, klen;
	const char *k;

	kb_be64(group, UINT64_MAX); /* the largest suffix: every record of group is <= it */
	if (group->err)
		return;
	it_seek(it, group->p, group->len);
	if (leveldb_iter_valid(it)) {
		k = leveldb_iter_key(it, &klen);
		if (klen == group->len && memcmp(k, group->p, klen) == 0)
			leveldb_iter_next(it);
	}
	group->len = glen;
}

static uint64_t it_version(leveldb_iterator_t *it)
{
	size_t klen;
	const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);

	return ~be64_get(k + klen - 8);
}

/* The op byte of the newest ACL record of group at or before v; -1 when there is none. */
static int acl_op_at(leveldb_iterator_t *it, struct kbuf *group, uint64_t v)
{
	size_t vlen;
	const char *val;

	if (!it_seek_version(it, group, v))
		return -1;
	val = leveldb_iter_value(it, &vlen);
	return vlen >= 1 ? (uint8_t)val[0] : -1;
}

/* ---- 0G's ACL predicates (stream_store.rs), each "as of version v" ---- */

struct query {
	leveldb_iterator_t *it;
	struct kbuf k;
};

static bool q_is_new_stream(struct query *q, const uint8_t *stream, uint64_t v)
{
	size_t klen, vlen;
	const char *k, *val;

	kb_start(&q->k, TAG_CREATED, stream);
	if (q->k.err)
		return false;
	it_seek(q->it, q->k.p, q->k.len);
	if (!leveldb_iter_valid(q->it))
		return true;
	k = leveldb_iter_key(q->it, &klen);
	if (klen != q->k.len || memcmp(k, q->k.p, klen) != 0)
		return true;
	val = leveldb_iter_value(q->it, &vlen);
	return vlen != 8 || be64_get((const uint8_t *)val) > v;
}

static bool q_is_admin(struct query *q, const uint8_t *account, const uint8_t *stream, uint64_t v)
{
	kb_start(&q->k, TAG_ADMIN, stream);
	kb_put(&q->k, account, NODE_KV_ADDRESS_SIZE);
	return acl_op_at(q->it, &q->k, v) == NODE_KV_GRANT_ADMIN;
}

static bool q_is_writer_of_stream(struct query *q, const uint8_t *account, const uint8_t *stream,
				  uint64_t v)
{
	kb_start(&q->k, TAG_WRITER, stream);
	kb_put(&q->k, account, NODE_KV_ADDRESS_SIZE);
	return acl_op_at(q->it, &q->k, v) == NODE_KV_GRANT_WRITER;
}

static bool q_is_special_key(struct query *q, const uint8_t *stream, const uint8_t *key,
			     size_t key_len, uint64_t v)
{
	kb_start(&q->k, TAG_SPECIAL, stream);
	kb_esc(&q->k, key, key_len);
	return acl_op_at(q->it, &q->k, v) == NODE_KV_SET_KEY_SPECIAL;
}

static bool q_is_writer_of_key(struct query *q, const uint8_t *account, const uint8_t *stream,
			       const uint8_t *key, size_t key_len, uint64_t v)
{
	kb_start(&q->k, TAG_SWRITER, stream);
	kb_put(&q->k, account, NODE_KV_ADDRESS_SIZE);
	kb_esc(&q->k, key, key_len);
	return acl_op_at(q->it, &q->k, v) == NODE_KV_GRANT_SPECIAL_WRITER;
}

/* 0G's special_writer_key_cnt_in_stream() > 0: the account's newest op on some key of the
 * stream is a special-writer grant. */
static bool q_is_special_writer_of_any_key(struct query *q, const uint8_t *account,
					   const uint8_t *stream, uint64_t v)
{
	struct kbuf group = {0};
	size_t plen, klen;
	bool found = false;

	kb_start(&q->k, TAG_SWRITER, stream);
	kb_put(&q->k, account, NODE_KV_ADDRESS_SIZE);
	if (q->k.err)
		return false;
	plen = q->k.len;
	it_seek(q->it, q->k.p, plen);
	while (!found && it_key_has_prefix(q->it, q->k.p, plen)) {
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(q->it, &klen);
		uint8_t *key;
		size_t key_len, used = unesc(k + plen, klen - plen, &key, &key_len);

		if (used == 0)
			break; /* not one of ours; the digest and -EIO paths report it */
		free(key);
		group.len = 0;
		kb_put(&group, k, plen + used);
		if (group.err)
			break;
		found = acl_op_at(q->it, &group, v) == NODE_KV_GRANT_SPECIAL_WRITER;
		it_seek_past_group(q->it, &group);
	}
	kb_free(&group);
	return found;
}

static bool q_has_write_permission(struct query *q, const uint8_t *account, const uint8_t *stream,
				   const uint8_t *key, size_t key_len, uint64_t v)
{
	if (q_is_new_stream(q, stream, v) || q_is_admin(q, account, stream, v))
		return true;
	if (q_is_special_key(q, stream, key, key_len, v))
		return q_is_writer_of_key(q, account, stream, key, key_len, v);
	return q_is_writer_of_stream(q, account, stream, v);
}

/* 0G's can_write(): may the account write anything at all in the stream. */
static bool q_can_write(struct query *q, const uint8_t *account, const uint8_t *stream, uint64_t v)
{
	return q_is_new_stream(q, stream, v) || q_is_admin(q, account, stream, v) ||
	       q_is_writer_of_stream(q, account, stream, v) ||
	       q_is_special_writer_of_any_key(q, account, stream, v);
}

/* 0G's get_latest_version_before(): newest write of (stream, key) at or before v; 0 when
 * there is none. */
static uint64_t q_latest_version(struct query *q, const uint8_t *stream, const uint8_t *key,
				 size_t key_len, uint64_t v)
{
	kb_start(&q->k, TAG_VALUE, stream);
	kb_esc(&q->k, key, key_len);
	return it_seek_version(q->it, &q->k, v) ? it_version(q->it) : 0;
}

/* ---- open, close ---- */

static int meta_get_u64(struct node_kv *kv, const char *name, bool *ret_found, uint64_t *ret)
{
	char *err = NULL, *val;
	size_t vlen;
	int r;

	val = leveldb_get(kv->db, kv->ropts, name, strlen(name), &vlen, &err);
	r = lvl_error(err);
	if (r < 0)
		return r;
	*ret_found = val != NULL;
	if (val) {
		r = vlen == 8 ? 0 : -EIO;
		if (r == 0)
			*ret = be64_get((const uint8_t *)val);
		leveldb_free(val);
	}
	return r;
}

static bool db_is_empty(struct node_kv *kv)
{
	leveldb_iterator_t *it = leveldb_create_iterator(kv->db, kv->ropts);
	bool empty;

	leveldb_iter_seek_to_first(it);
	empty = !leveldb_iter_valid(it);
	leveldb_iter_destroy(it);
	return empty;
}

static int kv_init_meta(struct node_kv *kv)
{
	leveldb_writebatch_t *wb;
	uint64_t format = 0, next = 0;
	uint8_t x[8];
	bool found_format, found_next;
	char *err = NULL;
	int r;

	r = meta_get_u64(kv, meta_format, &found_format, &format);
	if (r == 0)
		r = meta_get_u64(kv, meta_next, &found_next, &next);
	if (r < 0)
		return r;
	if (found_format) {
		if (format != KV_FORMAT || !found_next)
			return -EIO;
		kv->next_seq = next;
		return 0;
	}
	if (!db_is_empty(kv))
		return -EIO; /* some other database */
	wb = leveldb_writebatch_create();
	be64_put(x, KV_FORMAT);
	leveldb_writebatch_put(wb, meta_format, strlen(meta_format), (const char *)x, 8);
	be64_put(x, 0);
	leveldb_writebatch_put(wb, meta_next, strlen(meta_next), (const char *)x, 8);
	leveldb_write(kv->db, kv->wopts, wb, &err);
	leveldb_writebatch_destroy(wb);
	kv->next_seq = 0;
	return lvl_error(err);
}

void node_kv_set_lazy(struct node_kv *kv, bool lazy)
{
	pthread_mutex_lock(&kv->lock);
	kv->apply_wopts = lazy ? kv->lazy_wopts : kv->wopts;
	pthread_mutex_unlock(&kv->lock);
}

void node_kv_close(struct node_kv *kv)
{
	if (!kv)
		return;
	sys_ldb_close(&(struct sys_ldb){.db = kv->db,
					.opts = kv->opts,
					.ro = kv->ropts,
					.wo = kv->wopts,
					.wo_lazy = kv->lazy_wopts});
	if (kv->scan_ropts)
		leveldb_readoptions_destroy(kv->scan_ropts);
	pthread_mutex_destroy(&kv->lock);
	free(kv);
}

int node_kv_open(const char *dir, struct node_kv **ret_kv)
{
	struct node_kv *kv;
	struct sys_ldb ldb;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	if (pthread_mutex_init(&kv->lock, NULL) != 0) {
		free(kv);
		return -ENOMEM;
	}
	kv->scan_ropts = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(kv->scan_ropts, 1);
	leveldb_readoptions_set_fill_cache(kv->scan_ropts, 0);
	r = sys_ldb_open(dir, &(struct sys_ldb_config){.create = true, .paranoid = true}, &ldb,
			 NULL, 0);
	if (r == 0) {
		kv->db = ldb.db;
		kv->opts = ldb.opts;
		kv->ropts = ldb.ro;
		kv->wopts = ldb.wo;
		kv->lazy_wopts = ldb.wo_lazy;
		kv->apply_wopts = kv->wopts;
	}
	if (r == 0)
		r = kv_init_meta(kv);
	if (r < 0)
		goto out;
	*ret_kv = kv;
	return 0;
out:
	node_kv_close(kv);
	return r;
}

int node_kv_next_tx_seq(struct node_kv *kv, uint64_t *ret_seq)
{
	if (!kv)
		return -EINVAL;
	pthread_mutex_lock(&kv->lock);
	*ret_seq = kv->next_seq;
	pthread_mutex_unlock(&kv->lock);
	return 0;
}

const char *node_kv_outcome_name(enum node_kv_outcome outcome)
{
	switch (outcome) {
	case NODE_KV_COMMIT:
		return "Commit";
	case NODE_KV_DATA_PARSE_ERROR:
		return "DataParseError";
	case NODE_KV_VERSION_CONFLICTION:
		return "VersionConfliction";
	case NODE_KV_TAGS_MISMATCH:
		return "TagsMismatch";
	case NODE_KV_WRITE_PERMISSION_DENIED:
		return "WritePermissionDenied";
	case NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED:
		return "AccessControlPermissionDenied";
	case NODE_KV_SKIPPED:
		return "Skipped";
	}
	return "Unknown";
}

/* ---- result texts, as 0G's ReplayResult Display prints them ---- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when invalid. Rust's
 * from_utf8 rules: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* 0G's truncated_key(): "NONE" for no key, "UNKNOWN" when not UTF-8, else at most its
 * first 32 characters. */
static void truncated_key(const uint8_t *key, size_t len, char *out, size_t cap)
{
	size_t cut = 0, chars = 0, i = 0;

	if (len == 0) {
		snprintf(out, cap, "NONE");
		return;
	}
	while (i < len) {
		size_t s = utf8_seq(key + i, len - i);

		if (s == 0) {
			snprintf(out, cap, "UNKNOWN");
			return;
		}
		if (chars < 32)
			cut = i + s;
		chars++;
		i += s;
	}
	snprintf(out, cap, "%.*s", (int)cut, (const char *)key);
}

static void result_set(struct node_kv_result *res, enum node_kv_outcome o, const char *text)
{
	res->outcome = o;
	snprintf(res->text, sizeof(res->text), "%s", text);
}

static void result_parse_error(struct node_kv_result *res, int err)
{
	/* 0G's ParseError messages: ListTooLong, else InvalidData. */
	result_set(res, NODE_KV_DATA_PARSE_ERROR,
		   err == -NODE_KV_ETOO_MANY
		       ? "DataParseError: Stream read/write/access_control list too long"
		       : "DataParseError: Invalid stream data");
}

static void result_write_denied(struct node_kv_result *res, const uint8_t *stream,
				const uint8_t *key, size_t key_len)
{
	char s[2 * NODE_KV_STREAM_ID_SIZE + 3], k[32 * 4 + 1];

	codec_hex_encode(stream, NODE_KV_STREAM_ID_SIZE, s);
	truncated_key(key, key_len, k, sizeof(k));
	res->outcome = NODE_KV_WRITE_PERMISSION_DENIED;
	snprintf(res->text, sizeof(res->text), "WritePermissionDenied: stream: %s, key: %s", s, k);
}

static void result_acl_denied(struct node_kv_result *res, uint8_t op, const uint8_t *stream,
			      const uint8_t *key, size_t key_len, const uint8_t *account)
{
	char s[2 * NODE_KV_STREAM_ID_SIZE + 3], k[32 * 4 + 1], a[2 * NODE_KV_ADDRESS_SIZE + 3];

	codec_hex_encode(stream, NODE_KV_STREAM_ID_SIZE, s);
	codec_hex_encode(account, NODE_KV_ADDRESS_SIZE, a);
	truncated_key(key, key_len, k, sizeof(k));
	res->outcome = NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED;
	snprintf(res->text, sizeof(res->text),
		 "AccessControlPermissionDenied: operation: %s, stream: %s, key: %s, account: %s",
		 node_kv_acl_op_name(op), s, k, a);
}

/* ---- replay ---- */

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, NODE_KV_STREAM_ID_SIZE);
}

static int cmp_key(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0; /* keyless ACL ops have a NULL key */

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* One write of the transaction, for finding the last write of each (stream, key). */
struct wref {
	const struct node_kv_write *w;
	uint32_t idx;
};

static int cmp_wref(const void *pa, const void *pb)
{
	const struct wref *a = pa, *b = pb;
	int c = memcmp(a->w->stream_id, b->w->stream_id, NODE_KV_STREAM_ID_SIZE);

	if (c == 0)
		c = cmp_key(a->w->key, a->w->key_len, b->w->key, b->w->key_len);
	if (c == 0)
		c = a->idx < b->idx ? -1 : a->idx > b->idx;
	return c;
}

static int cmp_wref_idx(const void *pa, const void *pb)
{
	const struct wref *a = pa, *b = pb;

	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * One ACL operation as 0G's parse_access_control_data() files it: keyed by (op & 0xf0,
 * stream, key, account), where ops without a key have the empty key, renounces have the
 * sender as account and key ops without an account have the zero address.
 */
struct aclref {
	uint8_t cat, op;
	bool prefill; /* the GRANT_ADMIN_ROLE 0G adds for the sender on a new stream */
	const uint8_t *stream;
	const uint8_t *key;
	uint32_t key_len;
	uint8_t account[NODE_KV_ADDRESS_SIZE];
	uint8_t operator_[NODE_KV_ADDRESS_SIZE];
	uint32_t idx; /* order of insertion: prefills first, then the ops in order */
	uint32_t pos; /* winner: where its entry was first inserted */
};

static int cmp_aclref_meta(const struct aclref *a, const struct aclref *b)
{
	int c = (int)a->cat - (int)b->cat;

	if (c == 0)
		c = memcmp(a->stream, b->stream, NODE_KV_STREAM_ID_SIZE);
	if (c == 0)
		c = cmp_key(a->key, a->key_len, b->key, b->key_len);
	if (c == 0)
		c = memcmp(a->account, b->account, NODE_KV_ADDRESS_SIZE);
	return c;
}

static int cmp_aclref(const void *pa, const void *pb)
{
	const struct aclref *a = pa, *b = pb;
	int c = cmp_aclref_meta(a, b);

	if (c == 0)
		c = a->idx < b->idx ? -1 : a->idx > b->idx;
	return c;
}

static int cmp_aclref_pos(const void *pa, const void *pb)
{
	const struct aclref *a = pa, *b = pb;

	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

struct replay {
	struct query q;
	leveldb_writebatch_t *wb;
	uint64_t seq;
	const uint8_t *sender;
	uint8_t *streams; /* the tags' stream ids, sorted, without repeats */
	size_t n_streams;
	bool *is_new, *is_admin; /* per stream, as of the previous entry */
	struct node_kv_result *res;
};

static bool in_tags(const struct replay *rp, const uint8_t *stream, size_t *ret_i)
{
	const uint8_t *p =
	    bsearch(stream, rp->streams, rp->n_streams, NODE_KV_STREAM_ID_SIZE, cmp_id);

	if (p && ret_i)
		*ret_i = (size_t)(p - rp->streams) / NODE_KV_STREAM_ID_SIZE;
	return p != NULL;
}

static void put_record(struct replay *rp, const struct kbuf *k, const void *val, size_t vlen)
{
	leveldb_writebatch_put(rp->wb, (const char *)k->p, k->len, (const char *)val, vlen);
}

/* The read set: a read key written after the version the transaction read at is a
 * conflict. 0G also answers TagsMismatch for a read of a stream the node does not hold;
 * this node holds every stream. */
static int check_reads(struct replay *rp, const struct node_kv_tx *tx, bool *ret_ok)
{
	for (uint32_t i = 0; i < tx->n_reads; i++) {
		const struct node_kv_read *rd = &tx->reads[i];

		if (q_latest_version(&rp->q, rd->stream_id, rd->key, rd->key_len, rp->seq) >
		    tx->version) {
			result_set(rp->res, NODE_KV_VERSION_CONFLICTION, "VersionConfliction");
			*ret_ok = false;
			return rp->q.k.err;
		}
	}
	*ret_ok = true;
	return rp->q.k.err;
}

/* The write set: 0G keeps only the last write of each (stream, key). Returns the winners in
 * the order of their position in the transaction. */
static int unique_writes(const struct node_kv_tx *tx, struct wref **ret, size_t *ret_n)
{
	struct wref *refs;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (tx->n_writes == 0)
		return 0;
	refs = malloc(tx->n_writes * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (uint32_t i = 0; i < tx->n_writes; i++)
		refs[i] = (struct wref){&tx->writes[i], i};
	qsort(refs, tx->n_writes, sizeof(*refs), cmp_wref);
	for (uint32_t i = 0; i < tx->n_writes; i++) {
		bool last = i + 1 == tx->n_writes ||
			    memcmp(refs[i].w->stream_id, refs[i + 1].w->stream_id,
				   NODE_KV_STREAM_ID_SIZE) != 0 ||
			    cmp_key(refs[i].w->key, refs[i].w->key_len, refs[i + 1].w->key,
				    refs[i + 1].w->key_len) != 0;

		if (last)
			refs[n++] = refs[i];
	}
	qsort(refs, n, sizeof(*refs), cmp_wref_idx);
	*ret = refs;
	*ret_n = n;
	return 0;
}

static int check_writes(struct replay *rp, const struct node_kv_tx *tx, const struct wref *w,
			size_t n, bool *ret_ok)
{
	*ret_ok = false;
	for (size_t i = 0; i < n; i++) {
		const struct node_kv_write *x = w[i].w;

		if (!in_tags(rp, x->stream_id, NULL)) {
			result_set(rp->res, NODE_KV_TAGS_MISMATCH, "TagsMismatch");
			return 0;
		}
		if (q_latest_version(&rp->q, x->stream_id, x->key, x->key_len, rp->seq) >
		    tx->version) {
			result_set(rp->res, NODE_KV_VERSION_CONFLICTION, "VersionConfliction");
			return rp->q.k.err;
		}
		if (!q_has_write_permission(&rp->q, rp->sender, x->stream_id, x->key, x->key_len,
					    rp->seq)) {
			result_write_denied(rp->res, x->stream_id, x->key, x->key_len);
			return rp->q.k.err;
		}
		if (rp->q.k.err)
			return rp->q.k.err;
	}
	*ret_ok = true;
	return 0;
}

/*
 * The ACL set as 0G builds it: first a GRANT_ADMIN_ROLE of the sender on every tagged
 * stream that is new, then the ops in order, where an op replaces an earlier one with the
 * same (op & 0xf0, stream, key, account), except that a GRANT_ADMIN_ROLE is dropped when
 * it would replace one, or names the sender. Returns the surviving entries in the order
 * their slot was first filled.
 */
static int build_acls(struct replay *rp, const struct node_kv_tx *tx, struct aclref **ret,
		      size_t *ret_n)
{
	size_t total = 0, n = 0, i = 0;
	struct aclref *a;

	for (size_t s = 0; s < rp->n_streams; s++)
		total += rp->is_new[s];
	total += tx->n_acls;
	*ret = NULL;
	*ret_n = 0;
	if (total == 0)
		return 0;
	a = calloc(total, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t s = 0; s < rp->n_streams; s++) {
		if (!rp->is_new[s])
			continue;
		a[i].cat = NODE_KV_GRANT_ADMIN;
		a[i].op = NODE_KV_GRANT_ADMIN;
		a[i].prefill = true;
		a[i].stream = rp->streams + s * NODE_KV_STREAM_ID_SIZE;
		memcpy(a[i].account, rp->sender, NODE_KV_ADDRESS_SIZE);
		a[i].idx = (uint32_t)i;
		i++;
	}
	for (uint32_t j = 0; j < tx->n_acls; j++, i++) {
		const struct node_kv_acl *op = &tx->acls[j];

		a[i].op = op->op;
		a[i].cat = op->op & 0xf0;
		a[i].stream = op->stream_id;
		a[i].key = op->key;
		a[i].key_len = op->key_len;
		if (op->account)
			memcpy(a[i].account, op->account, NODE_KV_ADDRESS_SIZE);
		else if (op->op == NODE_KV_RENOUNCE_ADMIN || op->op == NODE_KV_RENOUNCE_WRITER ||
			 op->op == NODE_KV_RENOUNCE_SPECIAL_WRITER)
			memcpy(a[i].account, rp->sender, NODE_KV_ADDRESS_SIZE);
		memcpy(a[i].operator_, rp->sender, NODE_KV_ADDRESS_SIZE);
		a[i].idx = (uint32_t)i;
	}
	qsort(a, total, sizeof(*a), cmp_aclref);
	/* Replay each slot's inserts in order; keep the slot's final entry. */
	for (size_t g = 0; g < total;) {
		size_t end = g + 1;
		bool present = false;
		uint32_t first = 0;
		struct aclref win = {0};

		while (end < total && cmp_aclref_meta(&a[g], &a[end]) == 0)
			end++;
		for (size_t e = g; e < end; e++) {
			bool insert = a[e].prefill || a[e].op != NODE_KV_GRANT_ADMIN ||
				      (!present &&
				       memcmp(a[e].account, rp->sender, NODE_KV_ADDRESS_SIZE) != 0);

			if (!insert)
				continue;
			if (!present)
				first = a[e].idx;
			present = true;
			win = a[e];
		}
		/* n <= g: the slot's winner goes where an already-read entry was. */
		if (present) {
			win.pos = first;
			a[n++] = win;
		}
		g = end;
	}
	qsort(a, n, sizeof(*a), cmp_aclref_pos);
	*ret = a;
	*ret_n = n;
	return 0;
}

static int check_acls(struct replay *rp, const struct aclref *a, size_t n, bool *ret_ok)
{
	*ret_ok = false;
	for (size_t i = 0; i < n; i++) {
		size_t s;
		bool allowed;

		if (!in_tags(rp, a[i].stream, &s)) {
			result_set(rp->res, NODE_KV_TAGS_MISMATCH, "TagsMismatch");
			return 0;
		}
		switch (a[i].op) {
		case NODE_KV_GRANT_ADMIN:
		case NODE_KV_SET_KEY_NORMAL:
		case NODE_KV_SET_KEY_SPECIAL:
		case NODE_KV_REVOKE_WRITER:
		case NODE_KV_REVOKE_SPECIAL_WRITER:
			allowed = rp->is_admin[s];
			break;
		case NODE_KV_GRANT_WRITER:
			allowed = rp->is_admin[s] ||
				  q_is_writer_of_stream(&rp->q, rp->sender, a[i].stream, rp->seq);
			break;
		case NODE_KV_GRANT_SPECIAL_WRITER:
			allowed =
			    rp->is_admin[s] || q_is_writer_of_key(&rp->q, rp->sender, a[i].stream,
								  a[i].key, a[i].key_len, rp->seq);
			break;
		default: /* renounces need no role */
			allowed = true;
			break;
		}
		if (rp->q.k.err)
			return rp->q.k.err;
		if (!allowed) {
			result_acl_denied(rp->res, a[i].op, a[i].stream, a[i].key, a[i].key_len,
					  a[i].account);
			return 0;
		}
	}
	*ret_ok = true;
	return 0;
}

static int commit(struct replay *rp, const struct wref *w, size_t nw, const struct aclref *a,
		  size_t na)
{
	struct kbuf k = {0};
	uint8_t x[8];

	be64_put(x, rp->seq);
	for (size_t s = 0; s < rp->n_streams; s++) {
		if (!rp->is_new[s])
			continue;
		kb_start(&k, TAG_CREATED, rp->streams + s * NODE_KV_STREAM_ID_SIZE);
		if (!k.err)
			put_record(rp, &k, x, 8);
	}
	for (size_t i = 0; i < nw && !k.err; i++) {
		kb_start(&k, TAG_VALUE, w[i].w->stream_id);
		kb_esc(&k, w[i].w->key, w[i].w->key_len);
		kb_be64(&k, ~rp->seq);
		if (!k.err)
			put_record(rp, &k, w[i].w->data, (size_t)w[i].w->data_len);
	}
	for (size_t i = 0; i < na && !k.err; i++) {
		uint8_t val[ACL_RECORD_SIZE];

		switch (a[i].cat) {
		case 0x00:
			kb_start(&k, TAG_ADMIN, a[i].stream);
			kb_put(&k, a[i].account, NODE_KV_ADDRESS_SIZE);
			break;
		case 0x10:
			kb_start(&k, TAG_SPECIAL, a[i].stream);
			kb_esc(&k, a[i].key, a[i].key_len);
			break;
		case 0x20:
			kb_start(&k, TAG_WRITER, a[i].stream);
			kb_put(&k, a[i].account, NODE_KV_ADDRESS_SIZE);
			break;
		default: /* 0x30 */
			kb_start(&k, TAG_SWRITER, a[i].stream);
			kb_put(&k, a[i].account, NODE_KV_ADDRESS_SIZE);
			kb_esc(&k, a[i].key, a[i].key_len);
			break;
		}
		kb_be64(&k, ~rp->seq);
		val[0] = a[i].op;
		memcpy(val + 1, a[i].operator_, NODE_KV_ADDRESS_SIZE);
		if (!k.err)
			put_record(rp, &k, val, sizeof(val));
	}
	kb_free(&k);
	if (k.err)
		return k.err;
	result_set(rp->res, NODE_KV_COMMIT, "Commit");
	return 0;
}

/* The checks of 0G's StreamReplayer::replay(), in its order. Sets rp->res; on commit, the
 * transaction's records are in the batch. Returns 0 or a failure that must not be
 * recorded (-ENOMEM, -EIO). */
static int replay_tx(struct replay *rp, const uint8_t *data, size_t len)
{
	struct node_kv_tx tx = {0};
	struct wref *w = NULL;
	struct aclref *a = NULL;
	size_t nw = 0, na = 0;
	bool ok = false;
	int r;

	if (len > NODE_KV_TX_MAX) {
		result_set(rp->res, NODE_KV_DATA_PARSE_ERROR,
			   "DataParseError: Stream data larger than this node replays");
		return 0;
	}
	r = node_kv_tx_decode_prefix(data, len, NODE_KV_SECTION_READS, &tx);
	if (r == 0)
		r = check_reads(rp, &tx, &ok);
	if (r < 0 || !ok)
		goto out;
	node_kv_tx_release(&tx);
	r = node_kv_tx_decode_prefix(data, len, NODE_KV_SECTION_WRITES, &tx);
	if (r == 0)
		r = unique_writes(&tx, &w, &nw);
	if (r == 0)
		r = check_writes(rp, &tx, w, nw, &ok);
	if (r < 0 || !ok)
		goto out;
	free(w);
	w = NULL;
	node_kv_tx_release(&tx);
	r = node_kv_tx_decode(data, len, &tx);
	if (r == 0)
		r = unique_writes(&tx, &w, &nw);
	for (size_t s = 0; r == 0 && s < rp->n_streams; s++) {
		const uint8_t *id = rp->streams + s * NODE_KV_STREAM_ID_SIZE;

		rp->is_new[s] = q_is_new_stream(&rp->q, id, rp->seq);
		rp->is_admin[s] = rp->is_new[s] || q_is_admin(&rp->q, rp->sender, id, rp->seq);
		r = rp->q.k.err;
	}
	if (r == 0)
		r = build_acls(rp, &tx, &a, &na);
	if (r == 0)
		r = check_acls(rp, a, na, &ok);
	if (r == 0 && ok)
		r = commit(rp, w, nw, a, na);
out:
	if (r < -NODE_KV_EFIRST && r > -NODE_KV_ELAST) {
		/* A decoding error is the transaction's fault: record it. */
		result_parse_error(rp->res, r);
		r = 0;
	}
	free(w);
	free(a);
	node_kv_tx_release(&tx);
	return r;
}

/* The tags' stream ids, sorted, without repeats. */
static int tag_streams(const uint8_t *tags, size_t tags_len, uint8_t **ret, size_t *ret_n)
{
	size_t n = node_kv_tags_stream_count(tags, tags_len), u = 0;
	uint8_t *ids;

	ids = malloc(n * NODE_KV_STREAM_ID_SIZE);
	if (!ids)
		return -ENOMEM;
	memcpy(ids, tags + NODE_KV_STREAM_DOMAIN_SIZE, n * NODE_KV_STREAM_ID_SIZE);
	qsort(ids, n, NODE_KV_STREAM_ID_SIZE, cmp_id);
	for (size_t i = 0; i < n; i++) {
		if (u && memcmp(ids + (u - 1) * NODE_KV_STREAM_ID_SIZE,
				ids + i * NODE_KV_STREAM_ID_SIZE, NODE_KV_STREAM_ID_SIZE) == 0)
			continue;
		memmove(ids + u * NODE_KV_STREAM_ID_SIZE, ids + i * NODE_KV_STREAM_ID_SIZE,
			NODE_KV_STREAM_ID_SIZE);
		u++;
	}
	*ret = ids;
	*ret_n = u;
	return 0;
}

/* Records every stream of the tags this node had not seen yet (kv_getHoldingStreamIds). */
static int note_streams(struct replay *rp)
{
	uint8_t x[8];

	be64_put(x, rp->seq);
	for (size_t s = 0; s < rp->n_streams; s++) {
		size_t klen;
		const char *k;

		kb_start(&rp->q.k, TAG_HOLDING, rp->streams + s * NODE_KV_STREAM_ID_SIZE);
		if (rp->q.k.err)
			return rp->q.k.err;
		it_seek(rp->q.it, rp->q.k.p, rp->q.k.len);
		if (leveldb_iter_valid(rp->q.it)) {
			k = leveldb_iter_key(rp->q.it, &klen);
			if (klen == rp->q.k.len && memcmp(k, rp->q.k.p, klen) == 0)
				continue;
		}
		put_record(rp, &rp->q.k, x, 8);
	}
	return 0;
}

static int apply_entry(struct replay *rp, const uint8_t *tags, size_t tags_len, const uint8_t *data,
		       size_t len)
{
	size_t n = node_kv_tags_stream_count(tags, tags_len);
	bool can = false;
	int r;

	if (n == 0) {
		/* 0G's skippable(): no stream ids, so not a KV transaction. */
		result_set(rp->res, NODE_KV_SKIPPED, "Skipped: not a KV transaction");
		return 0;
	}
	if (n > NODE_KV_TX_STREAMS_MAX) {
		result_set(rp->res, NODE_KV_DATA_PARSE_ERROR,
			   "DataParseError: More stream ids in tags than this node replays");
		return 0;
	}
	r = tag_streams(tags, tags_len, &rp->streams, &rp->n_streams);
	if (r == 0) {
		rp->is_new = calloc(rp->n_streams, sizeof(bool));
		rp->is_admin = calloc(rp->n_streams, sizeof(bool));
		if (!rp->is_new || !rp->is_admin)
			r = -ENOMEM;
	}
	if (r == 0)
		r = note_streams(rp);
	if (r < 0)
		return r;
	/* 0G's skippable(): replayed only if the sender may write in one of the streams. */
	for (size_t s = 0; s < rp->n_streams && !can; s++)
		can = q_can_write(&rp->q, rp->sender, rp->streams + s * NODE_KV_STREAM_ID_SIZE,
				  rp->seq);
	if (rp->q.k.err)
		return rp->q.k.err;
	if (!can) {
		result_set(rp->res, NODE_KV_SKIPPED,
			   "Skipped: the sender may not write to any of its streams");
		return 0;
	}
	return replay_tx(rp, data, len);
}

int node_kv_apply(struct node_kv *kv, uint64_t tx_seq, const uint8_t *sender, const uint8_t *tags,
		  size_t tags_len, const uint8_t *data, size_t len,
		  enum node_kv_outcome *ret_outcome)
{
	struct node_kv_result res = {0};
	struct replay rp = {0};
	struct kbuf val = {0};
	uint8_t rkey[9], x[8];
	char *err = NULL;
	int r;

	if (!kv || !sender || (!tags && tags_len))
		return -EINVAL;
	pthread_mutex_lock(&kv->lock);
	if (tx_seq != kv->next_seq) {
		r = -EINVAL;
		goto out;
	}
	rp.q.it = leveldb_create_iterator(kv->db, kv->ropts);
	rp.wb = leveldb_writebatch_create();
	rp.seq = tx_seq;
	rp.sender = sender;
	rp.res = &res;
	r = apply_entry(&rp, tags, tags_len, data, len);
	if (r == 0)
		r = iter_error(rp.q.it);
	if (r < 0)
		goto out;
	rkey[0] = TAG_RESULT;
	be64_put(rkey + 1, tx_seq);
	kb_u8(&val, (uint8_t)res.outcome);
	kb_put(&val, res.text, strlen(res.text));
	r = val.err;
	if (r < 0)
		goto out;
	leveldb_writebatch_put(rp.wb, (const char *)rkey, sizeof(rkey), (const char *)val.p,
			       val.len);
	be64_put(x, tx_seq + 1);
	leveldb_writebatch_put(rp.wb, meta_next, strlen(meta_next), (const char *)x, 8);
	leveldb_write(kv->db, kv->apply_wopts, rp.wb, &err);
	r = lvl_error(err);
	if (r < 0)
		goto out;
	kv->next_seq = tx_seq + 1;
	if (ret_outcome)
		*ret_outcome = res.outcome;
out:
	if (rp.q.it)
		leveldb_iter_destroy(rp.q.it);
	if (rp.wb)
		leveldb_writebatch_destroy(rp.wb);
	kb_free(&rp.q.k);
	kb_free(&val);
	free(rp.streams);
	free(rp.is_new);
	free(rp.is_admin);
	pthread_mutex_unlock(&kv->lock);
	return r;
}

int node_kv_result(struct node_kv *kv, uint64_t tx_seq, struct node_kv_result *ret_result)
{
	struct node_kv_result res = {0};
	uint8_t key[9];
	char *err = NULL, *val;
	size_t vlen;
	int r;

	if (!kv)
		return -EINVAL;
	key[0] = TAG_RESULT;
	be64_put(key + 1, tx_seq);
	pthread_mutex_lock(&kv->lock);
	val = leveldb_get(kv->db, kv->ropts, (const char *)key, sizeof(key), &vlen, &err);
	pthread_mutex_unlock(&kv->lock);
	r = lvl_error(err);
	if (r < 0)
		return r;
	if (!val)
		return -ENOENT;
	if (vlen < 1 || vlen > sizeof(res.text) || (uint8_t)val[0] > NODE_KV_SKIPPED) {
		leveldb_free(val);
		return -EIO;
	}
	res.outcome = (enum node_kv_outcome)(uint8_t)val[0];
	memcpy(res.text, val + 1, vlen - 1);
	leveldb_free(val);
	*ret_result = res;
	return 0;
}

/* ---- value queries ---- */

void node_kv_value_release(struct node_kv_value *v)
{
	if (!v)
		return;
	free(v->data);
	memset(v, 0, sizeof(*v));
}

void node_kv_pair_release(struct node_kv_pair *p)
{
	if (!p)
		return;
	free(p->key);
	node_kv_value_release(&p->value);
	memset(p, 0, sizeof(*p));
}

static int check_key_arg(const uint8_t *key, size_t key_len)
{
	if (!key || key_len == 0)
		return -EINVAL;
	return key_len > NODE_KV_MAX_KEY_SIZE ? -E2BIG : 0;
}

/* The current record's value, sliced to [start, start + len). */
static int slice_value(leveldb_iterator_t *it, uint64_t start, size_t len,
		       struct node_kv_value *ret)
{
	size_t vlen, n;
	const char *val = leveldb_iter_value(it, &vlen);
	struct node_kv_value v = {0};

	/* 0G answers an empty (deleted) value before it looks at start. */
	if (start > vlen && vlen > 0)
		return -EINVAL;
	if (vlen == 0)
		start = 0;
	n = vlen - (size_t)start < len ? vlen - (size_t)start : len;
	if (n) {
		v.data = malloc(n);
		if (!v.data)
			return -ENOMEM;
		memcpy(v.data, val + start, n);
	}
	v.len = n;
	v.size = vlen;
	v.version = it_version(it);
	*ret = v;
	return 0;
}

int node_kv_get(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		uint64_t start, size_t len, uint64_t version, struct node_kv_value *ret_value)
{
	struct query q = {0};
	int r;

	if (!kv || !stream)
		return -EINVAL;
	r = check_key_arg(key, key_len);
	if (r < 0)
		return r;
	if (len > NODE_KV_QUERY_MAX)
		return -E2BIG;
	pthread_mutex_lock(&kv->lock);
	q.it = leveldb_create_iterator(kv->db, kv->ropts);
	kb_start(&q.k, TAG_VALUE, stream);
	kb_esc(&q.k, key, key_len);
	r = q.k.err;
	if (r == 0)
		r = it_seek_version(q.it, &q.k, version) ? slice_value(q.it, start, len, ret_value)
							 : -ENOENT;
	if (r == -ENOENT && iter_error(q.it) < 0)
		r = -EIO;
	leveldb_iter_destroy(q.it);
	pthread_mutex_unlock(&kv->lock);
	kb_free(&q.k);
	return r;
}

/*
 * From the record it is at, walk the stream's keys forward or backward until one whose
 * value as of version is not empty (0G's RPC passes over deleted keys), and return it.
 */
static int walk(struct query *q, const uint8_t *stream, bool forward, uint64_t start, size_t len,
		uint64_t version, struct node_kv_pair *ret)
{
	uint8_t prefix[1 + NODE_KV_STREAM_ID_SIZE];
	struct node_kv_pair p = {0};
	int r = -ENOENT;

	prefix[0] = TAG_VALUE;
	memcpy(prefix + 1, stream, NODE_KV_STREAM_ID_SIZE);
	while (it_key_has_prefix(q->it, prefix, sizeof(prefix))) {
		size_t klen, used;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(q->it, &klen);

		used = unesc(k + sizeof(prefix), klen - sizeof(prefix), &p.key, &p.key_len);
		if (used == 0 || sizeof(prefix) + used + 8 != klen) {
			if (used)
				free(p.key);
			return -EIO;
		}
		q->k.len = 0;
		kb_put(&q->k, k, sizeof(prefix) + used);
		if (q->k.err) {
			free(p.key);
			return q->k.err;
		}
		if (it_seek_version(q->it, &q->k, version)) {
			size_t vlen;

			leveldb_iter_value(q->it, &vlen);
			if (vlen > 0) {
				r = slice_value(q->it, start, len, &p.value);
				if (r < 0) {
					free(p.key);
					return r;
				}
				*ret = p;
				return 0;
			}
		}
		free(p.key);
		p.key = NULL;
		if (forward)
			it_seek_past_group(q->it, &q->k);
		else
			it_seek_lt(q->it, q->k.p, q->k.len);
		if (q->k.err)
			return q->k.err;
	}
	return r;
}

enum walk_from { FROM_NEXT, FROM_PREV, FROM_FIRST, FROM_LAST };

static int iterate(struct node_kv *kv, const uint8_t *stream, enum walk_from from,
		   const uint8_t *key, size_t key_len, bool inclusive, uint64_t start, size_t len,
		   uint64_t version, struct node_kv_pair *ret)
{
	struct query q = {0};
	int r = 0;

	if (!kv || !stream)
		return -EINVAL;
	if (from == FROM_NEXT || from == FROM_PREV)
		r = check_key_arg(key, key_len);
	if (r < 0)
		return r;
	if (len > NODE_KV_QUERY_MAX)
		return -E2BIG;
	pthread_mutex_lock(&kv->lock);
	q.it = leveldb_create_iterator(kv->db, kv->ropts);
	kb_start(&q.k, TAG_VALUE, stream);
	if (from == FROM_NEXT || from == FROM_PREV)
		kb_esc(&q.k, key, key_len);
	r = q.k.err;
	if (r < 0)
		goto out;
	switch (from) {
	case FROM_NEXT:
		if (inclusive)
			it_seek(q.it, q.k.p, q.k.len);
		else
			it_seek_past_group(q.it, &q.k);
		break;
	case FROM_PREV:
		if (inclusive)
			r = it_seek_group_last(q.it, &q.k);
		else
			it_seek_lt(q.it, q.k.p, q.k.len);
		break;
	case FROM_FIRST:
		it_seek(q.it, q.k.p, q.k.len);
		break;
	case FROM_LAST:
		r = it_seek_group_last(q.it, &q.k);
		break;
	}
	if (r == 0)
		r = walk(&q, stream, from == FROM_NEXT || from == FROM_FIRST, start, len, version,
			 ret);
	if (r == -ENOENT && iter_error(q.it) < 0)
		r = -EIO;
out:
	leveldb_iter_destroy(q.it);
	pthread_mutex_unlock(&kv->lock);
	kb_free(&q.k);
	return r;
}

int node_kv_get_next(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		     bool inclusive, uint64_t start, size_t len, uint64_t version,
		     struct node_kv_pair *ret_pair)
{
	return iterate(kv, stream, FROM_NEXT, key, key_len, inclusive, start, len, version,
		       ret_pair);
}

int node_kv_get_prev(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		     bool inclusive, uint64_t start, size_t len, uint64_t version,
		     struct node_kv_pair *ret_pair)
{
	return iterate(kv, stream, FROM_PREV, key, key_len, inclusive, start, len, version,
		       ret_pair);
}

int node_kv_get_first(struct node_kv *kv, const uint8_t *stream, uint64_t start, size_t len,
		      uint64_t version, struct node_kv_pair *ret_pair)
{
	return iterate(kv, stream, FROM_FIRST, NULL, 0, false, start, len, version, ret_pair);
}

int node_kv_get_last(struct node_kv *kv, const uint8_t *stream, uint64_t start, size_t len,
		     uint64_t version, struct node_kv_pair *ret_pair)
{
	return iterate(kv, stream, FROM_LAST, NULL, 0, false, start, len, version, ret_pair);
}

int node_kv_history(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		    node_kv_history_fn *fn, void *ctx)
{
	struct query q = {0};
	int r;

	if (!kv || !stream || !fn)
		return -EINVAL;
	r = check_key_arg(key, key_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&kv->lock);
	q.it = leveldb_create_iterator(kv->db, kv->ropts);
	kb_start(&q.k, TAG_VALUE, stream);
	kb_esc(&q.k, key, key_len);
	r = q.k.err;
	if (r == 0)
		r = it_seek_group_last(q.it, &q.k); /* the oldest record sorts last */
	while (r == 0 && it_key_has_prefix(q.it, q.k.p, q.k.len)) {
		struct node_kv_version v;
		size_t klen, vlen;

		leveldb_iter_key(q.it, &klen);
		if (klen != q.k.len + 8) {
			r = -EIO;
			break;
		}
		leveldb_iter_value(q.it, &vlen);
		v.version = it_version(q.it);
		v.tx_seq = v.version;
		v.size = vlen;
		r = fn(ctx, &v);
		leveldb_iter_prev(q.it);
	}
	if (r == 0)
		r = iter_error(q.it);
	leveldb_iter_destroy(q.it);
	pthread_mutex_unlock(&kv->lock);
	kb_free(&q.k);
	return r;
}

/* ---- ACL queries ---- */

enum acl_query { Q_ADMIN, Q_SPECIAL_KEY, Q_WRITER_OF_KEY, Q_WRITER_OF_STREAM, Q_PERMISSION };

static int acl_query(struct node_kv *kv, enum acl_query what, const uint8_t *account,
		     const uint8_t *stream, const uint8_t *key, size_t key_len, uint64_t version,
		     bool *ret)
{
	struct query q = {0};
	bool is = false;
	int r = 0;

	if (!kv || !stream || (what != Q_SPECIAL_KEY && !account))
		return -EINVAL;
	if (what == Q_SPECIAL_KEY || what == Q_WRITER_OF_KEY || what == Q_PERMISSION)
		r = check_key_arg(key, key_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&kv->lock);
	q.it = leveldb_create_iterator(kv->db, kv->ropts);
	switch (what) {
	case Q_ADMIN:
		is = q_is_admin(&q, account, stream, version);
		break;
	case Q_SPECIAL_KEY:
		is = q_is_special_key(&q, stream, key, key_len, version);
		break;
	case Q_WRITER_OF_KEY:
		is = q_is_writer_of_key(&q, account, stream, key, key_len, version);
		break;
	case Q_WRITER_OF_STREAM:
		is = q_is_writer_of_stream(&q, account, stream, version);
		break;
	case Q_PERMISSION:
		is = q_has_write_permission(&q, account, stream, key, key_len, version);
		break;
	}
	r = q.k.err;
	if (r == 0)
		r = iter_error(q.it);
	leveldb_iter_destroy(q.it);
	pthread_mutex_unlock(&kv->lock);
	kb_free(&q.k);
	if (r == 0)
		*ret = is;
	return r;
}

int node_kv_is_admin(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
		     uint64_t version, bool *ret_is)
{
	return acl_query(kv, Q_ADMIN, account, stream, NULL, 0, version, ret_is);
}

int node_kv_is_special_key(struct node_kv *kv, const uint8_t *stream, const uint8_t *key,
			   size_t key_len, uint64_t version, bool *ret_is)
{
	return acl_query(kv, Q_SPECIAL_KEY, NULL, stream, key, key_len, version, ret_is);
}

int node_kv_is_writer_of_key(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
			     const uint8_t *key, size_t key_len, uint64_t version, bool *ret_is)
{
	return acl_query(kv, Q_WRITER_OF_KEY, account, stream, key, key_len, version, ret_is);
}

int node_kv_is_writer_of_stream(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
				uint64_t version, bool *ret_is)
{
	return acl_query(kv, Q_WRITER_OF_STREAM, account, stream, NULL, 0, version, ret_is);
}

int node_kv_has_write_permission(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
				 const uint8_t *key, size_t key_len, uint64_t version,
				 bool *ret_has)
{
	return acl_query(kv, Q_PERMISSION, account, stream, key, key_len, version, ret_has);
}

/* ---- streams, digest ---- */

int node_kv_holding_stream_ids(struct node_kv *kv, node_kv_stream_fn *fn, void *ctx)
{
	leveldb_iterator_t *it;
	uint8_t tag = TAG_HOLDING;
	int r = 0;

	if (!kv || !fn)
		return -EINVAL;
	pthread_mutex_lock(&kv->lock);
	it = leveldb_create_iterator(kv->db, kv->ropts);
	it_seek(it, &tag, 1);
	while (r == 0 && it_key_has_prefix(it, &tag, 1)) {
		size_t klen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);

		if (klen != 1 + NODE_KV_STREAM_ID_SIZE) {
			r = -EIO;
			break;
		}
		r = fn(ctx, k + 1);
		leveldb_iter_next(it);
	}
	if (r == 0)
		r = iter_error(it);
	leveldb_iter_destroy(it);
	pthread_mutex_unlock(&kv->lock);
	return r;
}

int node_kv_digest(struct node_kv *kv, uint8_t ret_digest[32])
{
	struct codec_keccak h;
	leveldb_iterator_t *it;
	int r;

	if (!kv)
		return -EINVAL;
	codec_keccak_init(&h);
	pthread_mutex_lock(&kv->lock);
	it = leveldb_create_iterator(kv->db, kv->scan_ropts);
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = leveldb_iter_key(it, &klen);
		const char *v = leveldb_iter_value(it, &vlen);
		uint8_t x[8];

		be64_put(x, klen);
		codec_keccak_update(&h, x, 8);
		codec_keccak_update(&h, k, klen);
		be64_put(x, vlen);
		codec_keccak_update(&h, x, 8);
		codec_keccak_update(&h, v, vlen);
	}
	r = iter_error(it);
	leveldb_iter_destroy(it);
	pthread_mutex_unlock(&kv->lock);
	if (r == 0)
		codec_keccak_final(&h, ret_digest);
	return r;
}
