#!/usr/bin/env bash
# One line per openvpn sub-lab target (see probe.py for what "up" means).
# Exit 1 if any target is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ovpn.sh"
ovpn_probe status
