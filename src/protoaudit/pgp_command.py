"""What `protoaudit pgp FILE|-` and the `openpgpkey:user@example.com` target run.

`audit_key_file` reads key bytes the user handed over; `audit_openpgpkey` finds the key
published for an address (DNS OPENPGPKEY with DNSSEC, and the Web Key Directory URLs,
fetched only when allowed) and reads it the same way. Both return observations for the
policy (`policy.pgp_rules.PGP_RULES`) and the reports (`report.terminal_pgp.pgp_tables`).
Unusable input is a PgpInputError with a one-line message; a published key that cannot be
read is recorded (OpenPgpKeyRecord.problem, WkdFetch.error), not raised.
"""

from __future__ import annotations

from datetime import datetime

from protoaudit.observations import Observation
from protoaudit.observations_pgp import OpenPgpKeyRecord, WkdFetch, WkdLookup
from protoaudit.pgp.reader import MAX_INPUT_BYTES, PgpInputError, read_keys
from protoaudit.probes.dnssec_settings import ValidationSettings
from protoaudit.probes.openpgpkey import (
    AddressError,
    fetch_wkd,
    lookup_openpgpkey,
    split_address,
    wkd_urls,
)

__all__ = ["MAX_INPUT_BYTES", "PgpInputError", "audit_key_file", "audit_openpgpkey"]


def audit_key_file(data: bytes, *, now: datetime, name: str = "-") -> list[Observation]:
    """A key file's (or standard input's) observations: its PgpSource, then each PgpKey.

    `now` decides which signatures are current and is recorded for judging expiry. Raises
    PgpInputError (one line) when the bytes are not a key protoaudit can read.
    """
    source, keys = read_keys(data, now=now, origin="file", name=name)
    return [source, *keys]


def _published(
    data: bytes, *, now: datetime, origin: str, name: str, address: str
) -> tuple[list[Observation], str | None]:
    try:
        source, keys = read_keys(data, now=now, origin=origin, name=name, address=address)
    except PgpInputError as error:
        return [], str(error)
    return [source, *keys], None


async def _wkd(
    address: str, *, timeout: float, now: datetime, fetch: bool, base: str | None
) -> list[Observation]:
    urls = wkd_urls(address)
    fetches: list[WkdFetch] = []
    found: list[Observation] = []
    if fetch:
        for method, computed in (("advanced", urls.advanced), ("direct", urls.direct)):
            url = computed
            if base is not None:
                path = computed.split("/", 3)[3]  # "https:", "", host, path
                url = f"{base.rstrip('/')}/{path}"
            response = await fetch_wkd(url, timeout=timeout, deadline=max(timeout * 4, 5.0))
            error, read = response.error, False
            if response.body is not None and response.status == 200:
                observations, error = _published(
                    response.body, now=now, origin="wkd", name=url, address=address
                )
                found += observations
                read = bool(observations)
            size = len(response.body) if response.body is not None else 0
            fetches.append(
                WkdFetch(method, url, response.status, response.content_type, size, error, read)
            )
            if read:
                break  # the advanced method answered; the direct one is only a fallback
    lookup = WkdLookup(
        address=address,
        local_part=urls.local_part,
        domain=urls.domain,
        hashed_local_part=urls.hashed,
        advanced_url=urls.advanced,
        direct_url=urls.direct,
        fetched=fetch,
        fetches=tuple(fetches),
    )
    return [lookup, *found]


async def audit_openpgpkey(
    address: str,
    settings: ValidationSettings,
    *,
    timeout: float,
    now: datetime,
    fetch_wkd: bool = False,
    port: int = 53,
    deadline: float = 20.0,
    loopback_only: bool = False,
    wkd_base: str | None = None,
) -> list[Observation]:
    """The key published for `address`: OpenPgpKeyRecord, its DnssecStatus, the key read
    from the record (PgpSource, PgpKey…), then WkdLookup (and what it fetched).

    `settings` says where DNSSEC validation asks and what it trusts; `port` and
    `loopback_only` are for test and lab servers, as in `validate_name`. WKD URLs are
    fetched only when `fetch_wkd` is true; `wkd_base` (tests, mirrors) replaces their
    scheme and host. Raises PgpInputError only for an address that is not one.
    """
    try:
        split_address(address)
    except AddressError as error:
        raise PgpInputError(f"openpgpkey: {error}") from None
    answer = await lookup_openpgpkey(
        address,
        server=settings.server,
        root_servers=settings.root_servers,
        trust_anchors=settings.trust_anchors,
        port=port,
        timeout=timeout,
        deadline=deadline,
        now=now,
        loopback_only=loopback_only,
    )
    keys: list[Observation] = []
    problems = [answer.problem] if answer.problem else []
    for index, data in enumerate(answer.keys):
        name = answer.owner if len(answer.keys) == 1 else f"{answer.owner} (record {index + 1})"
        observations, problem = _published(
            data, now=now, origin="openpgpkey", name=name, address=address
        )
        keys += observations
        if problem is not None:
            problems.append(f"record {index + 1}: {problem}")
    status = answer.status
    record = OpenPgpKeyRecord(
        address=address,
        owner=answer.owner,
        dnssec_status=status.status,
        dnssec_reason=status.reason,
        authenticated=answer.authenticated and bool(keys),
        rcode=status.rcode,
        records=len(answer.keys) or len(status.answer),
        record_sizes=tuple(len(data) for data in answer.keys),
        problem="; ".join(problems)[:500] or None,
        detail=status.detail[:300],
    )
    wkd = await _wkd(address, timeout=timeout, now=now, fetch=fetch_wkd, base=wkd_base)
    return [record, status, *keys, *wkd]
