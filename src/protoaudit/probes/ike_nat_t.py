"""Does the responder answer IKE on the NAT-T port? One request, beside an audit of another port.

RFC 3948 2.2 and RFC 7296 2.23: on UDP 4500 each IKE message follows a 4-byte
zero non-ESP marker (IkeChannel adds and requires it). After the audit of
port 500 has found what the responder accepts, this sends it, on the NAT-T
port, one request it accepted there: IKEv2 IKE_SA_INIT with its first choice
(a COOKIE answered once, as in probes/ike_v2.py), or, when IKEv2 found
nothing, IKEv1 Main Mode message 1 with the first suite it picked. At most
NAT_T_PACKETS datagrams (two tries, each once more with a cookie). Silence, a
refusal or garbage there is recorded in the observation, never an error of
the audit.
"""

from __future__ import annotations

from collections.abc import Callable

from protoaudit.observations_ike import IkeNatTraversal, IkeV1MainMode, IkeV2SaInit
from protoaudit.probes.ike_transport import IkeChannel
from protoaudit.probes.ike_v1 import MainModeProber
from protoaudit.probes.ike_v1 import Stop as V1Stop
from protoaudit.probes.ike_v2 import NoProposal, V2Prober
from protoaudit.probes.ike_v2 import Stop as V2Stop
from protoaudit.proto.ike.exchanges import Offer, V1Suite
from protoaudit.proto.ike.keyexchange import can_generate
from protoaudit.registry import ike as registry

Random = Callable[[int], bytes]
NAT_T_PACKETS = 4

__all__ = ["NAT_T_PACKETS", "nat_traversal", "not_tried"]


def not_tried(port: int, why: str) -> IkeNatTraversal:
    return IkeNatTraversal(
        port=port,
        status="not-tried",
        detail=why,
        version=None,
        answers_ike=None,
        cookie_required=False,
        packets_sent=0,
    )


def _v2_offer(v2: IkeV2SaInit) -> tuple[Offer, int] | None:
    """The responder's first choice as an offer, with a group we can make a KE for."""
    first = v2.first_choice
    if v2.status != "enumerated" or first is None:
        return None
    groups = [g for g in (first.key_exchange, *v2.key_exchange) if can_generate(g)]
    if not groups:
        return None
    # Its additional key exchanges (RFC 9370), in every ADDKE type with NONE: a responder
    # that requires one refuses the offer without.
    additional = (*first.additional_key_exchanges, 0) if first.additional_key_exchanges else ()
    offer = Offer(
        encryption=((first.encryption.id, first.encryption.key_length),),
        prf=(first.prf,),
        integrity=(first.integrity,) if first.integrity else (),
        groups=(groups[0],),
        additional=tuple((kind, additional) for kind in registry.additional_key_exchange_types())
        if additional
        else (),
    )
    return offer, groups[0]


async def nat_traversal(
    channel: IkeChannel, rng: Random, v2: IkeV2SaInit, main_mode: IkeV1MainMode
) -> IkeNatTraversal:
    """What one accepted request got on `channel` (connected to the NAT-T port, with the marker)."""
    port = channel.remote_address[1]
    before = channel.packets_sent
    stop: V1Stop | V2Stop | None
    wanted = _v2_offer(v2)
    if wanted is not None:
        prober = V2Prober(channel, rng)
        choice = await prober.choose(*wanted)
        version, answered, cookie = 2, prober.answered, prober.found.cookie_required
        refused = "NO_PROPOSAL_CHOSEN to the first choice of port 500"
        stop = choice if isinstance(choice, V2Stop) else None
        no_proposal = isinstance(choice, NoProposal)
    elif main_mode.accepted:
        first = main_mode.accepted[0]
        suite = V1Suite(first.encryption, first.key_length, first.hash, first.auth, first.group)
        main = MainModeProber(channel, rng)
        answer = await main.ask([suite])
        version, answered, cookie = 1, main.found.answered, False
        refused = "NO-PROPOSAL-CHOSEN to a suite port 500 accepted"
        stop = answer if isinstance(answer, V1Stop) else None
        no_proposal = answer is None
    else:
        return not_tried(port, "neither IKE version accepted a proposal on the audited port")
    if stop is not None:
        status, detail = stop.status, stop.detail
    elif no_proposal:
        status, detail = "no-proposal", refused
    else:
        status, detail = "answered", ""
    return IkeNatTraversal(
        port=port,
        status="error" if status == "budget" else status,
        detail=detail,
        version=version,
        answers_ike=answered,
        cookie_required=cookie,
        packets_sent=channel.packets_sent - before,
    )
