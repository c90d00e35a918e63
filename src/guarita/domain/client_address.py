"""The client address that per-IP rate limits count (SECURITY.md › Throttling).

An IPv6 subscriber gets a whole /64 (RFC 6177 §3; RIPE-690 §4.2), and any address inside it is
theirs to use: counting the full /128 would give one attacker 2^64 fresh limits. IPv6 is
therefore keyed on its /64 network; IPv4 (and IPv4 mapped into IPv6) on the address itself.
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def rate_limit_key(ip: str) -> str:
    """``203.0.113.7`` → itself; ``2001:db8:1:2:a:b:c:d`` → ``2001:db8:1:2::/64``.

    Something that is not an address (a proxy that sends a name) is counted as given.
    """
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
