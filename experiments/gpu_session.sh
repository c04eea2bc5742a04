#!/usr/bin/env bash
# One call of a device session of the replication (run from the folder that holds
# experiments/, analysis/ and corpus/). The first call on a fresh machine prepares
# the work folder, measures throughput (one process per GPU, each alone on its GPU),
# writes the plan and starts the sweep in the background (setsid, so it outlives the
# call); every call then sleeps SLEEP seconds and copies the results so far to $OUT.
#   SLEEP=500 SWEEP_SECONDS=1380 WORKERS_PER_GPU=4 bash experiments/gpu_session.sh
# PART=2 runs part 2 instead (experiments.plan part2 --rerun ${RERUN:-1}, leaving out the runs in runs_done.csv,
# with protocol 4's teachers fixed in advance) after checking that CUDA-graph replay
# trains the same models as eager mode (experiments.graph_check); the sweep replays
# graphs only if that check passes (GRAPH_CHECK=parallel: the check runs beside a sweep
# that replays graphs from the start, and stops it if it fails). ORDER=cheapest orders
# part 2 by experiments.plan.cheapest_first (protocol 2 first, then least marginal cost).
set -u
export OMP_NUM_THREADS=2 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export REPLICATION_GIT_REV=$(cat GIT_REV 2>/dev/null || echo unknown)
W=${WORK:-/root/replication}
OUT=${OUT:-/tmp/out}
SLEEP=${SLEEP:-500}
T0=$(date +%s)
mkdir -p "$W" "$OUT"
if [ ! -f "$W/started" ]; then
  mkdir -p "$W/corpus" "$W/plans" "$W/results"
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$W/gpu.txt"
  python3 -c "import torch; print('torch', torch.__version__, 'gpus', torch.cuda.device_count())" | tee -a "$W/gpu.txt"
  cp corpus/manifest.json corpus/tokenizer.json "$W/corpus/"
  python3 - "$W/corpus" <<'EOF'
import io, lzma, sys, numpy as np, pathlib
d = pathlib.Path(sys.argv[1])
for s in ("teacher", "student", "validation"):
    a = np.load(io.BytesIO(lzma.decompress(pathlib.Path("corpus", s + ".npy.xz").read_bytes())))
    np.save(d / (s + ".npy"), a)
    print(s, a.size, flush=True)
EOF
  HALF=$(python3 -c "import json; m=json.load(open('$W/corpus/manifest.json')); print(min(m['tokens']['teacher'], m['tokens']['student']))")
  if [ -n "${TINY:-}" ]; then  # CPU rehearsal of this script: tiny plan, tiny models
    python3 -m experiments.plan tiny --half-tokens "$HALF" --out "$W/plans/base.csv" | tee "$W/plan.txt"
    SWEEP_EXTRA="--n-ctx 32 --vocab 300 --eval-tokens 1024 --sanity-min-drop 0"
  elif [ "${PART:-1}" = 2 ]; then
    python3 -m experiments.plan part2 --half-tokens "$HALF" --done runs_done.csv --rerun "${RERUN:-1}" \
      --order "${ORDER:-protocol}" --out "$W/plans/part2.csv" | tee "$W/plan.txt"
    SWEEP_EXTRA="--no-p4"
  else
    python3 -m experiments.plan base --half-tokens "$HALF" --out "$W/plans/base.csv" | tee "$W/plan.txt"
    SWEEP_EXTRA=""
  fi
  if [ "${PART:-1}" = 2 ] && [ -z "${TINY:-}" ] && [ "${GRAPH_CHECK:-first}" = parallel ]; then
    # The check runs beside the sweep, which replays graphs from the start: the check's
    # speeds are then measured under load, but its losses are not. A check that fails
    # stops the sweep (its graph-replayed runs are then void); one that does not finish
    # is recorded as such.
    SWEEP_EXTRA="$SWEEP_EXTRA --cuda-graph"
    setsid nohup bash -c "CUDA_VISIBLE_DEVICES=0 timeout 550 python3 -m experiments.graph_check --corpus '$W/corpus' \
        --out '$W/graph_check.json' > '$W/graph_check.txt' 2>&1
      if [ ! -f '$W/graph_check.json' ]; then echo 'graph check did not finish' >> '$W/graph_check.txt'
      elif ! python3 -c \"import json,sys; sys.exit(0 if json.load(open('$W/graph_check.json'))['use_cuda_graph'] else 1)\"; then
        echo 'graph check FAILED: sweep stopped' >> '$W/graph_check.txt'; pkill -f 'experiments.sweep'; fi" \
      > /dev/null 2>&1 < /dev/null &
    echo "sweep options: $SWEEP_EXTRA (graph check in parallel)"
  elif [ "${PART:-1}" = 2 ] && [ -z "${TINY:-}" ]; then
    CUDA_VISIBLE_DEVICES=0 timeout 200 python3 -m experiments.graph_check --corpus "$W/corpus" \
      --out "$W/graph_check.json" 2>&1 | tee "$W/graph_check.txt"
    if python3 -c "import json,sys; sys.exit(0 if json.load(open('$W/graph_check.json'))['use_cuda_graph'] else 1)" 2>/dev/null; then
      SWEEP_EXTRA="$SWEEP_EXTRA --cuda-graph"
    fi
    echo "sweep options: $SWEEP_EXTRA"
  fi
  NG=$(python3 -c "import torch; print(torch.cuda.device_count())")
  TP="$W/throughput"; mkdir -p "$TP"
  run_tp() { CUDA_VISIBLE_DEVICES=$1 timeout 240 python3 -m experiments.throughput --out "$TP/tp$1.csv" "${@:2}" > "$TP/log$1.txt" 2>&1; }
  if [ -n "${SKIP_THROUGHPUT:-}" ]; then
    echo "throughput: measured in an earlier session"
  elif [ -n "${TINY:-}" ]; then
    run_tp 0 --layers 1 --batch-seqs 2 --steps 2 --warmup 1 --n-ctx 32
  elif [ "$NG" -ge 4 ]; then
    run_tp 0 --layers 2 3 4 5 --batch-seqs 8 64 &
    run_tp 1 --layers 6 7 8 9 --batch-seqs 8 64 &
    run_tp 2 --layers 10 12 16 --batch-seqs 64 256 &
    run_tp 3 --layers 3 9 16 --batch-seqs 64 --compile --warmup 5 --steps 20 &
    wait
  else
    run_tp 0 --layers 2 4 6 9 16 --batch-seqs 8 64 256
  fi
  python3 - "$TP" "$W/throughput.csv" <<'EOF'
import csv, glob, sys
rows = []
for p in sorted(glob.glob(sys.argv[1] + "/tp*.csv")):
    rows += list(csv.DictReader(open(p)))
if rows:
    with open(sys.argv[2], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
EOF
  cat "$TP"/log*.txt
  DEADLINE=$(( T0 + ${SWEEP_SECONDS:-1380} ))
  echo "$DEADLINE" > "$W/deadline"
  setsid nohup python3 -m experiments.sweep run --plan-dir "$W/plans" --corpus "$W/corpus" \
    --results "$W/results" --workers-per-gpu "${WORKERS_PER_GPU:-4}" --deadline "$DEADLINE" $SWEEP_EXTRA \
    > "$W/sweep.log" 2>&1 < /dev/null &
  touch "$W/started"
  echo "sweep started at $(date -u), deadline $(date -u -d @$DEADLINE)"
fi
collect() {
  cp "$W/results/runs.csv" "$OUT/runs.csv" 2>/dev/null
  cp "$W/throughput.csv" "$OUT/throughput.csv" 2>/dev/null
  cp "$W/results/sanity.json" "$OUT/sanity.json" 2>/dev/null
  cp "$W/plans/p4.csv" "$OUT/p4.csv" 2>/dev/null
  cp "$W/plans/base.csv" "$OUT/base_plan.csv" 2>/dev/null
  cp "$W/plans/part2.csv" "$OUT/part2_plan.csv" 2>/dev/null
  cp "$W/graph_check.json" "$OUT/graph_check.json" 2>/dev/null
  (cat "$W/gpu.txt" "$W/plan.txt" "$W/graph_check.txt" "$W/sweep.log"; for f in "$W"/results/failed/*; do [ -f "$f" ] && { echo "== $f"; tail -5 "$f"; }; done; \
   for f in "$W"/results/logs/*.log; do echo "== $f"; tail -3 "$f"; done; nvidia-smi) > "$OUT/session.log" 2>&1
}
END=$(( T0 + SLEEP ))
while [ "$(date +%s)" -lt "$END" ]; do
  sleep 20
  collect
  if ! pgrep -f "experiments.sweep run" > /dev/null; then echo "sweep finished"; break; fi
done
collect
python3 - "$W" <<'EOF'
import csv, sys, pathlib, collections
W = pathlib.Path(sys.argv[1])
p = W / "results" / "runs.csv"
rows = list(csv.DictReader(open(p))) if p.exists() else []
c = collections.Counter(t for r in rows for t in r["protocol"].split("+"))
print(len(rows), "runs;", dict(c))
print("failed:", len(list((W / "results" / "failed").glob("*"))))
lad = sorted((int(r["N"]), float(r["val_ce"]), float(r["tokens_per_s"])) for r in rows if "ladder" in r["protocol"])
for n, l, t in lad: print(f"ladder N={n} val_ce={l:.4f} tok/s={t:.3g}")
EOF
