//! The client's address: the TCP peer, or, only when that peer is a trusted
//! proxy, the rightmost hop of `X-Forwarded-For` that is not itself trusted.
//! One middleware computes it per request; audit rows and per-address limits
//! read it through `context::client_address`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// A network whose hosts may tell us the client's address (`--trusted-proxy`):
/// a CIDR (`10.0.0.0/8`) or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(pub IpNet);

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        match s.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                IpNet::new(ip, bits)
                    .map(Self)
                    .map_err(|e| format!("`{s}`: {e}"))
            }
            Err(_) => Err(format!(
                "`{s}` is neither an address nor a CIDR (e.g. 10.0.0.0/8 or 192.0.2.7)"
            )),
        }
    }
}

impl std::fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client address of this request, as the middleware decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client behind `peer`. A header from an untrusted peer is ignored
/// (anyone can write one); behind trusted proxies the chain is read from the
/// right (each proxy appends the address it saw) up to the first hop we do not
/// trust. An unreadable hop ends the walk at the last hop that was readable.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut values = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(v) => values.push(v),
            Err(_) => return peer,
        }
    }
    let mut client = peer;
    for hop in values.iter().flat_map(|v| v.split(',')).rev() {
        match parse_hop(hop.trim()) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    return ip;
                }
            }
            None => return client,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port or brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// Middleware: puts the request's [`ClientIp`] in its extensions.
pub async fn client_address_layer(
    State(trusted): State<Arc<[IpNet]>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = client_ip(peer.ip(), req.headers(), &trusted);
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| s.parse::<TrustedProxy>().unwrap().0)
            .collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_client() {
        let h = xff(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.4"), &h, &[]), ip("198.51.100.4"));
        assert_eq!(
            client_ip(ip("198.51.100.4"), &h, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.7"]);
        // The client forged the first entry; the proxies appended the rest.
        let h = xff(&["1.1.1.1, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        // Every hop trusted: the leftmost.
        let h = xff(&["10.9.9.9, 192.0.2.7"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.9.9.9"));
        // Garbage stops the walk at the last readable hop.
        let h = xff(&["203.0.113.9, not-an-ip, 10.4.4.4"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("10.4.4.4"));
        // Ports, brackets and IPv4-mapped IPv6 peers.
        let h = xff(&["[2001:db8::1]:4711"]);
        assert_eq!(
            client_ip(ip("::ffff:10.1.2.3"), &h, &trusted),
            ip("2001:db8::1")
        );
        let h = xff(&["203.0.113.9:55000"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn trusted_proxies_parse_as_cidrs_or_addresses() {
        assert_eq!(
            "10.1.2.3/8".parse::<TrustedProxy>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            "192.0.2.7".parse::<TrustedProxy>().unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            "::1".parse::<TrustedProxy>().unwrap().to_string(),
            "::1/128"
        );
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.example".parse::<TrustedProxy>().is_err());
    }
}
