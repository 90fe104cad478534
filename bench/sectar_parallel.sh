#!/usr/bin/env bash
# Runs of bench/sectar.py that need an accelerator, in parallel processes on one GPU machine
# (e.g. one H200 + 16 cores): SeCTAR at the authors' "paper" sizes and the state MPC at the
# authors' K 2048, each stopped at the first iteration / episode past TIME_LIMIT seconds (the
# curve is scored on the steps it reached and labelled so).
#
#   bench/sectar_parallel.sh OUT_DIR [TIME_LIMIT_S] [SET]
#
# SET "first" (default; the device run recorded in docs/BENCHMARKS.md): SeCTAR paper seeds 0-2 on
# Waypoints and seed 0 on Wheeled and Blocks, the state MPC seed 0 on each task, and the
# true-dynamics oracle (3 seeds) on the CPUs. SET "remaining": the rows still missing from
# docs/benchmarks/sectar.json, SeCTAR paper (with RL over its skills) and the state MPC, seeds 0-2 on
# all three tasks: 18 processes, so give TIME_LIMIT_S about 60 s less than the call's limit.
#
# Each part writes OUT_DIR/<part>.json and .log; at the end every part that finished is merged into
# OUT_DIR/merged.json (one file comes back even where many would not). Merge that into the results:
#   python bench/sectar.py --methods '' --include OUT_DIR/merged.json --merge --json-out docs/benchmarks/sectar.json
# Needs only torch and numpy on the machine: gymnasium, farama_notifications, cloudpickle and safetensors
# may come in runs/gpu_deps (bench/sectar_gpu_deps.sh copies them from this checkout's .venv).
set -u
out=${1:?usage: bench/sectar_parallel.sh OUT_DIR [TIME_LIMIT_S] [first|remaining]}
limit=${2:-300}
set_name=${3:-first}
mkdir -p "$out"
export PYTHONPATH="src:runs/gpu_deps${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python=${PYTHON:-python3}
device=${DEVICE:-cuda}
part() {  # name, then bench/sectar.py arguments
    local name=$1
    shift
    "$python" bench/sectar.py --workers 1 --json-out "$out/$name.json" "$@" >"$out/$name.log" 2>&1 &
}
case $set_name in
first)
    for seed in 0 1 2; do
        part "sectar_paper_waypoints_$seed" --envs zspace/Waypoints-v0 --methods sectar,skills_ppo --seeds 1 \
            --first-seed "$seed" --device "$device" --time-limit-s "$limit"
    done
    for env in Wheeled Blocks; do
        part "sectar_paper_${env,,}_0" --envs "zspace/$env-v0" --methods sectar,skills_ppo --seeds 1 --device "$device" \
            --time-limit-s "$limit"
    done
    for env in Waypoints Wheeled Blocks; do
        part "mpc_${env,,}_0" --envs "zspace/$env-v0" --methods mpc --seeds 1 --device "$device" --time-limit-s "$limit"
        part "oracle_${env,,}" --envs "zspace/$env-v0" --methods oracle --seeds 3
    done
    ;;
remaining)
    for env in Waypoints Wheeled Blocks; do
        for seed in 0 1 2; do
            part "sectar_paper_${env,,}_$seed" --envs "zspace/$env-v0" --methods sectar,skills_ppo --seeds 1 \
                --first-seed "$seed" --device "$device" --time-limit-s "$limit"
            part "mpc_${env,,}_$seed" --envs "zspace/$env-v0" --methods mpc --seeds 1 --first-seed "$seed" \
                --device "$device" --time-limit-s "$limit"
        done
    done
    ;;
*)
    echo "SET must be first or remaining, got '$set_name'" >&2
    exit 2
    ;;
esac
wait
finished=$(find "$out" -maxdepth 1 -name '*.json' ! -name merged.json -size +0 | sort | paste -sd, -)
if [ -n "$finished" ]; then
    "$python" bench/sectar.py --methods '' --include "$finished" --json-out "$out/merged.json" >"$out/merged.log" 2>&1
fi
ls -l "$out"
tail -n 3 "$out"/*.log
