//! Who sent a request: the socket's peer, or, when the peer is a proxy listed in `http.trusted_proxies`,
//! the client that proxy names in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Forwarding headers from
//! anyone else are ignored: they are whatever the sender wants them to be.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::{self, HeaderMap};
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose forwarding headers are believed: addresses and CIDR blocks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `["10.0.0.7", "172.28.0.0/24", "::1"]`; an entry that is neither an address nor a block is an error.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| format!("http.trusted_proxies: {entry:?} is not an IP address or CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether this peer's forwarding headers (client address, host name) may be believed.
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|peer| self.contains(peer))
    }

    /// The client's address: `peer`, or, when `peer` is trusted, the right-most address of the forwarding
    /// chain that is not itself a trusted proxy (the left part of the chain is the client's to write). An
    /// entry that is no address (`unknown`, an obfuscated name, garbage) ends the walk at the hop that
    /// wrote it.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.contains(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in forwarded_chain(headers).iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.contains(ip) => client = ip,
                Some(ip) => return Some(ip),
                None => return Some(client),
            }
        }
        Some(client)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `Forwarded` (its `for=` parameters) when present, else of `X-Forwarded-For`, first to last,
/// across every instance of the header.
fn forwarded_chain(headers: &HeaderMap) -> Vec<String> {
    let forwarded: Vec<String> = headers
        .get_all(header::FORWARDED)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"').to_owned())
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|hop| hop.trim().to_owned())
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(canonical(ip));
    }
    let host = match hop.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => hop.rsplit_once(':')?.0,
    };
    IpAddr::from_str(host).ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/24".into(), "::1".into()]).unwrap();
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(proxies.client_ip(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &spoofed), ip("1.2.3.4"));
        assert_eq!(TrustedProxies::default().client_ip(ip("10.0.0.5"), &spoofed), ip("10.0.0.5"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/24".into()]).unwrap();
        // The client wrote "6.6.6.6" itself; 198.51.100.7 is who connected to our first proxy.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7"), ("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &chain), ip("198.51.100.7"));
        let garbage = headers(&[("x-forwarded-for", "198.51.100.7, nonsense, 10.0.0.9")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &garbage), ip("10.0.0.9"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_its_forms_parse() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into()]).unwrap();
        let both = headers(&[
            ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https, for=192.0.2.60:80"),
            ("x-forwarded-for", "1.2.3.4"),
        ]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &both), ip("192.0.2.60"));
        let v6 = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\"")]);
        assert_eq!(proxies.client_ip(ip("::ffff:127.0.0.1"), &v6), ip("2001:db8::1"));
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
    }
}
