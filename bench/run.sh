#!/usr/bin/env bash
# bench/run.sh - the benchmark report. Every figure is measured in this run next to its
# baseline, and every ratio is against that baseline. MB/s are 10^6 bytes per second.
#
#   bench/run.sh [codec]     keccak, file roots, Reed–Solomon (the codec layer)
#
# Needs a built tree (./setup.sh). Scratch files go to $BENCH_DIR (default: a temporary
# directory under /var/tmp, on disk rather than tmpfs), removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
zgfs=$build/zgfs
what=${1:-codec}
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

case $what in
codec) codec ;;
*)
	echo "usage: bench/run.sh [codec]" >&2
	exit 2
	;;
esac
