#!/bin/sh
# Lint the user ABI (uapi/linux/pinio.h): no struct may have implicit
# padding (gcc -Wpadded -Werror), and each must have the same size for
# 64-bit and 32-bit user space, since the ioctl numbers encode the size and
# 32-bit processes reach the driver through compat_ioctl. The structs are
# found in the header itself, so a new one is checked without editing this.
#
# Usage: scripts/uapi-check.sh [HEADER]   (run by `make lint`)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
hdr=${1:-$top/uapi/linux/pinio.h}
cc=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

structs=$(sed -n 's/^struct \([a-z_][a-z0-9_]*\) {.*/\1/p' "$hdr")
[ -n "$structs" ] || {
	echo "uapi-check: no structs found in $hdr" >&2
	exit 1
}

# 1. The 64-bit layout: sizes, and no padding anywhere.
{
	printf '#include <stdio.h>\n#include "%s"\nint main(void)\n{\n' "$hdr"
	for s in $structs; do
		printf '\tprintf("%s %%zu\\n", sizeof(struct %s));\n' "$s" "$s"
	done
	printf '\treturn 0;\n}\n'
} >"$tmp/sizes.c"
$cc -m64 -std=gnu11 -Wall -Wpadded -Werror -o "$tmp/sizes" "$tmp/sizes.c"
"$tmp/sizes" >"$tmp/sizes.txt"

# 2. The 32-bit layout must be the same: no padding and the same sizes.
{
	printf '#include "%s"\n' "$hdr"
	while read -r s n; do
		printf '_Static_assert(sizeof(struct %s) == %s, "struct %s: %s bytes for 64-bit user space, not for 32-bit");\n' \
			"$s" "$n" "$s" "$n"
	done <"$tmp/sizes.txt"
} >"$tmp/abi32.c"
if printf '#include <linux/types.h>\n' | $cc -m32 -E -x c - >/dev/null 2>&1; then
	$cc -m32 -std=gnu11 -Wall -Wpadded -Werror -fsyntax-only "$tmp/abi32.c"
	m32="and 32-bit"
else
	echo "uapi-check: no 32-bit headers (apt-get install gcc-multilib): 64-bit layout only" >&2
	m32="(no 32-bit check)"
fi
echo "uapi-check: $(echo "$structs" | wc -w) structs, no padding, same layout for 64-bit $m32"
