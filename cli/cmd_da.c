/*
 * zgfs da put|get|sample|status: data availability from the command line (docs/DA.md).
 * Each talks to one node (--node URL, else the node running on the data directory) for
 * the chain's state, and to the epoch's signers directly; node/da.h does the work and
 * checks every answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/da.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "node/da.h"
#include "node/rpc/rpc.h"

enum { OPT_DATA = 0x100, OPT_NODE, OPT_JSON, OPT_SAMPLES, OPT_WAIT, OPT_NO_LOG };

struct da_args {
	const char *data, *url;
	bool json, no_log;
	unsigned long long samples, wait_s;
	char buf[PATH_MAX];
	int nargs;
	char **args;
};

static int parse(int argc, char **argv, struct da_args *a)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, OPT_DATA},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"samples", required_argument, NULL, OPT_SAMPLES},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"no-log", no_argument, NULL, OPT_NO_LOG},
	    {NULL, 0, NULL, 0},
	};
	char dir[PATH_MAX];
	int c;

	a->samples = 16;
	a->wait_s = 120;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			a->data = optarg;
			break;
		case OPT_NODE:
			a->url = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_NO_LOG:
			a->no_log = true;
			break;
		case OPT_SAMPLES:
			if (cli_parse_u64(optarg, &a->samples) < 0 || a->samples == 0 ||
			    a->samples > 4096) {
				cli_error("da: --samples takes 1 to 4096, not '%s'", optarg);
				return -1;
			}
			break;
		case OPT_WAIT:
			if (cli_parse_u64(optarg, &a->wait_s) < 0 || a->wait_s > 86400) {
				cli_error("da: --wait takes seconds (0 to 86400), not '%s'",
					  optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	a->nargs = argc - optind;
	a->args = argv + optind;
	if (a->url)
		return 0;
	/* No --node: the node or mount running on the data directory. */
	if (cli_data_dir(a->data, dir, sizeof(dir)) < 0 ||
	    cli_running_url(dir, a->buf, sizeof(a->buf)) < 0) {
		cli_error("da: give --node URL (a node on a chain with a DA contract), or run "
			  "zgfs node on the data directory");
		return -1;
	}
	a->url = a->buf;
	return 0;
}

static int parse_root(const char *s, uint8_t root[32])
{
	if (codec_hex_decode(s, root, 32) < 0) {
		cli_error("da: '%s' is not a data root (0x and 64 hex digits)", s);
		return -1;
	}
	return 0;
}

/* The whole file (at most CODEC_DA_MAX_BLOB bytes: a larger one is refused unread). */
static int read_blob(const char *path, uint8_t **ret, size_t *ret_len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = CODEC_DA_MAX_BLOB + 1;
	uint8_t *buf;
	ssize_t n;

	if (fd < 0) {
		cli_error("da put: %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(cap);
	if (!buf) {
		cli_error("da put: out of memory");
		return -1;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_error("da put: %s: %s", path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > CODEC_DA_MAX_BLOB) {
		cli_error("da put: %s is larger than a blob may be (%u bytes, 0G's maximum)", path,
			  (unsigned)CODEC_DA_MAX_BLOB);
		goto fail;
	}
	if (fd)
		close(fd);
	*ret = buf;
	*ret_len = len;
	return 0;
fail:
	if (fd)
		close(fd);
	free(buf);
	return -1;
}

static void print_root(void *ctx, const uint8_t root[32])
{
	char hex[67];

	if (*(bool *)ctx)
		return;
	codec_hex_encode(root, 32, hex);
	printf("blob %s\n", hex);
	fflush(stdout);
}

static int da_put(struct da_args *a)
{
	struct node_da_put_report rep;
	char why[512] = "", hex[67], quorum[67], log_hex[67];
	uint8_t *blob;
	size_t len;
	int r;

	if (a->nargs != 1) {
		cli_usage(stderr, "da");
		return 2;
	}
	if (read_blob(a->args[0], &blob, &len) < 0)
		return 1;
	r = node_da_put(a->url, blob, len, (unsigned)a->wait_s, !a->no_log, print_root, &a->json,
			&rep, why, sizeof(why));
	free(blob);
	if (r < 0) {
		cli_error("da put: %s", why[0] ? why : cli_why(r));
		return 1;
	}
	codec_hex_encode(rep.root, 32, hex);
	codec_hex_encode(rep.log_root, 32, log_hex);
	if (a->json) {
		printf(
		    "{\"blob\":\"%s\",\"size\":%llu,\"k\":%u,\"epoch\":%llu,\"slotsSigned\":%u,"
		    "\"slots\":%u,\"members\":%u,\"encodeSeconds\":%.3f,\"disperseSeconds\":%.3f,"
		    "\"certifySeconds\":%.3f,\"storeSeconds\":%.3f,\"logTxSeq\":%lld,"
		    "\"logRoot\":%s%s%s}\n",
		    hex, (unsigned long long)rep.len, rep.k, (unsigned long long)rep.epoch,
		    rep.slots_signed, rep.slots, rep.members, rep.encode_s, rep.disperse_s,
		    rep.certify_s, rep.store_s, a->no_log ? -1LL : (long long)rep.log_tx_seq,
		    a->no_log ? "" : "\"", a->no_log ? "null" : log_hex, a->no_log ? "" : "\"");
		return 0;
	}
	codec_hex_encode(rep.quorum, 32, quorum);
	printf("certified epoch %llu quorum %s signed %u of %u\n", (unsigned long long)rep.epoch,
	       quorum, rep.slots_signed, rep.slots);
	if (!a->no_log)
		printf("stored in the log: tx seq %llu root %s\n",
		       (unsigned long long)rep.log_tx_seq, log_hex);
	return 0;
}

/* OUT written whole or not at all: a temporary file beside it, synced, renamed. */
static int write_out(const char *out, const uint8_t *p, size_t len)
{
	char tmp[PATH_MAX];
	size_t done = 0;
	int fd;

	if (strcmp(out, "-") == 0)
		return fwrite(p, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -EIO;
	if (snprintf(tmp, sizeof(tmp), "%s.zgfs-tmp", out) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			close(fd);
			unlink(tmp);
			return e;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, out) < 0) {
		int e = -errno;

		unlink(tmp);
		return e;
	}
	return 0;
}

static int da_get(struct da_args *a)
{
	struct node_da_get_report rep;
	uint8_t root[32], *blob = NULL;
	char why[512] = "";
	size_t len;
	int r;

	if (a->nargs != 2) {
		cli_usage(stderr, "da");
		return 2;
	}
	if (parse_root(a->args[0], root) < 0)
		return 2;
	r = node_da_get(a->url, root, &blob, &len, &rep, why, sizeof(why));
	if (r < 0) {
		cli_error("da get: %s (nothing written)", why[0] ? why : cli_why(r));
		return 1;
	}
	r = write_out(a->args[1], blob, len);
	free(blob);
	if (r < 0) {
		cli_error("da get: %s: %s", a->args[1], strerror(-r));
		return 1;
	}
	if (strcmp(a->args[1], "-") != 0)
		fprintf(stderr,
			"zgfs da get: %zu bytes from %u of %u rows (epoch %llu), verified\n", len,
			rep.rows_fetched, 2 * rep.k, (unsigned long long)rep.epoch);
	return 0;
}

static void print_sample(const struct node_da_sample_report *s, bool json)
{
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:s}", "available",
				      s->verified == s->asked, "k", (json_int_t)s->k, "samples",
				      (json_int_t)s->asked, "verified", (json_int_t)s->verified,
				      "missed", (json_int_t)s->missed, "rebuilt",
				      (json_int_t)s->rebuilt, "confidence", s->confidence,
				      "seconds", s->latency_s, "failed", s->failed);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(o);
		return;
	}
	if (s->verified == s->asked && s->missed == 0)
		printf("available: %u of %u samples verified, confidence %.3f %% (%.3f s)\n",
		       s->verified, s->asked, 100 * s->confidence, s->latency_s);
	else if (s->verified == s->asked)
		printf("available: %u of %u samples verified, confidence %.3f %% (%.3f s); %u "
		       "rebuilt from their column because their signer failed: %s\n",
		       s->verified, s->asked, 100 * s->confidence, s->latency_s, s->rebuilt,
		       s->failed);
	else
		printf("unavailable: %u of %u samples verified; %s\n", s->verified, s->asked,
		       s->failed);
}

static int da_sample(struct da_args *a)
{
	struct node_da_sample_report rep;
	uint8_t root[32];
	char why[512] = "";
	int r;

	if (a->nargs != 1) {
		cli_usage(stderr, "da");
		return 2;
	}
	if (parse_root(a->args[0], root) < 0)
		return 2;
	r = node_da_sample(a->url, root, (unsigned)a->samples, &rep, why, sizeof(why));
	if (r < 0) {
		if (r == -CODEC_EDA_UNRECOVERABLE || r == -ENOENT) {
			printf("unavailable: %s\n", why);
			return 1;
		}
		cli_error("da sample: %s", why[0] ? why : cli_why(r));
		return 2;
	}
	print_sample(&rep, a->json);
	return r == 0 ? 0 : 1;
}

static json_t *call(const char *url, const char *method, json_t *params)
{
	struct node_rpc_client *c = NULL;
	struct node_rpc_error err = {0};
	json_t *o = NULL;
	int r = node_rpc_client_new(url, &c);

	if (r == 0)
		r = node_rpc_call(c, method, params, &o, &err);
	else
		json_decref(params);
	node_rpc_client_free(c);
	if (r < 0)
		cli_error("da status: %s: %s%s%s", url, err.message[0] ? err.message : strerror(-r),
			  err.data[0] ? ": " : "", err.data);
	return r < 0 ? NULL : o;
}

static void dump(json_t *o)
{
	char *text = json_dumps(o, JSON_INDENT(2));

	printf("%s\n", text ? text : "null");
	free(text);
}

static int da_status(struct da_args *a)
{
	struct node_da_sample_report s = {0};
	uint8_t root[32];
	char why[512] = "";
	json_t *cert, *draw;
	bool ok;
	int r;

	if (a->nargs > 1) {
		cli_usage(stderr, "da");
		return 2;
	}
	if (a->nargs == 0) { /* the node's own DA part */
		json_t *o = call(a->url, "zgfs_daStatus", json_array());

		if (!o)
			return 1;
		dump(o);
		json_decref(o);
		return 0;
	}
	if (parse_root(a->args[0], root) < 0)
		return 2;
	cert = call(a->url, "zgfs_daCertificate", json_pack("[s]", a->args[0]));
	if (!cert)
		return 1;
	if (json_is_null(cert)) {
		printf("not certified: the chain records no certificate for %s\n", a->args[0]);
		json_decref(cert);
		return 1;
	}
	draw = call(a->url, "zgfs_daDraw", json_pack("[O]", json_object_get(cert, "epoch")));
	r = node_da_sample(a->url, root, (unsigned)a->samples, &s, why, sizeof(why));
	if (a->json) {
		json_t *o = json_pack(
		    "{s:O, s:O?, s:{s:b, s:I, s:I, s:f, s:s}}", "certificate", cert, "signers",
		    draw ? json_object_get(draw, "members") : NULL, "sampling", "available", r == 0,
		    "samples", (json_int_t)s.asked, "verified", (json_int_t)s.verified,
		    "confidence", s.confidence, "failed", r < 0 ? why : s.failed);
		dump(o);
		json_decref(o);
	} else {
		json_t *m;
		size_t i;

		printf("certificate  epoch %lld, %lld bytes, block %lld, fee %lld wei\n",
		       (long long)json_integer_value(json_object_get(cert, "epoch")),
		       (long long)json_integer_value(json_object_get(cert, "size")),
		       (long long)json_integer_value(json_object_get(cert, "block")),
		       (long long)json_integer_value(json_object_get(cert, "feeWei")));
		printf("quorum       %s, %lld slots signed%s\n",
		       json_string_value(json_object_get(cert, "quorum")),
		       (long long)json_integer_value(json_object_get(cert, "slotsSigned")),
		       json_is_true(json_object_get(cert, "quorumMatchesDraw"))
			   ? ", the epoch's draw"
			   : ", NOT the epoch's draw: not trusted as available");
		if (json_is_true(json_object_get(cert, "voided")))
			printf("VOIDED       by a bad-encoding proof: the blob is not available\n");
		json_array_foreach(draw ? json_object_get(draw, "members") : NULL, i, m) printf(
		    "signer %-5zu %s %s\n", i, json_string_value(json_object_get(m, "account")),
		    json_string_value(json_object_get(m, "url")));
		printf("sampling     ");
		if (r < 0)
			printf("failed: %s\n", why);
		else
			print_sample(&s, false);
	}
	ok = r == 0 && json_is_true(json_object_get(cert, "quorumMatchesDraw")) &&
	     !json_is_true(json_object_get(cert, "voided"));
	json_decref(cert);
	json_decref(draw);
	return ok ? 0 : 1;
}

int cmd_da(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct da_args *a);
	} subs[] = {{"put", da_put}, {"get", da_get}, {"sample", da_sample}, {"status", da_status}};
	struct da_args a = {0};

	if (argc < 2)
		goto usage;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		if (parse(argc - 1, argv + 1, &a) < 0)
			return 2;
		return subs[i].fn(&a);
	}
usage:
	cli_usage(stderr, "da");
	return 2;
}
