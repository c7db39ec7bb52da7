"""The openvpn sub-lab's targets, and their configs rendered from server.conf.in.

    python3 lab/openvpn/instances.py list          # "name proto host port device" per target
    python3 lab/openvpn/instances.py render RUN    # RUN/pki, RUN/keys, RUN/NAME/server.conf

INSTANCES is the one table of targets: start.sh renders and starts them,
ground_truth.py renders them into a scratch directory and reads the configs
back, verify.py connects a real client to each. Ports were picked clear of
lab/targets.env and the other sub-labs; the tun devices and subnets are the
lab's own (pa-ovpnN, 10.231.4N.0/24).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))

LAB_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Instance:
    name: str
    proto: str  # "udp" or "tcp"
    port: int
    device: str
    network: str  # the first three octets of its /24
    certificate: str  # a pki.CERTIFICATES key
    hmac: str | None = None  # "tls-auth" or "tls-crypt": the HMAC firewall
    extra: tuple[str, ...] = ()  # more server directives


INSTANCES = (
    Instance("ovpn-udp", "udp", 11940, "pa-ovpn0", "10.231.40", "server-rsa"),
    Instance("ovpn-tcp", "tcp", 11941, "pa-ovpn1", "10.231.41", "server-ec"),
    Instance("ovpn-tls-crypt", "udp", 11942, "pa-ovpn2", "10.231.42", "server-rsa", "tls-crypt"),
    Instance("ovpn-tls-auth", "udp", 11943, "pa-ovpn3", "10.231.43", "server-rsa", "tls-auth"),
    Instance("ovpn-tcp-tls-crypt", "tcp", 11944, "pa-ovpn4", "10.231.44", "server-ec", "tls-crypt"),
    Instance(
        "ovpn-legacy",
        "udp",
        11945,
        "pa-ovpn5",
        "10.231.45",
        "server-legacy",
        extra=("tls-version-min 1.0", "tls-cipher DEFAULT:@SECLEVEL=0"),
    ),
)
# The key files `openvpn --genkey` makes, and the directive that uses each (tls-auth:
# key direction 0 on the server, 1 on the client).
HMAC_KEYS = {"tls-auth": "ta.key", "tls-crypt": "tc.key"}


def hmac_directive(instance: Instance, run: Path, *, client: bool) -> list[str]:
    if instance.hmac is None:
        return []
    key = run / "keys" / HMAC_KEYS[instance.hmac]
    if instance.hmac == "tls-auth":
        return [f"tls-auth {key} {1 if client else 0}"]
    return [f"tls-crypt {key}"]


def render_template(template: str, instance: Instance, run: Path, extra: list[str]) -> str:
    proto = {"udp": "udp4", "tcp": "tcp4-server"}[instance.proto]
    values = {
        "@RUN@": str(run),
        "@PROTO@": proto,
        "@HOST@": LAB_HOST,
        "@PORT@": str(instance.port),
        "@DEVICE@": instance.device,
        "@NETWORK@": instance.network,
        "@CERTIFICATE@": instance.certificate,
        "@EXTRA@": "\n".join(extra),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


def server_config(instance: Instance, run: Path) -> str:
    extra = [*hmac_directive(instance, run, client=False), *instance.extra]
    return render_template((HERE / "server.conf.in").read_text(), instance, run, extra)


def client_config(instance: Instance, run: Path) -> str:
    extra = hmac_directive(instance, run, client=True)
    if "tls-cipher DEFAULT:@SECLEVEL=0" in instance.extra:
        # The legacy certificate (RSA 1024, SHA-1) is below a default client's level.
        extra += ["tls-cipher DEFAULT:@SECLEVEL=0", "tls-cert-profile insecure"]
    text = render_template((HERE / "client.conf.in").read_text(), instance, run, extra)
    return text.replace("proto tcp4-server", "proto tcp4-client")


def render(run: Path, *, keys: bool = True) -> None:
    """Configs for every instance; with `keys`, a fresh PKI and HMAC keys too."""
    if keys:
        import pki  # noqa: PLC0415 - cryptography is slow to import, and only this needs it

        pki.make(run / "pki")
        (run / "keys").mkdir(parents=True, exist_ok=True)
        for kind, file_name in HMAC_KEYS.items():
            path = run / "keys" / file_name
            path.unlink(missing_ok=True)
            subprocess.run(
                ["openvpn", "--genkey", kind, str(path)], check=True, capture_output=True
            )
            path.chmod(0o600)
    for instance in INSTANCES:
        directory = run / instance.name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "server.conf").write_text(server_config(instance, run))


def main(argv: list[str]) -> int:
    if argv[1:] == ["list"]:
        for instance in INSTANCES:
            print(instance.name, instance.proto, LAB_HOST, instance.port, instance.device)
        return 0
    if len(argv) == 3 and argv[1] == "render":
        render(Path(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
