#!/usr/bin/env bash
# Capture /proc/vmstat in the layouts spftrace reads, around a real workload.
#
# usage: sample_traces/capture/vmstat.sh OUTDIR
#   OUTDIR/snapshot.txt          one `cat /proc/vmstat`
#   OUTDIR/lkp-series.txt        LKP proc-vmstat monitor: `echo time: $(date +%s)` + cat, 1 s apart
#   OUTDIR/epoch-series.txt      bare `date +%s.%N` lines between snapshots
#   OUTDIR/date-series.txt       `date` lines between snapshots
#   OUTDIR/snap-0.txt ...        separate files, one snapshot each (ingested together)
set -u
out=${1:?usage: vmstat.sh OUTDIR}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O1 -pthread -o "$work/mtfault" "$here/../workloads/mtfault.c"
{
  echo "# kernel $(uname -r) | $(date -u +%Y-%m-%dT%H:%M:%SZ) | workload: mtfault 4 200 256 between snapshots"
  printf 'file\tcommand\n'
  printf 'snapshot.txt\tcat /proc/vmstat\n'
  printf 'lkp-series.txt\tfor i in 1 2 3; do echo time: $(date +%%s); cat /proc/vmstat; mtfault 4 200 256; sleep 1; done\n'
  printf 'epoch-series.txt\tfor i in 1 2 3; do date +%%s.%%N; cat /proc/vmstat; mtfault 4 200 256; done\n'
  printf 'date-series.txt\tfor i in 1 2; do date; cat /proc/vmstat; mtfault 4 200 256; done\n'
  printf 'snap-N.txt\tfor i in 0 1 2; do cat /proc/vmstat > snap-$i.txt; mtfault 4 200 256; done\n'
} > "$out/PROVENANCE.tsv"
cat /proc/vmstat > "$out/snapshot.txt"
for i in 1 2 3; do echo "time: $(date +%s)"; cat /proc/vmstat; "$work/mtfault" 4 200 256; sleep 1; done > "$out/lkp-series.txt"
for i in 1 2 3; do date +%s.%N; cat /proc/vmstat; "$work/mtfault" 4 200 256; done > "$out/epoch-series.txt"
for i in 1 2; do LC_ALL=C date; cat /proc/vmstat; "$work/mtfault" 4 200 256; done > "$out/date-series.txt"
for i in 0 1 2; do cat /proc/vmstat > "$out/snap-$i.txt"; "$work/mtfault" 4 200 256; done
echo "wrote $out"
