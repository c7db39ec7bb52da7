#!/usr/bin/env bash
# One line per ssh sub-lab target: up when it answers its protocol (SSH
# identification line; telnet option negotiation; the r-services' replies to
# their probes). Exit 1 if any target is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ssh.sh"
ssh_probe status
