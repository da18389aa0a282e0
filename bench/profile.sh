#!/bin/bash
# make profile: where the time of one 4 KiB direct transfer goes, per path.
# Boots Debian's kernel in QEMU (same CPU model as `make bench`), runs
# `pinio_bench --profile` and summarises its ftrace function_graph trace:
#
#   untraced ns/op  the same operations timed without the tracer (medians)
#   traced us/op    inclusive time of each traced function per operation;
#                   the tracer's own hooks inflate these, so read the shares
#                   of one column rather than the absolute values
#
# Leaves results/profile.txt and results/profile.trace.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

KVER=${KVER:-6.12}
BENCH_CPU=${BENCH_CPU:-max,-erms,-fsrm}
OUT=${OUT:-results}
run=build/results-profile

rm -rf "$run"
mkdir -p "$run"
if ! RESULTS_DIR=$run QEMU_CPU=$BENCH_CPU KVER=$KVER \
	tests/run-qemu.sh --exec build/bench/pinio_bench --profile \
	--out /mnt/results >"$run.summary" 2>&1; then
	cat "$run.summary"
	echo "profile: the guest run failed (logs in $run/)" >&2
	exit 1
fi
[ -s "$run/profile.trace" ] || { echo "profile: no trace" >&2; exit 1; }

mkdir -p "$OUT"
cp "$run/profile.trace" "$OUT/profile.trace"
{
	echo "pinio profile, 4 KiB operations, kernel $(scripts/kver.sh "$KVER" release), -cpu $BENCH_CPU"
	echo "Under QEMU TCG the absolute times are emulator figures: read the shares."
	echo
	echo "untraced, median ns per operation:"
	sed -n 's/^profile \([^ ]*\) ns_per_op=\([0-9]*\)$/  \1 \2/p' \
		"$run/logs/pinio_bench.log" | awk '{ printf "  %-18s %6d\n", $1, $2 }'
	echo
	echo "traced (function_graph), inclusive us per operation:"
	awk -f bench/profile.awk "$run/profile.trace"
} >"$OUT/profile.txt"
cat "$OUT/profile.txt"
echo "profile: results in $OUT/ (profile.txt, profile.trace)"
