#!/usr/bin/env bash
# bench/run.sh - the benchmark report. Every figure is measured in this run next to its
# baseline, and every ratio is against that baseline. MB/s are 10^6 bytes per second.
#
#   bench/run.sh codec      keccak, file roots, Reed–Solomon (the codec layer)
#   bench/run.sh pora       sealing and unsealing against the keccak kernel's ideal,
#                           PoRA tries per second on one core (the codec layer), and the
#                           mount's sequential read while its node mines (needs /dev/fuse)
#   bench/run.sh node       upload and download through a node over loopback, KV
#   bench/run.sh fs         the mount (fio, small files, ls -l) against the raw disk and a
#                           passthrough FUSE mount (needs fio and /dev/fuse)
#   bench/run.sh settle     settlement on an EVM chain (anvil from tests/compat) against
#                           the embedded ledger: uploads per second one at a time and
#                           batched, and the latency of close() on a mount
#   bench/run.sh cluster    four nodes with policy 2+2 on anvil against one node: upload,
#                           bytes over loopback per byte uploaded, striped download, the
#                           repair of a wiped node against ISA-L's decode, parity encode
#                           against ISA-L's raw encode
#   bench/run.sh da         the DA square of the largest blob (encode and commit,
#                           reconstruction) against ISA-L's raw encode of the same bytes;
#                           da put, get and sample on four DA signers on anvil against
#                           zgfs upload of the same bytes to one node
#   bench/run.sh snapshot   dataset snapshots of a mounted tree (create, verify, mount)
#                           against zgfs root -j1 of the same files (needs /dev/fuse)
#   bench/run.sh            all eight
#
# Needs a built tree (./setup.sh). Scratch files go to $BENCH_DIR (default: a temporary
# directory under /var/tmp, on disk rather than tmpfs), removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
zgfs=$build/zgfs
what=${1:-all}
scratch=$(mktemp -d "${BENCH_DIR:-/var/tmp}/zgfs-bench.XXXXXX")
# Unmount whatever the fs section mounted (also on failure) before removing the scratch.
cleanup() {
	if declare -F fs_cleanup >/dev/null; then fs_cleanup; fi
	for pid in "${cl_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Seconds since the epoch with nanoseconds, for timing whole commands.
now() { date +%s.%N; }
# MB/s for BYTES in SECONDS.
rate() { python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / float(sys.argv[2]) / 1e6))" "$1" "$2"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

# Best of three runs of a command, in seconds.
best_of_3() {
	local best=
	for _ in 1 2 3; do
		local t0 t1 dt
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		dt=$(python3 -c "print($t1 - $t0)")
		if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $dt < $best else 1)"; then
			best=$dt
		fi
	done
	echo "$best"
}

codec() {
	echo "## keccak-256 kernels"
	echo
	"$build/bench/bench_keccak" | tee "$scratch/keccak.txt"
	openssl_mbs=$(awk -F'|' '/OpenSSL EVP sha3-256/ {gsub(/ /, "", $4); print $4}' "$scratch/keccak.txt")
	echo
	echo "## File roots (1 GiB of random bytes, in the page cache)"
	echo
	head -c $((1 << 30)) /dev/urandom >"$scratch/1g"
	cat "$scratch/1g" >/dev/null
	head -c $((64 << 20)) "$scratch/1g" >"$scratch/64m"
	size=$((1 << 30))
	t1=$(best_of_3 "$zgfs" root -j1 "$scratch/1g")
	t2=$(best_of_3 "$zgfs" root -j2 "$scratch/1g")
	r1=$(rate $size "$t1")
	r2=$(rate $size "$t2")
	sdk=$(node "$top/bench/sdk_root.js" "$scratch/64m" | cut -d' ' -f1 || echo "n/a")
	echo "| what | MB/s | ratio to OpenSSL SHA3-256 (one stream) | target |"
	echo "|---|---:|---:|---:|"
	echo "| OpenSSL SHA3-256, one stream (baseline) | $openssl_mbs | 1.00 | |"
	echo "| zgfs root, 1 GiB, one thread | $r1 | $(ratio "$r1" "$openssl_mbs") | ≥ 1.5 |"
	echo "| zgfs root, 1 GiB, two threads | $r2 | $(ratio "$r2" "$openssl_mbs") | ≥ 2.8 |"
	if [ "$sdk" != "n/a" ]; then
		echo "| 0G SDK root, 64 MiB | $sdk | $(ratio "$sdk" "$openssl_mbs") | |"
	else
		echo "| 0G SDK root, 64 MiB | not installed | | |"
	fi
	echo
	echo "## Reed–Solomon"
	echo
	"$build/bench/bench_rs"
}

pora() {
	echo "## PoRA: sealing, unsealing and tries"
	echo
	"$build/bench/bench_pora"
	echo
	pora_mount_read
}

# The mount's sequential read of a file through a node (zgfs mount --node URL, fresh mount
# each time so the kernel has nothing cached), first while that node does not mine, then
# while it mines one thread at a difficulty no try meets (so it never idles). PORA_MIB sets
# the file size (default 128).
pora_node_start() {
	cat "$scratch/pora-node.last" >>"$scratch/pora-node.log" 2>/dev/null || true
	"$zgfs" node --data "$pm_data" --rpc "127.0.0.1:$pm_port" "$@" \
		>"$scratch/pora-node.last" 2>&1 &
	pm_node=$!
	for _ in $(seq 100); do
		grep -q "serving http://127.0.0.1:$pm_port" "$scratch/pora-node.last" && return 0
		sleep 0.1
	done
	return 1
}
pora_node_stop() {
	kill "$pm_node" 2>/dev/null || true
	wait "$pm_node" 2>/dev/null || true
}
pora_read_once() {
	local t0 t1 m=$scratch/pora-mnt
	mkdir -p "$m"
	"$zgfs" mount -f --node "http://127.0.0.1:$pm_port" "$m" >>"$scratch/pora-mount.log" 2>&1 &
	local mp=$!
	fs_mounts+=("$m")
	fs_wait_mounted "$mp" "$m" || return 1
	t0=$(now)
	cat "$m/big" >/dev/null
	t1=$(now)
	"$zgfs" umount "$m" >/dev/null 2>&1 || fusermount3 -u "$m" || true
	fs_wait_exit "$mp"
	python3 -c "print($t1 - $t0)"
}
pora_mount_read() {
	local mib=${PORA_MIB:-128} t_idle t_mine r_idle r_mine m=$scratch/pora-mnt
	echo "### Mount sequential read while the node mines"
	echo
	if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		echo "skipped: no /dev/fuse or fusermount3"
		return 0
	fi
	pm_data=$scratch/pora-data
	pm_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	head -c $((mib << 20)) /dev/urandom >"$scratch/pora-big"
	pora_node_start --mine --pora-difficulty 18000000000000000000 --epoch-blocks 5 \
		--mine-tick-ms 200 || {
		echo "skipped: the node did not start (see $scratch/pora-node.log)"
		return 0
	}
	pora_node_stop
	pora_node_start || return 0
	mkdir -p "$m"
	"$zgfs" mount -f --node "http://127.0.0.1:$pm_port" "$m" >>"$scratch/pora-mount.log" 2>&1 &
	local mp=$!
	fs_mounts+=("$m")
	if ! fs_wait_mounted "$mp" "$m"; then
		echo "skipped: the mount did not come up: $(grep -m1 . "$scratch/pora-mount.log")"
		pora_node_stop
		return 0
	fi
	cp "$scratch/pora-big" "$m/big"
	"$zgfs" umount "$m" >/dev/null 2>&1 || fusermount3 -u "$m" || true
	fs_wait_exit "$mp"
	t_idle=$(pora_read_once)
	pora_node_stop
	pora_node_start --mine --mine-tick-ms 200 || return 0
	sleep 3 # a context over the file's sectors
	t_mine=$(pora_read_once)
	local tries
	tries=$("$zgfs" mine status --node "http://127.0.0.1:$pm_port" --json |
		python3 -c 'import json, sys; s = json.load(sys.stdin); print("%.0f tries/s, %d of %d sectors sealed" % (s["hashRate"], s["sealedSectors"], s["totalSectors"]))' || echo "n/a")
	pora_node_stop
	r_idle=$(rate $((mib << 20)) "$t_idle")
	r_mine=$(rate $((mib << 20)) "$t_mine")
	echo "| mount sequential read, $mib MiB, through zgfs node over loopback | MB/s | ratio | target |"
	echo "|---|---:|---:|---:|"
	echo "| the node does not mine (baseline) | $r_idle | 1.00 | |"
	echo "| the node mines one thread | $r_mine | $(ratio "$r_mine" "$r_idle") | ≥ 0.8 |"
	echo
	echo "The miner meanwhile: $tries."
}

da_bench() {
	echo "## Data availability square"
	echo
	"$build/bench/bench_da"
	echo
	da_cluster_bench
}

# A field of a JSON object on standard input.
json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

# zgfs da put, get and sample of the largest blob on four DA signers (anvil, a block a
# second, DA epochs of 4 blocks) against zgfs upload of the same bytes to one node.
da_cluster_bench() {
	local anvil port url flow size=32505852 i t0 t_up t_get best_put= out root enc dis cer smp
	anvil=$top/tests/compat/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
	[ -x "$anvil" ] || anvil=$top/tests/compat/node_modules/.bin/anvil
	if [ ! -x "$anvil" ]; then
		echo "da cluster: anvil is not installed (run ./setup.sh); skipped"
		return 0
	fi
	head -c $size /dev/urandom >"$scratch/da-blob"
	port=$(free_port)
	url=http://127.0.0.1:$port
	"$anvil" --host 127.0.0.1 --port "$port" --silent --block-time 1 >/dev/null 2>&1 &
	cl_pids+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" && break
		sleep 0.1
	done
	flow=$(ZGFS_KEY=${anvil_keys[0]} "$zgfs" chain deploy --rpc "$url" --data "$scratch/da0" --da-epoch-blocks 4 |
		awk '$1 == "flow" {print $2}')
	local us=()
	for i in 0 1 2 3; do
		[ $i = 0 ] || "$zgfs" chain attach --rpc "$url" --flow "$flow" --data "$scratch/da$i" >/dev/null
		local pi
		pi=$(free_port)
		us+=("http://127.0.0.1:$pi")
		cl_node "da$i" "${anvil_keys[$((1 + i))]}" "$pi" --url "http://127.0.0.1:$pi" --da
	done
	# The baseline: the same bytes stored and settled through one node of the same chain.
	t0=$(now)
	"$zgfs" upload --node "${us[0]}" "$scratch/da-blob" >/dev/null
	t_up=$(python3 -c "print($(now) - $t0)")
	# The first put waits for an epoch whose draw has every signer; the next two are timed.
	"$zgfs" da put "$scratch/da-blob" --node "${us[0]}" --json >/dev/null
	for i in 1 2; do
		head -c $size /dev/urandom >"$scratch/da-blob$i"
		t0=$(now)
		out=$("$zgfs" da put "$scratch/da-blob$i" --node "${us[0]}" --json)
		local dt
		dt=$(python3 -c "print($(now) - $t0)")
		if [ -z "$best_put" ] || python3 -c "import sys; sys.exit(0 if $dt < $best_put else 1)"; then
			best_put=$dt
			root=$(echo "$out" | json_field blob)
			enc=$(echo "$out" | json_field encodeSeconds)
			dis=$(echo "$out" | json_field disperseSeconds)
			cer=$(echo "$out" | json_field certifySeconds)
		fi
	done
	t_get=$(best_of_3 "$zgfs" da get "$root" "$scratch/da-back" --node "${us[1]}" 2>/dev/null)
	for i in 1 2; do cmp -s "$scratch/da-blob$i" "$scratch/da-back" && break; done ||
		{ echo "da cluster: da get differs!" >&2; exit 1; }
	smp=$("$zgfs" da sample "$root" --node "${us[2]}" --json | json_field seconds)
	local r_up r_put r_get
	r_up=$(rate $size "$t_up")
	r_put=$(rate $size "$best_put")
	r_get=$(rate $size "$t_get")
	echo "### da put, get and sample on four signers over loopback (32,505,852-byte blobs)"
	echo
	echo "| what | MB/s of blob | ratio to zgfs upload | note |"
	echo "|---|---:|---:|---|"
	echo "| zgfs upload --node of the same bytes to one node (baseline) | $r_up | 1.00 | |"
	echo "| zgfs da put, end to end, until certified on chain | $r_put | $(ratio "$r_put" "$r_up") | anchors: EigenDA 100 MB/s, Celestia ~8 MiB per block |"
	echo "| zgfs da get, rebuilt from the rows of the signers, verified | $r_get | $(ratio "$r_get" "$r_up") | |"
	echo
	echo "da put: $(printf %.2f "$best_put") s = encode $(printf %.2f "$enc") s + disperse (rows to 4 signers, each checking and syncing) $(printf %.2f "$dis") s + certify (one transaction) $(printf %.2f "$cer") s. 16-sample check: $(python3 -c "print('%.1f' % ($smp * 1000))") ms."
	# Waited for, so that the shell reports no "Killed" jobs.
	for i in "${!cl_pids[@]}"; do kill -9 "${cl_pids[$i]}" 2>/dev/null || true; done
	for i in "${!cl_pids[@]}"; do wait "${cl_pids[$i]}" 2>/dev/null || true; done
	cl_pids=()
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Peak resident memory of a process, in MiB.
peak_rss() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

node_bench() {
	echo "## Upload and download through a node over loopback (256 MiB of random bytes)"
	echo
	size=$((256 << 20))
	head -c $size /dev/urandom >"$scratch/256m"
	cat "$scratch/256m" >/dev/null
	port=$(free_port)
	"$zgfs" node --data "$scratch/node" --rpc "127.0.0.1:$port" 2>"$scratch/node.log" &
	node_pid=$!
	for _ in $(seq 100); do grep -q "serving http://" "$scratch/node.log" && break; sleep 0.1; done
	url="http://127.0.0.1:$port"
	root_j1=$(best_of_3 "$zgfs" root -j1 "$scratch/256m")
	root_all=$(best_of_3 "$zgfs" root "$scratch/256m")
	t0=$(now)
	out=$("$zgfs" upload "$scratch/256m" --node "$url")
	t_up=$(python3 -c "print($(now) - $t0)")
	root=${out%% *}
	t_down=$(best_of_3 "$zgfs" download "$root" "$scratch/back" --node "$url")
	cmp -s "$scratch/256m" "$scratch/back" || { echo "download differs!" >&2; exit 1; }
	rm -f "$scratch/back"
	t0=$(now)
	"$zgfs" upload "$scratch/256m" --data "$scratch/inproc" >/dev/null
	t_local=$(python3 -c "print($(now) - $t0)")
	t_local_down=$(best_of_3 "$zgfs" download "$root" "$scratch/back" --data "$scratch/inproc")
	rss=$(peak_rss $node_pid)
	r_j1=$(rate $size "$root_j1")
	r_all=$(rate $size "$root_all")
	r_up=$(rate $size "$t_up")
	r_down=$(rate $size "$t_down")
	r_local=$(rate $size "$t_local")
	r_local_down=$(rate $size "$t_local_down")
	echo "| what | MB/s | ratio to zgfs root (all cores) | ratio to zgfs root -j1 | target |"
	echo "|---|---:|---:|---:|---:|"
	echo "| zgfs root, all cores (baseline) | $r_all | 1.00 | $(ratio "$r_all" "$r_j1") | |"
	echo "| zgfs root -j1 | $r_j1 | $(ratio "$r_j1" "$r_all") | 1.00 | |"
	echo "| zgfs upload --node (JSON-RPC, loopback) | $r_up | $(ratio "$r_up" "$r_all") | $(ratio "$r_up" "$r_j1") | ≥ 0.6 |"
	echo "| zgfs download --node (verified) | $r_down | $(ratio "$r_down" "$r_all") | $(ratio "$r_down" "$r_j1") | ≥ 1.0 |"
	echo "| zgfs upload --data (node in process) | $r_local | $(ratio "$r_local" "$r_all") | $(ratio "$r_local" "$r_j1") | |"
	echo "| zgfs download --data (verified) | $r_local_down | $(ratio "$r_local_down" "$r_all") | $(ratio "$r_local_down" "$r_j1") | |"
	echo
	echo "Node peak RSS over the run: $rss MiB."
	echo
	echo "## KV through the node"
	echo
	"$build/bench/bench_kv" "$url" 100000 1000 10000
	echo
	echo "Node peak RSS after the KV run: $(peak_rss $node_pid) MiB."
	kill $node_pid
	wait $node_pid 2>/dev/null || true
}

# ---- fs: the mount, against the raw directory and a plain passthrough FUSE mount ----
#
# Three targets, measured in this run, job by job, so that a change in the machine's load
# hits all three alike: the raw directory (a scratch directory on disk), build/bench/passthrough
# mounted over another scratch directory, and `zgfs mount`. Each figure is the best of
# $BENCH_RUNS runs (default 5), except random read (one time-based run) and the small files
# (one run). Reads start cold: FUSE mounts are remounted, and the page cache of the files
# behind each target is dropped (see fs_drop).

fs_runs=${BENCH_RUNS:-5}
fs_small_files=10000
fs_small_secs=${BENCH_SMALL_SECS:-120} # cap on the timed part of the small-file job
fs_randread_secs=15
fs_mounts=() # mountpoints this script mounts, unmounted on exit whatever happens

# Whether $1 is a FUSE mount now.
fs_is_mounted() { awk -v m="$1" '$2 == m && $3 ~ /^fuse/ {f = 1} END {exit !f}' /proc/mounts; }

# Waits up to 20 s for process $1 to have mounted $2. Fails if it exits first.
fs_wait_mounted() {
	local _
	for _ in $(seq 200); do
		fs_is_mounted "$2" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Waits up to 60 s for process $1 to exit, then kills it.
fs_wait_exit() {
	local _
	for _ in $(seq 600); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

fs_cleanup() {
	local m p
	# Mount daemons still running are jobs of this shell: stop them after the unmount.
	for m in "${fs_mounts[@]}"; do
		if fs_is_mounted "$m"; then
			"$zgfs" umount "$m" >/dev/null 2>&1 || fusermount3 -u "$m" 2>/dev/null ||
				fusermount3 -uz "$m" 2>/dev/null || true
		fi
	done
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
}

# The passthrough mount: pt_mount starts it over $pt_src on $pt_mnt (pid in $pt_pid).
pt_mount() {
	"$build/bench/passthrough" "$pt_src" "$pt_mnt" -f >>"$scratch/passthrough.log" 2>&1 &
	pt_pid=$!
	fs_wait_mounted "$pt_pid" "$pt_mnt" || {
		echo "passthrough did not mount; its log:" >&2
		cat "$scratch/passthrough.log" >&2
		return 1
	}
}
pt_umount() {
	fusermount3 -u "$pt_mnt"
	fs_wait_exit "$pt_pid"
}

# The zgfs mount: zg_mount VERIFY starts `zgfs mount` of $zg_data on $zg_mnt (pid in
# $zg_pid). Fails, with the reason in $zg_why, when it does not mount.
zg_mount() {
	local log=$scratch/zgfs-mount.log
	: >"$log.last"
	"$zgfs" mount -f --data "$zg_data" --verify="$1" ${2:+"$2"} "$zg_mnt" >"$log.last" 2>&1 &
	zg_pid=$!
	if fs_wait_mounted "$zg_pid" "$zg_mnt"; then
		return 0
	fi
	kill "$zg_pid" 2>/dev/null || true
	wait "$zg_pid" 2>/dev/null || true
	zg_why=$(grep -m1 . "$log.last" || echo "it did not mount within 20 s")
	cat "$log.last" >>"$log"
	: >"$log.last"
	return 1
}
zg_umount() {
	"$zgfs" umount "$zg_mnt" >>"$scratch/zgfs-mount.log" 2>&1 || fusermount3 -u "$zg_mnt" || true
	fs_wait_exit "$zg_pid"
	cat "$scratch/zgfs-mount.log.last" >>"$scratch/zgfs-mount.log"
	: >"$scratch/zgfs-mount.log.last"
}
# Remounts zgfs with verify mode $1; on failure zgfs is out for the rest of the run.
zg_remount() {
	[ "$zg_ok" = 1 ] || return 0
	zg_umount
	zg_mount "$1" "${2:-}" || { zg_ok=0; zg_fail "remount (--verify=$1 $2)" "$zg_why"; }
}
zg_fail() {
	echo "- zgfs, $1: $2" >>"$scratch/zgfs-errors.txt"
}

# Drops the page cache of everything the targets read: the whole cache when
# /proc/sys/vm/drop_caches is writable, else each file behind the targets (the raw
# directory, the passthrough's source, the zgfs data directory) with fadvise DONTNEED,
# which drops a file's clean pages (sync first makes them clean).
fs_drop() {
	sync
	if [ "$fs_drop_all" = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
		return
	fi
	python3 - "$raw_dir" "$pt_src" "$zg_data" <<'PY'
import os, sys
for top in sys.argv[1:]:
    for d, _, files in os.walk(top):
        for f in files:
            try:
                fd = os.open(os.path.join(d, f), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
PY
}

# fio_run DDIR ARGS...: runs one fio job (JSON output) and prints its DDIR (read or write)
# rate in MB/s. Fails, with fio's complaint on stderr, if the job failed.
fio_run() {
	local ddir=$1 out=$scratch/fio.json
	shift
	if ! fio --output-format=json --output="$out" "$@" >"$scratch/fio.err" 2>&1; then
		grep -m3 . "$scratch/fio.err" "$out" >&2 || true
		return 1
	fi
	python3 - "$out" "$ddir" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
job = json.loads(text[text.index("{"):])["jobs"][0]
if job["error"]:
    sys.exit("fio: job error %d" % job["error"])
print("%.1f" % (job[sys.argv[2]]["bw_bytes"] / 1e6))
PY
}

fs_seq_write() { # FILE SIZE
	rm -f "$1"
	sync
	fio_run write --name=seqwrite --filename="$1" --rw=write --bs=1M --size="$2" \
		--end_fsync=1 --create_on_open=1 --fallocate=none
}
fs_rand_write() { # FILE SIZE: 1 MiB writes at random offsets until SIZE is covered
	rm -f "$1"
	fio_run write --name=randwrite4g --filename="$1" --rw=randwrite --bs=1M --size="$2" \
		--end_fsync=1 --create_on_open=1 --fallocate=none
}
fs_seq_read() { # FILE
	fio_run read --name=seqread --filename="$1" --rw=read --bs=1M --allow_file_create=0
}
fs_rand_read() { # FILE
	fio_run read --name=randread --filename="$1" --rw=randread --bs=128k --numjobs=4 \
		--group_reporting --time_based --runtime="$fs_randread_secs" --allow_file_create=0
}
# 10,000 x (create, write 4 KiB, fsync, close) in a new directory: prints files/s, and
# writes how many were timed to $scratch/small-count. Past $fs_small_secs the timed part
# stops and the directory is filled up to 10,000 entries untimed (ls -l lists it).
fs_small() { # DIR
	python3 - "$1" "$fs_small_files" "$fs_small_secs" "$scratch/small-count" <<'PY'
import os, sys, time
d, n, limit, count_file = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
os.mkdir(d)
flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
t0 = time.perf_counter()
done = 0
while done < n and time.perf_counter() - t0 < limit:
    fd = os.open(os.path.join(d, "f%05d" % done), flags, 0o644)
    try:
        if os.write(fd, os.urandom(4096)) != 4096:
            sys.exit("short write")
        os.fsync(fd)
    finally:
        os.close(fd)
    done += 1
dt = time.perf_counter() - t0
for i in range(done, n):
    os.close(os.open(os.path.join(d, "f%05d" % i), flags, 0o644))
open(count_file, "w").write("%d\n" % done)
print("%.1f" % (done / dt))
PY
}
# The same from 16 threads, each with its own files: files/s.
fs_small16() { # DIR
	python3 - "$1" "$fs_small_files" "$fs_small_secs" <<'PY'
import os, sys, threading, time
d, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.mkdir(d)
done = [0] * 16
t0 = time.perf_counter()
def work(k):
    for i in range(k, n, 16):
        if time.perf_counter() - t0 > limit:
            return
        fd = os.open(os.path.join(d, "t%05d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, os.urandom(4096))
            os.fsync(fd)
        finally:
            os.close(fd)
        done[k] += 1
ts = [threading.Thread(target=work, args=(k,)) for k in range(16)]
for x in ts:
    x.start()
for x in ts:
    x.join()
print("%.1f" % (sum(done) / (time.perf_counter() - t0)))
PY
}
# Random 4 KiB pwrite + fsync on one 64 MiB file, the way a database writes: IOPS.
fs_randwrite() { # FILE
	rm -f "$1"
	fio --name=prep --filename="$1" --rw=write --bs=1M --size=64M --end_fsync=1 \
		--output=/dev/null >/dev/null 2>&1 || return 1
	fio --output-format=json --output="$scratch/fio.json" --name=randwrite --filename="$1" \
		--rw=randwrite --bs=4k --size=64M --fsync=1 --time_based --runtime=10 \
		--allow_file_create=0 >"$scratch/fio.err" 2>&1 || { grep -m3 . "$scratch/fio.err" >&2; return 1; }
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
print("%.0f" % j["write"]["iops"])' "$scratch/fio.json"
}
# tar xf of a tree of 5,000 small files (made once in $scratch): seconds.
fs_tar() { # DIR
	if [ ! -f "$scratch/tree.tar" ]; then
		python3 - "$scratch/tree" <<'PY'
import os, random, sys
r = random.Random(5000)
for i in range(5000):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d" % i), "wb") as f:
        f.write(r.randbytes(r.choice([100, 1000, 4096, 20000])))
PY
		tar cf "$scratch/tree.tar" -C "$scratch" tree
	fi
	rm -rf "$1"
	mkdir -p "$1"
	local t0 t1
	t0=$(now)
	tar xf "$scratch/tree.tar" -C "$1" || return 1
	t1=$(now)
	python3 -c "print('%.3f' % ($t1 - $t0))"
}
# sqlite3: 10,000 inserts in transactions of 100 (rollback journal, synchronous=FULL): s.
fs_sqlite() { # DIR
	python3 - "$1" <<'PY'
import os, sqlite3, sys, time
p = os.path.join(sys.argv[1], "bench.db")
for suffix in ("", "-journal"):
    if os.path.exists(p + suffix):
        os.unlink(p + suffix)
db = sqlite3.connect(p, isolation_level=None)
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
t0 = time.perf_counter()
for b in range(100):
    db.execute("BEGIN")
    for i in range(100):
        db.execute("INSERT INTO t VALUES (?, ?)", (b * 100 + i, os.urandom(100)))
    db.execute("COMMIT")
dt = time.perf_counter() - t0
assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 10000
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
db.close()
print("%.3f" % dt)
PY
}
fs_ls() { # DIR: seconds for ls -l
	local t0 t1
	t0=$(now)
	ls -l "$1" >/dev/null || return 1
	t1=$(now)
	python3 -c "print('%.3f' % ($t1 - $t0))"
}

# fs_best VAR HOW VALUE: keeps in VAR the best of the values seen (HOW is max or min);
# a value that is not a number (a failed run) is kept only while nothing better is there.
fs_best() {
	local -n best=$1
	best=$(python3 -c '
import sys
def num(s):
    try:
        return float(s)
    except ValueError:
        return None
old, how, new = sys.argv[1], sys.argv[2], sys.argv[3]
a, b = num(old), num(new)
if a is None:
    print(new if b is not None or not old else old)
elif b is None:
    print(old)
else:
    print(old if (a >= b if how == "max" else a <= b) else new)
' "${best:-}" "$2" "$3")
}

# fs_measure VAR HOW TARGET FUNC ARGS...: runs FUNC ARGS on a target and folds the result
# into VAR. A failure of zgfs is recorded and shown after the table; of the others, fatal.
fs_measure() {
	local var=$1 how=$2 target=$3 v
	shift 3
	if [ "$target" = zgfs ]; then
		[ "$zg_ok" = 1 ] || return 0
		if ! v=$("$@" 2>"$scratch/zgfs-job.err"); then
			zg_fail "$1" "$(head -c 300 "$scratch/zgfs-job.err" | tr '\n' ' ')"
			v=error
			if ! fs_is_mounted "$zg_mnt"; then
				zg_fail "$1" "the mount is gone; zgfs is out of the rest of the run"
				zg_ok=0
			fi
		fi
	else
		v=$("$@")
	fi
	fs_best "$var" "$how" "${v%% *}"
}

# A ratio a/b when both are numbers, else empty.
fs_ratio() {
	python3 -c '
import sys
try:
    print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))
except (ValueError, ZeroDivisionError):
    pass
' "$1" "$2"
}

fs_bench() {
	echo "## The mount: zgfs against the raw directory and a passthrough FUSE mount"
	echo
	if ! command -v fio >/dev/null; then
		echo "fio is not installed: \`apt-get install fio\` (setup.sh installs it). Skipping the fs section."
		return 0
	fi
	if ! [ -x "$build/bench/passthrough" ] || ! command -v fusermount3 >/dev/null ||
		! [ -c /dev/fuse ]; then
		echo "No FUSE here (build/bench/passthrough, fusermount3 or /dev/fuse missing). Skipping the fs section."
		return 0
	fi
	local fs=$scratch/fs
	raw_dir=$fs/raw
	pt_src=$fs/passthrough-source
	pt_mnt=$fs/passthrough
	zg_data=$fs/zgfs-data
	zg_mnt=$fs/zgfs
	mkdir -p "$raw_dir" "$pt_src" "$pt_mnt" "$zg_data" "$zg_mnt"
	fs_mounts=("$pt_mnt" "$zg_mnt")
	: >"$scratch/zgfs-errors.txt"
	fs_drop_all=0
	if [ -w /proc/sys/vm/drop_caches ] && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
		fs_drop_all=1
	fi

	pt_mount
	zg_ok=1
	zg_why=
	zg_mount always || zg_ok=0

	local t w_raw='' w_pt='' w_zg='' root_j1
	for _ in $(seq "$fs_runs"); do
		for t in raw passthrough zgfs; do
			case $t in
			raw) fs_measure w_raw max raw fs_seq_write "$raw_dir/seq" 1G ;;
			passthrough) fs_measure w_pt max passthrough fs_seq_write "$pt_mnt/seq" 1G ;;
			zgfs) fs_measure w_zg max zgfs fs_seq_write "$zg_mnt/seq" 1G ;;
			esac
		done
	done
	cat "$raw_dir/seq" >/dev/null
	root_j1=$(rate $((1 << 30)) "$(best_of_3 "$zgfs" root -j1 "$raw_dir/seq")")

	local s_raw='' s_pt='' s_zg=''
	fs_measure s_raw max raw fs_small "$raw_dir/small"
	fs_measure s_pt max passthrough fs_small "$pt_mnt/small"
	local s_zg_note=''
	: >"$scratch/small-count"
	fs_measure s_zg max zgfs fs_small "$zg_mnt/small"
	if [ -n "$s_zg" ] && [ "$(cat "$scratch/small-count")" != "$fs_small_files" ]; then
		s_zg_note=" (capped: $(cat "$scratch/small-count") files in $fs_small_secs s)"
	fi

	local m_raw='' m_pt='' m_zg='' rw_raw='' rw_pt='' rw_zg='' q_raw='' q_pt='' q_zg=''
	local x_raw='' x_pt='' x_zg='' x_zgw=''
	fs_measure m_raw max raw fs_small16 "$raw_dir/small16"
	# The passthrough keeps a descriptor per inode the kernel remembers: start it afresh.
	pt_umount
	pt_mount
	fs_measure m_pt max passthrough fs_small16 "$pt_mnt/small16"
	fs_measure m_zg max zgfs fs_small16 "$zg_mnt/small16"
	fs_measure rw_raw max raw fs_randwrite "$raw_dir/rw"
	fs_measure rw_pt max passthrough fs_randwrite "$pt_mnt/rw"
	fs_measure rw_zg max zgfs fs_randwrite "$zg_mnt/rw"
	fs_measure q_raw min raw fs_sqlite "$raw_dir"
	fs_measure q_pt min passthrough fs_sqlite "$pt_mnt"
	fs_measure q_zg min zgfs fs_sqlite "$zg_mnt"
	fs_measure x_raw min raw fs_tar "$raw_dir/tar"
	fs_measure x_pt min passthrough fs_tar "$pt_mnt/tar"
	fs_measure x_zg min zgfs fs_tar "$zg_mnt/tar"
	zg_remount always --writeback
	fs_measure x_zgw min zgfs fs_tar "$zg_mnt/tarw"
	zg_remount always

	local l_raw='' l_pt='' l_zg='' r_raw='' r_pt='' r_zg='' r_zgn=''
	for _ in $(seq "$fs_runs"); do
		pt_umount
		pt_mount
		zg_remount always
		fs_drop
		fs_measure l_raw min raw fs_ls "$raw_dir/small"
		fs_measure l_pt min passthrough fs_ls "$pt_mnt/small"
		fs_measure l_zg min zgfs fs_ls "$zg_mnt/small"
	done
	for _ in $(seq "$fs_runs"); do
		pt_umount
		pt_mount
		zg_remount always
		fs_drop
		fs_measure r_raw max raw fs_seq_read "$raw_dir/seq"
		fs_measure r_pt max passthrough fs_seq_read "$pt_mnt/seq"
		fs_measure r_zg max zgfs fs_seq_read "$zg_mnt/seq"
		zg_remount never
		fs_drop
		fs_measure r_zgn max zgfs fs_seq_read "$zg_mnt/seq"
	done

	local rr_raw='' rr_pt='' rr_zg=''
	zg_remount always
	fs_drop
	fs_measure rr_raw max raw fs_rand_read "$raw_dir/seq"
	fs_drop
	fs_measure rr_pt max passthrough fs_rand_read "$pt_mnt/seq"
	fs_drop
	fs_measure rr_zg max zgfs fs_rand_read "$zg_mnt/seq"
	pt_umount

	# Peak memory of a fresh mount while 4 GiB are written through it at random offsets.
	local w4='' rss=''
	if [ "$zg_ok" = 1 ]; then
		zg_remount always
		fs_measure w4 max zgfs fs_rand_write "$zg_mnt/rand4g" 4G
		if [ "$zg_ok" = 1 ]; then
			rss=$(peak_rss "$zg_pid")
			zg_umount
		fi
	fi

	local na="not available"
	echo "$(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
		"$(fio --version); MB/s are 10^6 bytes/s; the best of $fs_runs run(s) per job unless noted."
	if [ "$fs_drop_all" = 1 ]; then
		echo "Cold reads: page cache dropped (/proc/sys/vm/drop_caches) and FUSE mounts remounted before each."
	else
		echo "Cold reads: /proc/sys/vm/drop_caches is not writable here, so the page cache of every" \
			"file behind the targets was dropped with fadvise(DONTNEED) after sync, and FUSE mounts" \
			"were remounted, before each; the raw directory's dentries and inodes stay cached."
	fi
	echo
	if [ -z "$w_zg" ]; then
		echo "zgfs mount not available: $zg_why"
		echo
	fi
	fs_cell() { if [ -n "$1" ]; then echo "$1"; else echo "$na"; fi; }
	# "≥ 0.8× zgfs root -j1" and, when zgfs has a figure, its ratio to root -j1.
	fs_root_target() {
		local r
		r=$(fs_ratio "$1" "$root_j1")
		echo "≥ 0.8× zgfs root -j1${r:+: $r}"
	}
	echo "| job | raw | passthrough | zgfs | zgfs/passthrough | target |"
	echo "|---|---:|---:|---:|---:|---|"
	echo "| sequential write 1 GiB, bs 1M, end_fsync (MB/s) | $w_raw | $w_pt | $(fs_cell "$w_zg") |" \
		"$(fs_ratio "$w_zg" "$w_pt") | $(fs_root_target "$w_zg") |"
	echo "| sequential read 1 GiB, bs 1M, cold, --verify=never (MB/s) | $r_raw | $r_pt | $(fs_cell "$r_zgn") |" \
		"$(fs_ratio "$r_zgn" "$r_pt") | ≥ 0.7 |"
	echo "| sequential read 1 GiB, bs 1M, cold, --verify=always (MB/s) | $r_raw | $r_pt | $(fs_cell "$r_zg") |" \
		"$(fs_ratio "$r_zg" "$r_pt") | $(fs_root_target "$r_zg") |"
	echo "| random read 128 KiB, 4 jobs, ${fs_randread_secs} s, one run (MB/s) | $rr_raw | $rr_pt | $(fs_cell "$rr_zg") |" \
		"$(fs_ratio "$rr_zg" "$rr_pt") | ≥ 0.6 |"
	echo "| 10,000 × (create, write 4 KiB, fsync, close), one run (files/s) | $s_raw | $s_pt | $(fs_cell "$s_zg")$s_zg_note |" \
		"$(fs_ratio "$s_zg" "$s_pt") | ≥ 0.5 |"
	echo "| the same from 16 threads (files/s; last column: zgfs 16 threads / zgfs 1 thread) | $m_raw | $m_pt | $(fs_cell "$m_zg") |" \
		"$(fs_ratio "$m_zg" "$m_pt") | ≥ 4× zgfs 1 thread: $(fs_ratio "$m_zg" "$s_zg") |"
	echo "| random 4 KiB pwrite + fsync, one 64 MiB file, 10 s (IOPS) | $rw_raw | $rw_pt | $(fs_cell "$rw_zg") |" \
		"$(fs_ratio "$rw_zg" "$rw_pt") | ≥ 0.3 |"
	echo "| sqlite3: 10,000 inserts in transactions of 100 (s; ratio = passthrough s / zgfs s) | $q_raw | $q_pt | $(fs_cell "$q_zg") |" \
		"$(fs_ratio "$q_pt" "$q_zg") | report |"
	echo "| tar xf of 5,000 files, default (s; ratio = passthrough s / zgfs s) | $x_raw | $x_pt | $(fs_cell "$x_zg") |" \
		"$(fs_ratio "$x_pt" "$x_zg") | report |"
	echo "| tar xf of 5,000 files, --writeback (s; ratio = passthrough s / zgfs s) | $x_raw | $x_pt | $(fs_cell "$x_zgw") |" \
		"$(fs_ratio "$x_pt" "$x_zgw") | ≥ 0.5 |"
	echo "| ls -l of 10,000 entries, cold (s; ratio = passthrough s / zgfs s) | $l_raw | $l_pt | $(fs_cell "$l_zg") |" \
		"$(fs_ratio "$l_pt" "$l_zg") | ≥ 0.5 |"
	echo "| zgfs root -j1 on the same 1 GiB, in the page cache (MB/s; baseline of two targets) | | | $root_j1 | | |"
	echo
	if [ -n "$rss" ]; then
		echo "zgfs mount peak RSS (VmHWM) while 4 GiB were written through it at random offsets (1 MiB writes) at $w4 MB/s: $rss MiB (target ≤ 256 MiB)."
	else
		echo "zgfs mount peak RSS while writing 4 GiB: $na."
	fi
	if [ -s "$scratch/zgfs-errors.txt" ]; then
		echo
		echo "zgfs errors in this run:"
		cat "$scratch/zgfs-errors.txt"
		echo
		echo "The last lines the mount printed:"
		echo
		cat "$scratch/zgfs-mount.log" "$scratch/zgfs-mount.log.last" 2>/dev/null | tail -n 20 |
			sed 's/^/    /'
	fi
}

settle_bench() {
	local anvil port url key
	anvil=$top/tests/compat/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
	[ -x "$anvil" ] || anvil=$top/tests/compat/node_modules/.bin/anvil
	if [ ! -x "$anvil" ]; then
		echo "settle: anvil is not installed (run ./setup.sh); skipped"
		return 0
	fi
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	url=http://127.0.0.1:$port
	"$anvil" --host 127.0.0.1 --port "$port" --silent >/dev/null 2>&1 &
	local anvil_pid=$!
	# anvil's first dev account (its well-known key), funded at genesis.
	key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
	for _ in $(seq 100); do
		curl -s -o /dev/null -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" && break
		sleep 0.1
	done
	ZGFS_KEY=$key "$zgfs" chain deploy --rpc "$url" --data "$scratch/settle-evm" >/dev/null 2>&1
	echo "## Settlement: 4 KiB uploads through the node, embedded ledger against anvil"
	echo
	ZGFS_KEY=$key "$build/bench/bench_settle" "$scratch/settle-local" "$scratch/settle-evm" 400 16
	echo
	if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
		echo "## close() of a new 4 KiB file on a mount (200 files; each close settles the data and the inode)"
		echo
		echo "| chain | mean close() (ms) | p99 (ms) | ratio to embedded |"
		echo "|---|---:|---:|---:|"
		local base=
		for kind in local evm; do
			local d=$scratch/mnt-$kind-data m=$scratch/mnt-$kind
			if [ $kind = evm ]; then
				ZGFS_KEY=$key "$zgfs" chain deploy --rpc "$url" --data "$d" >/dev/null 2>&1
			fi
			ZGFS_KEY=$key "$zgfs" mount --data "$d" "$m"
			read -r mean p99 < <(python3 - "$m" <<'PY'
import os, sys, time
m, lat = sys.argv[1], []
buf = os.urandom(4096)
for i in range(200):
    fd = os.open(os.path.join(m, f"f{i}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, buf)
    t0 = time.perf_counter()
    os.close(fd)
    lat.append(time.perf_counter() - t0)
lat.sort()
print(f"{sum(lat) / len(lat) * 1e3:.2f} {lat[len(lat) * 99 // 100] * 1e3:.2f}")
PY
			)
			"$zgfs" umount "$m"
			[ -z "$base" ] && base=$mean
			echo "| $([ $kind = local ] && echo embedded ledger || echo 'EVM chain (anvil)') | $mean | $p99 | $(ratio "$mean" "$base") |"
		done
	fi
	kill "$anvil_pid" 2>/dev/null || true
	wait "$anvil_pid" 2>/dev/null || true
}

# ---- cluster: four nodes on anvil under policy 2+2, against one node on the same chain ----

# anvil's well-known dev keys (funded at genesis): 0 deploys, 1 the lone node, 2-5 the cluster.
anvil_keys=(0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
	0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
	0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
	0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
	0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
	0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba)
cl_pids=()

# Bytes through the loopback interface so far (each byte sent counted once).
lo_bytes() { awk -F'[: ]+' '$2 == "lo" {print $3}' /proc/net/dev; }

# cl_node NAME KEY PORT [ARGS...]: starts a node on $scratch/NAME, waits until it serves.
cl_node() {
	local name=$1 key=$2 port=$3
	shift 3
	ZGFS_KEY=$key "$zgfs" node --data "$scratch/$name" --rpc "127.0.0.1:$port" "$@" \
		2>"$scratch/$name.log" &
	cl_pids+=($!)
	eval "pid_$name=$!"
	for _ in $(seq 300); do grep -q "serving http://" "$scratch/$name.log" && return 0; sleep 0.1; done
	echo "cluster: node $name did not start: $(tail -3 "$scratch/$name.log")" >&2
	return 1
}

# A field of `zgfs status --node URL --json`.
cl_status() { "$zgfs" status --node "$1" --json | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"; }

cluster_bench() {
	local anvil port url size flow root t0 t_up1 t_upc lo0 lo1 lo2 t_down1 t_downc t_rep
	anvil=$top/tests/compat/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
	[ -x "$anvil" ] || anvil=$top/tests/compat/node_modules/.bin/anvil
	if [ ! -x "$anvil" ]; then
		echo "cluster: anvil is not installed (run ./setup.sh); skipped"
		return 0
	fi
	size=$((${BENCH_CLUSTER_MIB:-64} << 20))
	head -c $size /dev/urandom >"$scratch/cl-file"
	port=$(free_port)
	url=http://127.0.0.1:$port
	"$anvil" --host 127.0.0.1 --port "$port" --silent >/dev/null 2>&1 &
	cl_pids+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" && break
		sleep 0.1
	done
	# One node, shard 0/1, no policy: its own contracts on the same chain.
	ZGFS_KEY=${anvil_keys[0]} "$zgfs" chain deploy --rpc "$url" --data "$scratch/one" >/dev/null
	local p1
	p1=$(free_port)
	cl_node one "${anvil_keys[1]}" "$p1"
	local u1=http://127.0.0.1:$p1
	# Four nodes of shards 0/4 … 3/4 under 2+2.
	flow=$(ZGFS_KEY=${anvil_keys[0]} "$zgfs" chain deploy --rpc "$url" --data "$scratch/n0" --ec 2+2 |
		awk '$1 == "flow" {print $2}')
	local us=() i
	for i in 0 1 2 3; do
		[ $i = 0 ] || "$zgfs" chain attach --rpc "$url" --flow "$flow" --data "$scratch/n$i" >/dev/null
		local pi
		pi=$(free_port)
		us+=("http://127.0.0.1:$pi")
		cl_node "n$i" "${anvil_keys[$((2 + i))]}" "$pi" --shard "$i/4" --url "http://127.0.0.1:$pi"
	done
	"$zgfs" health --node "${us[0]}" --wait 60 >/dev/null
	cat "$scratch/cl-file" >/dev/null

	lo0=$(lo_bytes)
	t0=$(now)
	root=$("$zgfs" upload --node "$u1" "$scratch/cl-file" | awk '{print $1}')
	t_up1=$(python3 -c "print($(now) - $t0)")
	lo1=$(lo_bytes)
	t0=$(now)
	"$zgfs" upload --node "${us[0]}" "$scratch/cl-file" >/dev/null
	t_upc=$(python3 -c "print($(now) - $t0)")
	lo2=$(lo_bytes)
	t_down1=$(best_of_3 "$zgfs" download --node "$u1" "$root" "$scratch/cl-back")
	cmp -s "$scratch/cl-file" "$scratch/cl-back" || { echo "cluster: download from one node differs!" >&2; exit 1; }
	rm -f "$scratch/cl-back"
	t_downc=$(best_of_3 "$zgfs" download --node "${us[0]}" "$root" "$scratch/cl-back")
	cmp -s "$scratch/cl-file" "$scratch/cl-back" || { echo "cluster: striped download differs!" >&2; exit 1; }
	rm -f "$scratch/cl-back"

	# Repair: node 1 loses its disk and comes back on its shard.
	kill -9 "$pid_n1"
	wait "$pid_n1" 2>/dev/null || true
	rm -rf "$scratch/n1"
	"$zgfs" chain attach --rpc "$url" --flow "$flow" --data "$scratch/n1" >/dev/null
	t0=$(now)
	cl_node n1 "${anvil_keys[3]}" "${us[1]##*:}" --shard 1/4 --url "${us[1]}"
	"$zgfs" health "$root" --node "${us[1]}" --wait 600 >/dev/null
	t_rep=$(python3 -c "print($(now) - $t0)")
	local kept parity_in rebuilt_in
	kept=$(cl_status "${us[1]}" bytesStored)
	parity_in=$(cl_status "${us[1]}" parityBytesIn)
	rebuilt_in=$(cl_status "${us[1]}" rebuiltBytesIn)

	local rs dec enc raw
	rs=$("$build/bench/bench_rs" 2 2 256)
	raw=$(echo "$rs" | awk -F'|' '/ISA-L raw ec_encode/ {gsub(/ /, "", $3); print $3}')
	enc=$(echo "$rs" | awk -F'|' '/codec_rs_encode \|/ {gsub(/ /, "", $3); print $3}')
	dec=$(echo "$rs" | awk -F'|' '/codec_rs_reconstruct/ {gsub(/ /, "", $3); print $3}')

	local r_up1 r_upc r_d1 r_dc r_rep
	r_up1=$(rate $size "$t_up1")
	r_upc=$(rate $size "$t_upc")
	r_d1=$(rate $size "$t_down1")
	r_dc=$(rate $size "$t_downc")
	r_rep=$(rate "$kept" "$t_rep")
	echo "## A cluster: four nodes under policy 2+2 against one node ($((size >> 20)) MiB of random bytes, anvil, loopback)"
	echo
	echo "| figure | value | baseline | ratio | target |"
	echo "|---|---:|---:|---:|---:|"
	echo "| zgfs upload --node, 4 nodes 2+2 (returns once redundant) / one node, MB/s | $r_upc | $r_up1 | $(ratio "$r_upc" "$r_up1") | report |"
	echo "| bytes over loopback per byte uploaded, 4 nodes 2+2 / one node | $(ratio $((lo2 - lo1)) $size) | $(ratio $((lo1 - lo0)) $size) | $(ratio $((lo2 - lo1)) $((lo1 - lo0))) | report |"
	echo "| zgfs download --node, striped over 4 nodes / one node, MB/s | $r_dc | $r_d1 | $(ratio "$r_dc" "$r_d1") | report |"
	echo "| repair of a wiped node (bytes rebuilt per s) / codec_rs_reconstruct 2+2, MB/s | $r_rep | $dec | $(ratio "$r_rep" "$dec") | ≥ 0.3 |"
	echo "| bytes fetched per byte rebuilt | $(ratio $((parity_in + rebuilt_in)) "$kept") | | | report |"
	echo "| codec_rs_encode 2+2 on 256 KiB segments / ISA-L raw ec_encode_data, MB/s | $enc | $raw | $(ratio "$enc" "$raw") | ≥ 0.9 |"
	echo
	echo "The wiped node kept $kept bytes (its data segments and parity symbols) and rebuilt them in $(printf %.1f "$t_rep") s; it fetched $rebuilt_in bytes of stripe symbols to decode its data segments (no copies exist: each shard has one node) and $parity_in bytes of data to compute its parity again. A byte uploaded to the cluster is stored twice (2+2)."
	for pid in "${cl_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	cl_pids=()
}

# ---- snapshot: create and verify a dataset snapshot, against hashing the same files ----
#
# A dataset as the examples have it: 2,000 files of 4 KiB and two 128 MiB shards written in
# 1 MiB appends (so a shard is many extents and its root must be hashed from its bytes,
# not taken from one entry's). The baseline is `zgfs root -j1` over a copy of the same
# files on the raw disk: one core hashing every byte, what a verify must do at the least.
snapshot_bench() {
	echo "## Dataset snapshots (2,000 files of 4 KiB and two shards of 128 MiB)"
	echo
	local data=$scratch/snapdata mnt=$scratch/snapmnt smnt=$scratch/snapsnap raw=$scratch/snapraw
	mkdir -p "$mnt" "$smnt" "$raw/small"
	"$zgfs" mount --data "$data" "$mnt"
	mkdir -p "$mnt/ds/small"
	python3 - "$mnt/ds" "$raw" <<'PY'
import os, sys
ds, raw = sys.argv[1], sys.argv[2]
for i in range(2000):
    b = os.urandom(4096)
    for top in (ds, raw):
        with open(os.path.join(top, "small", f"{i:05d}.bin"), "wb") as f:
            f.write(b)
for s in range(2):
    with open(os.path.join(ds, f"shard{s}.bin"), "wb") as f, open(os.path.join(raw, f"shard{s}.bin"), "wb") as g:
        pass
    for _ in range(128):
        b = os.urandom(1 << 20)
        for top in (ds, raw):
            with open(os.path.join(top, f"shard{s}.bin"), "ab") as f:
                f.write(b)
PY
	local bytes=$((2000 * 4096 + 2 * (128 << 20))) t0 t_create t_verify t_mount t_root out id
	t0=$(now)
	out=$("$zgfs" snapshot create "$mnt/ds" --name bench)
	t_create=$(python3 -c "print($(now) - $t0)")
	id=$(echo "$out" | awk '{print $2}')
	t_verify=$(best_of_3 "$zgfs" snapshot verify --mount "$mnt" bench)
	t0=$(now)
	"$zgfs" mount --data "$data" --snapshot bench "$smnt"
	t_mount=$(python3 -c "print($(now) - $t0)")
	cmp -s "$smnt/shard1.bin" "$raw/shard1.bin" || { echo "snapshot shard differs!" >&2; exit 1; }
	"$zgfs" umount "$smnt"
	t_root=$(best_of_3 "$zgfs" root -j1 "$raw"/small/* "$raw"/shard*.bin)
	"$zgfs" umount "$mnt"
	local r_root r_create r_verify
	r_root=$(rate $bytes "$t_root")
	r_create=$(rate $bytes "$t_create")
	r_verify=$(rate $bytes "$t_verify")
	echo "| what | MB/s | ratio to zgfs root -j1 | target |"
	echo "|---|---:|---:|---:|"
	echo "| zgfs root -j1 over a raw copy of the files (baseline) | $r_root | 1.00 | |"
	echo "| zgfs snapshot create (walk, hash the shards, settle the manifest) | $r_create | $(ratio "$r_create" "$r_root") | report |"
	echo "| zgfs snapshot verify (re-read and re-hash every byte, verified) | $r_verify | $(ratio "$r_verify" "$r_root") | report |"
	echo
	echo "Snapshot $id: create took $(printf %.2f "$t_create") s, verify $(printf %.2f "$t_verify") s, zgfs mount --snapshot $(printf %.2f "$t_mount") s (2,003 entries)."
}

case $what in
codec) codec ;;
snapshot) snapshot_bench ;;
pora) pora ;;
node) node_bench ;;
fs) fs_bench ;;
settle) settle_bench ;;
da) da_bench ;;
cluster) cluster_bench ;;
all)
	codec
	echo
	pora
	echo
	da_bench
	echo
	node_bench
	echo
	fs_bench
	echo
	settle_bench
	echo
	cluster_bench
	echo
	snapshot_bench
	;;
*)
	echo "usage: bench/run.sh [codec|pora|da|node|fs|settle|cluster|snapshot]" >&2
	exit 2
	;;
esac
