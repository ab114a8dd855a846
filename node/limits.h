/*
 * limits.h - every bound the node layer puts on caller- or peer-controlled sizes.
 * One section per module; append new limits to the end of the file, before the #endif.
 */
#ifndef NODE_LIMITS_H
#define NODE_LIMITS_H

/* ---- KV (node/kv.c) ---- */

/* Largest KV transaction payload replayed. A larger entry is recorded as a
 * DataParseError without being read: its bytes (values included) would all be held in
 * memory and in one leveldb batch. */
#define NODE_KV_TX_MAX (64u * 1024 * 1024)

/* Most stream ids one entry's tags may name; more is recorded as a DataParseError. */
#define NODE_KV_TX_STREAMS_MAX 65536u

/* Most value bytes one query (get, next, prev, first, last) returns; larger values are
 * read in slices with (start, len), like kv_getValue. */
#define NODE_KV_QUERY_MAX (16u * 1024 * 1024)

/* Size of a recorded result's text, NUL included (0G's longest result names an op, a
 * stream, a 32-character key and an account). */
#define NODE_KV_RESULT_TEXT_MAX 384

/* ---- log store (node/store.c) ---- */

/* A pack file stops taking new entries once it is this large (an entry is never split, so
 * a pack can end past it by one entry). node_store_open_config() may choose another. */
#define NODE_STORE_PACK_SIZE (1ULL << 30)

/* Bytes a writer buffers before writing them to its pack (one per open writer). */
#define NODE_STORE_WRITE_BUFFER (1u << 20)

/* An entry that reaches this size is hashed by a thread of its writer's own, beside the
 * writes (a copy of each write queued for it) ... */
#define NODE_STORE_HASH_ASYNC_MIN (4u << 20)
/* ... through a ring of this many bytes (allocated once per such writer, freed at seal). */
#define NODE_STORE_HASH_QUEUE_MAX (8u << 20)

/* Largest entry the store takes, written or expected: a writer keeps 32 B of segment root
 * per 256 KiB in memory until seal (128 MiB at this size), and expect() reserves the
 * whole length in a pack. Beyond it: -E2BIG. */
#define NODE_STORE_ENTRY_MAX (1ULL << 40)

/* Pack files kept open at once when idle (packs in use by a writer or a read stay open
 * whatever the count). */
#define NODE_STORE_OPEN_PACKS_MAX 256u

/* Bytes of Merkle trees over segment roots cached for node_store_segment() proofs (64 B
 * per segment of an entry). An entry whose tree is larger is rebuilt for each proof. */
#define NODE_STORE_TREE_CACHE_MAX (64u << 20)

/* ---- the in-process node (node/node_local.c) ---- */

/* How many of the newest settled entries recovery searches for the settlement of a sealed
 * upload that a crash interrupted. Uploads settle in the order they seal, so the match is
 * among the last few; the window only bounds the search. */
#define NODE_RECOVERY_WINDOW 4096u

/* How often a node on a shared (EVM) chain reads it for new Submit events. */
#define NODE_FOLLOW_INTERVAL_MS 200

/* Peers (node/peer, docs/PEERS.md): how many one node knows, how long a segment fetch
 * from one may take before the next holder is tried, and how long a peer that failed is
 * skipped before it is asked again. */
#define NODE_PEERS_MAX		   256
#define NODE_PEER_CONNECT_MS	   2000
#define NODE_PEER_FETCH_MS	   10000
#define NODE_PEER_RETRY_MS	   2000
/* The longest pause: each failure in a row doubles it from NODE_PEER_RETRY_MS. */
#define NODE_PEER_RETRY_MAX_MS 60000
/* How often the chain's registry is read for new peers. */
#define NODE_PEER_REFRESH_MS 2000
/* Segments per call when a node hands uploaded segments on to the peers that keep them
 * (binary, about 260 KiB each, or in JSON to a 0G node, about 350 KiB each: either way
 * under NODE_RPC_BODY_MAX). */
#define NODE_PEER_FORWARD_BATCH 16
/* How long an upload of segments of a settled entry waits for this node's chain follower
 * to make the store expect it. */
#define NODE_PUT_FOLLOW_WAIT_MS 5000
/* How long a peer that has not yet read an entry's submission from the chain is given to
 * read it when segments are handed to it, and how often it is asked again meanwhile. */
#define NODE_PEER_FORWARD_WAIT_MS 30000
#define NODE_PEER_FORWARD_POLL_MS 200
/* The largest stripe (K + M symbols) a node stores and rebuilds: a rebuild holds one
 * buffer per symbol, CODEC_SEGMENT_SIZE each (16 MiB at this bound). */
#define NODE_EC_SYMBOLS_MAX 64

/* Sync (node/peer/sync.h): how long an expected entry waits for its uploader before its
 * segments are fetched from peers, how often the expected entries are looked at, how many
 * waiting entries are remembered, segments asked for per batch, and the fetch rate. */
#define NODE_SYNC_DELAY_MS    3000
#define NODE_SYNC_INTERVAL_MS 1000
#define NODE_SYNC_TRACK_MAX   4096
#define NODE_SYNC_BATCH	      64
#define NODE_SYNC_RATE_BPS    (256ull << 20)
/* Segments fetched or rebuilt, and parity symbols built, at once by a node's sync. */
#define NODE_SYNC_THREADS 4
/* Entries told to sync at once (node_sync_hurry) between two rounds; more wait their turn. */
#define NODE_SYNC_HURRY_MAX 256

/* PoRA miner (node/pora): threads, sealed loads kept in memory (256 KiB each, so 64 MiB),
 * entries of the flow it keeps in memory to map sectors to entries, and tries per batch
 * between checks of the chain's context (a batch is a few milliseconds per thread). */
#define NODE_PORA_THREADS_MAX	  64u
#define NODE_PORA_SEALED_LOADS	  256u
/* The miner asks the chain for a new context at most this often (ms). */
#define NODE_PORA_FOLLOW_MS	  100
#define NODE_PORA_ENTRIES_MAX	  (1u << 20)
#define NODE_PORA_TRIES_PER_BATCH 16u

/* ---- the network door (node/peer/net.c) ---- */

/* Largest reply body a peer call takes unless the caller names another maximum: a
 * segment with its proof in base64 is about 350 KiB; getFileInfo answers are small. */
#define NODE_NET_BODY_MAX (16u << 20)

/* Bound on a whole peer call unless the caller names one, and on its connect phase. */
#define NODE_NET_TIMEOUT_MS 10000u
#define NODE_NET_CONNECT_MS 3000u

/* libcurl handles (and so calls in flight) at most, process-wide. */
#define NODE_NET_HANDLES 32u

/* Faults set at once, and the length of a fault's URL prefix, NUL included. */
#define NODE_NET_FAULTS_MAX 16u
#define NODE_NET_FAULT_URL_MAX 256u

/* ---- log store, continued ---- */

/* Segments one node_store_put_segments() call stores with one sync (zgs_uploadSegments
 * hands over at most NODE_RPC_SEGMENTS_MAX at once). */
#define NODE_STORE_PUT_SEGMENTS_MAX 64u

/* ---- DA signer (node/da/) ---- */

/* Blobs a DA signer holds at once unless `zgfs node --da-max-blobs N` says otherwise; a
 * zgfs_daBegin beyond is refused (ENOSPC). */
#define NODE_DA_BLOBS_DEFAULT 1024u

/* Free bytes a DA signer leaves on its data disk: a blob whose whole extended square
 * would not fit above this (64 MiB) is refused at zgfs_daBegin (ENOSPC). */
#define NODE_DA_DISK_RESERVE (64ull << 20)

/* Epochs a begun blob may wait for its certificate before the signer drops it. */
#define NODE_DA_PENDING_EPOCHS 3u

#endif
