# make bench's chart: time per MiB by row (wTransferSize, poll ms) for the
# floor, dfu.ko and dfu-util, download and upload side by side (SVG).
# gnuplot -e "dl='DOWNLOAD.dat'; ul='UPLOAD.dat'; out='bench.svg'" chart.gp
# Each .dat line: XFER/POLL FLOOR_MS_PER_MIB DFU_KO DFU_UTIL (tests/bench.sh);
# dfu.ko's time is cat's, start-up included, as the tables' "dfu.ko ms".
set terminal svg size 960,420 dynamic font "sans,12" background rgb "white"
set output out
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [10:*]
set grid ytics
set ylabel "ms per MiB (log scale)"
set xlabel "wTransferSize (bytes) / bwPollTimeout (ms)"
set key below horizontal
set multiplot layout 1,2 title "make bench: time per MiB (medians; QEMU TCG)"
set title "download"
plot dl using 2:xtic(1) title "floor" lc rgb "#4d4d4d", \
     '' using 3 title "dfu.ko (cat)" lc rgb "#1b9e77", \
     '' using 4 title "dfu-util" lc rgb "#d95f02"
set title "upload"
plot ul using 2:xtic(1) title "floor" lc rgb "#4d4d4d", \
     '' using 3 title "dfu.ko (cat)" lc rgb "#1b9e77", \
     '' using 4 title "dfu-util" lc rgb "#d95f02"
unset multiplot
