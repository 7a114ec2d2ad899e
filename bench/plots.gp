# Draws bench/run.sh's sweeps (window.dat, rate.dat, written by summarize.py) as PNG files.
set terminal pngcairo size 900,560 noenhanced
set key top left
set grid

set output "throughput_vs_window.png"
set title "Throughput vs in-flight window (1 KiB, 1 producer, 1 consumer)"
set xlabel "window (messages in flight)"
set ylabel "msg/s (acknowledged deliveries)"
set xrange [0.7:1500]
set logscale xy
plot "window.dat" using 1:2 with linespoints title "Keten (validated, fsync'd, hash-chained)", \
     "" using 1:3 with linespoints title "RabbitMQ (durable, persistent, confirms)", \
     "" using 1:4 with linespoints title "raw ZeroMQ (no storage)"

set output "p99_vs_rate.png"
set title "p99 end-to-end latency vs offered rate (window 64)"
set xlabel "offered msg/s"
set ylabel "p99 latency (us)"
set xrange [700:14000]
set logscale xy
plot "rate.dat" using 1:2 with linespoints title "Keten", \
     "" using 1:3 with linespoints title "RabbitMQ", \
     "" using 1:4 with linespoints title "raw ZeroMQ"
