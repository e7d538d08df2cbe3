//! Where webhooks may be sent. An operator's URL makes this server send requests from
//! inside the authority's network, so a URL naming (or resolving to) a private,
//! loopback or link-local address would let anyone who can register an endpoint
//! reach internal services. The rule is checked when the endpoint is registered and
//! again, after resolving its host, before every delivery pass; the connection then
//! goes to the addresses that were checked, so a DNS answer that changes in between
//! (rebinding) is never used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use examfee_shared::Rule;
use reqwest::Url;

/// What a deployment allows as a webhook target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Production: only `https://`, so events (personal data, signed) are never sent
    /// in the clear.
    pub require_https: bool,
    /// Tests and local demos deliver to receivers on 127.0.0.1; never in production.
    pub allow_private: bool,
}

impl TargetPolicy {
    pub fn for_deployment(production: bool, allow_private: bool) -> TargetPolicy {
        TargetPolicy {
            require_https: production,
            allow_private: allow_private && !production,
        }
    }
}

/// The kinds of refusal, each an API error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invalid,
    NotHttps,
    PrivateAddress,
    Unresolvable,
}

impl Rule for Refusal {
    fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid => "url_invalid",
            Refusal::NotHttps => "url_not_https",
            Refusal::PrivateAddress => "url_private_address",
            Refusal::Unresolvable => "url_unresolvable",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self {
            Refusal::Invalid => "回调地址须为有效的 http(s) 地址，且不含用户名或密码",
            Refusal::NotHttps => "生产环境的回调地址须为 https 地址",
            Refusal::PrivateAddress => "回调地址不得指向内网、本机、链路本地等内部地址",
            Refusal::Unresolvable => "回调地址的主机名无法解析",
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            Refusal::Invalid => "The URL must be a valid http(s) URL without credentials.",
            Refusal::NotHttps => "In production the URL must be an https:// URL.",
            Refusal::PrivateAddress => {
                "The URL must not reach a private, loopback, link-local or other internal address."
            }
            Refusal::Unresolvable => "The URL's host name does not resolve.",
        }
    }
}

/// Why a URL is not a webhook target: the kind, and the particulars for the log and
/// the delivery's `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct TargetRefused {
    pub kind: Refusal,
    pub detail: String,
}

impl TargetRefused {
    fn new(kind: Refusal, detail: impl Into<String>) -> TargetRefused {
        TargetRefused {
            kind,
            detail: detail.into(),
        }
    }
}

/// A checked URL: its scheme, host and port are acceptable under the policy.
#[derive(Debug, Clone)]
pub struct TargetUrl {
    url: Url,
}

impl TargetUrl {
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host: an address literal, or a name to resolve. The URL parser has already
    /// normalised literals (`0x7f.1` is `127.0.0.1`), and brackets only ever
    /// surround an IPv6 literal.
    fn host(&self) -> Option<Host> {
        let host = self.url.host_str()?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Some(match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Address(ip),
            Err(_) => Host::Name(host.to_owned()),
        })
    }
}

enum Host {
    Address(IpAddr),
    Name(String),
}

pub const URL_MAX_CHARS: usize = 2000;

/// Checks what can be checked without the network: scheme, length, no credentials
/// in the URL, and an address literal against the address rule.
pub fn check_url(policy: TargetPolicy, raw: &str) -> Result<TargetUrl, TargetRefused> {
    let raw = raw.trim();
    if raw.chars().count() > URL_MAX_CHARS {
        return Err(TargetRefused::new(Refusal::Invalid, "the URL is too long"));
    }
    let url = Url::parse(raw)
        .map_err(|e| TargetRefused::new(Refusal::Invalid, format!("not a URL: {e}")))?;
    match (url.scheme(), policy.require_https) {
        ("https", _) | ("http", false) => {}
        ("http", true) => {
            return Err(TargetRefused::new(
                Refusal::NotHttps,
                "production sends webhooks only to https:// URLs",
            ));
        }
        (other, _) => {
            return Err(TargetRefused::new(
                Refusal::Invalid,
                format!("the scheme {other} is not http(s)"),
            ));
        }
    }
    // The shared secret signs the events; a password in the URL would be one more
    // secret stored and shown in the clear.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetRefused::new(
            Refusal::Invalid,
            "the URL carries credentials",
        ));
    }
    let target = TargetUrl { url };
    match target.host() {
        None => Err(TargetRefused::new(Refusal::Invalid, "the URL has no host")),
        Some(Host::Address(ip)) => check_address(policy, ip).map(|()| target),
        Some(Host::Name(_)) => Ok(target),
    }
}

fn check_address(policy: TargetPolicy, ip: IpAddr) -> Result<(), TargetRefused> {
    if !policy.allow_private && is_forbidden(ip) {
        return Err(TargetRefused::new(
            Refusal::PrivateAddress,
            format!("{ip} is a private, loopback, link-local or otherwise internal address"),
        ));
    }
    Ok(())
}

/// Answers a host name's addresses; the system resolver in the server, a table in
/// tests.
pub trait HostLookup: Send + Sync {
    fn lookup(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = std::io::Result<Vec<SocketAddr>>> + Send;
}

/// The operating system's resolver.
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// A target ready to be posted to: the URL, and for a host name the addresses it
/// resolved to, every one of them checked.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    url: TargetUrl,
    pinned: Option<(String, Vec<SocketAddr>)>,
}

impl ResolvedTarget {
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// A client that connects only to the checked addresses, follows no redirect (a
    /// 3xx could point anywhere, and counts as a failed delivery), uses no proxy (a
    /// proxy would resolve the name again), and gives up after `timeout`.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout);
        match &self.pinned {
            Some((host, addrs)) => builder.resolve_to_addrs(host, addrs),
            None => builder,
        }
        .build()
    }
}

/// Resolves the URL's host and checks every address it answers: one internal
/// address among public ones is refused too, as the client could pick it.
pub async fn resolve(
    policy: TargetPolicy,
    url: TargetUrl,
    lookup: &impl HostLookup,
) -> Result<ResolvedTarget, TargetRefused> {
    let host = match url.host() {
        Some(Host::Name(host)) => host,
        // Address literals were checked with the URL; nothing to resolve.
        Some(Host::Address(_)) => {
            return Ok(ResolvedTarget { url, pinned: None });
        }
        None => return Err(TargetRefused::new(Refusal::Invalid, "the URL has no host")),
    };
    let port = url
        .url
        .port_or_known_default()
        .ok_or_else(|| TargetRefused::new(Refusal::Invalid, "the URL has no port"))?;
    let addrs = lookup.lookup(&host, port).await.map_err(|e| {
        TargetRefused::new(
            Refusal::Unresolvable,
            format!("{host} does not resolve: {e}"),
        )
    })?;
    if addrs.is_empty() {
        return Err(TargetRefused::new(
            Refusal::Unresolvable,
            format!("{host} has no address"),
        ));
    }
    for addr in &addrs {
        check_address(policy, addr.ip()).map_err(|e| TargetRefused {
            detail: format!("{host} resolves to {}", e.detail),
            ..e
        })?;
    }
    Ok(ResolvedTarget {
        url,
        pinned: Some((host, addrs)),
    })
}

/// Whether an address is inside some network rather than on the internet: private,
/// loopback, link-local, unspecified, multicast, broadcast, reserved, carrier-grade
/// NAT, unique-local; and IPv6 forms that carry such an IPv4 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        // 0.0.0.0/8 "this network": Linux connects 0.x.y.z to the local host.
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT: another operator's private space.
        || (a == 100 && (b & 0b1100_0000) == 64)
        // 192.0.0.0/24, IETF protocol assignments; 198.18.0.0/15, benchmarking.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b & 0xfe) == 18)
        // 240.0.0.0/4, reserved.
        || a >= 240
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7, unique local.
        || (segments[0] & 0xfe00) == 0xfc00
        // fe80::/10, link-local; fec0::/10, the deprecated site-local.
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
}

/// The IPv4 address an IPv6 address stands for, where one is routed to it: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        // `::` and `::1` are themselves (unspecified, loopback), not IPv4 forms.
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            (hi & 0xff) as u8,
            (lo >> 8) as u8,
            (lo & 0xff) as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        require_https: true,
        allow_private: false,
    };

    #[test]
    fn internal_addresses_are_forbidden_and_public_ones_not() {
        let forbidden = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
        ];
        for ip in forbidden {
            assert!(
                is_forbidden(ip.parse().unwrap()),
                "{ip} should be forbidden"
            );
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.254",
            "2001:4860:4860::8888",
            "2400:3200::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in public {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} should be allowed");
        }
    }

    #[test]
    fn production_takes_https_only_and_never_private_addresses() {
        let production = TargetPolicy::for_deployment(true, true);
        assert_eq!(production, STRICT);
        let err = check_url(production, "http://hooks.example/events").unwrap_err();
        assert_eq!(err.kind, Refusal::NotHttps);
        assert!(check_url(production, "https://hooks.example/events").is_ok());
        let err = check_url(production, "https://127.0.0.1/events").unwrap_err();
        assert_eq!(err.kind, Refusal::PrivateAddress);
        let err = check_url(production, "https://[::ffff:7f00:1]/events").unwrap_err();
        assert_eq!(err.kind, Refusal::PrivateAddress);
        // Outside production plain http is taken, private targets only when asked.
        let staging = TargetPolicy::for_deployment(false, false);
        assert!(check_url(staging, "http://hooks.example/events").is_ok());
        let err = check_url(staging, "http://10.0.0.5/events").unwrap_err();
        assert_eq!(err.kind, Refusal::PrivateAddress);
        // The URL parser reads odd spellings of addresses as the addresses they are.
        for odd in [
            "http://0x7f.1/",
            "http://2130706433/",
            "http://[::ffff:a00:1]/",
        ] {
            let err = check_url(staging, odd).unwrap_err();
            assert_eq!(err.kind, Refusal::PrivateAddress, "{odd}");
        }
        let tests = TargetPolicy::for_deployment(false, true);
        assert!(check_url(tests, "http://127.0.0.1:9/events").is_ok());
    }

    #[test]
    fn malformed_urls_and_credentials_are_refused() {
        for url in [
            "hooks.example/events",
            "ftp://hooks.example/",
            "https://user:pw@hooks.example/",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                check_url(STRICT, url).unwrap_err().kind,
                Refusal::Invalid,
                "{url}"
            );
        }
        let long = format!("https://hooks.example/{}", "a".repeat(URL_MAX_CHARS));
        assert_eq!(check_url(STRICT, &long).unwrap_err().kind, Refusal::Invalid);
    }

    struct Table(HashMap<&'static str, Vec<IpAddr>>);

    impl HostLookup for Table {
        async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            self.0
                .get(host)
                .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
                .ok_or_else(|| std::io::Error::other("no such host"))
        }
    }

    fn table() -> Table {
        Table(HashMap::from([
            ("public.example", vec!["93.184.216.34".parse().unwrap()]),
            (
                "mixed.example",
                vec![
                    "93.184.216.34".parse().unwrap(),
                    "10.0.0.7".parse().unwrap(),
                ],
            ),
            (
                "mapped.example",
                vec!["::ffff:192.168.0.1".parse().unwrap()],
            ),
        ]))
    }

    #[tokio::test]
    async fn a_name_is_judged_by_every_address_it_resolves_to() {
        let lookup = table();
        let resolve_url = async |url: &str| {
            let url = check_url(STRICT, url)?;
            resolve(STRICT, url, &lookup).await
        };
        let ok = resolve_url("https://public.example/h").await.unwrap();
        let (host, addrs) = ok.pinned.unwrap();
        assert_eq!(host, "public.example");
        assert_eq!(addrs, ["93.184.216.34:443".parse().unwrap()]);
        for url in ["https://mixed.example/h", "https://mapped.example/h"] {
            let err = resolve_url(url).await.unwrap_err();
            assert_eq!(err.kind, Refusal::PrivateAddress, "{url}");
        }
        let err = resolve_url("https://nowhere.example/h").await.unwrap_err();
        assert_eq!(err.kind, Refusal::Unresolvable);
    }

    /// The connection goes to the address that was checked: the name below exists only
    /// in the test's table, so the request arrives only if the client never asks the
    /// system resolver again.
    #[tokio::test]
    async fn the_client_connects_to_the_checked_address_without_resolving_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 4096];
            let n = socket.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            request
        });
        let policy = TargetPolicy::for_deployment(false, true);
        let lookup = Table(HashMap::from([(
            "receiver.examfee-test.invalid",
            vec!["127.0.0.1".parse().unwrap()],
        )]));
        let url = check_url(
            policy,
            &format!("http://receiver.examfee-test.invalid:{port}/events"),
        )
        .unwrap();
        let target = resolve(policy, url, &lookup).await.unwrap();
        let client = target.client(Duration::from_secs(5)).unwrap();
        let response = client.post(target.url()).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
        let request = server.await.unwrap();
        assert!(
            request.contains("host: receiver.examfee-test.invalid"),
            "{request}"
        );
    }
}
