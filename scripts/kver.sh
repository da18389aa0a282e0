#!/bin/sh
# Resolve a kernel series (KVER=6.12, the default, or KVER=6.1) to the
# installed Debian kernel of that series. Versions move with every Debian
# point release, so nothing here is hardcoded beyond the series. KVER=debug
# is the debug kernel scripts/debug-kernel.sh builds and caches (built
# first by `make check-debug`).
#
# Usage: scripts/kver.sh [SERIES] [FIELD]
#   With no FIELD it prints shell assignments:
#     KRELEASE=6.12.117+deb12-amd64
#     VMLINUZ=/boot/vmlinuz-6.12.117+deb12-amd64
#     KDIR=/usr/src/linux-headers-6.12.117+deb12-amd64
#     MODDIR=/lib/modules/6.12.117+deb12-amd64
#   With FIELD (release, vmlinuz, kdir, moddir) it prints that value alone.
set -eu

series=${1:-${KVER:-6.12}}
field=${2:-}

case "$series" in
debug)
	# The debug kernel of `make check-debug`, built from linux-source-6.12
	# and cached outside the tree by scripts/debug-kernel.sh.
	here=$(dirname "$0")
	if [ -z "$field" ]; then
		for f in release vmlinuz kdir moddir; do
			v=$("$here/debug-kernel.sh" "$f") || exit 1
			case "$f" in
			release) echo "KRELEASE=$v" ;;
			vmlinuz) echo "VMLINUZ=$v" ;;
			kdir) echo "KDIR=$v" ;;
			moddir) echo "MODDIR=$v" ;;
			esac
		done
		exit 0
	fi
	exec "$here/debug-kernel.sh" "$field"
	;;
[0-9]*.[0-9]*) ;;
*)
	echo "kver: bad series '$series' (want e.g. 6.12 or 6.1)" >&2
	exit 2
	;;
esac

# The glob "6.1.*" cannot match 6.12.x: the character after the series must
# be a dot. Flavours other than plain amd64 (rt, cloud) are left out.
release=$(for f in /boot/vmlinuz-"$series".*-amd64; do
	[ -e "$f" ] || continue
	r=${f#/boot/vmlinuz-}
	case "$r" in
	*-rt-amd64 | *-cloud-amd64) continue ;;
	esac
	echo "$r"
done | sort -V | tail -n 1)

if [ -z "$release" ]; then
	echo "kver: no /boot/vmlinuz-$series.*-amd64 (run scripts/deps.sh)" >&2
	exit 1
fi

vmlinuz=/boot/vmlinuz-$release
kdir=/usr/src/linux-headers-$release
moddir=/lib/modules/$release

case "$field" in
"")
	echo "KRELEASE=$release"
	echo "VMLINUZ=$vmlinuz"
	echo "KDIR=$kdir"
	echo "MODDIR=$moddir"
	;;
release) echo "$release" ;;
vmlinuz) echo "$vmlinuz" ;;
kdir) echo "$kdir" ;;
moddir) echo "$moddir" ;;
*)
	echo "kver: unknown field '$field'" >&2
	exit 2
	;;
esac
