#!/bin/bash
# make bench: boot Debian's kernel in QEMU with pinio.ko, run pinio_bench on
# every path in that one boot, and leave the tables, CSV, JSON and plots in
# results/ on the host. QUICK=1 runs short repetitions (CI).
#
# The CPU model is chosen on purpose: under TCG, QEMU runs `rep movsb` a
# byte at a time, and with -cpu max the kernel's copy_to_user and memcpy use
# it (ERMS/FSRM). Hiding erms/fsrm makes kernel and user copies take the
# same kind of loop, so the ratios compare the paths rather than QEMU's
# string-instruction helper. BENCH_CPU overrides it; bench.json records it.
#
# The guest gets the runner's benchmark disk (DISKS=bench: a 1 GiB NVMe
# namespace of 4 KiB blocks, and fio), for the rows of store nvme.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

KVER=${KVER:-6.12}
QUICK=${QUICK:-0}
BENCH_CPU=${BENCH_CPU:-max,-erms,-fsrm}
OUT=${BENCH_OUT:-results}
run=build/results-bench

args=(--out /mnt/results)
if [ "$QUICK" = 1 ]; then
	args+=(--quick)
fi

# The log grows on the 9p share while the guest runs: show it as progress.
mkdir -p "$run"
tail_pid=
if [ -t 1 ] || [ "${CI:-}" = true ]; then
	(sleep 3; tail -n +1 -F "$run/logs/pinio_bench.log" 2>/dev/null |
		grep --line-buffered -E '^\[|^registration|^paired|^pinio_bench') &
	tail_pid=$!
fi
set +e
RESULTS_DIR=$run QEMU_CPU=$BENCH_CPU TEST_TIMEOUT=1500 QEMU_TIMEOUT=1700 DISKS=bench \
	GUEST_ENV="PINIO_BENCH_CPU=$BENCH_CPU" KVER=$KVER \
	tests/run-qemu.sh --exec build/bench/pinio_bench "${args[@]}" >"$run.summary" 2>&1
rc=$?
set -e
if [ -n "$tail_pid" ]; then
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
fi
if [ $rc != 0 ]; then
	cat "$run.summary"
	echo "bench: the guest run failed (logs in $run/)" >&2
	exit 1
fi

mkdir -p "$OUT"
for f in bench.csv bench.json register.csv mmap.csv pairs.csv headline.csv; do
	[ -s "$run/$f" ] || { echo "bench: $run/$f missing" >&2; exit 1; }
	cp "$run/$f" "$OUT/$f"
done
# The table from the guest, without the progress lines.
grep -v '^\[\|^registration [0-9]\|^paired ' "$run/logs/pinio_bench.log" >"$OUT/bench.txt"
python3 -m json.tool "$OUT/bench.json" >/dev/null
grep -q ',nvme$' "$OUT/bench.csv" || { echo "bench: no rows of store nvme" >&2; exit 1; }
grep -q ',fio-uring-fixed,' "$OUT/bench.csv" || { echo "bench: no fio rows" >&2; exit 1; }
gnuplot -e "dir='$OUT'" bench/plot.gp
for f in throughput-bounce0.png throughput-bounce1.png headline.png \
	throughput-nvme.png headline-nvme.png; do
	[ -s "$OUT/$f" ] || { echo "bench: $OUT/$f missing" >&2; exit 1; }
done
cat "$OUT/bench.txt"
echo "bench: results in $OUT/ (bench.txt, bench.csv, bench.json, register.csv, mmap.csv, pairs.csv, headline.csv, *.png)"
