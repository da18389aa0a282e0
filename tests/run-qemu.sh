#!/bin/bash
# Boot a Debian kernel in QEMU (TCG: the host kernel has no module support and
# KVM is not usable here), load pinio.ko, run the test binaries and report.
#
# Usage: tests/run-qemu.sh [--extra NAME=pass|fail]... [--exec PROG [ARGS...]]
#
#   --exec PROG ARGS  run one host program (a static binary) in the guest
#                     instead of the test binaries; used by `make demo`.
#   --extra N=R       add a result line decided on the host (e.g. lint);
#                     R is pass, fail or skip.
#
# Environment (all optional):
#   KVER          kernel series, 6.12 (default) or 6.1, or debug (the kernel
#                 scripts/debug-kernel.sh built: KASAN, lockdep, kmemleak)
#   PINIO_KO      module to load, default module/pinio.ko
#   PINIO_TOOL    the pinio tool, copied to the guest's /bin/pinio when it
#                 exists, default build/userspace/pinio
#   GUEST_ROOT    a folder copied over the guest's root: the dynamic loader
#                 and libraries a dynamically linked PINIO_TOOL needs (the
#                 packaged tool, tests/deb-guest.sh)
#   TESTS_DIR     static test binaries, default build/tests
#   RESULTS_DIR   host folder shared with the guest, default build/results-$KVER
#   TEST_TIMEOUT  per-binary limit in seconds, default timeout= of tests/settings
#   QEMU_TIMEOUT  limit for the whole guest run in seconds
#   GUEST_ENV     "NAME=VALUE ..." exported to the programs run in the guest
#   KCMDLINE_EXTRA  appended to the kernel command line
#   QEMU_CPU      QEMU -cpu model, default max (the benchmark hides erms/fsrm)
#   QEMU_MEM      guest memory in MiB, default 2048
#   BOOT_TIMEOUT  seconds the guest has to come up (first results line),
#                 default 300; BOOT_ATTEMPTS tries (default 2) before it fails
#   KCONFIG       the kernel's .config (for the tests/config warning), default
#                 /boot/config-RELEASE, else "config" beside VMLINUZ
#   VERBOSE=1     stream the guest console while it runs
#   DISKS         1 (default for the tests) attaches the guest disks below;
#                 0 (default with --exec) boots without them; bench attaches
#                 the benchmark's disk instead (below)
#   DISK_CACHE    QEMU cache mode of the disks, default none (host O_DIRECT)
#                 when build/disks takes O_DIRECT, else writeback
#   KILL_TEST     1 (default with DISKS=1, but 0 on KVER=debug) runs the kill
#                 boot after the tests (kill_after_flush, below)
#   KILL_ONLY=1   run the kill boot alone (no tests)
#   KILL_NOFLUSH=1  the kill boot's writer skips the flush; the result line
#                 is then kill_without_flush and only reports what survived
#   KILL_TIMEOUT  seconds the kill boot has to print its marker, default 120
#   KILL_WRITER_FLAGS  more options for the kill boot's writer, e.g.
#                 --no-pinio (the control: O_DIRECT pwrite and fdatasync)
#
# Guest disks (DISKS=1), image files made fresh each run in build/disks/KVER/
# (64 MiB raw, sparse), found in the guest by serial number; the tests get
# these variables (unset: that disk is missing, the test SKIPs):
#   PINIO_NVME512   NVMe namespace, 512 B blocks          (serial pinio-nvme512)
#   PINIO_NVME4K    NVMe namespace, 4096 B blocks         (serial pinio-nvme4k)
#   PINIO_VBLK      virtio-blk disk, 512 B blocks         (serial pinio-vblk)
#   PINIO_EXT4_DIR  /mnt/ext4: ext4 (4 KiB blocks) made in the guest (mke2fs)
#                   on a 256 MiB virtio-blk disk (serial pinio-ext4), mounted
#   PINIO_BAD_NVME  NVMe (512 B) whose reads and writes touching sectors
#                   [PINIO_BAD_SECTOR, +8) fail (QEMU blkdebug; nvme_core
#                   max_retries=0, so the guest sees -ENODATA at once)
#                                                         (serial pinio-badnvme)
#   PINIO_BAD_VBLK  virtio-blk with the same rule (-EIO)  (serial pinio-badvblk)
#   PINIO_BAD_SECTOR  2048
#   PINIO_HOSTCHECK_DEV/_OFF/_LEN/_SEED  $PINIO_NVME4K, 8388608 (8 MiB),
#                   1048576 (1 MiB), 1885957737: the guest writes
#                   pinio_pattern_fill(buf, LEN, OFF, SEED) there through
#                   pinio and then creates $PINIO_RESULTS_DIR/hostcheck-written;
#                   after the guest is gone the host checks the image file
#                   byte for byte (build/host/pinio_imgcheck): result line
#                   host_image_check, a skip when the marker is missing. The
#                   host fills [OFF+LEN, +LEN) with SEED+1 before the boot,
#                   for the guest to read.
#   PINIO_RESULTS_DIR  the 9p results share (this RESULTS_DIR) in the guest
# A check line "disks" says which were found.
#
# The benchmark's disk (DISKS=bench, make bench): one 1 GiB NVMe namespace
# of 4096 B blocks (serial pinio-bench) on a raw image written in full,
# build/disks/bench-KVER/bench.img, with cache=writeback unless DISK_CACHE
# says otherwise (the host's page cache serves it: steady, no host disk in
# the figures); larger than anything a case moves. The programs get
#   PINIO_BENCH_NVME  the namespace's block device
#   PINIO_BENCH_QEMU  the -drive and -device options it was attached with
#   PINIO_BENCH_FIO   fio, the host's, with its libraries and loader
# and a check line "disks" as above. No kill boot.
#
# The kill boot (KILL_TEST=1): a second, short boot with one NVMe disk on a
# fresh qcow2 image (serial pinio-durable; with qcow2 in a writeback cache
# mode only a flush makes newly allocated clusters stick, so the test can
# tell flushed from unflushed). build/guest/pinio_durable_writer attaches
# it, writes the pattern of [16 MiB, +8 MiB) for seed 1802071148 with
# PINIO_IOC_WRITE, flushes and prints "pinio-durable: flushed ..."; the host
# SIGKILLs QEMU on seeing that line, converts the image to raw with qemu-img
# and checks the region: result line kill_after_flush.
#
# The guest writes everything to the 9p share (RESULTS_DIR): logs/NAME.log per
# program, results.txt (machine-readable, below), dmesg*.txt; the serial
# console goes to console.log. The host then prints the TAP of every program
# and ends with one line "N passed, N failed, N skipped" that counts test
# cases (the harness's "ok N"/"not ok N" lines), programs that crashed or
# timed out, and the extra checks (insmod, pin balance, dmesg, rmmod).
#
# results.txt lines (written by the guest, one per event):
#   kernel RELEASE
#   check NAME pass|fail DETAIL...
#   start NAME           (a program is about to run)
#   test NAME RC SECONDS (it ended)
#   done
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

KVER=${KVER:-6.12}
PINIO_KO=${PINIO_KO:-module/pinio.ko}
PINIO_TOOL=${PINIO_TOOL:-build/userspace/pinio}
TESTS_DIR=${TESTS_DIR:-build/tests}
RESULTS_DIR=${RESULTS_DIR:-build/results-$KVER}
GUEST_ENV=${GUEST_ENV:-}
GUEST_ROOT=${GUEST_ROOT:-}
KCMDLINE_EXTRA=${KCMDLINE_EXTRA:-}
QEMU_CPU=${QEMU_CPU:-max}
QEMU_MEM=${QEMU_MEM:-2048}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
BOOT_ATTEMPTS=${BOOT_ATTEMPTS:-2}
VERBOSE=${VERBOSE:-0}

extras=()
# Fatal before the guest ran: still end with the summary line, counting the
# host-side extras and this failure.
die() {
	local p=0 f=1 s=0 e
	echo "run-qemu: $*" >&2
	for e in "${extras[@]}"; do
		if [ "${e#*=}" = pass ]; then
			echo "ok - ${e%=*}"
			p=$((p + 1))
		elif [ "${e#*=}" = skip ]; then
			echo "ok - ${e%=*} # SKIP"
			s=$((s + 1))
		else
			echo "not ok - ${e%=*}"
			f=$((f + 1))
		fi
	done
	echo "not ok - run-qemu: $*"
	echo "$p passed, $f failed, $s skipped"
	exit 1
}

exec_prog=
exec_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--extra)
		[ $# -ge 2 ] || die "--extra needs NAME=pass|fail"
		case "$2" in
		*=pass | *=fail | *=skip) extras+=("$2") ;;
		*) die "--extra wants NAME=pass|fail|skip, got '$2'" ;;
		esac
		shift 2
		;;
	--exec)
		[ $# -ge 2 ] || die "--exec needs a program"
		exec_prog=$2
		shift 2
		exec_args=("$@")
		break
		;;
	*) die "unknown argument '$1'" ;;
	esac
done

eval "$(scripts/kver.sh "$KVER")"
[ -d "$MODDIR" ] || die "$MODDIR missing (scripts/deps.sh)"
for tool in qemu-system-x86_64 cpio busybox xz readelf modinfo; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh)"
done
# The guest has no libc: everything run there must be linked statically.
is_dynamic() {
	readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'
}
busybox=$(command -v busybox)
! is_dynamic "$busybox" || die "$busybox is dynamically linked (apt-get install busybox-static)"

[ -f "$PINIO_KO" ] || die "$PINIO_KO missing (make -C module KDIR=$KDIR)"
# A module built for the other kernel would only fail in the guest; say so
# here instead.
vermagic=$(modinfo -F vermagic "$PINIO_KO" 2>/dev/null | awk '{print $1}')
[ "$vermagic" = "$KRELEASE" ] ||
	die "$PINIO_KO is built for '$vermagic', not $KRELEASE (rebuild with KDIR=$KDIR)"

# Per-binary timeout: tests/settings "timeout=N" as in kselftest.
if [ -z "${TEST_TIMEOUT:-}" ]; then
	TEST_TIMEOUT=$(sed -n 's/^timeout=\([0-9][0-9]*\).*/\1/p' tests/settings 2>/dev/null | tail -n 1)
	TEST_TIMEOUT=${TEST_TIMEOUT:-45}
fi

# The disks are for the tests; the demo and the benchmark boot without them.
if [ -n "$exec_prog" ]; then
	DISKS=${DISKS:-0}
else
	DISKS=${DISKS:-1}
fi
case "$KVER:$DISKS" in
debug:* | *:bench) KILL_TEST=${KILL_TEST:-0} ;;
*) KILL_TEST=${KILL_TEST:-$DISKS} ;;
esac
case "$DISKS" in
0 | 1 | bench) ;;
*) die "DISKS must be 0, 1 or bench, not '$DISKS'" ;;
esac
KILL_ONLY=${KILL_ONLY:-0}
KILL_NOFLUSH=${KILL_NOFLUSH:-0}
KILL_TIMEOUT=${KILL_TIMEOUT:-120}
[ "$KILL_ONLY" = 0 ] || KILL_TEST=1
[ "$KILL_TEST" = 0 ] || [ "$DISKS" = 1 ] || die "KILL_TEST=1 needs DISKS=1"
IMGCHECK=build/host/pinio_imgcheck
WRITER=build/guest/pinio_durable_writer
if [ "$DISKS" = 1 ]; then
	command -v mke2fs >/dev/null || die "mke2fs not found (scripts/deps.sh)"
	command -v qemu-img >/dev/null || die "qemu-img not found (scripts/deps.sh)"
fi
if [ "$DISKS" = bench ]; then
	command -v fio >/dev/null || die "fio not found (scripts/deps.sh)"
fi

# What to run: every executable in TESTS_DIR, or the --exec program.
progs=()
if [ -n "$exec_prog" ]; then
	[ -x "$exec_prog" ] || die "$exec_prog is not an executable"
	progs=("$exec_prog")
else
	[ -d "$TESTS_DIR" ] || die "$TESTS_DIR missing (make -C tests)"
	while IFS= read -r f; do
		progs+=("$f")
	done < <(find "$TESTS_DIR" -maxdepth 1 -type f -perm -u+x | LC_ALL=C sort)
	[ ${#progs[@]} -gt 0 ] || die "no test executables in $TESTS_DIR"
fi
for p in "${progs[@]}"; do
	! is_dynamic "$p" || die "$p is dynamically linked; the guest has no libc (link with -static)"
done
if [ -f "$PINIO_TOOL" ] && is_dynamic "$PINIO_TOOL"; then
	# Only with its loader (and so, presumably, its libraries) in GUEST_ROOT.
	interp=$(readelf -l "$PINIO_TOOL" | sed -n 's/.*program interpreter: \(.*\)\]$/\1/p')
	if [ -z "$GUEST_ROOT" ] || [ ! -e "$GUEST_ROOT$interp" ]; then
		die "$PINIO_TOOL is dynamically linked; the guest has no libc (build it with STATIC=1, or put its loader and libraries in GUEST_ROOT)"
	fi
fi

# Warn (only) about kselftest config options this kernel lacks; a module
# does for =y, since the runner loads what 9p needs.
KCONFIG=${KCONFIG:-/boot/config-$KRELEASE}
[ -f "$KCONFIG" ] || KCONFIG=$(dirname "$VMLINUZ")/config
if [ -z "$exec_prog" ] && [ -f tests/config ] && [ -f "$KCONFIG" ]; then
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) ;;
		*) continue ;;
		esac
		opt=${line%%=*}
		val=${line#*=}
		have=$(sed -n "s/^$opt=//p" "$KCONFIG")
		case "$val:$have" in
		y:y | y:m | m:m | m:y | n: | n:n) continue ;;
		esac
		if [ "$have" != "$val" ]; then
			echo "# warning: $KRELEASE has ${opt}=${have:-unset}, tests/config wants $val" >&2
		fi
	done <tests/config
fi

# The whole guest run must end even if the guest hangs; scale with the number
# of programs but stay well inside CI's time.
if [ -z "${QEMU_TIMEOUT:-}" ]; then
	QEMU_TIMEOUT=$((120 + ${#progs[@]} * TEST_TIMEOUT))
	[ "$QEMU_TIMEOUT" -le 900 ] || QEMU_TIMEOUT=900
fi

stage=build/qemu-$KVER
rm -rf "$stage" "$RESULTS_DIR"
mkdir -p "$stage/root" "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
root=$stage/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,etc,tests,lib/pinio-mods}
cp "$busybox" "$root/bin/busybox"
cp "$PINIO_KO" "$root/pinio.ko"
# The tool, for the programs that run it (pinio_tool_test): /bin/pinio.
if [ -f "$PINIO_TOOL" ]; then
	cp "$PINIO_TOOL" "$root/bin/pinio"
fi
if [ -n "$GUEST_ROOT" ]; then
	cp -a "$GUEST_ROOT/." "$root/"
fi
for p in "${progs[@]}"; do
	cp "$p" "$root/tests/"
done

# 9p needs virtio-pci (built into 6.12, a module on 6.1), the 9p transport and
# the filesystem; the disks need nvme and virtio_blk, and ext4 a crc32c
# driver loaded before it (ext4 and jbd2 only softdep on crypto-crc32c, which
# insmod does not follow). Walk modules.dep depth-first so every module
# comes after the ones it needs, whatever order the file lists them in.
want9p="virtio_pci 9pnet_virtio 9p"
wantdisk="crc32c_generic nvme virtio_blk ext4"
want=$want9p
case "$DISKS" in
1) want="$want $wantdisk" ;;
bench) want="$want nvme" ;;
esac
dep_order() {
	awk -v want="$1" '
	function base(p) {
		sub(/.*\//, "", p)
		sub(/\.ko(\.(xz|zst|gz))?$/, "", p)
		gsub(/-/, "_", p)
		return p
	}
	function visit(p,   n, i, a) {
		if (p in seen)
			return
		seen[p] = 1
		n = split(deps[p], a, " ")
		for (i = 1; i <= n; i++)
			visit(a[i])
		print p
	}
	{
		p = $1
		sub(/:$/, "", p)
		d = $0
		sub(/^[^:]*:[ \t]*/, "", d)
		deps[p] = d
		byname[base(p)] = p
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++)
			if (w[i] in byname)
				visit(byname[w[i]])
	}' "$MODDIR/modules.dep"
}
mods=$(dep_order "$want")
for w in $want; do
	if ! grep -q "/$w\.ko" "$MODDIR/modules.builtin" &&
		! printf '%s\n' "$mods" | grep -q "/$w\.ko"; then
		case " $want9p " in
		*" $w "*) die "$w is neither built into $KRELEASE nor in its modules.dep" ;;
		esac
		# The guest's "disks" check then names the disks it lacks.
		echo "# warning: $w is neither built into $KRELEASE nor in its modules.dep" >&2
	fi
done
# A line of the order file: the module and its parameters. No retries of
# failed NVMe commands: an injected media error must reach the caller at
# once (built in: /init writes the parameter).
order_line() {
	case "$1" in
	nvme-core.ko | nvme_core.ko) echo "$1 max_retries=0" ;;
	*) echo "$1" ;;
	esac
}
: >"$root/lib/pinio-mods/order"
for m in $mods; do
	name=$(basename "$m")
	name=${name%.xz}
	name=${name%.zst}
	name=${name%.gz}
	case "$m" in
	*.xz) xz -dc "$MODDIR/$m" >"$root/lib/pinio-mods/$name" ;;
	*.zst) zstd -qdc "$MODDIR/$m" >"$root/lib/pinio-mods/$name" ;;
	*.gz) gzip -dc "$MODDIR/$m" >"$root/lib/pinio-mods/$name" ;;
	*) cp "$MODDIR/$m" "$root/lib/pinio-mods/$name" ;;
	esac
	order_line "$name" >>"$root/lib/pinio-mods/order"
done
# The kill boot loads only what its one NVMe disk needs.
: >"$root/lib/pinio-mods/order.durable"
if [ "$KILL_TEST" = 1 ]; then
	for m in $(dep_order nvme); do
		name=$(basename "$m")
		name=${name%.xz}
		name=${name%.zst}
		name=${name%.gz}
		order_line "$name" >>"$root/lib/pinio-mods/order.durable"
	done
fi

# ---- disks ----
disks=build/disks/$KVER
# Apart from the tests' disks: make bench and make check may run at once.
[ "$DISKS" != bench ] || disks=build/disks/bench-$KVER
BAD_SECTOR=2048
HC_OFF=$((8 << 20))
HC_LEN=$((1 << 20))
HC_SEED=1885957737
DUR_OFF=$((16 << 20))
DUR_LEN=$((8 << 20))
DUR_SEED=1802071148
disk_args=()
# A host program at guest path $2, with the shared libraries and the
# loader it needs at their host paths.
guest_install() {
	local lib
	mkdir -p "$root/$(dirname "$2")"
	cp "$1" "$root/$2"
	for lib in $(ldd "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		cp -L --parents "$lib" "$root/"
	done
}
if [ "$DISKS" != 0 ]; then
	rm -rf "$disks"
	mkdir -p "$disks"
	disks=$(cd "$disks" && pwd)
	# The benchmark's disk is served from the host's page cache (below).
	[ "$DISKS" != bench ] || DISK_CACHE=${DISK_CACHE:-writeback}
	# cache=none is O_DIRECT on the host file; not every filesystem has it.
	if [ -z "${DISK_CACHE:-}" ]; then
		DISK_CACHE=writeback
		if dd if=/dev/zero of="$disks/odirect-probe" bs=4096 count=1 \
			oflag=direct 2>/dev/null; then
			DISK_CACHE=none
		fi
		rm -f "$disks/odirect-probe"
	fi
fi
bench_qemu=
if [ "$DISKS" = bench ]; then
	# Written in full and cached by the host, so that every block reads the
	# same: a sparse image answers holes at once and written blocks from
	# the host's disk, and the rows of a run would differ by what the rows
	# before them happened to write.
	dd if=/dev/zero of="$disks/bench.img" bs=1M count=1024 status=none ||
		die "cannot write $disks/bench.img"
	disk_args=(
		-drive "file=$disks/bench.img,if=none,id=bench,format=raw,cache=$DISK_CACHE"
		-device "nvme,serial=pinio-bench,drive=bench,logical_block_size=4096,physical_block_size=4096"
	)
	bench_qemu="-drive ${disk_args[1]#file=$disks/} -device ${disk_args[3]}"
	guest_install "$(command -v fio)" /lib/fio/fio
fi
if [ "$DISKS" = 1 ]; then
	for d in nvme512 nvme4k vblk badnvme badvblk; do
		truncate -s 64M "$disks/$d.img"
	done
	# Room for the tests' preallocated files: mke2fs would make a 64 MiB
	# disk a "small" filesystem of 1 KiB blocks.
	truncate -s 256M "$disks/ext4.img"
	# blkdebug: a rule hits a request that covers its sector, so one rule
	# per sector of the bad range, for reads and for writes.
	for s in $(seq "$BAD_SECTOR" $((BAD_SECTOR + 7))); do
		for ev in read write; do
			printf '[inject-error]\nevent = "%s_aio"\niotype = "%s"\nerrno = "5"\nsector = "%s"\nonce = "off"\n\n' \
				"$ev" "$ev" "$s"
		done
	done >"$disks/blkdebug.conf"
	# The host's half of the host check: the region the guest reads.
	if [ -x "$IMGCHECK" ]; then
		"$IMGCHECK" fill "$disks/nvme4k.img" $((HC_OFF + HC_LEN)) "$HC_LEN" \
			$((HC_SEED + 1)) || die "$IMGCHECK fill failed"
	fi
	c="cache=$DISK_CACHE"
	disk_args=(
		-drive "file=$disks/nvme512.img,if=none,id=nvme512,format=raw,$c"
		-device "nvme,serial=pinio-nvme512,drive=nvme512"
		-drive "file=$disks/nvme4k.img,if=none,id=nvme4k,format=raw,$c"
		-device "nvme,serial=pinio-nvme4k,drive=nvme4k,logical_block_size=4096,physical_block_size=4096"
		-drive "file=$disks/vblk.img,if=none,id=vblk,format=raw,$c"
		-device "virtio-blk-pci,drive=vblk,serial=pinio-vblk"
		-drive "file=$disks/ext4.img,if=none,id=ext4,format=raw,$c"
		-device "virtio-blk-pci,drive=ext4,serial=pinio-ext4"
		-drive "file=blkdebug:$disks/blkdebug.conf:$disks/badnvme.img,if=none,id=badnvme,format=raw,$c,rerror=report,werror=report"
		-device "nvme,serial=pinio-badnvme,drive=badnvme"
		-drive "file=blkdebug:$disks/blkdebug.conf:$disks/badvblk.img,if=none,id=badvblk,format=raw,$c,rerror=report,werror=report"
		-device "virtio-blk-pci,drive=badvblk,serial=pinio-badvblk"
	)
	# mke2fs for the guest; not in /bin, where busybox's own mke2fs (no
	# ext4) would win.
	guest_install "$(command -v mke2fs)" /lib/e2fsprogs/mke2fs
	[ ! -f /etc/mke2fs.conf ] || cp /etc/mke2fs.conf "$root/etc/"
	if [ "$KILL_TEST" = 1 ] && [ -x "$WRITER" ]; then
		! is_dynamic "$WRITER" || die "$WRITER is dynamically linked"
		cp "$WRITER" "$root/bin/pinio_durable_writer"
	fi
fi

# Settings for /init, as shell assignments with single-quoted values.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
{
	echo "TEST_TIMEOUT=$TEST_TIMEOUT"
	echo "DISKS=$DISKS"
	printf 'BENCH_QEMU=%s\n' "$(quote "$bench_qemu")"
	echo "BAD_SECTOR=$BAD_SECTOR HC_OFF=$HC_OFF HC_LEN=$HC_LEN HC_SEED=$HC_SEED"
	echo "DUR_OFF=$DUR_OFF DUR_LEN=$DUR_LEN DUR_SEED=$DUR_SEED"
	f=${KILL_WRITER_FLAGS:-}
	[ "$KILL_NOFLUSH" = 0 ] || f="--no-flush $f"
	printf 'DUR_FLAGS=%s\n' "$(quote "$f")"
	printf 'EXEC_ARGS=%s\n' "$(quote "${exec_args[*]:-}")"
	for kv in $GUEST_ENV; do
		name=${kv%%=*}
		case "$name" in
		'' | *[!A-Za-z0-9_]*) die "bad GUEST_ENV entry '$kv'" ;;
		esac
		printf 'export %s=%s\n' "$name" "$(quote "${kv#*=}")"
	done
} >"$root/etc/pinio.conf"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# pinio guest init: mount, load pinio.ko, run /tests/*, check, reboot.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm /dev/hugepages
mount -t tmpfs tmpfs /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
. /etc/pinio.conf

say() { echo "pinio-guest: $*" >/dev/console; }
bye() {
	sync
	umount /mnt/results 2>/dev/null
	# A reboot makes QEMU (-no-reboot) exit on any firmware setup; a
	# poweroff needs ACPI and would only halt without it.
	reboot -f
	sleep 30
}

# The kill boot (pinio_mode=durable, below) loads only its disk's modules.
order=/lib/pinio-mods/order
grep -q 'pinio_mode=durable' /proc/cmdline && order=$order.durable
while read -r m args; do
	# shellcheck disable=SC2086 # args: module parameters, a word list
	insmod "/lib/pinio-mods/$m" $args || say "insmod $m failed"
done <$order
say "modules loaded at uptime $(cut -d' ' -f1 /proc/uptime)s"

# The disks, by serial: /sys/block/vd*/serial for virtio-blk, the
# controller's (or NVMe subsystem's) serial for an NVMe namespace.
find_disk() {
	for d in /sys/block/*; do
		n=${d##*/}
		[ -b "/dev/$n" ] || continue
		s=
		for f in "$d/serial" "$d/device/serial"; do
			if [ -r "$f" ]; then
				read -r s <"$f"
				break
			fi
		done
		if [ "$s" = "$1" ]; then
			echo "/dev/$n"
			return 0
		fi
	done
	return 1
}
# NVMe scans its namespaces asynchronously: wait (up to 60 s) for them all.
wait_disks() {
	i=0
	while [ $i -lt 600 ]; do
		all=1
		for s in "$@"; do
			find_disk "$s" >/dev/null || { all=0; break; }
		done
		[ $all = 1 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
nvme_no_retries() {
	p=/sys/module/nvme_core/parameters/max_retries
	[ -w $p ] && echo 0 >$p
	cat $p 2>/dev/null
}

# The kill boot: write, flush, print the marker and wait to be killed. The
# host watches the console for "pinio-durable: ...".
if grep -q 'pinio_mode=durable' /proc/cmdline; then
	dmsg() { echo "pinio-durable: $*" >/dev/console; }
	if ! insmod /pinio.ko; then
		dmsg "fail insmod pinio.ko failed"
	elif ! wait_disks pinio-durable; then
		dmsg "fail no disk with serial pinio-durable showed up"
	elif [ ! -x /bin/pinio_durable_writer ]; then
		dmsg "fail no /bin/pinio_durable_writer (make tests)"
	else
		nvme_no_retries >/dev/null
		dmsg "info writer starts at uptime $(cut -d' ' -f1 /proc/uptime)s"
		# shellcheck disable=SC2086 # DUR_FLAGS: empty or one flag
		/bin/pinio_durable_writer $DUR_FLAGS "$(find_disk pinio-durable)" \
			"$DUR_OFF" "$DUR_LEN" "$DUR_SEED" >/dev/console 2>&1
		dmsg "exit $?"
	fi
	bye
fi
mkdir -p /mnt/results
# cache=mmap: tests mmap MAP_SHARED writable files on the share.
if ! mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap pinio /mnt/results; then
	say "FATAL: cannot mount the 9p share"
	bye
fi
R=/mnt/results
mkdir -p $R/logs $R/scratch
res() { echo "$*" >>$R/results.txt; }
res "kernel $(uname -r)"

echo 16 >/proc/sys/vm/nr_hugepages
say "cpus: $(nproc), hugepages: $(cat /proc/sys/vm/nr_hugepages)"

export PINIO_RESULTS_DIR=$R
# The disks of the contract (tests/run-qemu.sh's header): found by serial,
# the ext4 one made and mounted here; the check line says what was found.
setup_disks() {
	d0=$(cut -d' ' -f1 /proc/uptime)
	wait_disks pinio-nvme512 pinio-nvme4k pinio-vblk pinio-ext4 \
		pinio-badnvme pinio-badvblk
	found=
	bad=
	for p in NVME512:pinio-nvme512 NVME4K:pinio-nvme4k VBLK:pinio-vblk \
		BAD_NVME:pinio-badnvme BAD_VBLK:pinio-badvblk; do
		v=${p%%:*}
		if dev=$(find_disk "${p#*:}"); then
			export "PINIO_$v=$dev"
			found="$found $v=$dev"
		else
			bad="$bad, no disk with serial ${p#*:}"
		fi
	done
	for p in NVME512:512 NVME4K:4096 VBLK:512 BAD_NVME:512 BAD_VBLK:512; do
		dev=$(eval echo "\${PINIO_${p%%:*}:-}")
		[ -n "$dev" ] || continue
		lbs=$(cat "/sys/block/${dev#/dev/}/queue/logical_block_size")
		[ "$lbs" = "${p#*:}" ] || bad="$bad, $dev has $lbs-byte blocks, not ${p#*:}"
	done
	if dev=$(find_disk pinio-ext4); then
		mkdir -p /mnt/ext4
		if ! /lib/e2fsprogs/mke2fs -q -F -t ext4 -T default -b 4096 \
			-E nodiscard "$dev" >$R/logs/mke2fs.log 2>&1; then
			bad="$bad, mke2fs $dev failed: $(tr '\n' ' ' <$R/logs/mke2fs.log)"
		elif ! mount -t ext4 "$dev" /mnt/ext4 >$R/logs/mount-ext4.log 2>&1; then
			bad="$bad, mount ext4 $dev failed: $(tr '\n' ' ' <$R/logs/mount-ext4.log)"
		else
			export PINIO_EXT4_DIR=/mnt/ext4
			found="$found EXT4_DIR=/mnt/ext4($dev)"
		fi
	else
		bad="$bad, no disk with serial pinio-ext4"
	fi
	r=$(nvme_no_retries)
	[ "$r" = 0 ] || bad="$bad, nvme_core max_retries is '$r', not 0"
	export PINIO_BAD_SECTOR=$BAD_SECTOR
	if [ -n "${PINIO_NVME4K:-}" ]; then
		export PINIO_HOSTCHECK_DEV=$PINIO_NVME4K
		export PINIO_HOSTCHECK_OFF=$HC_OFF PINIO_HOSTCHECK_LEN=$HC_LEN
		export PINIO_HOSTCHECK_SEED=$HC_SEED
	fi
	d1=$(cut -d' ' -f1 /proc/uptime)
	t="setup $(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.1fs", b - a }')"
	if [ -z "$bad" ]; then
		res "check disks pass$found; $t"
	else
		res "check disks fail ${bad#, };$found; $t"
	fi
}
[ "$DISKS" = 1 ] && setup_disks
# The benchmark's one disk (DISKS=bench).
setup_bench_disk() {
	if ! wait_disks pinio-bench; then
		res "check disks fail no disk with serial pinio-bench"
		return
	fi
	dev=$(find_disk pinio-bench)
	lbs=$(cat "/sys/block/${dev#/dev/}/queue/logical_block_size")
	export PINIO_BENCH_NVME=$dev PINIO_BENCH_QEMU="$BENCH_QEMU"
	export PINIO_BENCH_FIO=/lib/fio/fio
	if [ "$lbs" = 4096 ]; then
		res "check disks pass BENCH_NVME=$dev"
	else
		res "check disks fail $dev has $lbs-byte blocks, not 4096"
	fi
}
[ "$DISKS" = bench ] && setup_bench_disk

# Writing stat_refresh folds the per-cpu counter deltas first; without it
# /proc/vmstat can lag by up to a second (seen on 6.1).
pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}
acq0=$(pins nr_foll_pin_acquired)
rel0=$(pins nr_foll_pin_released)

# A debug kernel: kmemleak is scanned only on request (no auto scan);
# forget what boot leaked (objects must be 5 s old to be reported), and
# note whether lockdep is still on (a report or an overflow turns it off).
KML=/sys/kernel/debug/kmemleak
if [ -w $KML ]; then
	up=$(cut -d. -f1 /proc/uptime)
	[ "$up" -ge 6 ] || sleep $((6 - up))
	echo scan >$KML
	echo clear >$KML
fi
lockdep_on() {
	awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null
}
[ -r /proc/lockdep_stats ] && say "lockdep debug_locks=$(lockdep_on)"

# Only what happens from here on is pinio's doing; keep boot noise apart.
dmesg -c >$R/dmesg-boot.txt

if insmod /pinio.ko >$R/logs/insmod.log 2>&1; then
	res "check insmod pass"
else
	res "check insmod fail $(tr '\n' ' ' <$R/logs/insmod.log)"
fi
export PINIO_KO=/pinio.ko
export PINIO_FILE_DIR=$R/scratch
[ -x /bin/pinio ] && export PINIO_TOOL=/bin/pinio

# Kill whatever a test left behind (its forked children live in their own
# process groups) so it cannot keep /dev/pinio open or disturb the next one.
reap() {
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = 1 ] && continue
		c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
		[ -n "$c" ] || continue	# kernel thread
		kill -9 "$p" 2>/dev/null || continue
		# busybox timeout leaves a sleeping watcher behind: expected.
		case "$c" in
		"timeout "*) ;;
		*) say "killed stray process $p: $c" ;;
		esac
	done
}

cd /tmp || exit
# The glob expands in C-locale order: the runner's "sorted order".
for t in /tests/*; do
	t=${t#/tests/}
	say "running $t"
	res "start $t"
	t0=$(cut -d. -f1 /proc/uptime)
	# shellcheck disable=SC2086 # EXEC_ARGS is a word list on purpose
	timeout $TEST_TIMEOUT /tests/$t $EXEC_ARGS >$R/logs/$t.log 2>&1 </dev/null
	rc=$?
	t1=$(cut -d. -f1 /proc/uptime)
	reap
	res "test $t $rc $((t1 - t0))"
	say "$t exited with $rc after $((t1 - t0))s"
	# Closes any kernel-log window a killed program left open (below).
	echo "pinio-runner: $t exited with $rc" >/dev/kmsg 2>/dev/null
done
cd /

# The pin balance, in two checks, because the guest's FOLL_PIN counters are
# not only pinio's.
# pinio_pins: every program is gone and every file closed, so pinio can
# hold nothing: a region outlives its file only while a transfer holds it,
# and none can be in flight now. Its own counters must be 0 at once.
# foll_pin_balance: nr_foll_pin_acquired == nr_foll_pin_released since
# insmod, for everyone. The other pins here are io_uring's: a ring pins its
# registered buffers (IORING_REGISTER_BUFFERS: the fault, fuzz, stress and
# io_uring tests) until the ring is freed, at the end of its deferred exit
# work (io_ring_exit_work), which runs after the last process holding the
# ring's fd is gone and every request on it has completed. Measured in the
# guest (6.1 and 6.12, 16 MiB registered): 0.04-0.6 s after the last
# close, but as long as any process (a test's forked child) still holds
# the fd, and forever while a request never completes (6.1's io-wq dropped
# pinio's commands before the driver posted every CQE itself; pinio's own
# counters then stay up too, since the request holds the pinio file). So
# the global count may take a while: poll it for up to PIN_SETTLE seconds
# and say how long it took. With pinio's counters not 0 it cannot settle,
# and it is read once.
PIN_SETTLE=120
st=/sys/class/misc/pinio/stats
if [ -d $st ]; then
	pp=$(cat $st/pinned_pages)
	rg=$(cat $st/regions)
	if [ "$pp" = 0 ] && [ "$rg" = 0 ]; then
		res "check pinio_pins pass pinned_pages=0 regions=0"
	else
		res "check pinio_pins fail pinio leaked pinned_pages=$pp regions=$rg"
	fi
else
	pp=0
	rg=0
	res "check pinio_pins pass pinio not loaded: it holds nothing"
fi
waited=0
while :; do
	acq=$(($(pins nr_foll_pin_acquired) - acq0))
	rel=$(($(pins nr_foll_pin_released) - rel0))
	[ "$acq" = "$rel" ] && break
	[ "$pp" = 0 ] && [ "$rg" = 0 ] || break
	[ "$waited" -lt "$PIN_SETTLE" ] || break
	sleep 1
	waited=$((waited + 1))
done
if [ "$acq" = "$rel" ]; then
	res "check foll_pin_balance pass acquired=$acq released=$rel settled_after=${waited}s"
elif [ "$pp" = 0 ] && [ "$rg" = 0 ]; then
	res "check foll_pin_balance fail acquired=$acq released=$rel leaked=$((acq - rel)) after ${waited}s, not pinio's (its counters are 0)"
else
	res "check foll_pin_balance fail acquired=$acq released=$rel leaked=$((acq - rel)), pinio holds $pp pages in $rg regions"
fi

if [ ! -d /sys/module/pinio ]; then
	# A test unloaded it; load it again so the unload check still means something.
	say "pinio not loaded after the tests; loading it again"
	insmod /pinio.ko
fi
# kmemleak: two scans with a pause (it reports only objects seen
# unreferenced twice and at least 5 s old). Once while pinio is loaded, so
# the backtraces name its functions, and again after rmmod below.
kml_scan() {
	echo scan >$KML
	sleep 6
	echo scan >$KML
	cat $KML >"$1" 2>&1
}
[ -w $KML ] && kml_scan $R/kmemleak-loaded.txt

if timeout 60 rmmod pinio >$R/logs/rmmod.log 2>&1; then
	res "check rmmod pass"
else
	res "check rmmod fail $(tr '\n' ' ' <$R/logs/rmmod.log)"
fi

# Everything pinio allocated is freed by now (rmmod): whatever kmemleak
# suspects fails the run, named by the first pinio function in a backtrace
# of the scan made while pinio was loaded, if there is one.
if [ -w $KML ]; then
	if ! kml_scan $R/kmemleak.txt; then
		res "check kmemleak fail cannot read $KML (kmemleak turned itself off?)"
	elif [ -s $R/kmemleak.txt ]; then
		where=$(grep -m1 '\[pinio\]' $R/kmemleak-loaded.txt 2>/dev/null | tr -s ' ')
		[ -n "$where" ] || where=$(grep -m1 -A3 '^unreferenced object' $R/kmemleak.txt | tr -s ' \n' ' ')
		res "check kmemleak fail $(grep -c '^unreferenced object' $R/kmemleak.txt) suspected leak(s) (kmemleak.txt):$where"
	else
		res "check kmemleak pass"
	fi
fi
if [ -r /proc/lockdep_stats ]; then
	if [ "$(lockdep_on)" = 1 ]; then
		res "check lockdep pass still on"
	else
		res "check lockdep fail lockdep turned itself off (debug_locks=0): a report, or boot used it up"
	fi
fi

dmesg >$R/dmesg.txt
pat='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|lockdep|kmemleak|Call Trace|general protection fault|blocked for more than|detected stall|refcount_t:'
# pinio_fault_test's injected allocation failures may dump the stack
# (vmalloc's warn_alloc) between its markers, and kmemleak may fall back to
# scanning a whole object when its own small allocation was the one that
# failed: only those lines are ignored there; a BUG/WARNING/KASAN/lockdep
# header still counts, and so does kmemleak turning itself off.
awk '/pinio-fault: begin/ { f = 1 } /pinio-fault: end|pinio-runner: / { f = 0 }
	f && /Call Trace:|\] +(\? )?[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/ { next }
	f && /kmemleak: Cannot allocate a scan area/ { next }
	{ print }' $R/dmesg.txt >$R/dmesg-checked.txt
if grep -Eq "$pat" $R/dmesg-checked.txt; then
	res "check dmesg fail $(grep -Em1 "$pat" $R/dmesg-checked.txt)"
else
	res "check dmesg pass"
fi

res "done"
say "done"
bye
EOF
chmod +x "$root/init"

# Uncompressed newc: the kernel unpacks it fastest.
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$stage/initramfs.cpio"
# The kill boot's: no tests, no mke2fs, only its modules (faster to unpack).
if [ "$KILL_TEST" = 1 ]; then
	(cd "$root" && {
		find . -maxdepth 1
		find ./bin ./etc -maxdepth 1 ! -type d
		echo ./lib/pinio-mods
		echo ./lib/pinio-mods/order.durable
		while read -r m _; do
			echo "./lib/pinio-mods/$m"
		done <lib/pinio-mods/order.durable
	} | LC_ALL=C sort -u | cpio -o -H newc -R 0:0 --quiet) >"$stage/initramfs-kill.cpio"
fi

# No acpi=off: it boots no faster here and, without ACPI's MADT, the guest
# finds only one CPU on both kernels (SeaBIOS gives no MP table for -smp 2).
cmdline="console=ttyS0 panic=-1 $KCMDLINE_EXTRA"
echo "# booting $KRELEASE (TCG, timeout ${QEMU_TIMEOUT}s, ${#progs[@]} program(s), ${TEST_TIMEOUT}s each)" >&2
elapsed=0
qrc=0
if [ "$KILL_ONLY" = 0 ]; then
	start=$(date +%s)
	set +e
	qemu=(timeout -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64
		-machine q35 -cpu "$QEMU_CPU" -m "$QEMU_MEM" -smp 2
		-nographic -no-reboot -nic none
		-kernel "$VMLINUZ" -initrd "$stage/initramfs.cpio" -append "$cmdline"
		-virtfs "local,path=$RESULTS_DIR,mount_tag=pinio,security_model=none"
		"${disk_args[@]}")
	# A guest that never comes up (the debug kernel, rarely, takes a KASAN
	# report in an early interrupt under TCG and hangs before /init) is booted
	# again: up to BOOT_ATTEMPTS tries of BOOT_TIMEOUT seconds each to write
	# its first results line. Once it is up, whatever happens counts.
	attempt=1
	while :; do
		"${qemu[@]}" </dev/null >"$RESULTS_DIR/console.log" 2>&1 &
		qpid=$!
		tailpid=
		if [ "$VERBOSE" = 1 ]; then
			tail -n +1 -f "$RESULTS_DIR/console.log" &
			tailpid=$!
		fi
		waited=0
		while kill -0 "$qpid" 2>/dev/null &&
			! grep -q '^kernel ' "$RESULTS_DIR/results.txt" 2>/dev/null &&
			[ "$waited" -lt "$BOOT_TIMEOUT" ]; do
			sleep 1
			waited=$((waited + 1))
		done
		booted=0
		grep -q '^kernel ' "$RESULTS_DIR/results.txt" 2>/dev/null && booted=1
		# Not up in time: stop it (timeout passes the signal on to QEMU).
		[ "$booted" = 1 ] || kill "$qpid" 2>/dev/null
		wait "$qpid"
		qrc=$?
		if [ -n "$tailpid" ]; then
			kill "$tailpid" 2>/dev/null
			wait "$tailpid" 2>/dev/null
		fi
		grep -q '^kernel ' "$RESULTS_DIR/results.txt" 2>/dev/null && booted=1
		if [ "$booted" = 1 ] || [ "$attempt" -ge "$BOOT_ATTEMPTS" ]; then
			break
		fi
		echo "# the guest did not come up (boot attempt $attempt, exit $qrc, ${waited}s); booting again. Last console lines:" >&2
		tail -n 12 "$RESULTS_DIR/console.log" | sed 's/^/#   /' >&2
		mv "$RESULTS_DIR/console.log" "$RESULTS_DIR/console-attempt$attempt.log"
		find "$RESULTS_DIR" -mindepth 1 -maxdepth 1 ! -name 'console-attempt*' \
			-exec rm -rf {} +
		attempt=$((attempt + 1))
	done
	set -e
	elapsed=$(($(date +%s) - start))
	rm -rf "$RESULTS_DIR/scratch"
fi

results=$RESULTS_DIR/results.txt
[ -f "$results" ] || : >"$results"

# ---- host image check: the guest's writes, read back with no guest code ----
host_check() {
	local out
	if [ ! -x "$IMGCHECK" ]; then
		echo "check host_image_check fail $IMGCHECK missing (make tests)"
	elif [ ! -e "$RESULTS_DIR/hostcheck-written" ]; then
		echo "check host_image_check skip the guest did not write the region (no hostcheck-written in the results share)"
	elif out=$("$IMGCHECK" check "$disks/nvme4k.img" "$HC_OFF" "$HC_LEN" "$HC_SEED" 2>&1); then
		echo "check host_image_check pass nvme4k.img: $out"
	else
		echo "check host_image_check fail nvme4k.img: $out"
	fi
}
if [ "$DISKS" = 1 ] && [ "$KILL_ONLY" = 0 ]; then
	host_check >>"$results"
fi

# ---- the kill boot: a flushed write survives SIGKILL of QEMU ----
kill_elapsed=0
kill_test() {
	local name=kill_after_flush img=$disks/durable.qcow2 raw=$disks/durable.raw
	local log=$RESULTS_DIR/kill-console.log kpid t0 tw line out krc
	[ "$KILL_NOFLUSH" = 0 ] || name=kill_without_flush
	if [ ! -x "$WRITER" ] || [ ! -x "$IMGCHECK" ]; then
		echo "check $name fail $WRITER or $IMGCHECK missing (make tests)"
		return
	fi
	rm -f "$img" "$raw"
	if ! out=$(qemu-img create -q -f qcow2 "$img" 64M 2>&1); then
		echo "check $name fail qemu-img create: $out"
		return
	fi
	echo "# kill boot: $KRELEASE, qcow2 NVMe disk, cache=$DISK_CACHE" >&2
	t0=$(date +%s)
	qemu-system-x86_64 -machine q35 -cpu "$QEMU_CPU" -m 1024 -smp 2 \
		-nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$stage/initramfs-kill.cpio" \
		-append "$cmdline quiet pinio_mode=durable" \
		-drive "file=$img,if=none,id=dur,format=qcow2,cache=$DISK_CACHE" \
		-device nvme,serial=pinio-durable,drive=dur \
		</dev/null >"$log" 2>&1 &
	kpid=$!
	line=
	tw=
	while :; do
		line=$(grep -a -m1 -E 'pinio-durable: (flushed|unflushed|skip|fail|exit) ' "$log" | tr -d '\r')
		[ -n "$tw" ] || ! grep -aq 'pinio-durable: info writer starts' "$log" || tw=$(date +%s)
		[ -z "$line" ] || break
		kill -0 "$kpid" 2>/dev/null || break
		[ $(($(date +%s) - t0)) -lt "$KILL_TIMEOUT" ] || break
		sleep 0.1
	done
	# At once on the marker: nothing after the flush may reach the image.
	kill -9 "$kpid" 2>/dev/null || true
	krc=0
	wait "$kpid" 2>/dev/null || krc=$?
	kill_elapsed=$(($(date +%s) - t0))
	[ -z "$tw" ] || echo "# kill boot: the writer started after $((tw - t0))s, the VM was killed after ${kill_elapsed}s" >&2
	line=${line#*pinio-durable: }
	case "$line" in
	flushed\ * | unflushed\ *)
		if ! out=$(qemu-img convert -f qcow2 -O raw "$img" "$raw" 2>&1); then
			echo "check $name fail qemu-img convert: $out"
		elif out=$("$IMGCHECK" check "$raw" "$DUR_OFF" "$DUR_LEN" "$DUR_SEED" 2>&1); then
			echo "check $name pass SIGKILL on '$line' after ${kill_elapsed}s: $out"
		elif [ "$KILL_NOFLUSH" = 1 ]; then
			# Not an assertion: unflushed data may or may not survive.
			echo "check $name pass SIGKILL on '$line' after ${kill_elapsed}s, not flushed, lost: $out"
		else
			echo "check $name fail SIGKILL on '$line': $out"
		fi
		;;
	skip\ *) echo "check $name skip ${line#skip }" ;;
	fail\ *) echo "check $name fail ${line#fail }" ;;
	exit\ *) echo "check $name fail the writer exited with status ${line#exit } before its marker" ;;
	*)
		echo "check $name fail no marker from the kill boot in ${kill_elapsed}s (QEMU status $krc, console: kill-console.log)"
		tail -n 20 "$log" | sed 's/^/#   /' >&2
		;;
	esac
}
if [ "$KILL_TEST" = 1 ]; then
	kill_test >>"$results"
fi

# ---- report ----
pass=0
fail=0
skip=0
tap_tests=0

# Count one program's TAP. The harness prints "ok N name", "not ok N name",
# "ok N name # SKIP why" (also # XFAIL/# XPASS, which pass) at column 0; its
# diagnostics start with "#". Prints "pass fail skip plan seen".
count_tap() {
	awk '
		/^1\.\.[0-9]+/ {
			plan = substr($1, 4) + 0
			if (plan == 0 && $0 ~ /# *[Ss][Kk][Ii][Pp]/)
				whole_skip = 1
			next
		}
		/^not ok [0-9]+/ { f++; seen++; next }
		/^ok [0-9]+/ {
			seen++
			if ($0 ~ /# *[Ss][Kk][Ii][Pp]/)
				s++
			else
				p++
		}
		END {
			if (whole_skip && !seen)
				s = 1
			printf "%d %d %d %d %d\n", p, f, s, plan == "" ? -1 : plan, seen
		}' "$1"
}

while read -r kind name; do
	[ "$kind" = start ] || continue
	log=$RESULTS_DIR/logs/$name.log
	# shellcheck disable=SC2034 # kind2/name2 only fill the read
	read -r kind2 name2 rc secs < <(grep "^test $name " "$results" || echo "test $name none 0")
	echo "# ==== $name (exit $rc, ${secs}s) ===="
	[ -f "$log" ] && cat "$log"
	read -r p f s plan seen < <(count_tap "$log")
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	tap_tests=$((tap_tests + p + f))
	why=
	if [ "$rc" = none ]; then
		why="did not finish: the guest crashed or hung while it ran"
	elif [ "$rc" = 143 ] && [ "$secs" -ge $((TEST_TIMEOUT - 1)) ]; then
		why="timed out after ${TEST_TIMEOUT}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ "$plan" -ge 0 ] && [ "$seen" -ne "$plan" ]; then
		why="ran $seen of $plan planned tests"
	elif [ "$plan" -lt 0 ] && [ "$seen" = 0 ]; then
		# Not a TAP program (e.g. the demo): its exit status is the result.
		case "$rc" in
		0) pass=$((pass + 1)); tap_tests=$((tap_tests + 1)) ;;
		4) skip=$((skip + 1)) ;;
		*) why="exited with status $rc" ;;
		esac
	elif [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$f" = 0 ]; then
		why="exited with status $rc but reported no failure"
	fi
	if [ -n "$why" ]; then
		echo "not ok - $name: $why"
		fail=$((fail + 1))
		tap_tests=$((tap_tests + 1))
	fi
done <"$results"

echo "# ==== checks ===="
while read -r kind name verdict detail; do
	[ "$kind" = check ] || continue
	if [ "$verdict" = pass ]; then
		echo "ok - $name${detail:+ ($detail)}"
		pass=$((pass + 1))
	elif [ "$verdict" = skip ]; then
		echo "ok - $name # SKIP $detail"
		skip=$((skip + 1))
	else
		echo "not ok - $name: $detail"
		fail=$((fail + 1))
	fi
done <"$results"
for e in "${extras[@]}"; do
	if [ "${e#*=}" = pass ]; then
		echo "ok - ${e%=*}"
		pass=$((pass + 1))
	elif [ "${e#*=}" = skip ]; then
		echo "ok - ${e%=*} # SKIP"
		skip=$((skip + 1))
	else
		echo "not ok - ${e%=*}"
		fail=$((fail + 1))
	fi
done

status=0
if [ "$KILL_ONLY" = 1 ]; then
	:
elif ! grep -qx "done" "$results"; then
	why="exit status $qrc"
	[ "$qrc" = 124 ] && why="killed after ${QEMU_TIMEOUT}s"
	grep -q 'Kernel panic' "$RESULTS_DIR/console.log" && why="kernel panic"
	echo "not ok - guest did not finish ($why); last console lines:"
	tail -n 60 "$RESULTS_DIR/console.log" | sed 's/^/#   /'
	fail=$((fail + 1))
	status=1
fi
if [ "$tap_tests" = 0 ] && [ "$KILL_ONLY" = 0 ]; then
	echo "not ok - no test ran"
	fail=$((fail + 1))
fi
[ "$fail" = 0 ] || status=1

echo "# kernel $KRELEASE: guest boot+run ${elapsed}s$([ "$KILL_TEST" = 1 ] && echo ", kill boot ${kill_elapsed}s"); logs in ${RESULTS_DIR#"$top"/}"
echo "$pass passed, $fail failed, $skip skipped"
exit $status
