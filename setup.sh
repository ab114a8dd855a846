#!/usr/bin/env bash
# setup.sh - make this checkout ready: install what zgfs needs on Debian 12, then
# configure build/ with meson and compile. Safe to run again: it installs only what is
# missing and rebuilds only what changed.
#
#   ./setup.sh                 as root, or as a user with sudo for the package step
#   ZGFS_WERROR=true ./setup.sh   treat compiler warnings as errors (CI does)
set -euo pipefail
cd "$(dirname "$0")"

# Debian 12 (bookworm) packages: the compiler and build tools, the libraries zgfs links,
# FUSE, what the tests run (python3 for small helpers) and what bench/run.sh drives (fio).
# Versions are those of bookworm, which only takes security fixes; the minimum versions
# are also checked by meson.build.
debs=(
	gcc meson ninja-build pkg-config python3
	libssl-dev libisal-dev libjansson-dev libsodium-dev libleveldb-dev
	libcurl4-openssl-dev libmicrohttpd-dev libsecp256k1-dev
	libfuse3-dev fuse3 fio
	# Programs that tests/integration/tools_mount.py runs in a mount (numpy for the
	# system python3, /usr/bin/python3, whatever python3 comes first on PATH).
	sqlite3 git rsync python3-numpy
	# PyTorch for examples/pytorch-dataset (Debian's, for /usr/bin/python3).
	python3-torch
	# chattr and lsattr, for the append-only rows of tests/integration/test_mount.py.
	e2fsprogs
	# setfattr and getfattr, for the user xattr rows and the cp -a / rsync -aX round trips.
	attr
)
# Node.js runs the official 0G SDK in the compatibility tests. A machine that already
# has node and npm (from any source) keeps them.
command -v node >/dev/null && command -v npm >/dev/null || debs+=(nodejs npm)

missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null; then
		sudo=(sudo)
	else
		echo "setup: these Debian packages are missing: ${missing[*]}" >&2
		echo "setup: install them as root (apt-get install ...) and run ./setup.sh again" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm modules, pinned exactly by tests/compat/package-lock.json and installed into
# tests/compat/node_modules (ignored by git): solc compiles the contracts in chain/contracts
# during the build; the 0G SDK, ethers, anvil (a local EVM chain; its linux-amd64 build,
# the package that holds the binary) and hash-wasm (keccak and BLAKE2b for the PoRA
# reference) run in the tests.
# Reinstalled only when the lock changes.
lock=tests/compat/package-lock.json
stamp=tests/compat/node_modules/.zgfs-lock
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
	echo "setup: installing the pinned npm modules into tests/compat/node_modules"
	npm ci --prefix tests/compat --ignore-scripts --no-audit --no-fund --loglevel=error
	cp "$lock" "$stamp"
fi

werror=${ZGFS_WERROR:-false}
if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=debugoptimized -Dwerror="$werror"
elif [ "$(meson introspect build --buildoptions | python3 -c 'import json,sys; print(str([o["value"] for o in json.load(sys.stdin) if o["name"]=="werror"][0]).lower())')" != "$werror" ]; then
	meson configure build -Dwerror="$werror"
fi
ninja -C build

# The helper mount(8) runs for `mount -t fuse.zgfs` and /etc/fstab lines of type fuse.zgfs:
# a link to the built binary, where util-linux looks for it. Root's to install; without
# root (or sudo without a password) the build is still complete and this says how.
helper=/usr/sbin/mount.fuse.zgfs
if [ "$(readlink "$helper" 2>/dev/null)" != "$PWD/build/zgfs" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		ln -sfn "$PWD/build/zgfs" "$helper"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo ln -sfn "$PWD/build/zgfs" "$helper"
	else
		echo "setup: for mount -t fuse.zgfs and /etc/fstab, run as root: ln -sfn $PWD/build/zgfs $helper"
	fi
fi
