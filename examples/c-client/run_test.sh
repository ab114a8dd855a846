#!/usr/bin/env bash
# The c-client example against a zgfs node this test starts (over JSON-RPC on loopback),
# then against a node inside the example's own process: each time the root it prints must
# be the one `zgfs root` computes, and an empty file must be refused.
set -uo pipefail
zgfs=$1 example=$2
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
# An empty config home: a config file of whoever runs the test changes nothing.
export XDG_CONFIG_HOME=$dir/xdg
n=0 failed=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }

head -c 3000001 /dev/urandom >"$dir/data.bin"
want=$("$zgfs" root "$dir/data.bin" | awk '{print $1}')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$zgfs" node --data "$dir/node" --rpc "127.0.0.1:$port" 2>"$dir/node.log" &
pid=$!
for _ in $(seq 100); do grep -q "serving http://" "$dir/node.log" && break; sleep 0.1; done

out=$("$example" "$dir/data.bin" --node "http://127.0.0.1:$port" 2>&1)
check $([[ "$out" == "$want "*"uploaded and read back identical" ]]; echo $?) \
	"through a running node: $out (zgfs root: $want)"
out=$("$example" "$dir/data.bin" --data "$dir/inproc" 2>&1)
check $([[ "$out" == "$want "*"uploaded and read back identical" ]]; echo $?) \
	"with the node in the example's process: $out"
: >"$dir/empty"
out=$("$example" "$dir/empty" --node "http://127.0.0.1:$port" 2>&1)
status=$?
check $([ $status = 1 ] && [[ "$out" == *"empty (0G has no empty entries)"* ]]; echo $?) "an empty file is refused: exit $status, $out"
echo "1..$n"
exit $failed
