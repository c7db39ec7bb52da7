#!/usr/bin/env bash
# The injection sub-lab needs no server package: its responder is Python's
# standard library (asyncio, ssl). This checks that what it needs is there.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"

"$PYTHON" - <<'PY'
import ssl
import sys

if sys.version_info < (3, 11):
    sys.exit("injection/install.sh: responder.py needs Python 3.11 (StreamWriter.start_tls)")
print(f"injection/install.sh: {sys.version.split()[0]} with {ssl.OPENSSL_VERSION}: nothing to install")
PY
for tool in openssl jq; do
    command -v "$tool" >/dev/null || { echo "injection/install.sh: $tool missing (lab/install.sh installs it)" >&2; exit 1; }
done
