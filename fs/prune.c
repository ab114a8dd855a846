/*
 * What a volume's files still need (prune.h). Two passes over the inode numbers the
 * superblock has handed out: every record of every inode (for the candidates, and for
 * the files with no name left, whose versions only keep_since keeps), then each live
 * file's whole history through fs_history(), grouped into versions, newest first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/endian.h"
#include "fs/fs.h"
#include "fs/prune.h"
#include "fs/snapshot.h"

static int add_extents(struct fs_seqset *s, const struct fs_record *rec)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < rec->nextents; i++)
		if (rec->extents[i].tx_seq != FS_HOLE)
			r = fs_seqset_add(s, rec->extents[i].tx_seq);
	return r;
}

/* --- one live file's history, as versions --------------------------------------------- */

/* A version: its records' extents are refs[first, end) of the walk. */
struct group {
	size_t first, end;
	int64_t ctime;
};

struct walk {
	struct group *g;
	size_t ng, cap;
	struct fs_seqset refs; /* in walk order, not finished */
};

static int walk_record(void *ctx, uint64_t seq, const struct fs_record *rec, bool version)
{
	struct walk *w = ctx;
	struct group *g;
	int r;

	(void)seq;
	if (version || w->ng == 0) {
		if (w->ng == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 64;
			struct group *ng = realloc(w->g, cap * sizeof(*ng));

			if (!ng)
				return -ENOMEM;
			w->g = ng;
			w->cap = cap;
		}
		w->g[w->ng++] = (struct group){w->refs.n, w->refs.n, rec->ctime_sec};
	}
	g = &w->g[w->ng - 1];
	r = add_extents(&w->refs, rec);
	g->end = w->refs.n;
	if (rec->ctime_sec > g->ctime)
		g->ctime = rec->ctime_sec;
	return r;
}

static int keep_live(struct node *n, const uint8_t *stream, uint64_t ino,
		     const struct fs_prune_policy *p, struct fs_seqset *kept,
		     struct fs_prune_stats *st)
{
	struct walk w = {0};
	int r = fs_history(n, stream, ino, walk_record, &w);

	for (size_t i = w.ng; r == 0 && i-- > 0;) {
		size_t age = w.ng - 1 - i; /* 0: the current version */
		bool keep = age == 0 || (!p->by_count && !p->by_time) ||
			    (p->by_count && age < p->keep) ||
			    (p->by_time && w.g[i].ctime >= p->keep_since);

		st->versions++;
		if (!keep)
			continue;
		st->kept++;
		for (size_t k = w.g[i].first; r == 0 && k < w.g[i].end; k++)
			r = fs_seqset_add(kept, w.refs.v[k]);
	}
	free(w.g);
	fs_seqset_release(&w.refs);
	return r;
}

/* --- every inode ---------------------------------------------------------------------- */

/* One inode: its records' extents into all; a file with no name left keeps by time only. */
static int scan_inode(struct node *n, const uint8_t *stream, uint64_t ino,
		      const struct fs_prune_policy *p, struct fs_seqset *kept,
		      struct fs_seqset *all, struct fs_prune_stats *st)
{
	uint8_t key[FS_KEY_MAX];
	size_t klen = fs_key_inode(key, ino);
	struct fs_seqset l = {0};
	bool live = false, any = false;
	int r = node_kv_versions(n, stream, key, klen, fs_seqset_add_version, &l);

	if (r == -ENOENT)
		r = 0;
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct fs_record rec;
		int q = fs_record_at(n, stream, ino, l.v[i], &rec);

		live = q == 0; /* the newest record decides */
		if (q != 0) {
			r = q < 0 ? q : 0;
			continue;
		}
		any = true;
		r = add_extents(all, &rec);
		fs_record_release(&rec);
	}
	if (r == 0 && any)
		st->files++;
	if (r == 0 && live)
		r = keep_live(n, stream, ino, p, kept, st);
	/* A removed file: each record kept by time alone (or by no policy at all). */
	for (size_t i = 0; r == 0 && !live && any && i < l.n; i++) {
		struct fs_record rec;
		int q = fs_record_at(n, stream, ino, l.v[i], &rec);

		if (q != 0) {
			r = q < 0 ? q : 0;
			continue;
		}
		if ((!p->by_count && !p->by_time) || (p->by_time && rec.ctime_sec >= p->keep_since))
			r = add_extents(kept, &rec);
		fs_record_release(&rec);
	}
	free(l.v);
	return r;
}

int fs_prune_scan(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		  const struct fs_prune_policy *p, struct fs_seqset *kept, struct fs_seqset *all,
		  struct fs_prune_stats *stats)
{
	struct fs_prune_stats st = {0};
	uint8_t key[FS_KEY_MAX];
	struct node_value v;
	uint64_t next_ino;
	int r = node_kv_read(n, stream, key, fs_key_super(key), &v);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (v.len < 9) {
		free(v.data);
		return 0;
	}
	next_ino = codec_get_be64(v.data + 1);
	free(v.data);
	for (uint64_t ino = FS_ROOT_INO + 1; r == 0 && ino < next_ino; ino++)
		r = scan_inode(n, stream, ino, p, kept, all, &st);
	/* Whatever the policy, a snapshot keeps its files. */
	if (r == 0)
		r = fs_snap_keep(n, stream, kept);
	if (r == 0 && stats) {
		stats->files += st.files;
		stats->versions += st.versions;
		stats->kept += st.kept;
	}
	return r;
}

/* --- a whole prune ------------------------------------------------------------------- */

int fs_prune_run(struct node *n, const uint8_t *streams, size_t nstreams,
		 const struct fs_prune_policy *p, bool dry, fs_prune_entry_fn *each, void *ctx,
		 struct fs_prune_stats *stats)
{
	struct fs_seqset kept = {0}, all = {0};
	struct node_file_info *fi = malloc(sizeof(*fi));
	int r = fi ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < nstreams; i++)
		r = fs_prune_scan(n, streams + i * NODE_STREAM_ID_SIZE, p, &kept, &all, stats);
	fs_seqset_finish(&kept);
	fs_seqset_finish(&all);
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		uint64_t freed = 0;

		if (fs_seqset_has(&kept, all.v[i]) || node_file_info_by_seq(n, all.v[i], fi) < 0 ||
		    (!fi->finalized && !fi->pruned) || (dry && fi->pruned))
			continue;
		if (!dry)
			r = node_prune(n, all.v[i], &freed);
		else
			freed = fi->entry.length;
		if (r == 0 && freed) {
			stats->entries++;
			stats->bytes += freed;
			if (each)
				each(ctx, all.v[i], freed);
		} else if (r == 0) {
			stats->again++;
		}
	}
	free(fi);
	fs_seqset_release(&kept);
	fs_seqset_release(&all);
	return r;
}

/* --- by itself ------------------------------------------------------------------------ */

struct fs_prune_loop {
	struct node *n;
	uint8_t stream[NODE_STREAM_ID_SIZE];
	struct fs_prune_policy policy;
	unsigned interval_ms;
	fs_prune_report_fn *report;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

static void *loop_main(void *arg)
{
	struct fs_prune_loop *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += l->interval_ms / 1000;
		until.tv_nsec += (long)(l->interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) == 0)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		{
			struct fs_prune_stats st = {0};
			struct fs_prune_policy p = l->policy;
			int r;

			if (p.by_time) /* keep_since holds the duration here */
				p.keep_since = (int64_t)time(NULL) - l->policy.keep_since;
			r = fs_prune_run(l->n, l->stream, 1, &p, false, NULL, NULL, &st);
			l->report(l->ctx, &st, r);
		}
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int fs_prune_loop_start(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
			const struct fs_prune_policy *p, unsigned interval_ms,
			fs_prune_report_fn *report, void *ctx, struct fs_prune_loop **ret_loop)
{
	struct fs_prune_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->n = n;
	memcpy(l->stream, stream, NODE_STREAM_ID_SIZE);
	l->policy = *p;
	l->interval_ms = interval_ms ? interval_ms : 1;
	l->report = report;
	l->ctx = ctx;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		free(l);
		return -EAGAIN;
	}
	*ret_loop = l;
	return 0;
}

void fs_prune_loop_stop(struct fs_prune_loop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}
