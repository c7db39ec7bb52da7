"""Write lab/injection/ground_truth.json from the responder's own settings.

    python3 lab/injection/ground_truth.py            # rewrite ground_truth.json
    python3 lab/injection/ground_truth.py --check    # exit 1 if the file is stale

Nothing is typed from memory: the SMTP facts are the constants of
responder.py (greeting, EHLO keywords before and after TLS), and its TLS
settings (minimum version, cipher string, ECDH curve) are expanded by the
TLS lab's tools (lab/ground_truth.py, imported) as the services sub-lab
does for vsftpd: `openssl ciphers -s -V -stdname` per version, then the
server-side filter for the lab's RSA leaf. TLS 1.3 suites are OpenSSL's
defaults (Python's ssl module leaves them alone). Python's `set_ecdh_curve`
calls SSL_CTX_set_tmp_ecdh, which in OpenSSL 3.0 is the whole group list,
TLS 1.3 key shares included.

`command_injection: true` is the point of this sub-lab: the responder is
vulnerable on purpose, because no packaged server still is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(HERE.parent))  # before this directory: lab/ground_truth.py is `gt`
import ground_truth as gt  # noqa: E402  (lab/ is not a package)
import responder  # noqa: E402  (found beside this file: the script's own directory)

OUT = HERE / "ground_truth.json"
CERT = "rsa"


def target() -> dict[str, Any]:
    versions = [
        v for v in gt.VERSIONS if gt.VERSIONS.index(v) >= gt.VERSIONS.index(responder.MIN_VERSION)
    ]
    cert = gt.certificate_facts([CERT])
    per_version = {}
    for version in versions:
        suites = gt.openssl_server_filter(
            gt.openssl_expand(version, responder.CIPHERS),
            set(cert["key_types"]),
            None,
            [responder.ECDH_CURVE],
        )
        if suites:
            per_version[version] = suites
    groups = {v: [responder.ECDH_CURVE] for v in per_version}
    name = "smtp-injection"
    entry = gt._target(
        name,
        responder.PORT,
        "protoaudit lab responder (Python asyncio + ssl; purpose-built, VULNERABLE on purpose)",
        per_version,
        groups,
        responder.SERVER_CIPHER_ORDER,
        cert,
        None,
        ffdhe_negotiated=False,
        notes=[
            "A purpose-built responder, not a packaged server: no Debian server still has "
            "the STARTTLS command injection flaw (CVE-2011-0411 class).",
        ],
    )
    return {
        "name": name,
        **entry,
        "protocol": "smtp",
        "tls_start": "starttls",
        "greeting": responder.GREETING,
        "starttls_offered": True,
        "plaintext_auth_before_tls": [],
        "capabilities_before": list(responder.CAPABILITIES_BEFORE),
        "capabilities_after": list(responder.CAPABILITIES_AFTER),
        "command_injection": True,
    }


def build() -> dict[str, Any]:
    return {
        "schema": 1,
        "generated_by": "lab/injection/ground_truth.py (do not edit by hand)",
        "versions_known": list(gt.VERSIONS),
        "notes": [
            "smtp-injection is a deliberately VULNERABLE responder written for this lab "
            "(lab/injection/responder.py): it answers, over TLS, a command that was sent in "
            "clear in the same packet as STARTTLS. No packaged server still has this flaw.",
            "command_injection: whether a command pipelined after STARTTLS is answered over "
            "TLS. Every other lab target (postfix, dovecot, vsftpd) is not vulnerable.",
            "capabilities_before / capabilities_after: EHLO keywords without the name line.",
        ],
        "targets": {t["name"]: t for t in [target()]},
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(
                "injection/ground_truth.json is stale: run python3 lab/injection/ground_truth.py",
                file=sys.stderr,
            )
            return 1
        print("injection/ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
