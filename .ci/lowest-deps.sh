#!/usr/bin/env bash
# The test suite on the lowest versions of the dependencies that pyproject.toml allows.
#
# Every `>=X.Y` floor of the run-time dependencies and of the plot extra becomes a pin `==X.Y.*`
# in a fresh virtual environment (.venv-lowest, rebuilt each time), minigrad is installed into it
# without its dependencies, and the suite runs there. A floor that is not true fails here.
# Usage: bash .ci/lowest-deps.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-lowest
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
pins=$("$PYTHON" - <<'PY'
import re, tomllib
with open("pyproject.toml", "rb") as handle:
    project = tomllib.load(handle)["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["plot"]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=(\d+)\.(\d+)(\.\d+)*", requirement)
    if match is None:
        raise SystemExit(f"cannot pin {requirement!r}: expected a floor NAME>=X.Y")
    print(f"{match[1]}=={match[2]}.{match[3]}.*")
PY
)
echo "lowest versions: $(echo $pins)"
"$VENV/bin/pip" install --quiet $pins 'pytest>=7' 'hypothesis>=6' 'build>=1' 'selenium>=4.11' \
    'nbclient>=0.7' 'ipykernel>=6.20'
"$VENV/bin/pip" install --quiet --no-deps -e .
"$VENV/bin/pip" list 2>/dev/null | grep -iE '^(numpy|graphviz|matplotlib|tqdm) '
# This venv has no mpi extra (its floors are those of the main venv, which `make test` runs with
# the MPI tests); they skip here, saying so.
export MINIGRAD_SKIP_MPI="the lowest-deps venv installs no mpi extra; the main suite runs this"
"$VENV/bin/python" -m pytest "$@"
