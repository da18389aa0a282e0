#!/bin/sh
# Install every Debian package pinio needs to build, lint, test and demo.
# Idempotent and fast when everything is there: dpkg-query is asked first and
# apt-get (with one apt-get update) runs only for what is missing.
#
# The kernels are named by their series metapackages so the newest point
# release of each is pulled in: linux-image-6.12-amd64 (+ headers) and
# linux-image-amd64 (+ headers), which is the 6.1 series on Debian 12.
set -eu

pkgs="
build-essential
bc
kmod
cpio
xz-utils
e2fsprogs
busybox-static
qemu-system-x86
qemu-utils
liburing-dev
sparse
fio
gnuplot-nox
linux-source-6.12
linux-image-6.12-amd64
linux-headers-6.12-amd64
linux-image-amd64
linux-headers-amd64
gcc-multilib
"
# `make check-debug` builds a kernel: `scripts/deps.sh debug` adds what that
# needs. (gcc-multilib above: lint's 32-bit ABI check of the uapi header.)
# `make deb` builds and lints the Debian packages, and the package check of
# `make check` installs and purges them: `scripts/deps.sh deb` installs only
# what those need (not the test tools above), so `make deb` stays light on
# a machine that only wants the packages: the build dependencies, lintian,
# and what the packages depend on (dkms, liburing-dev, systemd-sysusers),
# so that installing them adds nothing but themselves.
case "${1:-}" in
debug) pkgs="$pkgs flex bison libelf-dev libssl-dev" ;;
deb)
	pkgs="build-essential debhelper dh-dkms dkms lintian liburing-dev"
	# pinio-tools needs systemd-sysusers: systemd's, or the standalone one.
	command -v systemd-sysusers >/dev/null ||
		pkgs="$pkgs systemd-standalone-sysusers"
	;;
esac

missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps: installing:$missing"
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing
