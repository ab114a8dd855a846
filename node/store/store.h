/*
 * store.h - the node's log store: the bytes of every log entry, where they live on disk,
 * and which are complete.
 *
 * Layout (under the store directory): entry bytes in large append-only pack files; an
 * index in leveldb (tx seq → entry location and state; root → tx seqs; each entry's
 * segment roots, from which segment proofs are made). Entries arrive two ways:
 *
 *  - written here as a stream (a writer): bytes are appended to a pack while the Merkle
 *    root is computed from the same bytes; seal() makes them durable and returns the
 *    submission to settle; commit() records the settled tx seq. Several writers may be
 *    open at once (each appends to its own pack).
 *  - settled elsewhere and uploaded in segments (expect() then put_segment(), in any order,
 *    each checked against the entry's root with its proof before it is stored).
 *
 * An entry is finalized when all its bytes are here and synced; only finalized entries
 * are read. Crash safety: after a crash, store_open() truncates bytes that no index record
 * covers and reports sealed-but-uncommitted writers (node_store_pending), so the node can
 * finish or drop them with what the chain says; nothing finalized is ever lost or torn.
 *
 * All disk I/O of the store's own files goes through node/io.h (the leveldb index does its
 * own, with synced writes). Functions are thread-safe unless they say otherwise and return
 * 0 or -errno (-EIO for unreadable or corrupt data, -ENOSPC for a full disk). On-disk
 * layout, what is synced when, and why that is crash-safe: docs/STORE.md.
 */
#ifndef NODE_STORE_H
#define NODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "codec/merkle.h"
#include "codec/proof.h"

struct node_store;
struct node_store_writer;

/* Opens (creating) the store in dir. Recovers after a crash (see above); what recovery
 * found is in node_store_recovery_report(). -EBUSY when the index is open elsewhere,
 * -ENOTSUP for an index of another format version, -EIO for an unreadable one. */
int node_store_open(const char *dir, struct node_store **ret_store);

/* Options for node_store_open_config(); zero fields take the defaults. */
struct node_store_config {
	uint64_t pack_size; /* a pack takes no new entry past this size (NODE_STORE_PACK_SIZE) */
};
int node_store_open_config(const char *dir, const struct node_store_config *cfg,
			   struct node_store **ret_store);

/* NULL-safe. Writers still open are freed without touching the disk, as a crash would
 * leave them (unsealed: cut at the next open; sealed: pending); their pointers die here. */
void node_store_close(struct node_store *s);

/* What the last node_store_open() found and repaired, for the daemon to report. */
struct node_store_recovery {
	uint64_t packs;		  /* pack files checked */
	uint64_t packs_truncated; /* packs cut back to their committed end ... */
	uint64_t bytes_truncated; /* ... dropping these bytes of writers never sealed */
	uint64_t packs_extended;  /* packs shorter than committed (reserved space not yet
				     written, normal), regrown with zeros */
	uint64_t packs_missing;	  /* pack files holding committed bytes that were missing:
				     recreated as zeros; their entries fail verified reads */
	uint64_t pending;	  /* sealed writers never committed or aborted */
	uint64_t expected;	  /* settled entries still waiting for segments */
};
void node_store_recovery_report(struct node_store *s, struct node_store_recovery *ret_report);

/* Corruption seen since open: verified reads that failed, and the last one's place. */
struct node_store_health {
	uint64_t corrupt_reads;
	uint64_t last_tx_seq;
	uint64_t last_segment;
};
void node_store_health(struct node_store *s, struct node_store_health *ret_health);

/* What the store knows of one entry. */
struct node_store_info {
	uint64_t tx_seq;
	uint64_t length;	    /* bytes */
	uint8_t root[CODEC_HASH_SIZE];
	bool finalized;
	bool pruned;		    /* its bytes were dropped here (node_store_prune) */
	uint64_t segments;	    /* segments of the padded entry: codec_num_segments(length) */
	uint64_t segments_present;  /* of those, stored; segments wholly inside the padding
				       (never uploaded) count as stored, so an entry is
				       finalized exactly when this equals segments
				       (for an entry held whole) */
	/* Held in part (node_store_expect_shard): data segment i is kept here iff
	 * (start / 1024 + i) mod num_shard == shard_id; num_shard 1 for a whole entry. The
	 * entry is finalized when the segments_held data segments of the shard are here. */
	uint32_t shard_id, num_shard;
	uint64_t segments_held;
	/* With a policy (node_store_expect_hold, ec_k ≥ 1): the parity symbols this shard
	 * keeps, and how many are stored. Finalized needs them all. */
	unsigned ec_k, ec_m;
	uint64_t parity_held, parity_present;
};

/*
 * Writers: streaming ingest of an entry settled after its bytes are stored. One writer is
 * used by one thread at a time; different writers run in parallel (each owns a pack while
 * it lives). write() buffers up to NODE_STORE_WRITE_BUFFER bytes and hashes as it goes;
 * -E2BIG past NODE_STORE_ENTRY_MAX. After any error of write() or seal() the writer only
 * accepts abort.
 */
int node_store_writer_new(struct node_store *s, struct node_store_writer **ret_writer);
int node_store_writer_write(struct node_store_writer *w, const void *data, size_t len);
/*
 * node_store_writer_read() - bytes [off, off + len) of what the writer has taken so far,
 * buffered ones included (its own bytes, not yet verified by anyone: they were hashed as
 * they came). Reading past what was written returns fewer bytes (*ret_len). Same thread
 * rule as write(): the caller keeps one thread at a time on a writer.
 */
int node_store_writer_read(struct node_store_writer *w, uint64_t off, void *buf, size_t len,
			   size_t *ret_len);
/*
 * node_store_writer_seal() - sync the bytes and record the writer as pending (durable), so
 * that recovery can find it; fills ret_sub's length and nodes (the caller adds tags).
 * -EINVAL when nothing was written. After seal, only commit or abort.
 */
int node_store_writer_seal(struct node_store_writer *w, struct chain_submission *ret_sub);

/*
 * node_store_writer_set_lazy() - make the writer's seal sync the bytes but not the pending
 * record, which becomes durable with the store's next synced write: for an entry whose
 * settlement is lazy too (chain_submit_lazy), so that after a crash before then it is
 * neither recorded nor settled, or settled with no local bytes (power loss only).
 */
void node_store_writer_set_lazy(struct node_store_writer *w);
/*
 * Record the entry as settled with this tx seq and finalized (one synced index write);
 * frees w whatever it returns. -EINVAL when settled's root or length is not the sealed
 * one, -EEXIST when the store already has another entry with that tx seq: then the sealed
 * entry stays pending (node_store_pending() lists it). When the store was already
 * expecting this very entry (node_store_expect: seen on a shared chain first), the
 * writer's bytes replace the expected record; when that entry is already finalized, the
 * writer's bytes are dropped and the result is 0. Not sealed: -EINVAL, aborted.
 */
int node_store_writer_commit(struct node_store_writer *w, const struct chain_entry *settled);
/* Drop the bytes (the pack is cut back to where the writer started); NULL-safe; frees w. */
void node_store_writer_abort(struct node_store_writer *w);

/* A sealed writer found at open that was never committed or aborted. */
struct node_store_pending {
	uint64_t id;	/* for node_store_pending_resolve() */
	uint64_t length;
	uint8_t root[CODEC_HASH_SIZE];
};
/* Lists pending writers: sealed entries that no open writer owns (fn returns non-zero to
 * stop; it may call node_store_pending_resolve()). */
int node_store_pending(struct node_store *s,
		       int (*fn)(void *ctx, const struct node_store_pending *p), void *ctx);
/* Commit a pending writer as settled entry `settled` (same root and length, else -EINVAL),
 * or drop it when settled is NULL. -ENOENT: no such pending writer; -EBUSY: a writer of
 * this process still owns it. */
int node_store_pending_resolve(struct node_store *s, uint64_t id,
			       const struct chain_entry *settled);

/* Entries settled elsewhere: reserve room for all its bytes and record it (one synced
 * index write). Idempotent: 0 when the same entry is expected or stored already; -EEXIST
 * when the tx seq is taken by another root or length; -E2BIG past NODE_STORE_ENTRY_MAX. */
int node_store_expect(struct node_store *s, const struct chain_entry *settled);
/*
 * node_store_expect_shard() - the same for an entry of which this store keeps one shard
 * (0G's rule: data segment i is flow segment settled->start / 1024 + i, kept iff that is
 * shard_id mod num_shard; num_shard a power of two, shard_id below it, else -EINVAL).
 * The entry is finalized when those segments are here: at once when it has none.
 * put_segment() of another segment gives -EXDEV; read() and segment() of a range it does
 * not keep give -EREMOTE; segment proofs are those the segments arrived with, and
 * segment() serves a stored segment before the entry is finalized. 0/1 is
 * node_store_expect().
 */
int node_store_expect_shard(struct node_store *s, const struct chain_entry *settled,
			    uint32_t shard_id, uint32_t num_shard);
/* What a store keeps of an entry: one shard of its data segments (0G's rule) and, with a
 * redundancy policy ec_k+ec_m (0/0: none), the parity symbols the shard holds. The
 * entry's data segments form stripes of ec_k (stripe j: segments j·k … j·k+k−1) and
 * symbol pos (0 … k+m−1: data, then parity) of stripe j is kept by shard (first flow
 * segment + j·k + pos) mod num_shard, as node/peer/place.h lays them out; so a shard
 * keeps at most one symbol per stripe. ec_k + ec_m ≤ num_shard. */
struct node_store_hold {
	uint32_t shard_id, num_shard;
	unsigned ec_k, ec_m;
};
/* node_store_expect_shard() with a hold; -EINVAL for an invalid one. */
int node_store_expect_hold(struct node_store *s, const struct chain_entry *settled,
			   const struct node_store_hold *h);

/*
 * node_store_put_segment() - store segment `index` of an expected entry after checking
 * data against proof and the entry's root. data is the segment's bytes, len ≤ 256 KiB;
 * the last segment may be sent padded only to a whole chunk (0G's rule) or not at all
 * past the entry's length: the store extends it with zeros for hashing. Storing a segment
 * twice is harmless. -EXDEV: the segment is another shard's (node_store_expect_shard). When the last missing segment arrives, the entry is synced and
 * finalized before this returns. -ENOENT: entry not expected; -EINVAL: index or length
 * out of range; -CODEC_EPROOF_*: proof or data wrong (nothing stored).
 */
int node_store_put_segment(struct node_store *s, uint64_t tx_seq, uint64_t index,
			   const uint8_t *data, size_t len, const struct codec_proof *proof);

/* One segment of a node_store_put_segments() call; the caller keeps the memory. */
struct node_store_segment {
	uint64_t index;
	const uint8_t *data;
	size_t len;
	const struct codec_proof *proof;
};
/*
 * node_store_put_segments() - node_store_put_segment() of count segments of one entry
 * (at most NODE_STORE_PUT_SEGMENTS_MAX, else -E2BIG), with one sync for all: each is
 * checked first, and if one is wrong nothing is stored (its error is returned); then all
 * their bytes are written, the pack is synced once, and each is recorded. Same errors.
 */
int node_store_put_segments(struct node_store *s, uint64_t tx_seq,
			    const struct node_store_segment *segs, size_t count);

/*
 * node_store_expected() - every entry still expecting segments (settled, not finalized),
 * in the order they were expected: fn(ctx, info) for each; fn returning non-zero stops.
 * Reads a snapshot, so fn may store segments meanwhile.
 */
int node_store_expected(struct node_store *s,
			int (*fn)(void *ctx, const struct node_store_info *info), void *ctx);
/*
 * node_store_missing() - the data segments of entry tx_seq that this store keeps (its
 * shard's) and does not have yet, from segment `from` on, at most max of them into ret:
 * *ret_n of them. None for an entry not expecting segments. -ENOENT unknown.
 */
int node_store_missing(struct node_store *s, uint64_t tx_seq, uint64_t from, uint64_t *ret,
		       size_t max, size_t *ret_n);

/*
 * node_store_put_parity() - store the parity symbol of stripe `stripe` that this store
 * keeps (node_store_expect_hold), with the proofs of the stripe's data segments
 * (proofs[d] for entry segment stripe·k + d, as many as the stripe has), each checked
 * against the entry's root; they are kept, so that a segment rebuilt from the stripe can
 * be checked and served with its proof (node_store_proof). data is CODEC_SEGMENT_SIZE
 * bytes. Parity itself cannot be checked here (that takes the data): a wrong one shows
 * when a rebuilt segment fails its proof. Stored once, synced; the last missing symbol
 * finalizes the entry. -EXDEV: not this shard's parity; -EINVAL: stripe, proof count, or
 * data nonzero past the stripe's first segment; -CODEC_EPROOF_*: a proof is wrong;
 * -ENOENT: unknown entry.
 */
int node_store_put_parity(struct node_store *s, uint64_t tx_seq, uint64_t stripe,
			  const uint8_t *data, const struct codec_proof *proofs, unsigned nproofs);

/*
 * node_store_parity() - the stored parity symbol of a stripe: CODEC_SEGMENT_SIZE bytes into
 * buf, checked against the hash taken when it was stored (-EIO, counted in
 * node_store_health, when the disk changed it), and its position in the stripe (k … k+m−1).
 * Served before the entry is finalized here. -EXDEV not this shard's; -ENOENT not stored
 * (yet) or unknown entry; -ENODATA pruned.
 */
int node_store_parity(struct node_store *s, uint64_t tx_seq, uint64_t stripe, uint8_t *buf,
		      unsigned *ret_pos);

/*
 * node_store_proof() - the proof of data segment index of an entry, when this store has
 * it: any segment of a whole finalized entry; for one held in part, its own segments'
 * and those kept with its parity symbols. -ENOENT when it has none; -EINVAL past the data.
 */
int node_store_proof(struct node_store *s, uint64_t tx_seq, uint64_t index,
		     struct codec_proof *ret_proof);

/* node_store_missing_parity() - like node_store_missing(), for the stripes whose parity
 * symbol this store keeps and does not have yet. */
int node_store_missing_parity(struct node_store *s, uint64_t tx_seq, uint64_t from,
			      uint64_t *ret, size_t max, size_t *ret_n);

/* -ENOENT when the store has no record of tx_seq. */
int node_store_info(struct node_store *s, uint64_t tx_seq, struct node_store_info *ret_info);

/* The entry with this root: the finalized one with the lowest tx seq, else (none complete)
 * the lowest one still expecting segments; -ENOENT if none. */
int node_store_find_root(struct node_store *s, const uint8_t root[CODEC_HASH_SIZE],
			 uint64_t *ret_tx_seq);

/*
 * node_store_read() - bytes [offset, offset + len) of a finalized entry (fewer at its end:
 * *ret_len). With verify, every segment the range touches is hashed and checked against
 * the entry's stored segment roots (which were checked against its root): -EIO when they
 * differ, counted with the entry and segment in node_store_health() for the daemon's log.
 * -ENOENT when unknown, -EAGAIN when not finalized, -EREMOTE when the range touches a
 * segment another shard keeps. Runs in parallel with everything.
 */
int node_store_read(struct node_store *s, uint64_t tx_seq, uint64_t offset, void *buf,
		    size_t len, bool verify, size_t *ret_len);

/*
 * node_store_segment() - segment `index` of a finalized entry and its proof, as
 * zgs_downloadSegmentWithProof sends them: the entry's bytes of that segment, zero-padded
 * to a whole chunk (at most 256 KiB, in buf of CODEC_SEGMENT_SIZE), verified like
 * node_store_read(), and the proof of its segment root among the entry's padded segments
 * (codec_num_segments(length) leaves). -EINVAL for an index at or past the last segment
 * holding data (ceil(length / 256 KiB)).
 */
int node_store_segment(struct node_store *s, uint64_t tx_seq, uint64_t index, uint8_t *buf,
		       size_t *ret_len, struct codec_proof *ret_proof);

/*
 * node_store_prune() - drop the bytes of finalized entry tx_seq from this disk: its record
 * stays (info says pruned), reads give -ENODATA, and the disk blocks wholly inside it are
 * given back (the pack keeps its length; blocks shared with a neighbour stay). Safe at any
 * crash point; pruning a pruned entry again gives back what a crash left (0 bytes counted).
 * *ret_bytes (may be NULL): the entry's length when this call pruned it, else 0.
 * -ENOENT unknown, -EAGAIN not finalized. Entries being read may fail with -ENODATA.
 */
int node_store_prune(struct node_store *s, uint64_t tx_seq, uint64_t *ret_bytes);

/* Totals for status: finalized entries and their data bytes. */
int node_store_totals(struct node_store *s, uint64_t *ret_entries, uint64_t *ret_bytes);

#endif
