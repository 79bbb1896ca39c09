#!/usr/bin/env bash
# `make all` (the README's main job) from a fresh clone, N times in a row, while another CPU-heavy job runs the whole
# time. Issue 9: a build must pass every time, also on a busy machine.
#
#   bash bench/make_all_repeat.sh [N=5] [WORK=/tmp/kanjiedge-make-all-repeat]
#   LOAD='kanjiedge train ...' bash bench/make_all_repeat.sh      # a job of your own as the load
#
# LOAD (a shell command) runs in the background from the first round to the last; when it ends before the rounds do,
# a one-core busy loop of numpy matrix products takes its place, so the machine is never quiet. Default LOAD: that
# busy loop. Each round clones HEAD of this repository as it is when the round starts into WORK/round-K, runs
# `make all` there with its output in WORK/round-K.log, and prints one line: round, commit, exit status, wall
# time, load average. The clone is removed after a passing round (the script made it); a failing one is kept.
# Exit status: the number of failed rounds.
set -uo pipefail
N=${1:-5}
WORK=${2:-/tmp/kanjiedge-make-all-repeat}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=$(command -v python3)
BUSY="OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $PY -c 'import numpy as n
a = n.random.rand(400, 400)
while True: a = (a @ a) / 400.0'"
if ! $PY -c "import numpy" 2>/dev/null; then
  BUSY="$PY -c 'while True: pass'"
fi
mkdir -p "$WORK"
if [ -n "$(ls -A "$WORK" 2>/dev/null | grep -v '^round-[0-9]*\.log$\|^summary\.txt$\|^load\.log$')" ]; then
  echo "make_all_repeat: $WORK holds files this script did not make; give another WORK" >&2
  exit 2
fi
# its own process group (setsid), so that everything it started is stopped with it at the end
# (LOAD runs in a shell of its own, so that an `exec` in it cannot skip the busy loop that follows)
setsid bash -c 'bash -c "$1"; echo "load command ended $(date -u +%H:%M:%S); busy loop from now on"; eval "$2"' \
  _ "${LOAD:-$BUSY}" "$BUSY" > "$WORK/load.log" 2>&1 &
LOAD_PID=$!
trap 'kill -- -$LOAD_PID 2>/dev/null' EXIT
failed=0
for k in $(seq 1 "$N"); do
  dir="$WORK/round-$k"
  git clone -q "$REPO" "$dir"
  commit=$(git -C "$dir" rev-parse --short HEAD)
  start=$(date +%s)
  (cd "$dir" && make all) > "$WORK/round-$k.log" 2>&1
  rc=$?
  wall=$(( $(date +%s) - start ))
  line="round $k/$N  commit $commit  exit $rc  $((wall / 60)) min $((wall % 60)) s  load average $(cut -d' ' -f1-3 /proc/loadavg)  $(date -u +%H:%M:%S) UTC"
  echo "$line" | tee -a "$WORK/summary.txt"
  if [ $rc -eq 0 ]; then rm -rf "$dir"; else failed=$((failed + 1)); fi
done
echo "make_all_repeat: $((N - failed)) of $N rounds passed" | tee -a "$WORK/summary.txt"
exit $failed
