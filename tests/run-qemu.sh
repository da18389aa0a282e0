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
# the filesystem. Walk modules.dep depth-first so every module comes after the
# ones it needs, whatever order the file lists them in.
mods=$(awk -v want="virtio_pci 9pnet_virtio 9p" '
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
	}' "$MODDIR/modules.dep")
for want in virtio_pci 9pnet_virtio 9p; do
	if ! grep -q "/$want\.ko" "$MODDIR/modules.builtin" &&
		! printf '%s\n' "$mods" | grep -q "/$want\.ko"; then
		die "$want is neither built into $KRELEASE nor in its modules.dep"
	fi
done
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
	echo "$name" >>"$root/lib/pinio-mods/order"
done

# Settings for /init, as shell assignments with single-quoted values.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
{
	echo "TEST_TIMEOUT=$TEST_TIMEOUT"
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

while read -r m; do
	insmod "/lib/pinio-mods/$m" || say "insmod $m failed"
done </lib/pinio-mods/order
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

# Pins are dropped when the last transfer using a region ends, so give a
# deferred release a moment before calling it a leak.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	acq=$(($(pins nr_foll_pin_acquired) - acq0))
	rel=$(($(pins nr_foll_pin_released) - rel0))
	[ "$acq" = "$rel" ] && break
	sleep 1
done
if [ "$acq" = "$rel" ]; then
	res "check foll_pin_balance pass acquired=$acq released=$rel"
else
	res "check foll_pin_balance fail acquired=$acq released=$rel leaked=$((acq - rel))"
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

# No acpi=off: it boots no faster here and, without ACPI's MADT, the guest
# finds only one CPU on both kernels (SeaBIOS gives no MP table for -smp 2).
cmdline="console=ttyS0 panic=-1 $KCMDLINE_EXTRA"
echo "# booting $KRELEASE (TCG, timeout ${QEMU_TIMEOUT}s, ${#progs[@]} program(s), ${TEST_TIMEOUT}s each)" >&2
start=$(date +%s)
set +e
qemu=(timeout -k 10 "$QEMU_TIMEOUT" qemu-system-x86_64
	-machine q35 -cpu "$QEMU_CPU" -m "$QEMU_MEM" -smp 2
	-nographic -no-reboot -nic none
	-kernel "$VMLINUZ" -initrd "$stage/initramfs.cpio" -append "$cmdline"
	-virtfs "local,path=$RESULTS_DIR,mount_tag=pinio,security_model=none")
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

# ---- report ----
results=$RESULTS_DIR/results.txt
[ -f "$results" ] || : >"$results"
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
if ! grep -qx "done" "$results"; then
	why="exit status $qrc"
	[ "$qrc" = 124 ] && why="killed after ${QEMU_TIMEOUT}s"
	grep -q 'Kernel panic' "$RESULTS_DIR/console.log" && why="kernel panic"
	echo "not ok - guest did not finish ($why); last console lines:"
	tail -n 60 "$RESULTS_DIR/console.log" | sed 's/^/#   /'
	fail=$((fail + 1))
	status=1
fi
if [ "$tap_tests" = 0 ]; then
	echo "not ok - no test ran"
	fail=$((fail + 1))
fi
[ "$fail" = 0 ] || status=1

echo "# kernel $KRELEASE: guest boot+run ${elapsed}s; logs in ${RESULTS_DIR#"$top"/}"
echo "$pass passed, $fail failed, $skip skipped"
exit $status
