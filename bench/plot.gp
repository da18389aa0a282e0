# Plots of a pinio_bench run: gnuplot -e "dir='results'" bench/plot.gp
# Reads bench.csv and headline.csv from dir, writes PNGs beside them:
# throughput-bounce0/1.png and headline.png (RAM), throughput-nvme.png and
# headline-nvme.png (the attached disk).
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

# The disk store's panels: MB/s at QD1 and QD32, and the guest's CPU
# seconds per GB at QD1 (column 12; fio's rows have none).
nvme_qd1 = "read/write uring-rw uring-fixed pinio-ioctl pinio-ioctl-reg pinio-batch pinio-uring pinio-uring-fixed mmap disk-uring-fixed disk-odirect disk-buffered fio-uring-fixed"
nvme_qd32 = "uring-rw uring-fixed pinio-batch pinio-uring pinio-uring-fixed disk-uring-fixed fio-uring-fixed"
nvme_cpu = "read/write pinio-ioctl pinio-ioctl-reg pinio-uring mmap disk-uring-fixed disk-odirect disk-buffered"
nvme_all = nvme_qd1
nidx(p) = sum [i=1:words(nvme_all)] (word(nvme_all, i) eq p ? i : 0)
nseries(p, d, q) = sprintf("< awk -F, '$1==\"0\" && $3==\"%s\" && $4==\"%s\" && $6==\"%s\" && $13==\"nvme\"' %s", p, d, q, csv)
set output dir."/throughput-nvme.png"
set terminal pngcairo size 1800,1000 font ",10"
set multiplot layout 2,3 title "pinio_bench, store=nvme (emulated NVMe, 4 KiB blocks; QEMU TCG figures: compare paths, not absolutes)" noenhanced
do for [d in "read write"] {
	set ylabel "MB/s (median)"
	set title d." QD1"
	plot for [p in nvme_qd1] nseries(p, d, "1") using 5:8 \
		with linespoints lt nidx(p) title p noenhanced
	set title d." QD32"
	plot for [p in nvme_qd32] nseries(p, d, "32") using 5:8 \
		with linespoints lt nidx(p) title p noenhanced
	set title d." QD1: guest CPU s per GB"
	set ylabel "guest CPU s/GB"
	plot for [p in nvme_cpu] nseries(p, d, "1") using 5:($12 >= 0 ? $12 : 1/0) \
		with linespoints lt nidx(p) title p noenhanced
}
unset multiplot

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
# The RAM store's headlines here, the disk's (named "nvme ...") below.
heads(m) = sprintf("< awk -F, 'NR > 1 && ($1 ~ /^nvme /) == %d' %s/headline.csv", m, dir)
plot heads(0) using 0:2:xtic(1) with boxes title "measured", \
     "" using 0:($3 > 0 ? $3 : 1/0) with points pt 7 ps 1.2 title "target"
set output dir."/headline-nvme.png"
set title "Headline ratios of store=nvme, same boot (bars) against their targets (points)" noenhanced
plot heads(1) using 0:2:xtic(1) with boxes title "measured", \
     "" using 0:($3 > 0 ? $3 : 1/0) with points pt 7 ps 1.2 title "target"
