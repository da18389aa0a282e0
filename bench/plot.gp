# Plots of a pinio_bench run: gnuplot -e "dir='results'" bench/plot.gp
# Reads bench.csv and headline.csv from dir, writes PNGs beside them.
if (!exists("dir")) dir = "results"
set datafile separator comma
set terminal pngcairo size 1400,1000 font ",10"
set key outside right top
set logscale xy
set xlabel "transfer size (bytes)"
set ylabel "MB/s (median)"
set grid
# The series that exist: QD32 only for queued paths, no ceilings under bounce=1.
qd1_paths = "read/write uring-rw uring-fixed pinio-ioctl pinio-ioctl-reg pinio-batch pinio-uring pinio-uring-fixed pinio-uring-wq"
qd32_paths = "uring-rw uring-fixed pinio-batch pinio-uring pinio-uring-fixed pinio-uring-wq"
all_paths = qd1_paths." mmap memcpy kcopy"
# The same colour for a path in every panel.
idx(p) = sum [i=1:words(all_paths)] (word(all_paths, i) eq p ? i : 0)
paths(b, q) = q eq "32" ? qd32_paths : b eq "0" ? all_paths : qd1_paths." mmap"
csv = dir."/bench.csv"
# The rows of one series, picked by awk so that gnuplot draws unbroken lines;
# the RAM store's only (column 13, store).
series(b, p, d, q) = sprintf("< awk -F, '$1==\"%s\" && $3==\"%s\" && $4==\"%s\" && $6==\"%s\" && $13==\"ram\"' %s", b, p, d, q, csv)

do for [b in "0 1"] {
	set output dir."/throughput-bounce".b.".png"
	set multiplot layout 2,2 title "pinio_bench, bounce=".b." (QEMU TCG figures: compare paths, not absolutes)" noenhanced
	do for [d in "read write"] {
		do for [q in "1 32"] {
			set title d." QD".q
			plot for [p in paths(b, q)] series(b, p, d, q) using 5:8 \
				with linespoints lt idx(p) title p noenhanced
		}
	}
	unset multiplot
}

set output dir."/headline.png"
set terminal pngcairo size 1600,900 font ",10"
unset logscale
set bmargin 16
set rmargin 22
set title "Headline ratios, same boot (bars) against their targets (points)" noenhanced
set ylabel "ratio (x)"
unset xlabel
set style fill solid 0.6
set boxwidth 0.7
set xtics rotate by -40 left font ",8" noenhanced
set key inside top right
set yrange [0:*]
plot dir."/headline.csv" every ::1 using 0:2:xtic(1) with boxes title "measured", \
     "" every ::1 using 0:($3 > 0 ? $3 : 1/0) with points pt 7 ps 1.2 title "target"
