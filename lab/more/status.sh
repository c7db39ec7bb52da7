#!/usr/bin/env bash
# One line per more-lab target: up when it answers its protocol (through TLS
# for the implicit ones) and, where STARTTLS is the way in, completes the
# upgrade and a TLS handshake. Exit 1 if any target is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/more.sh"
more_probe status
