#!/bin/bash
# The Debian packages (`make deb`).
#
#   scripts/deb.sh build   copy the tree (the files git knows, new ones too,
#                          never build/) to build/deb/src/pinio-VERSION, run
#                          dpkg-buildpackage -us -uc there (the source
#                          package and the binary packages; -b alone works
#                          too) and move the packages, the source package,
#                          .changes and .buildinfo to build/deb/
#   scripts/deb.sh lint    lintian on build/deb/*.changes (every package,
#                          the source package too):
#                          any error or warning fails, and so does an
#                          override without a comment saying why;
#                          the report is build/deb/lintian.txt
#
# Building from a copy keeps debhelper's files (debian/.debhelper,
# debian/tmp, ...) out of the work tree, and puts the packages where
# dpkg-buildpackage always writes them: in the parent of the source folder.
# The build dependencies come from `scripts/deps.sh deb` (make deb runs it).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb
version=$(sh "$top/scripts/version.sh" debian)

build() {
	local src
	src=$out/src/pinio-$(sh "$top/scripts/version.sh")
	rm -rf "$out"
	mkdir -p "$src"
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# Tracked and new (not ignored) files; a tracked file deleted
		# in the work tree is left out, as it would be from a commit.
		(cd "$top" && git ls-files -z -co --exclude-standard |
			while IFS= read -r -d '' f; do
				if [ -e "$f" ] || [ -L "$f" ]; then
					printf '%s\0' "$f"
				fi
			done | tar --null -T - -cf -) | tar -C "$src" -xf -
	else
		(cd "$top" && tar --exclude=./build -cf - .) | tar -C "$src" -xf -
	fi
	echo "deb: dpkg-buildpackage -us -uc in ${src#"$top"/} (log: build/deb/build.log)"
	if ! (cd "$src" && dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1; then
		tail -n 40 "$out/build.log"
		echo "deb: dpkg-buildpackage failed (build/deb/build.log)"
		exit 1
	fi
	# dpkg-buildpackage -b writes these beside the source folder.
	find "$out/src" -maxdepth 1 -type f -exec mv {} "$out/" \;
	rm -rf "$out/src"
	(cd "$out" && ls -1 ./*.deb) | sed 's|^\./|deb: build/deb/|'
}

lint() {
	local changes
	changes=$out/pinio_${version}_$(dpkg --print-architecture).changes
	[ -f "$changes" ] || { echo "deb: $changes missing (scripts/deb.sh build)"; exit 1; }
	# An override must say why: a comment line right above it.
	local f bad=0
	for f in "$top"/debian/*.lintian-overrides "$top"/debian/source/lintian-overrides; do
		[ -f "$f" ] || continue
		if ! awk -v f="${f#"$top"/}" '
			/^[[:space:]]*$/ { c = 0; next }
			/^[[:space:]]*#/ { c = 1; next }
			!c { printf "deb: %s:%d: override without a comment: %s\n", f, NR, $0; bad = 1 }
			{ c = 0 }
			END { exit bad }' "$f"; then
			bad=1
		fi
	done
	# --fail-on error,warning: info and pedantic tags are shown, never fatal.
	local rc=0
	lintian --fail-on error,warning --info --display-info --show-overrides \
		"$changes" >"$out/lintian.txt" 2>&1 || rc=$?
	# Its one remark about running as root is not a finding.
	grep -v '^running with root privileges is not recommended!$' "$out/lintian.txt" || true
	local e w
	e=$(grep -c '^E: ' "$out/lintian.txt" || true)
	w=$(grep -c '^W: ' "$out/lintian.txt" || true)
	echo "deb: lintian: $e error(s), $w warning(s) (build/deb/lintian.txt)"
	[ "$rc" = 0 ] && [ "$e" = 0 ] && [ "$w" = 0 ] && [ "$bad" = 0 ]
}

case "${1:-}" in
build) build ;;
lint) lint ;;
*)
	echo "usage: scripts/deb.sh build|lint" >&2
	exit 2
	;;
esac
