#!/bin/bash
# The Debian packages of build/deb/ (`make deb`) on the build machine, as a
# user installs them: `apt-get install ./build/deb/*.deb` must add those four
# packages and nothing else, DKMS must build and install pinio.ko for both
# installed Debian kernels (KVER 6.12 and 6.1, resolved by scripts/kver.sh),
# `pkg-config --cflags --libs libpinio` must build and link a program, and
# `pinio --help` must work; the group pinio must exist. Then
# `apt-get purge` must leave nothing behind: no file of the packages, no
# /usr/src/pinio-VERSION, nothing of pinio in the DKMS tree (/var/lib/dkms)
# or under /lib/modules, no package in any dpkg state.
#
# The machine is left as it was found even when a step fails or the script
# is interrupted: an EXIT trap purges whatever of the packages is still
# installed and removes what DKMS or systemd-sysusers left, in a session of
# its own (a timeout killing the check's process group, as CI's does, does
# not stop it). Two things stay
# after a purge on purpose, and the check removes them itself when they
# were not there before: the group pinio (Debian does not remove system
# groups, files may still belong to them) and DKMS's module signing key
# /var/lib/dkms/mok.key (made by DKMS the first time it signs a module, for
# every DKMS package; enrolled with mokutil on a Secure Boot machine).
#
# The modules DKMS built are copied (uncompressed) to
# build/deb/ko/RELEASE/pinio.ko before the purge, for the guest run of the
# packaged tool (tests/deb-guest.sh).
#
# Prints "ok - deb: ..." / "not ok - deb: ..." lines and exits non-zero if
# any check failed; make check reports it as the deb_install result line.
# Needs root (apt, dkms); refuses to run when pinio packages, a DKMS entry or
# /usr/src/pinio-VERSION are already there, since it would remove them.
#
# Usage: tests/check-deb.sh [DEBDIR]   (default build/deb)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
debdir=$top/build/deb
if [ $# -gt 0 ] && [ "$1" != --cleanup ]; then
	debdir=$1
fi
debdir=$(cd "$debdir" 2>/dev/null && pwd || echo "$debdir")
version=$(sh "$top/scripts/version.sh")
pkgs="pinio-dkms libpinio1 libpinio-dev pinio-tools"
kodir=$debdir/ko
tmp=$(mktemp -d)
failed=0
t0=$(date +%s)

ok() {
	echo "ok - deb: $1"
}
not_ok() {
	echo "not ok - deb: $1"
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
# Stop here: the trap still cleans up.
fatal() {
	not_ok "$1"
	exit 1
}

apt_get() {
	# The dpkg lock may be held by another apt run on this machine: wait.
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

installed_pkgs() {
	# Every pinio package dpkg knows in any state but "not-installed"
	# (config-files included: a purge must remove those too).
	# shellcheck disable=SC2086 # a word list
	dpkg-query -W -f '${Package} ${db:Status-Status}\n' $pkgs 2>/dev/null |
		awk '$2 != "not-installed" && $2 != "" { print $1 }'
}

# Undo everything the install did: purge what dpkg still has of the
# packages, then what a failed maintainer script may have left. Run as
# `check-deb.sh --cleanup HAD_GROUP HAD_MOK` in a session of its own (the
# EXIT trap below), so that a timeout killing the check's process group
# does not kill the cleanup too. dpkg rather than apt-get: after an
# interrupted dpkg run apt-get refuses to do anything, dpkg does not.
restore() {
	local left r
	left=$(installed_pkgs)
	if [ -n "$left" ]; then
		echo "# cleanup: purging $(echo "$left" | xargs)"
		for _ in $(seq 60); do
			# shellcheck disable=SC2086 # a word list
			if dpkg --purge $left >"$1" 2>&1; then
				break
			fi
			# Another apt or dpkg holds the lock: wait for it.
			grep -q 'lock' "$1" || break
			sleep 5
		done
		[ -z "$(installed_pkgs)" ] || sed 's/^/#   /' "$1"
	fi
	if [ -e /var/lib/dkms/pinio ]; then
		dkms remove "pinio/$version" --all >/dev/null 2>&1 || true
		rm -rf /var/lib/dkms/pinio
	fi
	rm -rf "/usr/src/pinio-$version"
	for r in $releases; do
		if compgen -G "/lib/modules/$r/updates/dkms/pinio.ko*" >/dev/null; then
			rm -f "/lib/modules/$r/updates/dkms/pinio.ko"*
			depmod -a "$r" || true
		fi
	done
	if [ "$had_group" = 0 ] && getent group pinio >/dev/null; then
		groupdel pinio || true
	fi
	[ "$had_mok" = 1 ] || rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
}

kernel_releases() {
	local series r
	for series in 6.12 6.1; do
		r=$("$top/scripts/kver.sh" "$series" release 2>/dev/null) || return 1
		echo "$r"
	done
}

if [ "${1:-}" = --cleanup ]; then
	had_group=$2
	had_mok=$3
	releases=$(kernel_releases || true)
	restore "$tmp/cleanup.log"
	rm -rf "$tmp"
	exit 0
fi

# Armed once the install starts: before that there is nothing of ours to
# undo (and what was there before must not be touched).
armed=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$armed" = 1 ]; then
		setsid --wait "$top/tests/check-deb.sh" --cleanup "$had_group" "$had_mok" ||
			true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

releases=$(kernel_releases) || fatal "no installed Debian 6.12 and 6.1 kernels (scripts/deps.sh)"
releases=$(echo "$releases" | xargs)

[ "$(id -u)" = 0 ] || fatal "needs root (apt-get, dkms)"
for p in $pkgs; do
	f=$(find "$debdir" -maxdepth 1 -name "${p}_${version}_*.deb" | head -n 1)
	[ -n "$f" ] || fatal "$debdir has no ${p}_${version}_*.deb (make deb)"
	debs="${debs:-} $f"
done
command -v dkms >/dev/null || fatal "dkms is not installed (scripts/deps.sh deb)"

# Never touch what someone installed before.
pre=$(installed_pkgs)
[ -z "$pre" ] || fatal "already installed, not touching them: $(echo "$pre" | xargs)"
[ ! -e /var/lib/dkms/pinio ] || fatal "/var/lib/dkms/pinio exists (dkms remove pinio/<version> --all)"
[ ! -e "/usr/src/pinio-$version" ] || fatal "/usr/src/pinio-$version exists (make uninstall-dkms)"

# What the machine looks like before, to compare with after the purge.
had_group=0
getent group pinio >/dev/null && had_group=1
# DKMS makes itself a module signing key (the MOK) the first time it signs
# a module (6.12's config asks for signed modules); a key this check caused
# goes again, one that was there stays.
had_mok=0
[ ! -e /var/lib/dkms/mok.key ] || had_mok=1
snapshot() {
	find /var/lib/dkms 2>/dev/null | LC_ALL=C sort
	find /usr/src -maxdepth 1 2>/dev/null | LC_ALL=C sort
	for r in $releases; do
		find "/lib/modules/$r/updates" 2>/dev/null | LC_ALL=C sort
		# depmod's output must come back the same after the purge.
		md5sum <"/lib/modules/$r/modules.dep" | sed "s|-|$r/modules.dep|"
	done
}
snapshot >"$tmp/before"

# ---- install ----
# apt must find every dependency installed already (scripts/deps.sh deb):
# then it adds exactly these four packages, and the purge restores the
# machine as it was.
# shellcheck disable=SC2086 # a word list
apt_get -s install --no-install-recommends $debs >"$tmp/sim.log" 2>&1 ||
	{ sed 's/^/#   /' "$tmp/sim.log"; fatal "apt-get -s install ./build/deb/*.deb"; }
extra=$(awk '$1 == "Inst" { print $2 }' "$tmp/sim.log" | LC_ALL=C sort |
	comm -23 - <(echo "$pkgs" | tr ' ' '\n' | LC_ALL=C sort) | xargs)
[ -z "$extra" ] || fatal "apt would install more than the four packages: $extra (scripts/deps.sh deb)"
ok "apt-get installs the four packages and nothing else"

ti=$(date +%s)
armed=1
# shellcheck disable=SC2086
if ! apt_get install -y --no-install-recommends $debs >"$debdir/install.log" 2>&1; then
	sed 's/^/#   /' "$debdir/install.log" | tail -n 40
	fatal "apt-get install ./build/deb/*.deb (build/deb/install.log)"
fi
ok "apt-get install ./build/deb/*.deb ($(($(date +%s) - ti))s, DKMS builds included)"

notinst=
for p in $pkgs; do
	[ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		notinst="$notinst $p"
done
check "every package installed${notinst:+ (not:$notinst)}" test -z "$notinst"

# ---- DKMS: pinio.ko for every installed Debian kernel ----
rm -rf "$kodir"
for r in $releases; do
	st=$(dkms status -m pinio -v "$version" -k "$r" 2>/dev/null || true)
	check "dkms status for $r: installed ($st)" grep -q ': installed' <<<"$st"
	ko=$(find "/lib/modules/$r/updates/dkms" -name 'pinio.ko*' 2>/dev/null | head -n 1)
	if [ -z "$ko" ]; then
		not_ok "pinio.ko for $r in /lib/modules/$r/updates/dkms"
		continue
	fi
	mkdir -p "$kodir/$r"
	case "$ko" in
	*.xz) xz -dc "$ko" >"$kodir/$r/pinio.ko" ;;
	*.zst) zstd -qdc "$ko" >"$kodir/$r/pinio.ko" ;;
	*.gz) gzip -dc "$ko" >"$kodir/$r/pinio.ko" ;;
	*) cp "$ko" "$kodir/$r/pinio.ko" ;;
	esac
	vm=$(modinfo -F vermagic "$kodir/$r/pinio.ko" | awk '{ print $1 }')
	check "${ko#/lib/modules/} built for $r (vermagic $vm)" test "$vm" = "$r"
	# depmod ran: modprobe would find it.
	found=$(modinfo -k "$r" -n pinio 2>&1 || true)
	check "modinfo -k $r pinio finds the DKMS module" test "$found" = "$ko"
done

# ---- libpinio-dev: pkg-config, headers, a program linked against it ----
flags=$(pkg-config --cflags --libs libpinio 2>&1) || flags="FAILED: $flags"
check "pkg-config --cflags --libs libpinio: '$flags'" grep -q -- '-lpinio' <<<"$flags"
check "pkg-config --modversion libpinio-uring" pkg-config --modversion libpinio-uring
cat >"$tmp/app.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <linux/pinio.h>
#include <pinio/pinio.h>

int main(void)
{
	/* No device on the build machine: a missing node is -ENOENT. */
	int fd = pinio_open("/nonexistent/pinio", 0);

	printf("%s\n", pinio_strerror(fd));
	return fd < 0 && sizeof(struct pinio_info) > 0 ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # pkg-config's output is a word list
if cc -Wall -Werror -o "$tmp/app" "$tmp/app.c" $flags >"$tmp/cc.log" 2>&1; then
	check "a program built with those flags runs" "$tmp/app"
	# /lib is /usr/lib on Debian 12 (merged /usr); ld.so.cache says /lib.
	lib=$(ldd "$tmp/app" | awk '$1 == "libpinio.so.1" { print $3 }')
	check "and loads libpinio.so.1 from libpinio1 (${lib:-not found})" \
		dpkg-query -S "$(readlink -f "${lib:-/nonexistent}" | sed 's|^/lib/|/usr/lib/|')"
else
	not_ok "cc app.c \$(pkg-config --cflags --libs libpinio)"
	sed 's/^/#   /' "$tmp/cc.log"
fi
# The symbols file lists exactly what libpinio.map exports.
sed -n '/global:/,/local:/s/^[[:space:]]*\(pinio_[a-z_]*\);.*/\1/p' \
	"$top/userspace/lib/libpinio.map" | LC_ALL=C sort -u >"$tmp/map"
symfile=$(dpkg-query --control-path libpinio1 symbols 2>/dev/null || true)
sed -n 's/^ \(pinio_[a-z_]*\)@LIBPINIO_[0-9.]* .*/\1/p' "${symfile:-/dev/null}" |
	LC_ALL=C sort -u >"$tmp/symbols"
check "libpinio1's symbols file matches libpinio.map" diff "$tmp/map" "$tmp/symbols"
check "man 3 pinio_register" man -w 3 pinio_register

# ---- pinio-tools ----
check "pinio --help" /usr/bin/pinio --help
v=$(/usr/bin/pinio --version 2>&1 || true)
check "pinio --version is $version ('$v')" grep -q "^pinio $version " <<<"$v"
check "man 1 pinio" man -w 1 pinio
check "the pinio group exists" getent group pinio
check "the udev rule is installed" test -f /usr/lib/udev/rules.d/60-pinio.rules

# ---- purge: nothing left ----
for p in $pkgs; do
	dpkg-query -L "$p" 2>/dev/null
done | LC_ALL=C sort -u >"$tmp/files"
tp=$(date +%s)
# shellcheck disable=SC2086
if ! apt_get purge -y $pkgs >"$debdir/purge.log" 2>&1; then
	sed 's/^/#   /' "$debdir/purge.log" | tail -n 40
	fatal "apt-get purge (build/deb/purge.log)"
fi
ok "apt-get purge ($(($(date +%s) - tp))s)"
left=$(installed_pkgs | xargs)
check "dpkg knows none of the packages any more${left:+ (still: $left)}" test -z "$left"
# Files and links the packages had (directories may be shared with others),
# and the package's own directories.
stale=$(while IFS= read -r f; do
	if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ]; then echo "$f"; fi
done <"$tmp/files")
for d in "/usr/src/pinio-$version" /usr/include/pinio /var/lib/dkms/pinio \
	/usr/share/doc/pinio-dkms /usr/share/doc/libpinio1 \
	/usr/share/doc/libpinio-dev /usr/share/doc/pinio-tools; do
	[ ! -e "$d" ] || stale="$stale $d"
done
check "no file of the packages is left${stale:+ (left: $(echo "$stale" | xargs))}" test -z "$stale"
for r in $releases; do
	found=$(modinfo -k "$r" -n pinio 2>/dev/null || true)
	check "no pinio.ko left for $r${found:+ ($found)}" test -z "$found"
done
# The group: kept by the purge (see above), removed here if it is ours.
if [ "$had_group" = 0 ] && getent group pinio >/dev/null; then
	groupdel pinio
	ok "the group pinio, kept by the purge as Debian does, removed by this check"
fi
if [ "$had_mok" = 0 ] && [ -e /var/lib/dkms/mok.key ]; then
	rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	ok "DKMS's signing key, made for this install, removed by this check"
fi
snapshot >"$tmp/after"
if diff "$tmp/before" "$tmp/after" >"$tmp/diff"; then
	ok "the DKMS tree, /usr/src, /lib/modules/*/updates and modules.dep are as before"
else
	not_ok "the machine differs from before the install"
	sed 's/^/#   /' "$tmp/diff"
fi

echo "# deb: ${releases# } in $(($(date +%s) - t0))s"
exit $failed
