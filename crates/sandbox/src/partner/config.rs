//! What `obconform sandbox` lets the user set for the partner API: which caller IPs its gateway
//! lets in and how many requests per second each may make.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;

/// ING's published limit: 30 requests per second per IP.
pub const DEFAULT_RATE_LIMIT: NonZeroU32 = NonZeroU32::new(30).expect("30 is not zero");

/// The partner API's gateway settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerConfig {
    /// Caller IPs let through (ING whitelists the IPs a partner names at onboarding); anyone
    /// else gets 403. Default: loopback, `127.0.0.1` and `::1`.
    pub allowed_ips: Vec<IpAddr>,
    /// Requests per second per caller IP; more get 429.
    pub rate_limit: NonZeroU32,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        Self {
            allowed_ips: vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()],
            rate_limit: DEFAULT_RATE_LIMIT,
        }
    }
}
