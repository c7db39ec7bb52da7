#!/usr/bin/env bash
# One line per socks sub-lab target: up when it answers a SOCKS 5 method
# selection as its ground truth says. Exit 1 if any target is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/socks.sh"
socks_probe status
