#!/usr/bin/env bash
# Install the peer tools that benchmarks/run.py (TLS) and benchmarks/ssh.py
# (SSH) compare protoaudit with:
#   testssl.sh, sslscan and nmap from Debian (apt); sslyze and ssh-audit from
#   PyPI, each into its own venv (benchmarks/.venv-sslyze,
#   benchmarks/.venv-ssh-audit) so that sslyze's pinned cryptography/nassl
#   never touch protoaudit's environment, nor each other's. Also the lab's
#   servers (lab/install.sh, if present, which runs lab/ssh/install.sh too) so
#   that run.py and ssh.py can start the lab, and protoaudit itself
#   (pip install -e) into the current python3 if it is not importable yet.
# Idempotent: what is already there is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
VENV="$HERE/.venv-sslyze"
SSLYZE_SPEC="${SSLYZE_SPEC:-sslyze>=6,<7}"
SSH_AUDIT_VENV="$HERE/.venv-ssh-audit"
# The latest release: ssh.py compares against what ssh-audit knows today.
SSH_AUDIT_SPEC="${SSH_AUDIT_SPEC:-ssh-audit}"

# --- Debian peers -----------------------------------------------------------
APT_PACKAGES=(testssl.sh sslscan openssl nmap)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "benchmarks/install.sh: need root for apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # A fresh image may ship with empty package lists.
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        apt-get update   # stale lists: a version vanished from the mirror
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
fi

# --- the lab's servers (nginx, gnutls-bin, ...): run.py starts the lab if it is down
if [[ -f "$ROOT/lab/install.sh" ]]; then
    bash "$ROOT/lab/install.sh"
fi

# --- sslyze in its own venv ---------------------------------------------------
if [[ ! -x "$VENV/bin/sslyze" ]]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "$SSLYZE_SPEC"
fi

# --- ssh-audit in its own venv (pure Python, no dependencies; a venv all the same,
# so that its version is the one ssh.py reports and nothing else changes it)
if [[ ! -x "$SSH_AUDIT_VENV/bin/ssh-audit" ]]; then
    "$PYTHON" -m venv "$SSH_AUDIT_VENV"
    "$SSH_AUDIT_VENV/bin/python" -m pip install --quiet --upgrade pip
    "$SSH_AUDIT_VENV/bin/python" -m pip install --quiet "$SSH_AUDIT_SPEC"
fi
# Keep the venv out of git (benchmarks/.gitignore names only .venv-sslyze).
[[ -f "$SSH_AUDIT_VENV/.gitignore" ]] || echo '*' >"$SSH_AUDIT_VENV/.gitignore"

# --- protoaudit (the tool under test) ---------------------------------------
if ! "$PYTHON" -c 'import protoaudit' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet -e "$ROOT"
fi
# ...and, for ssh.py's timings, into a venv of its own like ssh-audit's: a venv
# reads no .pth file of the base interpreter's site-packages, so both tools
# start the same way. Reinstalled every time, so that it is the code checked out.
PROTOAUDIT_VENV="$HERE/.venv-protoaudit"
[[ -x "$PROTOAUDIT_VENV/bin/python" ]] || "$PYTHON" -m venv "$PROTOAUDIT_VENV"
"$PROTOAUDIT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$ROOT"
[[ -f "$PROTOAUDIT_VENV/.gitignore" ]] || echo '*' >"$PROTOAUDIT_VENV/.gitignore"

echo "benchmarks/install.sh: peers ready:"
echo "  testssl.sh: $(dpkg-query -W -f='${Version}' testssl.sh)"
echo "  sslscan:    $(dpkg-query -W -f='${Version}' sslscan)"
echo "  sslyze:     $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("sslyze"))')"
echo "  nmap:       $(dpkg-query -W -f='${Version}' nmap)"
echo "  ssh-audit:  $("$SSH_AUDIT_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ssh-audit"))')"
echo "  protoaudit: $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("protoaudit"))' 2>/dev/null || echo '?')"
