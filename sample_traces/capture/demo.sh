#!/usr/bin/env bash
# The real run bundled with `spftrace demo`: perf stat of mtfault with /proc/vmstat
# snapshots taken just before and just after it.
# usage: sample_traces/capture/demo.sh OUTDIR   (writes mtfault-perf-stat.txt, vmstat-0/1.txt)
set -u
out=$(mkdir -p "${1:?usage: demo.sh OUTDIR}" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O1 -pthread -o "$work/mtfault" "$here/../workloads/mtfault.c"
cd "$work"
cat /proc/vmstat > "$out/vmstat-0.txt"
perf stat -e faults,page-faults,exceptions:page_fault_user,'mmap_lock:*' -- ./mtfault 8 200 256 2> "$out/mtfault-perf-stat.txt"
cat /proc/vmstat > "$out/vmstat-1.txt"
{
  echo "# $(perf --version) | kernel $(uname -r) | $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'file\tcommand\n'
  printf 'vmstat-0.txt\tcat /proc/vmstat   (just before)\n'
  printf "mtfault-perf-stat.txt\tperf stat -e faults,page-faults,exceptions:page_fault_user,'mmap_lock:*' -- ./mtfault 8 200 256 2> mtfault-perf-stat.txt\n"
  printf 'vmstat-1.txt\tcat /proc/vmstat   (just after)\n'
} > "$out/PROVENANCE.tsv"
