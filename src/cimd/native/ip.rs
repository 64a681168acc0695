//! Which addresses a metadata fetch may connect to.
//!
//! The rule is an allow-list with holes: IPv4 anything but the special-use
//! ranges of RFC 6890 and its successors; IPv6 only global unicast
//! (`2000::/3`, the only block IANA hands out for public hosts) minus the
//! special-use blocks inside it. Refusing the rest of the IPv6 space outright
//! also covers forms that only *embed* another address (IPv4-mapped,
//! IPv4-compatible, NAT64): a fetch never has to reason about what such an
//! address reaches, it simply is not public.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks that are not public, as (network, prefix length).
const V4_REFUSED: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network" (RFC 791)
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private (RFC 1918)
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared / CGNAT (RFC 6598)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, cloud metadata endpoints
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private (RFC 1918)
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // TEST-NET-1
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private (RFC 1918)
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking (RFC 2544)
    (Ipv4Addr::new(198, 51, 100, 0), 24), // TEST-NET-2
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // TEST-NET-3
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, and 255.255.255.255 broadcast
];

/// Special-use IPv6 blocks inside `2000::/3`. The blocks outside it (`::/96`
/// IPv4-compatible with `::` and `::1`, `::ffff:0:0/96` IPv4-mapped,
/// `64:ff9b::/96` and `64:ff9b:1::/48` NAT64, `100::/64` discard, `fc00::/7`
/// unique local, `fe80::/10` link-local, `fec0::/10` site-local, `ff00::/8`
/// multicast) fall to the `2000::/3` rule; the unit test lists them all.
const V6_REFUSED: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments, Teredo
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4: reaches an embedded IPv4
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net)
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net)
}

/// Whether `ip` is a public address a metadata fetch may connect to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !V4_REFUSED.iter().any(|&range| in_v4(v4, range)),
        IpAddr::V6(v6) => {
            in_v6(v6, (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3))
                && !V6_REFUSED.iter().any(|&range| in_v6(v6, range))
        }
    }
}

/// Whether a fetch may connect to `ip`: public, or loopback when the
/// development switch allows it (and nothing else in that case).
pub(crate) fn permitted(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each special-use range by its first, an inner and its last address,
    /// then public neighbours just outside.
    const REFUSED: &[&str] = &[
        "0.0.0.0",
        "0.255.255.255",
        "10.0.0.0",
        "10.0.0.5",
        "10.255.255.255",
        "100.64.0.0",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.255",
        "169.254.0.0",
        "169.254.169.254",
        "169.254.255.255",
        "172.16.0.0",
        "172.31.255.255",
        "192.0.0.0",
        "192.0.0.255",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.0",
        "192.168.1.1",
        "192.168.255.255",
        "198.18.0.0",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.254",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:0:0",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "::8.8.8.8",
        "::ffff:ffff:ffff",
        "64:ff9b::8.8.8.8",
        "64:ff9b:1::1",
        "100::",
        "100::ffff:ffff:ffff:ffff",
        "2001::",
        "2001:0:4136:e378::1",
        "2001:1ff:ffff::1",
        "2001:db8::",
        "2001:db8:ffff::1",
        "2002::",
        "2002:c000:204::1",
        "2002:ffff::1",
        "3fff::1",
        "fc00::",
        "fd00::1",
        "fdff:ffff::1",
        "fe80::",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff00::",
        "ff02::1",
        "ffff::1",
        "1::1",
        "1fff:ffff::1",
        "4000::1",
    ];

    const PUBLIC: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.0",
        "192.0.3.0",
        "192.88.98.255",
        "192.88.100.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "198.51.101.0",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
        "2000::1",
        "2001:200::1",
        "2001:4860:4860::8888",
        "2001:db7:ffff::1",
        "2001:db9::1",
        "2003::1",
        "2606:4700::1111",
        "3ffe::1",
        "3fff:1000::1",
    ];

    #[test]
    fn refused_ranges_are_not_public() {
        for text in REFUSED {
            let ip: IpAddr = text.parse().unwrap();
            assert!(!is_public(ip), "{text} must not be public");
        }
    }

    #[test]
    fn public_neighbours_are_public() {
        for text in PUBLIC {
            let ip: IpAddr = text.parse().unwrap();
            assert!(is_public(ip), "{text} must be public");
        }
    }

    #[test]
    fn loopback_only_with_the_switch() {
        for text in ["127.0.0.1", "127.8.9.10", "::1"] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(!permitted(ip, false) && permitted(ip, true), "{text}");
        }
        for text in ["10.0.0.5", "169.254.169.254", "192.168.1.1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"] {
            assert!(!permitted(text.parse().unwrap(), true), "{text}");
        }
    }
}
