#!/usr/bin/env bash
# Record the per-VMA-lock workloads with kernel callchains on mmap_lock events.
#
# usage: sample_traces/capture/vmalock.sh OUTDIR
# Writes, for each workload NAME: NAME.data (perf.data), NAME.txt (`perf script`,
# default fields: frames under the mmap_lock samples) and NAME-nostack.txt (the
# same recording without callchains), plus PROVENANCE.tsv (exact commands, perf and
# kernel versions).  tests/vmalock_truth.py classifies NAME.txt from its stacks;
# tests/test_vmalock.py holds spftrace to it.  Needs root (or perf_event_paranoid
# <= 1 with tracepoint access) and gcc.
set -u
out=$(mkdir -p "${1:?usage: vmalock.sh OUTDIR}" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for w in vmachurn faultread writerblock; do
  gcc -O1 -pthread -o "$work/$w" "$here/../workloads/$w.c"
done
cd "$work"
prov="$out/PROVENANCE.tsv"
# per-event call-graph: only the mmap_lock samples carry (kernel-only) stacks
EV="-e exceptions:page_fault_user -e exceptions:page_fault_kernel"
for e in start_locking acquire_returned released; do
  EV="$EV -e mmap_lock:mmap_lock_$e/call-graph=fp/"
done
REC="perf record -q --kernel-callchains $EV"
{
  echo "# $(perf --version) | kernel $(uname -r) | $(date -u +%Y-%m-%dT%H:%M:%SZ) | $(nproc) CPUs"
  echo "# workloads: sample_traces/workloads/NAME.c built with gcc -O1 -pthread; REC = $REC"
  printf 'file\tcommand\n'
} > "$prov"
note() { printf '%s\t%s\n' "$1" "$2" >> "$prov"; }

rec() {  # rec NAME [PERF-RECORD-OPTIONS] -- WORKLOAD...
  local name=$1; shift
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  rm -f "$out/$name.data"  # perf record would keep the old one as NAME.data.old
  $REC "${opts[@]}" -o "$out/$name.data" -- "$@" 2> "$work/$name.rec-stderr"
  note "$name.data" "REC ${opts[*]} -o $name.data -- $*"
  perf script -i "$out/$name.data" > "$out/$name.txt" 2> "$work/$name.stderr"
  note "$name.txt" "perf script -i $name.data"
  perf script -i "$out/$name.data" -F comm,tid,pid,cpu,time,event,trace > "$out/$name-nostack.txt" 2>/dev/null
  note "$name-nostack.txt" "perf script -i $name.data -F comm,tid,pid,cpu,time,event,trace"
}

# (a) 4 threads faulting on fresh anonymous mmaps + 1 thread doing mmap/mprotect/munmap
rec vmachurn -- ./vmachurn 4 8 16 100
# (b) 1 thread: user faults, read() into untouched pages (kernel faults), madvise(MADV_DONTNEED)
rec faultread -- ./faultread 4 16
# (c) a writer (mprotect of 128 MB of small pages) really blocks faulting threads
rec writerblock -- ./writerblock 2 24 128 40
# (d) lossy: a one-page ring buffer (-m 1) on a fault-heavy run loses events
rec lossy -m 1 -- ./vmachurn 4 12 32 60
perf script -i "$out/lossy.data" --show-lost-events > "$out/lossy-show-lost.txt" 2>/dev/null
note lossy-show-lost.txt "perf script -i lossy.data --show-lost-events"
perf script -i "$out/lossy.data" -F comm,tid,pid,cpu,time,event,trace > "$out/lossy-2to1.txt" 2>&1
note lossy-2to1.txt "perf script -i lossy.data -F comm,tid,pid,cpu,time,event,trace 2>&1   (perf's loss warnings mixed in)"
perf report -i "$out/lossy.data" --stats > "$out/lossy-report.stats" 2>/dev/null
note lossy-report.stats "perf report -i lossy.data --stats"
cp "$work/lossy.stderr" "$out/lossy.stderr"
note lossy.stderr "stderr of: perf script -i lossy.data"
echo "wrote $out"
