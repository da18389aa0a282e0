#!/bin/bash
# The debug kernel of `make check-debug`: Debian's linux-source-6.12 built
# with KASAN, lockdep, kmemleak and fault injection (tests/config.debug on
# top of x86_64 defconfig and tests/config), cached outside the repository.
#
# Usage: scripts/debug-kernel.sh [build|dir|cached|FIELD]
#   build   (default) build it unless cached; prints the cache folder
#   dir     print the cache folder, built or not
#   cached  exit 0 if it is built, 1 if not
#   release|vmlinuz|kdir|moddir  print one field of a built kernel (as
#           scripts/kver.sh does for Debian's kernels)
#
# Cache: ${PINIO_CACHE:-/var/cache/pinio}/debug-kernel/<source version>-<hash>
# where <hash> covers the config fragments, this script's RECIPE number and
# the compiler. The folder holds bzImage, config, release, build-seconds,
# build.log and build/ (the kernel tree with its objects dropped: enough to
# build external modules, KDIR=.../build). It appears only once complete.
# PINIO_DEBUG_KERNEL=/path/to/such/a/folder uses that one instead.
#
# Build: nice -n 19, make -j${PINIO_DEBUG_JOBS:-2}. A cold build took 541 s
# on two otherwise idle cores; longer when they are busy.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
RECIPE=1	# bump when the build steps below change the result
tarball=/usr/src/linux-source-6.12.tar.xz
frags=("$top/tests/config" "$top/tests/config.debug")
jobs=${PINIO_DEBUG_JOBS:-2}
what=${1:-build}

[ -f "$tarball" ] || {
	echo "debug-kernel: $tarball missing (apt-get install linux-source-6.12)" >&2
	exit 1
}
version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ -n "$version" ] || version=$(stat -c '%s-%Y' "$tarball")
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9.+_-' '_')
hash=$({
	echo "recipe=$RECIPE"
	cat "${frags[@]}"
	gcc --version 2>/dev/null | head -n 1
} | sha256sum | cut -c1-12)
cache=${PINIO_CACHE:-/var/cache/pinio}/debug-kernel/$version-$hash
# An explicit, already built kernel folder (e.g. one built by hand from
# another config) wins over the computed key.
cache=${PINIO_DEBUG_KERNEL:-$cache}

field() {
	[ -f "$cache/release" ] || {
		echo "debug-kernel: not built yet ($cache); run scripts/debug-kernel.sh" >&2
		exit 1
	}
	case "$1" in
	release) cat "$cache/release" ;;
	vmlinuz) echo "$cache/bzImage" ;;
	kdir) echo "$cache/build" ;;
	moddir) echo "$cache/modules" ;;
	esac
}

case "$what" in
dir)
	echo "$cache"
	exit 0
	;;
cached)
	[ -f "$cache/release" ]
	exit
	;;
release | vmlinuz | kdir | moddir)
	field "$what"
	exit 0
	;;
build) ;;
*)
	echo "debug-kernel: unknown argument '$what'" >&2
	exit 2
	;;
esac

if [ -f "$cache/release" ]; then
	echo "$cache"
	exit 0
fi

for tool in flex bison bc perl make gcc; do
	command -v "$tool" >/dev/null || {
		echo "debug-kernel: $tool missing (scripts/deps.sh debug)" >&2
		exit 1
	}
done
[ -f /usr/include/libelf.h ] || {
	echo "debug-kernel: libelf.h missing (scripts/deps.sh debug)" >&2
	exit 1
}

# Everything from here runs from functions: bash reads a script as it
# goes, so an edit to this file during a 15-minute build must not change
# what the running build does.
configure_and_build() {
parent=$(dirname "$cache")
mkdir -p "$parent"
# One build at a time per cache key; a second caller waits for the first.
exec 9>"$cache.lock"
if ! flock -n 9; then
	echo "debug-kernel: another build of $cache is running; waiting" >&2
	flock 9
fi
if [ -f "$cache/release" ]; then
	echo "$cache"
	exit 0
fi

tmp=$cache.tmp
log=$tmp/build.log
start=$(date +%s)
# A build cut short (a session's time ran out) goes on where it stopped:
# the tree was configured and checked, and make is incremental.
if [ -f "$tmp/build/.pinio-configured" ]; then
	echo "debug-kernel: resuming the build in $tmp (log: $log)" >&2
	echo "# $(date -u) resumed" >>"$log"
	cd "$tmp/build"
	build
	return
fi
rm -rf "$tmp"
mkdir -p "$tmp/build"
echo "debug-kernel: building linux-source-6.12 $version into $cache (log: $log)" >&2

{
	echo "# $(date -u) version=$version hash=$hash jobs=$jobs"
	tar -xJf "$tarball" -C "$tmp/build" --strip-components=1
} >"$log" 2>&1
cd "$tmp/build"

# The fragments, last value wins: "CONFIG_X=v" or "# CONFIG_X is not set".
declare -A want
order=()
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			opt=${line%%=*}
			val=${line#*=}
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			val=n
			;;
		*) continue ;;
		esac
		[ -n "${want[$opt]+x}" ] || order+=("$opt")
		want[$opt]=$val
	done <"$f"
done

{
	make defconfig
	args=()
	for opt in "${order[@]}"; do
		val=${want[$opt]}
		name=${opt#CONFIG_}
		case "$val" in
		y) args+=(--enable "$name") ;;
		m) args+=(--module "$name") ;;
		n) args+=(--disable "$name") ;;
		\"*\") v=${val#\"}; args+=(--set-str "$name" "${v%\"}") ;;
		*) args+=(--set-val "$name" "$val") ;;
		esac
	done
	scripts/config --file .config "${args[@]}"
	make olddefconfig
} >>"$log" 2>&1

# Every option asked for must have stuck: olddefconfig silently drops what
# a missing dependency forbids.
bad=0
for opt in "${order[@]}"; do
	val=${want[$opt]}
	have=$(sed -n "s/^$opt=//p" .config)
	[ -n "$have" ] || have=n
	if [ "$have" != "$val" ]; then
		echo "debug-kernel: $opt is '$have' after olddefconfig, wanted '$val'" >&2
		bad=1
	fi
done
if [ "$bad" != 0 ]; then
	echo "debug-kernel: config fragment did not apply (see $tmp/build/.config)" >&2
	exit 1
fi
touch .pinio-configured
build
}

# Build the configured tree in the current directory, then put the result
# in place.
build() {
if ! nice -n 19 make -j"$jobs" >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "debug-kernel: kernel build failed (log: $log)" >&2
	exit 1
fi
release=$(make -s kernelrelease)
# Modules the defconfig builds (if any) for completeness; the guest needs
# none of them (9p and virtio are built in).
mkdir -p "$tmp/modules"
nice -n 19 make INSTALL_MOD_PATH="$tmp/modinst" modules_install >>"$log" 2>&1 || true
if [ -d "$tmp/modinst/lib/modules/$release" ]; then
	cp -a "$tmp/modinst/lib/modules/$release/." "$tmp/modules/"
	rm -rf "$tmp/modinst"
fi
rm -f "$tmp/modules/build" "$tmp/modules/source"
cp arch/x86/boot/bzImage "$tmp/bzImage"
cp .config "$tmp/config"

# Trim: external modules need the configured tree, its generated headers,
# scripts/ and tools/objtool binaries and Module.symvers, not the kernel's
# objects. vmlinux stays for decoding stack traces.
find . \( -path ./scripts -o -path ./tools \) -prune -o \
	\( -name '*.o' -o -name '*.a' -o -name '*.ko' \) -type f -print0 | xargs -0 rm -f
rm -f vmlinux.o .tmp_vmlinux* vmlinux.a
echo "$(($(date +%s) - start))" >"$tmp/build-seconds"
echo "$release" >"$tmp/release.new"
mv "$tmp/release.new" "$tmp/release"
cd /
rm -rf "$cache"
mv "$tmp" "$cache"
echo "debug-kernel: built $release in $(cat "$cache/build-seconds")s: $cache" >&2
echo "$cache"
}

configure_and_build
