#!/usr/bin/env bash
# The include rules between layers (docs/ARCHITECTURE.md, STYLE.md habit 1), checked on
# every #include "..." of the layer folders:
#   - no layer includes a layer above it: codec < sys < chain < node < fs < cli < examples;
#   - no layer includes another layer's internal header (a name ending in _i.h);
#   - cli/ and examples/ include public headers only (no _i.h at all).
# usage: .ci/check-includes.sh [SOURCE_ROOT]   (default: the tree this script is in)
# Prints each violation as FILE:LINE: what is wrong, and exits 1 when there is one.
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

layers=(codec sys chain node fs cli examples)
files=()
for l in "${layers[@]}"; do
	[ -d "$l" ] || { echo "check-includes: no $l/ in $(pwd)" >&2; exit 1; }
	while IFS= read -r f; do files+=("$f"); done < <(find "$l" -name '*.[ch]' | sort)
done

grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${files[@]}" | awk -v order="${layers[*]}" '
BEGIN {
	n = split(order, names, " ")
	for (i = 1; i <= n; i++) rank[names[i]] = i
	bad = 0
}
{
	# FILE:LINE:#include "PATH"
	file = $0; sub(/:.*/, "", file)
	rest = substr($0, length(file) + 2)
	line = rest; sub(/:.*/, "", line)
	inc = rest; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
	from = file; sub(/\/.*/, "", from)
	to = inc; sub(/\/.*/, "", to)
	if (!(to in rank) || inc !~ /\//)
		next # a system-style or same-folder include: not a layer
	if (rank[to] > rank[from]) {
		printf "%s:%s: %s/ includes %s, of %s/, a layer above it\n", file, line, from, inc, to
		bad = 1
	} else if (inc ~ /_i\.h$/ && (to != from || from == "cli" || from == "examples")) {
		if (from == "cli" || from == "examples")
			printf "%s:%s: %s/ uses public headers only, not %s\n", file, line, from, inc
		else
			printf "%s:%s: %s/ includes %s, internal to %s/\n", file, line, from, inc, to
		bad = 1
	}
}
END { exit bad }
' && echo "check-includes: ${#files[@]} files, every include follows the layer rules"
