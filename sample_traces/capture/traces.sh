#!/usr/bin/env bash
# Capture page-fault tracepoint streams in every text layout spftrace reads.
#
# usage: sample_traces/capture/traces.sh OUTDIR
# Needs root, perf, trace-cmd and tracefs (mounted at /sys/kernel/tracing; this
# script mounts it if needed).  The ftrace captures use a private instance so the
# global tracing state is left as it was (reference/kernel-formats.md §5).
set -u
out=$(mkdir -p "${1:?usage: traces.sh OUTDIR}" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O1 -pthread -o "$work/mtfault" "$here/../workloads/mtfault.c"
cd "$work"
mount | grep -q tracefs || mount -t tracefs nodev /sys/kernel/tracing
T=/sys/kernel/tracing
prov="$out/PROVENANCE.tsv"
{
  echo "# $(perf --version) | $(trace-cmd --version 2>&1 | head -1) | kernel $(uname -r) | $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# workload: ./mtfault = sample_traces/workloads/mtfault.c (gcc -O1 -pthread); c.data = perf record -o c.data -e exceptions:page_fault_user -e 'mmap_lock:*' -- ./mtfault 2 2 64"
  printf 'file\tcommand\n'
} > "$prov"
note() { printf '%s\t%s\n' "$1" "$2" >> "$prov"; }

perf record -q -o c.data -e exceptions:page_fault_user -e 'mmap_lock:*' -- ./mtfault 2 2 64 2>/dev/null
perf record -q -g -o g.data -e exceptions:page_fault_user -e 'mmap_lock:*' -- ./mtfault 2 1 16 2>/dev/null
note '(g.data)' "perf record -g -o g.data -e exceptions:page_fault_user -e 'mmap_lock:*' -- ./mtfault 2 1 16"

ps() { local name=$1; shift; perf script "$@" > "$out/$name" 2>/dev/null; note "$name" "perf script $*"; }
ps perf-script-default.txt -i c.data
ps perf-script-fields.txt -i c.data -F comm,tid,pid,cpu,time,event,trace
ps perf-script-ns.txt -i c.data --ns -F comm,tid,time,event,trace
ps perf-script-ns-default.txt -i c.data --ns
ps perf-script-pid-only.txt -i c.data -F comm,pid,cpu,time,event,trace
ps perf-script-no-comm.txt -i c.data -F tid,cpu,time,event,trace
ps perf-script-header.txt -i c.data --header -F comm,tid,pid,cpu,time,event,trace
ps perf-script-callchain.txt -i g.data
perf script -i c.data -F comm,tid,pid,cpu,time,event,trace > "$out/perf-script-warnings-mixed.txt" 2>&1
note perf-script-warnings-mixed.txt "perf script -i c.data -F comm,tid,pid,cpu,time,event,trace 2>&1"

# --- ftrace through a private instance --------------------------------------
I=$T/instances/spftrace
mkinst() {
  mkdir $I
  echo 0 > $I/tracing_on
  echo 1 > $I/events/exceptions/page_fault_user/enable
  echo 1 > $I/events/mmap_lock/enable
}
ft() {  # ft NAME DESCRIPTION
  echo > $I/trace; echo 1 > $I/tracing_on; ./mtfault 2 1 32; echo 0 > $I/tracing_on
  cp $I/trace "$out/$1"; note "$1" "instance spftrace, events exceptions:page_fault_user + mmap_lock:*; $2; ./mtfault 2 1 32; cat trace"
}
mkinst
ft ftrace-trace.txt "defaults (irq-info on)"
echo 0 > $I/options/irq-info; ft ftrace-trace-noirq.txt "options/irq-info=0"; echo 1 > $I/options/irq-info
echo 1 > $I/options/record-tgid; ft ftrace-trace-tgid.txt "options/record-tgid=1"
echo 0 > $I/options/irq-info; ft ftrace-trace-tgid-noirq.txt "record-tgid=1, irq-info=0"; echo 1 > $I/options/irq-info
echo 0 > $I/options/record-tgid
echo counter > $I/trace_clock; ft ftrace-trace-counter-clock.txt "trace_clock=counter"; echo local > $I/trace_clock
# trace_pipe: a consuming read while the workload runs
echo > $I/trace; echo 1 > $I/tracing_on
( timeout 2 cat $I/trace_pipe > "$out/ftrace-trace-pipe.txt" ) & sleep 0.3; ./mtfault 2 1 32; sleep 0.5; echo 0 > $I/tracing_on; wait
note ftrace-trace-pipe.txt "instance spftrace, same events; timeout 2 cat trace_pipe during ./mtfault 2 1 32"
# overflow: a tiny per-CPU buffer so events are lost and per-CPU buffers start late
echo 4 > $I/buffer_size_kb
echo > $I/trace; echo 1 > $I/tracing_on; ./mtfault 2 4 256; echo 0 > $I/tracing_on
cp $I/trace "$out/ftrace-trace-overflow.txt"
note ftrace-trace-overflow.txt "buffer_size_kb=4 (the ring buffer overwrites); ./mtfault 2 4 256; cat trace"
# trace-cmd: extract the instance's buffer (extract -B removes the instance), then report it
echo 1410 > $I/buffer_size_kb
echo > $I/trace; echo 1 > $I/tracing_on; ./mtfault 2 1 32; echo 0 > $I/tracing_on
trace-cmd extract -B spftrace -o t.dat > /dev/null 2>&1
trace-cmd report -i t.dat > "$out/trace-cmd-report.txt" 2>/dev/null
note trace-cmd-report.txt "trace-cmd extract -B spftrace -o t.dat; trace-cmd report -i t.dat"
trace-cmd report -l -i t.dat > "$out/trace-cmd-report-l.txt" 2>/dev/null
note trace-cmd-report-l.txt "trace-cmd report -l -i t.dat"
rmdir $I 2>/dev/null; mkinst
echo 4 > $I/buffer_size_kb
echo > $I/trace; echo 1 > $I/tracing_on; ./mtfault 2 4 256; echo 0 > $I/tracing_on
trace-cmd extract -B spftrace -o small.dat > /dev/null 2>&1
trace-cmd report -i small.dat > "$out/trace-cmd-report-overflow.txt" 2>/dev/null
note trace-cmd-report-overflow.txt "buffer_size_kb=4; ./mtfault 2 4 256; trace-cmd extract -B spftrace -o small.dat; trace-cmd report -i small.dat"
[ -d $I ] && { echo 0 > $I/events/exceptions/page_fault_user/enable; echo 0 > $I/events/mmap_lock/enable; rmdir $I; }
echo "wrote $out"
