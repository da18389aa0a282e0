#!/bin/bash
# The packages at work, not only installed: one short extra guest boot runs
# pinio_tool_test against the module DKMS built from pinio-dkms (kept by
# tests/check-deb.sh in build/deb/ko/RELEASE/pinio.ko) and the pinio binary
# of pinio-tools, dynamically linked against libpinio.so.1 of libpinio1.
# The guest has no libc: the packaged binary and library are unpacked from
# the .debs (dpkg-deb -x), and the dynamic loader and the C library the
# binary needs (ldd) are copied from the build machine, where libc6 is what
# the packages' Depends: name, into GUEST_ROOT for tests/run-qemu.sh.
#
# stdout: the result lines for the summary of `make check`, as run-qemu.sh
# arguments (--extra deb_guest:NAME=pass|fail|skip ...): one per test case
# and one per check of that boot (insmod, pin balance, rmmod, dmesg), and
# two that show the guest really ran the packaged tool and the DKMS module
# (the files in the initramfs are those, byte for byte). The boot's own
# output is build/deb/guest-KVER.log.
#
# Usage: KVER=6.12 tests/deb-guest.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
KVER=${KVER:-6.12}
deb=build/deb
log=$deb/guest-$KVER.log
work=$deb/guest-$KVER
version=$(sh scripts/version.sh)

fail() {
	echo "deb-guest: $*" | tee -a "$log" >&2
	echo "--extra deb_guest=fail"
	exit 0
}

: >"$log"
release=$(scripts/kver.sh "$KVER" release 2>>"$log") || fail "no $KVER kernel"
ko=$deb/ko/$release/pinio.ko
[ -f "$ko" ] || fail "$ko missing: the package check (tests/check-deb.sh) did not run or failed"
[ -x build/tests/pinio_tool_test ] || fail "build/tests/pinio_tool_test missing (make tests)"

# The packaged files.
rm -rf "$work"
mkdir -p "$work/pkg" "$work/root" "$work/tests"
for p in pinio-tools libpinio1; do
	f=$(find "$deb" -maxdepth 1 -name "${p}_${version}_*.deb" | head -n 1)
	[ -n "$f" ] || fail "no ${p}_${version}_*.deb in $deb (make deb)"
	dpkg-deb -x "$f" "$work/pkg" 2>>"$log" || fail "dpkg-deb -x $f"
done
tool=$work/pkg/usr/bin/pinio
libdir=$(cd "$work/pkg" && find usr/lib -name 'libpinio.so.1' -printf '%h\n' | head -n 1)
if [ ! -x "$tool" ] || [ -z "$libdir" ]; then
	fail "pinio or libpinio.so.1 missing from the packages"
fi

# The packaged libpinio where libpinio1 installs it; the loader and every
# other library (libc) from the build machine, where ldd finds them.
mkdir -p "$work/root/$libdir"
cp -a "$work/pkg/$libdir"/libpinio.so.1* "$work/root/$libdir/"
interp=$(readelf -l "$tool" | sed -n 's/.*program interpreter: \(.*\)\]$/\1/p')
[ -n "$interp" ] || fail "$tool is not dynamically linked"
mkdir -p "$work/root$(dirname "$interp")"
cp -L "$interp" "$work/root$interp"
LD_LIBRARY_PATH=$top/$work/pkg/$libdir ldd "$tool" >"$work/ldd.txt" 2>&1 || fail "ldd $tool: $(cat "$work/ldd.txt")"
while read -r name arrow path _; do
	[ "$arrow" = "=>" ] || continue
	case "$name" in
	libpinio.so.*) continue ;;
	esac
	[ -f "$path" ] || fail "ldd: $name not found ($path)"
	mkdir -p "$work/root$(dirname "$path")"
	cp -L "$path" "$work/root$path"
done <"$work/ldd.txt"
grep -q "libpinio.so.1 => $top/$work/pkg/" "$work/ldd.txt" ||
	fail "the packaged pinio does not load the packaged libpinio.so.1: $(cat "$work/ldd.txt")"
cp build/tests/pinio_tool_test "$work/tests/"

echo "# deb-guest: $release guest, pinio_tool_test with the packaged pinio and the DKMS module" |
	tee -a "$log" >&2
rc=0
export KVER
PINIO_KO=$ko PINIO_TOOL=$tool GUEST_ROOT=$work/root TESTS_DIR=$work/tests \
	RESULTS_DIR=build/results-deb-$KVER tests/run-qemu.sh >>"$log" 2>&1 || rc=$?

# The result lines run-qemu.sh counted, as extras: the harness's "ok N
# NAME [# SKIP ...]" / "not ok N NAME" at column 0, and its "ok - CHECK" /
# "not ok - WHAT: why" lines (the name up to " (" or ":", blanks as "_").
awk '
	function emit(name, verdict) {
		gsub(/[^A-Za-z0-9_.,+:@-]+/, "_", name)
		printf "--extra deb_guest:%s=%s\n", name, verdict
		n++
	}
	/^ok [0-9]+ / { emit($3, $0 ~ /# *[Ss][Kk][Ii][Pp]/ ? "skip" : "pass"); next }
	/^not ok [0-9]+ / { emit($4, "fail"); next }
	/^(not )?ok - / {
		v = ($1 == "ok") ? "pass" : "fail"
		t = $0
		sub(/^(not )?ok - /, "", t)
		sub(/ \(.*$|: .*$/, "", t)
		emit(t, v)
		next
	}
	/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { total = $1 + $3 + $5 }
	END {
		# Every line run-qemu.sh counted must be one here.
		if (total != n)
			printf "--extra deb_guest:counted_%d_of_%d_results=fail\n", n, total
	}' "$log"

# What ran in the guest was the packaged binary and the DKMS module.
stage=build/qemu-$KVER/root
v=fail
cmp -s "$stage/bin/pinio" "$tool" && v=pass
echo "--extra deb_guest:tool_is_the_packaged_dynamic_pinio=$v"
v=fail
cmp -s "$stage/pinio.ko" "$ko" && v=pass
echo "--extra deb_guest:module_is_the_dkms_built_pinio.ko=$v"
echo "# deb-guest: run-qemu.sh exited with $rc" >>"$log"
# A failure shows its details; a pass its summary line.
if [ "$rc" != 0 ]; then
	grep -E '^(not ok|# )' "$log" | tail -n 60 >&2
fi
tail -n 3 "$log" | grep -E 'guest boot|passed,' | sed 's/^/# deb-guest: /' >&2
