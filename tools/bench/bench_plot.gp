# bench_plot.gp - the figure of `tools/bench/bench.sh`: throughput and latency against
# offered load, from the CSV of `pointclear-bench --rates ... --csv FILE`
# (columns offered,achieved,p50_ms,p99_ms,p999_ms,stolen_cores,flush_p99_ms,
# flush_max_ms,writer_cores; flush_max_ms, the disk's slowest flush in the step,
# is drawn with the latencies it bounds from below).
#
#   gnuplot -e "csv='sweep.csv'; png='sweep.png'; subtitle='...'; maxrate=5700" tools/bench/bench_plot.gp
#
# maxrate (optional): the closed-loop maximum, drawn with half of it, where the
# p99 target applies.
if (!exists("csv")) csv = 'sweep.csv'
if (!exists("png")) png = 'sweep.png'
if (!exists("subtitle")) subtitle = ''
if (!exists("maxrate")) maxrate = 0

set terminal pngcairo size 900,1000 font "sans,10"
set output png
set datafile separator ","
set key top left
set grid
if (maxrate > 0) {
	set arrow 1 from maxrate, graph 0 to maxrate, graph 1 nohead dashtype 3 lc rgb "#ff7f0e"
	set label 1 sprintf("closed-loop max %.0f/s ", maxrate) at maxrate, graph 0.05 right tc rgb "#ff7f0e"
	set arrow 2 from maxrate / 2, graph 0 to maxrate / 2, graph 1 nohead dashtype 3 lc rgb "gray40"
	set label 2 " half" at maxrate / 2, graph 0.05 tc rgb "gray40"
}
set multiplot layout 2,1 title "pointcleard: throughput and acknowledgement latency against offered load\n".subtitle

set title "throughput"
set xlabel "offered load (events/s)"
set ylabel "achieved (events/s)"
set xrange [0:*]
set yrange [0:*]
plot csv using 1:1 every ::1 with lines dashtype 2 lc rgb "gray" title "achieved = offered", \
     csv using 1:2 every ::1 with linespoints pt 7 lw 2 lc rgb "#1f77b4" title "achieved"

set title "acknowledgement latency (log scale)"
set ylabel "latency (ms)"
set logscale y
set yrange [*:*]
plot csv using 1:3 every ::1 with linespoints pt 7 lw 2 lc rgb "#2ca02c" title "p50", \
     csv using 1:4 every ::1 with linespoints pt 5 lw 2 lc rgb "#d62728" title "p99", \
     csv using 1:5 every ::1 with linespoints pt 9 lw 1 lc rgb "#9467bd" title "p99.9", \
     csv using 1:8 every ::1 with points pt 2 ps 1.5 lc rgb "#8c564b" title "the disk's slowest flush (probe)", \
     20 with lines dashtype 2 lc rgb "black" title "p99 target at half the maximum: 20 ms"
unset multiplot
