import pytest

from protoaudit.proto.starttls import guess_from_greeting


@pytest.mark.parametrize(
    ("greeting", "service"),
    [
        (b"220 localhost ESMTP Postfix\r\n", "smtp"),
        (b"220-mx.example.com ESMTP Exim 4.96\r\n220 ok\r\n", "smtp"),
        (b"220 localhost LMTP Dovecot ready\r\n", "lmtp"),
        (b"220 (vsFTPd 3.0.3)\r\n", "ftp"),
        (b"220 ProFTPD Server (Debian) [127.0.0.1]\r\n", "ftp"),
        (b"+OK Dovecot (Debian) ready.\r\n", "pop3"),
        (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n", "imap"),
        (b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n', "sieve"),
        (b"200 news.example.com InterNetNews NNRP server INN 2.7 ready\r\n", "nntp"),
        (b"\x5b\x00\x00\x00\x0a10.11.6-MariaDB\x00", "mysql"),
    ],
)
def test_known_greetings(greeting: bytes, service: str) -> None:
    assert guess_from_greeting(greeting) == service


@pytest.mark.parametrize(
    "greeting",
    [
        b"",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"HTTP/1.1 400 Bad Request\r\n",
        b"220 hello\r\n",
        b"\x16\x03",
    ],
)
def test_unknown_or_ambiguous_greetings_are_not_guessed(greeting: bytes) -> None:
    assert guess_from_greeting(greeting) is None
