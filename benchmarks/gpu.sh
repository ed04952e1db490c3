#!/usr/bin/env bash
# The HB fit on a GPU with --backend jax: the 2,000-respondent scale study and a
# 50,000-respondent one (15 tasks x 4 alternatives + none x 20 parameters), each printing time,
# ESS per second and peak memory (benchmarks/jax_backend.py). Without a GPU it says so and
# exits 0. Needs jax with CUDA: pip install "jax[cuda12]" (https://docs.jax.dev/en/latest/installation.html).
#
# Run from the repository root: benchmarks/gpu.sh  (PYTHON=... to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" -c "import jax" 2>/dev/null; then
    echo "no GPU run: jax is not installed (pip install \"winback[jax]\", or jax[cuda12] for a GPU)"
    exit 0
fi
devices="$("$PYTHON" -c 'import jax; print(" ".join(d.platform for d in jax.devices()))' 2>/dev/null || true)"
case " $devices " in
    *" gpu "* | *" cuda "*) ;;
    *)
        if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
            echo "a GPU is present (nvidia-smi) but jax does not see it (devices: ${devices:-none});"
            echo "install jax with CUDA: pip install \"jax[cuda12]\". No GPU run."
        else
            echo "no GPU on this machine (jax devices: ${devices:-none}); nothing to run."
        fi
        exit 0
        ;;
esac

echo "GPU: $devices"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# XLA preallocates most of the GPU's memory by default; grow as needed, so memory is the fit's
export XLA_PYTHON_CLIENT_PREALLOCATE=false
for n in 2000 50000; do
    "$PYTHON" benchmarks/jax_backend.py --respondents "$n" --backend jax
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=memory.used --format=csv,noheader || true
done
