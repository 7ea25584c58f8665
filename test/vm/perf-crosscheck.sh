#!/bin/bash
# An independent check of make bench's CPU figures (which come from /proc): run
# this beside `make bench`; for every lb-5 daemon the bench starts (ebpfvrrp, or
# each keepalived process), it waits 15 s (settled, inside the scale window) and
# measures the process with perf's task-clock for 20 s. Needs perf (Debian:
# linux-perf). Output lines go to $1 (default /tmp/perf-crosscheck.log):
#   HH:MM:SS pid=PID comm=NAME  <task-clock ms> msec task-clock # <CPUs utilized>
# Match the pids with the bench log's "scale <daemon> lb-5: [name[pid]=...]" lines.
set -u
out=${1:-/tmp/perf-crosscheck.log}
command -v perf >/dev/null || { echo "perf-crosscheck: perf not found (apt-get install linux-perf)" >&2; exit 1; }
seen=" "
while true; do
	for p in $(pgrep -f 'ebpfvrrp run .*lb-5/ebpfvrrp.yaml'; pgrep -f 'keepalived .*lb-5/keepalived.conf'); do
		case "$seen" in *" $p "*) continue ;; esac
		seen="$seen$p "
		(
			sleep 15
			[ -d "/proc/$p" ] || exit 0
			t=$(date +%T)
			comm=$(cat "/proc/$p/comm" 2>/dev/null)
			r=$(perf stat -e task-clock -p "$p" -- sleep 20 2>&1 | grep task-clock | tr -s ' ')
			echo "$t pid=$p comm=$comm $r" >>"$out"
		) &
	done
	sleep 1
done
