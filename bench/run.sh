#!/usr/bin/env bash
# bench/run.sh - the benchmark report. Every figure is measured in this run next to its
# baseline, and every ratio is against that baseline. MB/s are 10^6 bytes per second.
#
#   bench/run.sh codec      keccak, file roots, Reed–Solomon (the codec layer)
#   bench/run.sh node       upload and download through a node over loopback, KV
#   bench/run.sh            both
#
# Needs a built tree (./setup.sh). Scratch files go to $BENCH_DIR (default: a temporary
# directory under /var/tmp, on disk rather than tmpfs), removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
zgfs=$build/zgfs
what=${1:-all}
scratch=$(mktemp -d "${BENCH_DIR:-/var/tmp}/zgfs-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

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

case $what in
codec) codec ;;
node) node_bench ;;
all)
	codec
	echo
	node_bench
	;;
*)
	echo "usage: bench/run.sh [codec|node]" >&2
	exit 2
	;;
esac
