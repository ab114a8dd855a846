#!/usr/bin/env bash
# The unit files through systemd-analyze verify, with ExecStart pointed at the built zgfs.
# Exits 77 when systemd-analyze is missing.
set -uo pipefail
zgfs=$(realpath "$1") here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP systemd-analyze is missing"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/zgfs|$zgfs|" "$here/zgfs-node.service" >"$dir/zgfs-node.service"
cp "$here/mnt-zg.mount" "$dir/mnt-zg.mount"
out=$(cd "$dir" && systemd-analyze verify --man=no zgfs-node.service mnt-zg.mount 2>&1)
status=$?
# Only what it says of these two units counts (a container may have others it dislikes).
mine=$(echo "$out" | grep -E 'zgfs-node\.service|mnt-zg\.mount' || true)
if [ $status = 0 ] && [ -z "$mine" ]; then
	echo "ok 1 - systemd-analyze verify accepts zgfs-node.service and mnt-zg.mount"
	echo "1..1"
	exit 0
fi
echo "not ok 1 - systemd-analyze verify (exit $status): $(echo "$out" | tr '\n' ' ')"
echo "1..1"
exit 1
