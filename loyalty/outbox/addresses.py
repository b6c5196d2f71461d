"""Where events may be sent. A receiver is the shop's tool on the public internet: https,
or plain http to this machine's loopback (a local relay, a test). Addresses inside private
networks, link-local ranges (cloud metadata services live there) and other special ranges
are refused unless `LOYALTY_WEBHOOK_ALLOW_PRIVATE` is set, so an admin key cannot turn the
worker into a probe of the network it runs in. The check is made when an endpoint is
registered and again on every delivery, against each address the name resolves to, and the
connection goes to an address so checked (no second lookup for DNS to answer otherwise)."""
import ipaddress
import socket
from urllib.parse import urlsplit

from loyalty.errors import LoyaltyError

# Metadata services outside the link-local range (Alibaba Cloud; AWS's IPv6 one).
METADATA = (ipaddress.ip_network("100.100.100.200/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class Refused(Exception):
    """An address events may not be sent to."""


def _refusal(url, reason):
    return LoyaltyError(422, "url_not_allowed", f"Events cannot be sent to this URL: {reason}.", {"url": url[:200]})


def parse(url):
    """(scheme, host, port, path with query) of an endpoint URL; LoyaltyError 422 if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refusal(url, "it is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refusal(url, "it must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _refusal(url, "credentials in the URL are not supported; use the signature to authenticate")
    if parts.fragment:
        raise _refusal(url, "a URL with a fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def allowed(address, scheme, allow_private):
    """May an event go to this IP address over this scheme? Raises Refused with the reason."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6:
        if ip.is_site_local:
            raise Refused(f"{ip} is a site-local address")
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:       # an IPv4 address carried inside: judge that one
            ip = inner
    if ip.is_loopback:
        return
    if scheme != "https":
        raise Refused("plain http is allowed to loopback only; use https")
    if allow_private:
        return
    if any(ip in network for network in METADATA) or ip.is_link_local:
        raise Refused(f"{ip} is a link-local or metadata address")
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        raise Refused(f"{ip} is in a private or reserved range (set LOYALTY_WEBHOOK_ALLOW_PRIVATE to allow it)")


def resolve(host, port, scheme, allow_private):
    """The addresses `host` resolves to, each checked; raises Refused when any is not allowed
    (a name that also points inside the network is refused whole) or none is found."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"the host name does not resolve ({error.__class__.__name__})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for address in addresses:
        allowed(address, scheme, allow_private)
    return addresses


def check_url(url, allow_private):
    """A URL an endpoint may be registered with; LoyaltyError 422 naming the reason."""
    scheme, host, port, _ = parse(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    try:
        if literal is not None:
            allowed(host, scheme, allow_private)
        elif host.lower() == "localhost" or host.lower().endswith(".localhost"):
            allowed("127.0.0.1", scheme, allow_private)
        else:
            resolve(host, port, scheme, allow_private)
    except Refused as refused:
        raise _refusal(url, str(refused)) from None
    return url
