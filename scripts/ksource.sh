#!/bin/sh
# Extract the few files pinio needs from Debian's linux-source-6.12 tarball
# (the kselftest harness and checkpatch) into build/ksrc. Never vendored.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/ksrc"
tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true)
stamp="$out/.extracted"
if [ -z "$tarball" ]; then
	echo "ksource: /usr/src/linux-source-6.12.tar.xz missing (apt-get install linux-source-6.12)" >&2
	exit 1
fi
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ]; then
	exit 0
fi
mkdir -p "$out"
tar -xJf "$tarball" -C "$out" --strip-components=1 --wildcards \
	'linux-source-6.12/tools/testing/selftests/kselftest*.h' \
	'linux-source-6.12/scripts/checkpatch.pl' \
	'linux-source-6.12/scripts/spelling.txt' \
	'linux-source-6.12/scripts/const_structs.checkpatch'
touch "$stamp"
