#!/usr/bin/env bash
# Install what the tests need (Debian packages, the package with its test extras),
# start the lab's real servers on loopback, run the whole suite, stop the lab.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash lab/install.sh
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

bash lab/start.sh
trap 'bash lab/stop.sh' EXIT

ruff check src tests lab benchmarks
mypy
status=0
python3 -m pytest "$@" || status=$?
# pytest exits 5 when it collected no test: for us that is a failure, not a pass.
if [ "$status" -eq 5 ]; then
    echo "tests/run.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
