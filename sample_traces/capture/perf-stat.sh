#!/usr/bin/env bash
# Capture every perf stat output mode spftrace reads, on this machine.
#
# usage: sample_traces/capture/perf-stat.sh OUTDIR
# Writes OUTDIR/<quirk>.txt (perf's stderr, exactly as printed) and
# OUTDIR/PROVENANCE.tsv (file, exit code, command) with a header naming the
# perf and kernel versions and the date.  Needs root (or perf_event_paranoid
# <= 1 and access to tracepoints), gcc and the de_DE/fr_FR/de_CH/en_US UTF-8
# locales (localedef -i de_DE -f UTF-8 de_DE.UTF-8 ...).
set -u
out=${1:?usage: perf-stat.sh OUTDIR}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O1 -pthread -o "$work/mtfault" "$here/../workloads/mtfault.c"
cd "$work"
prov="$out/PROVENANCE.tsv"
{
  echo "# $(perf --version) | kernel $(uname -r) | $(date -u +%Y-%m-%dT%H:%M:%SZ) | $(nproc) CPUs"
  echo "# workload: ./mtfault = sample_traces/workloads/mtfault.c built with gcc -O1 -pthread"
  printf 'file\trc\tcommand\n'
} > "$prov"

EV='faults,page-faults,exceptions:page_fault_user,mmap_lock:mmap_lock_start_locking,mmap_lock:mmap_lock_acquire_returned,mmap_lock:mmap_lock_released'
EV2='page-faults,exceptions:page_fault_user,context-switches'

cap() {  # cap NAME COMMAND...   (runs COMMAND under sh, stderr -> NAME.txt)
  local name=$1; shift
  sh -c "$*" > /dev/null 2> "$out/$name.txt"
  local rc=$?
  printf '%s.txt\t%s\t%s\n' "$name" "$rc" "$*" >> "$prov"
}
capboth() {  # stdout and stderr interleaved
  local name=$1; shift
  sh -c "$*" > "$out/$name.txt" 2>&1
  printf '%s.txt\t%s\t%s\n' "$name" "$?" "$* 2>&1" >> "$prov"
}

cap human               "perf stat -e $EV -- ./mtfault"
cap human-default       "perf stat -- ./mtfault"
cap human-r3            "perf stat -r 3 -e $EV -- ./mtfault"
cap human-r3-table      "perf stat -r 3 --table -e faults,page-faults -- ./mtfault"
cap human-null-r3       "perf stat --null -r 3 -- ./mtfault"
cap human-not-supported "perf stat -e cycles,instructions,$EV -- ./mtfault"
cap human-not-counted   "perf stat -D 300 -e $EV -- sleep 0.1"
cap human-modifiers     "perf stat -e 'page-faults:u,page-faults:k,{minor-faults,major-faults}' -e exceptions:page_fault_user -- ./mtfault"
cap human-tool-events   "perf stat -e duration_time,user_time,system_time,faults -- ./mtfault"
cap human-verbose       "perf stat -v -e faults,page-faults -- ./mtfault"
cap human-locale-en_US  "LC_ALL=en_US.UTF-8 perf stat -e task-clock,$EV -- ./mtfault 8 16"
cap human-locale-de_DE  "LC_ALL=de_DE.UTF-8 perf stat -e task-clock,$EV -- ./mtfault 8 16"
cap human-locale-fr_FR  "LC_ALL=fr_FR.UTF-8 perf stat -e task-clock,$EV -- ./mtfault 8 16"
cap human-locale-de_CH  "LC_ALL=de_CH.UTF-8 perf stat -e task-clock,$EV -- ./mtfault 8 16"
cap human-no-big-num    "LC_ALL=en_US.UTF-8 perf stat --no-big-num -e task-clock,$EV -- ./mtfault 8 16"
cap csv-comma           "perf stat -x, -e $EV -- ./mtfault"
cap csv-semicolon       "perf stat -x';' -e $EV -- ./mtfault"
cap csv-tab             "perf stat -x'	' -e $EV -- ./mtfault"
cap csv-quote           "perf stat -x\"'\" -e $EV -- ./mtfault"
cap csv-multichar       "perf stat -x'::' -e $EV -- ./mtfault"
cap csv-r3              "perf stat -x, -r 3 -e $EV -- ./mtfault"
cap csv-default         "perf stat -x, -- ./mtfault"
cap csv-not-supported   "perf stat -x, -e cycles,instructions,$EV -- ./mtfault"
cap csv-not-counted     "perf stat -x, -D 300 -e $EV -- sleep 0.1"
cap csv-locale-de_DE    "LC_ALL=de_DE.UTF-8 perf stat -x, -e task-clock,$EV -- ./mtfault"
cap csv-semicolon-locale-de_DE "LC_ALL=de_DE.UTF-8 perf stat -x';' -e task-clock,$EV -- ./mtfault"
cap json                "perf stat -j -e $EV -- ./mtfault"
cap json-r3             "perf stat -j -r 3 -e $EV -- ./mtfault"
cap json-not-supported  "perf stat -j -e cycles,instructions,$EV -- ./mtfault"
cap json-not-counted    "perf stat -j -D 300 -e $EV -- sleep 0.1"
cap json-locale-de_DE   "LC_ALL=de_DE.UTF-8 perf stat -j -e task-clock,$EV -- ./mtfault"
cap interval-human      "perf stat -I 100 -e $EV -- ./mtfault 4 400 256"
cap interval-csv        "perf stat -I 100 -x, -e $EV -- ./mtfault 4 400 256"
cap interval-json       "perf stat -I 100 -j -e $EV -- ./mtfault 4 400 256"
cap interval-human-sleep "perf stat -I 100 -e $EV2 -- sleep 0.35"
cap interval-human-summary "perf stat -I 100 --summary -e $EV -- ./mtfault 4 400 256"
cap interval-csv-summary "perf stat -I 100 --summary -x, -e $EV -- ./mtfault 4 400 256"
cap interval-json-summary "perf stat -I 100 --summary -j -e $EV -- ./mtfault 4 400 256"
cap interval-human-long "perf stat -I 20 -e faults,page-faults -- ./mtfault 4 1200 256"
cap per-cpu-human       "perf stat -a -A -e $EV -- ./mtfault"
cap per-cpu-csv         "perf stat -a -A -x, -e $EV -- ./mtfault"
cap per-cpu-json        "perf stat -a -A -j -e $EV -- ./mtfault"
cap per-cpu-interval-human "perf stat -a -A -I 100 -e $EV -- ./mtfault 4 400 256"
cap per-cpu-interval-csv "perf stat -a -A -I 100 -x, -e $EV -- ./mtfault 4 400 256"
cap per-cpu-interval-json "perf stat -a -A -I 100 -j -e $EV -- ./mtfault 4 400 256"
cap system-wide-human   "perf stat -a -e $EV -- ./mtfault"
cap cpu-list-human      "perf stat -C 1 -e $EV -- ./mtfault"
for m in core die socket node; do
  cap per-$m-human      "perf stat -a --per-$m -e $EV -- ./mtfault"
  cap per-$m-csv        "perf stat -a --per-$m -x, -e $EV -- ./mtfault"
  cap per-$m-json       "perf stat -a --per-$m -j -e $EV -- ./mtfault"
done
cap per-core-interval-human "perf stat -a --per-core -I 100 -e $EV -- ./mtfault 4 400 256"
cap per-socket-interval-csv "perf stat -a --per-socket -I 100 -x, -e $EV -- ./mtfault 4 400 256"
cap per-thread-system-wide-human "perf stat --per-thread -a -e $EV2 -- ./mtfault"
cap per-thread-system-wide-csv "perf stat --per-thread -a -x, -e $EV2 -- ./mtfault"
cap per-thread-pid-human "./mtfault 4 3000 256 & P=\$!; sleep 0.05; perf stat --per-thread -p \$P -e $EV -- sleep 0.2; wait \$P"
cap per-thread-pid-csv   "./mtfault 4 3000 256 & P=\$!; sleep 0.05; perf stat --per-thread -p \$P -x, -e $EV -- sleep 0.2; wait \$P"
cap per-thread-pid-json  "./mtfault 4 3000 256 & P=\$!; sleep 0.05; perf stat --per-thread -p \$P -j -e $EV -- sleep 0.2; wait \$P"
cap per-thread-pid-interval-human "./mtfault 4 3000 256 & P=\$!; sleep 0.05; perf stat --per-thread -p \$P -I 100 -e $EV2 -- sleep 0.25; wait \$P"
cap pid-human           "./mtfault 4 3000 256 & P=\$!; sleep 0.05; perf stat -p \$P -e $EV -- sleep 0.2; wait \$P"
cap cgroup-human        "perf stat -a -e $EV2 -G /,/,/ -- ./mtfault"
cap cgroup-csv          "perf stat -a -x, -e $EV2 -G /,/,/ -- ./mtfault"
cap cgroup-json         "perf stat -a -j -e $EV2 -G /,/,/ -- ./mtfault"
cap output-file-o       "perf stat -o o.txt -e $EV -- ./mtfault && cat o.txt >&2"
cap output-file-o-csv   "perf stat -o o.txt -x, -e $EV -- ./mtfault && cat o.txt >&2"
cap output-file-o-json  "perf stat -o o.txt -j -e $EV -- ./mtfault && cat o.txt >&2"
cap output-file-append-2runs "rm -f a.txt; perf stat -o a.txt --append -e $EV -- ./mtfault && perf stat -o a.txt --append -x, -e $EV -- ./mtfault && cat a.txt >&2"
cap shell-loop-3blocks  "for i in 1 2 3; do perf stat -e $EV -- ./mtfault; done"
capboth mixed-workload-output "perf stat -e faults,page-faults -- sh -c 'echo workload-line-on-stdout; echo workload-line-on-stderr >&2; printf \"partial line without newline\" >&2'"
cap error-bogus-event   "perf stat -e faults,bogus_event -- true"
cap error-bogus-tracepoint "perf stat -e mmap_lock:no_such_tracepoint -- true"
cap error-command-not-found "perf stat -e faults -- /nonexistent/command"
cap error-command-fails "perf stat -e faults,page-faults -- sh -c 'exit 3'"
cap sigint-interval-human "timeout -s INT 0.35 perf stat -I 100 -e $EV2 -- sleep 5"
echo "wrote $(ls "$out" | wc -l) files to $out"
