#!/usr/bin/env bash
# Runs of bench/sectar.py that need an accelerator, in parallel processes on one GPU machine
# (e.g. one H200 + 16 cores): SeCTAR at the authors' "paper" sizes and the state MPC at the
# authors' K 2048, each stopped at the first iteration / episode past TIME_LIMIT seconds (the
# curve is scored on the steps it reached and labelled so), plus the true-dynamics oracle on the CPUs.
#
#   bench/sectar_parallel.sh OUT_DIR [TIME_LIMIT_S]
#
# Each part writes OUT_DIR/<part>.json and .log; merge them into the committed results with
#   python bench/sectar.py --methods '' --include OUT_DIR/a.json,OUT_DIR/b.json,... --merge --json-out docs/benchmarks/rl.json
# Needs only torch and numpy on the machine: gymnasium, farama_notifications, cloudpickle and safetensors
# may come in runs/gpu_deps (bench/sectar_gpu_deps.sh copies them from this checkout's .venv).
set -u
out=${1:?usage: bench/sectar_parallel.sh OUT_DIR [TIME_LIMIT_S]}
limit=${2:-300}
mkdir -p "$out"
export PYTHONPATH="src:runs/gpu_deps${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python=${PYTHON:-python3}
device=${DEVICE:-cuda}
part() {  # name, then bench/sectar.py arguments
    local name=$1
    shift
    "$python" bench/sectar.py --workers 1 --json-out "$out/$name.json" "$@" >"$out/$name.log" 2>&1 &
}
for seed in 0 1 2; do
    part "sectar_paper_waypoints_$seed" --envs zspace/Waypoints-v0 --methods sectar,skills_ppo --seeds 1 --first-seed "$seed" \
        --device "$device" --time-limit-s "$limit"
done
for env in Wheeled Blocks; do
    part "sectar_paper_${env,,}_0" --envs "zspace/$env-v0" --methods sectar,skills_ppo --seeds 1 --device "$device" --time-limit-s "$limit"
done
for env in Waypoints Wheeled Blocks; do
    part "mpc_${env,,}_0" --envs "zspace/$env-v0" --methods mpc --seeds 1 --device "$device" --time-limit-s "$limit"
    part "oracle_${env,,}" --envs "zspace/$env-v0" --methods oracle --seeds 3
done
wait
ls -l "$out"
tail -n 3 "$out"/*.log
