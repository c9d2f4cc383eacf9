#!/bin/sh
# Kernel system time per page fault of a kernel build on this machine: the quantity the
# seed's kernbench tables give for its two machines (docs/simulator.md, "kernbench's
# system time per fault").  Results: bench/sim_calibrate/kernbench_sys.txt.
#
# usage (root, ~7 min a part on 2 shared CPUs):
#   apt-get install -y linux-source-6.1      # the tarball lands in /usr/src
#   sh bench/sim_calibrate/kernbench_sys.sh km kernel/ mm/
#   sh bench/sim_calibrate/kernbench_sys.sh fs fs/
# The first part also runs `make prepare` (host tools, objtool, generated headers);
# the second only compiles.  Each part is one `make -j2` under perf stat (faults,
# task-clock) and /usr/bin/time -v (user and system CPU seconds of the children).
set -e
label=$1; shift
top=${KB_TOP:-/tmp/simkb_kb}
src=$top/linux-source-6.1
if [ ! -d "$src" ]; then
	mkdir -p "$top" && tar xJf /usr/src/linux-source-6.1.tar.xz -C "$top"
	make -C "$src" defconfig > /dev/null
fi
cd "$src"
out=$top/$label
date -u +"start %FT%TZ load $(cut -d' ' -f1-3 /proc/loadavg)" > "$out.log"
perf stat -e faults,minor-faults,major-faults,task-clock -o "$out.perf" -- \
	/usr/bin/time -v -o "$out.time" nice -n 19 make -j2 "$@" > "$out.make" 2>&1
date -u +"end %FT%TZ load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out.log"
faults=$(awk '$2 == "faults" {print $1}' "$out.perf")
user=$(awk -F': ' '/User time/ {print $2}' "$out.time")
sys=$(awk -F': ' '/System time/ {print $2}' "$out.time")
echo "$label faults $faults user_s $user sys_s $sys" \
	"sys_us_per_fault $(echo "$sys $faults" | awk '{printf "%.3f", $1 * 1e6 / $2}')" \
	"user_us_per_fault $(echo "$user $faults" | awk '{printf "%.2f", $1 * 1e6 / $2}')"
