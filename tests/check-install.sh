#!/bin/bash
# Look at the staged install (`make stage`: make install DESTDIR=build/install
# PREFIX=/usr) as a packager would, on the host: every file in its place,
# the shared library's soname, links and symbol versions, the static
# library, the pkg-config files, self-contained headers, a dynamic link
# against the staged libpinio.so, a man page for every function, and an
# uninstall that leaves no file behind. Prints "ok - ..." / "not ok - ..."
# lines and exits non-zero if any check failed; make check reports it as the
# install_tree result line.
#
# Usage: tests/check-install.sh [STAGE]   (default build/install)
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
stage=${1:-$top/build/install}
stage=$(cd "$stage" && pwd) || exit 1
lib=$stage/usr/lib
inc=$stage/usr/include
man=$stage/usr/share/man
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

ok() {
	echo "ok - install: $1"
}
not_ok() {
	echo "not ok - install: $1"
	failed=1
}
# check NAME COMMAND...: ok if the command succeeds (its output is shown if not)
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

export PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH=$lib/pkgconfig

# The library's version (userspace/lib/Makefile) names its real file.
libversion=$(sed -n 's/^VERSION[[:space:]]*:= *//p' "$top/userspace/lib/Makefile")
real=libpinio.so.$libversion
files="usr/bin/pinio usr/lib/$real usr/lib/libpinio.a
usr/include/pinio/pinio.h usr/include/pinio/pinio_uring.h
usr/include/linux/pinio.h usr/lib/pkgconfig/libpinio.pc
usr/lib/pkgconfig/libpinio-uring.pc usr/share/man/man1/pinio.1
usr/share/man/man3/libpinio.3 usr/lib/udev/rules.d/60-pinio.rules
usr/lib/sysusers.d/pinio.conf"
missing=
for f in $files; do
	[ -f "$stage/$f" ] || missing="$missing $f"
done
check "files in place${missing:+ (missing:$missing)}" test -z "$missing"
stray=$(cd "$stage" && find . -type f ! -path './usr/*')
check "nothing outside /usr${stray:+ ($stray)}" test -z "$stray"

check "libpinio.so -> libpinio.so.1 -> $real" \
	test "$(readlink "$lib/libpinio.so")" = libpinio.so.1 -a \
	"$(readlink "$lib/libpinio.so.1")" = "$real"
soname=$(readelf -d "$lib/$real" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
check "soname libpinio.so.1 (is '$soname')" test "$soname" = libpinio.so.1

# What the map exports, what the library exports (name@@version), what the
# header declares and what the static library defines: all the same names.
sed -n '/global:/,/local:/s/^[[:space:]]*\(pinio_[a-z_]*\);.*/\1/p' \
	"$top/userspace/lib/libpinio.map" | sort -u >"$tmp/map"
map=$(cat "$tmp/map")
# name@@NODE for every symbol of every version node of the map.
awk '/^LIBPINIO_[0-9.]+ *\{/ { node = $1 }
     /^[[:space:]]*pinio_[a-z_]*;/ { sub(/^[[:space:]]*/, ""); sub(/;.*/, "");
				     print $0 "@@" node }' \
	"$top/userspace/lib/libpinio.map" | sort -u >"$tmp/map_versions"
readelf --dyn-syms -W "$lib/$real" |
	awk '$7 != "UND" && $5 == "GLOBAL" && $4 == "FUNC" { print $8 }' |
	sort -u >"$tmp/dynsyms"
check "every exported symbol carries its libpinio.map node's version" \
	diff "$tmp/map_versions" "$tmp/dynsyms"
sed 's/@.*//' "$tmp/dynsyms" | sort -u >"$tmp/exported"
check "exports are exactly libpinio.map's" diff "$tmp/map" "$tmp/exported"
grep -o '\bpinio_[a-z_]*(' "$inc/pinio/pinio.h" | tr -d '(' | sort -u >"$tmp/declared"
check "pinio.h declares exactly the exports" diff "$tmp/map" "$tmp/declared"
nm -g --defined-only "$lib/libpinio.a" | awk '$2 == "T" { print $3 }' |
	sort -u >"$tmp/static"
check "libpinio.a defines the same functions" diff "$tmp/map" "$tmp/static"

check "pkg-config --validate libpinio" pkg-config --validate libpinio
check "pkg-config --validate libpinio-uring" pkg-config --validate libpinio-uring
check "libpinio-uring requires libpinio and liburing" \
	test "$(pkg-config --print-requires libpinio-uring | awk '{print $1}' | sort | xargs)" = "libpinio liburing"
version=$(pkg-config --modversion libpinio)
check "libpinio.pc version matches the library ($version)" \
	test "$version" = "$(sed -n 's/^VERSION[[:space:]]*:= *//p' "$top/userspace/lib/Makefile")"

# Each public header alone, in C and in C++, with the .pc's flags only.
for h in pinio/pinio.h pinio/pinio_uring.h; do
	pc=libpinio
	[ "$h" = pinio/pinio_uring.h ] && pc=libpinio-uring
	printf '#include <%s>\n' "$h" >"$tmp/h.c"
	# shellcheck disable=SC2046 # pkg-config's output is a word list
	check "<$h> compiles alone (C)" cc -Wall -Wextra -Werror -fsyntax-only \
		$(pkg-config --cflags $pc) "$tmp/h.c"
	cp "$tmp/h.c" "$tmp/h.cc"
	if command -v c++ >/dev/null; then
		# shellcheck disable=SC2046
		check "<$h> compiles alone (C++)" c++ -Wall -Wextra -Werror \
			-fsyntax-only $(pkg-config --cflags $pc) "$tmp/h.cc"
	fi
done

# The external test, dynamically this time: it must need libpinio.so.1.
# shellcheck disable=SC2046
if cc -O2 $(pkg-config --cflags libpinio-uring) -o "$tmp/dyn" \
	"$top/tests/external/pinio_pkgconfig_test.c" \
	$(pkg-config --libs libpinio-uring) >"$tmp/dyn.log" 2>&1; then
	check "dynamic link needs libpinio.so.1" \
		grep -q 'NEEDED.*\[libpinio\.so\.1\]' <(readelf -d "$tmp/dyn")
else
	not_ok "dynamic link against the staged libpinio.so"
	sed 's/^/#   /' "$tmp/dyn.log"
fi

# A man page (or .so link to one) for every function, links resolving.
nopage=
for f in $map; do
	[ -f "$man/man3/$f.3" ] || nopage="$nopage $f"
done
check "a man page for every function${nopage:+ (none for:$nopage)}" test -z "$nopage"
dangling=
for p in "$man"/man3/*.3; do
	target=$(sed -n 's/^\.so \(.*\)/\1/p' "$p")
	[ -z "$target" ] || [ -f "$man/$target" ] || dangling="$dangling $(basename "$p")"
done
check "man .so links resolve${dangling:+ (dangling:$dangling)}" test -z "$dangling"

# make uninstall with the same variables removes every file.
cp -a "$stage" "$tmp/root"
if make -s -C "$top" uninstall DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/un.log" 2>&1; then
	left=$(cd "$tmp/root" && find . ! -type d)
	check "uninstall leaves no file${left:+ (left: ${left//$'\n'/ })}" test -z "$left"
else
	not_ok "make uninstall"
	sed 's/^/#   /' "$tmp/un.log"
fi

exit $failed
