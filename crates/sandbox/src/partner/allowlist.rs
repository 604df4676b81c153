//! The gateway's IP allowlist ("whitelisting" in ING's onboarding guide).

use std::fmt;
use std::net::IpAddr;

/// Caller IPs the partner API accepts. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, what a
/// dual-stack listener sees) count as their IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    ips: Vec<IpAddr>,
}

impl Allowlist {
    pub fn new(ips: &[IpAddr]) -> Self {
        let mut canonical: Vec<IpAddr> = Vec::with_capacity(ips.len());
        for ip in ips.iter().map(IpAddr::to_canonical) {
            if !canonical.contains(&ip) {
                canonical.push(ip);
            }
        }
        Self { ips: canonical }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.ips.contains(&ip.to_canonical())
    }
}

impl fmt::Display for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ips.is_empty() {
            return f.write_str("(none)");
        }
        let list: Vec<String> = self.ips.iter().map(IpAddr::to_string).collect();
        f.write_str(&list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn listed_addresses_pass_mapped_ones_too_and_others_do_not() {
        let list = Allowlist::new(&[Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]);
        assert!(list.allows(Ipv4Addr::LOCALHOST.into()));
        assert!(list.allows(Ipv6Addr::LOCALHOST.into()));
        assert!(list.allows(Ipv4Addr::LOCALHOST.to_ipv6_mapped().into()));
        assert!(!list.allows(Ipv4Addr::new(127, 0, 0, 2).into()));
        assert!(!list.allows(Ipv4Addr::new(10, 0, 0, 1).into()));
        assert_eq!(list.to_string(), "127.0.0.1, ::1");
    }

    #[test]
    fn an_empty_list_lets_nobody_in() {
        let list = Allowlist::new(&[]);
        assert!(!list.allows(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(list.to_string(), "(none)");
    }
}
