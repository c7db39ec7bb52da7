"""SSH_MSG_KEXINIT (RFC 4253 7.1).

    byte         SSH_MSG_KEXINIT
    byte[16]     cookie (random bytes)
    name-list    kex_algorithms
    name-list    server_host_key_algorithms
    name-list    encryption_algorithms_client_to_server
    name-list    encryption_algorithms_server_to_client
    name-list    mac_algorithms_client_to_server
    name-list    mac_algorithms_server_to_client
    name-list    compression_algorithms_client_to_server
    name-list    compression_algorithms_server_to_client
    name-list    languages_client_to_server
    name-list    languages_server_to_client
    boolean      first_kex_packet_follows
    uint32       0 (reserved for future extension)

Decoding refuses a name-list that overruns the packet, more than MAX_NAMES
names in a list, an empty or over-long name, a name that is not printable
US-ASCII or holds a comma (RFC 4251 5 and 6), and bytes after `reserved`.
"""

from __future__ import annotations

from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL, MessageNumber
from protoaudit.proto.ssh.encoding import (
    MAX_NAMES,
    read_boolean,
    read_name_list,
    write_boolean,
    write_name_list,
)
from protoaudit.wire import Reader, Writer

COOKIE_LENGTH = 16
NAME_LIST_FIELDS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)


@dataclass(frozen=True, slots=True)
class KexInit:
    cookie: bytes
    kex_algorithms: tuple[str, ...]
    server_host_key_algorithms: tuple[str, ...]
    encryption_algorithms_client_to_server: tuple[str, ...]
    encryption_algorithms_server_to_client: tuple[str, ...]
    mac_algorithms_client_to_server: tuple[str, ...]
    mac_algorithms_server_to_client: tuple[str, ...]
    compression_algorithms_client_to_server: tuple[str, ...]
    compression_algorithms_server_to_client: tuple[str, ...]
    languages_client_to_server: tuple[str, ...] = ()
    languages_server_to_client: tuple[str, ...] = ()
    first_kex_packet_follows: bool = False
    reserved: int = 0

    def name_lists(self) -> tuple[tuple[str, ...], ...]:
        """The ten name-lists in wire order (NAME_LIST_FIELDS)."""
        return tuple(getattr(self, name) for name in NAME_LIST_FIELDS)

    def encode(self) -> bytes:
        """The payload, message number first."""
        writer = Writer().u8(MessageNumber.KEXINIT).raw(self.cookie)
        for names in self.name_lists():
            write_name_list(writer, names)
        write_boolean(writer, self.first_kex_packet_follows)
        return writer.u32(self.reserved).getvalue()

    @classmethod
    def decode(cls, payload: bytes, *, max_names: int = MAX_NAMES) -> KexInit:
        reader = Reader(payload, PROTOCOL)
        message_number = reader.u8("kexinit.message_number")
        if message_number != MessageNumber.KEXINIT:
            raise DecodeError(
                PROTOCOL, "kexinit.message_number", 0, f"message {message_number}, not KEXINIT"
            )
        cookie = reader.bytes(COOKIE_LENGTH, "kexinit.cookie")

        def names(field: str) -> tuple[str, ...]:
            return read_name_list(reader, f"kexinit.{field}", max_names=max_names)

        kex = names("kex_algorithms")
        host_key = names("server_host_key_algorithms")
        encryption = names(NAME_LIST_FIELDS[2]), names(NAME_LIST_FIELDS[3])
        mac = names(NAME_LIST_FIELDS[4]), names(NAME_LIST_FIELDS[5])
        compression = names(NAME_LIST_FIELDS[6]), names(NAME_LIST_FIELDS[7])
        languages = names(NAME_LIST_FIELDS[8]), names(NAME_LIST_FIELDS[9])
        first_kex_packet_follows = read_boolean(reader, "kexinit.first_kex_packet_follows")
        reserved = reader.u32("kexinit.reserved")
        reader.expect_end("kexinit")
        return cls(
            cookie=cookie,
            kex_algorithms=kex,
            server_host_key_algorithms=host_key,
            encryption_algorithms_client_to_server=encryption[0],
            encryption_algorithms_server_to_client=encryption[1],
            mac_algorithms_client_to_server=mac[0],
            mac_algorithms_server_to_client=mac[1],
            compression_algorithms_client_to_server=compression[0],
            compression_algorithms_server_to_client=compression[1],
            languages_client_to_server=languages[0],
            languages_server_to_client=languages[1],
            first_kex_packet_follows=first_kex_packet_follows,
            reserved=reserved,
        )
