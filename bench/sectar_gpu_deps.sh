#!/usr/bin/env bash
# Copy the pure-Python (and abi3) packages bench/sectar.py needs besides torch and numpy from this
# checkout's .venv into runs/gpu_deps, for a machine that has only torch (see bench/sectar_parallel.sh).
set -eu
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf runs/gpu_deps
mkdir -p runs/gpu_deps
for pkg in gymnasium farama_notifications cloudpickle safetensors typing_extensions.py; do
    cp -r "$site/$pkg" runs/gpu_deps/
done
find runs/gpu_deps -name __pycache__ -prune -exec rm -rf {} +
du -sh runs/gpu_deps
