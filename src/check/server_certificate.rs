//! `expect.server_certificate`: the bank's TLS server certificate, as the session presented it,
//! held to the step's checks — so a certification run sees when the bank's certificate rotates or
//! nears its end.

use super::expect::{RenderFn, check_one};
use super::failure::{Failure, FailureKind};
use crate::scenario::Located;
use crate::scenario::model::ValueCheck;
use crate::scenario::ordered::OrderedMap;
use serde_json::{Value, json};

/// The fields a check may name.
pub const FIELDS: [&str; 5] = ["subject", "issuer", "serial", "not_after", "days_left"];

/// The failures of `checks` on the certificate `der` (`None`: no TLS session).
pub fn check_server_certificate(
    checks: &OrderedMap<Located<ValueCheck>>,
    der: Option<&[u8]>,
    now: chrono::DateTime<chrono::Utc>,
    render: &RenderFn,
) -> Vec<Failure> {
    let fail =
        |message: String, at| vec![Failure::new(FailureKind::ServerCertificate, message).at(at)];
    let Some((_, first)) = checks.iter().next() else {
        return Vec::new();
    };
    let Some(der) = der else {
        return fail(
            "server certificate: the answer came without TLS, so there is no certificate".into(),
            first.at,
        );
    };
    let Ok(cert) = openssl::x509::X509::from_der(der) else {
        return fail("server certificate: not readable".into(), first.at);
    };
    let info = obconform_core::certs::inspect(&cert, None, now);
    let fields = json!({
        "subject": info.subject,
        "issuer": info.issuer,
        "serial": info.serial_hex,
        "not_after": info.not_after,
        "days_left": info.days_left,
    });
    let mut failures = Vec::new();
    for (name, check) in checks.iter() {
        let value = fields.get(name.as_str()).cloned().unwrap_or(Value::Null);
        if let Some(why) = check_one(&value, &check.value, render) {
            failures.push(
                Failure::new(
                    FailureKind::ServerCertificate,
                    format!("server certificate {name}: {why}"),
                )
                .at(check.at),
            );
        }
    }
    failures
}
