#!/usr/bin/env bash
# The bench-only venv of the dlt side of bench/ingest_throughput.py: dlt loading Arrow tables as
# parquet through ADBC into Postgres (dlt's fastest Postgres configuration). NOT a project
# dependency: it lives in bench/dlt-venv (git-ignored), apart from .venv and requirements.lock.
#     bash bench/setup_dlt_venv.sh        # idempotent; re-creates the venv when the pins change
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/dlt-venv"
# pinned: a re-run of the bench compares with the same peer
pins=(
  "dlt[postgres,parquet]==1.31.0"
  "adbc-driver-postgresql==1.13.0"
  "adbc-driver-manager==1.13.0"
  "pyarrow==26.0.1"
)
stamp="$venv/.pins"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  echo "bench/dlt-venv up to date"; exit 0
fi
python="${PYTHON:-$(cd "$here/.." && .venv/bin/python -c 'import sys; print(sys.base_prefix)')/bin/python3}"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet "${pins[@]}"
echo "${pins[*]}" > "$stamp"
"$venv/bin/python" -c "import dlt, adbc_driver_postgresql; print('dlt', dlt.__version__, 'in bench/dlt-venv')"
