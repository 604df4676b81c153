//! ING's `PUT /oauth2/applications/{id}` replaces the whole registration: "if you have two sets of
//! certificates registered and send only one, only the sent one will be saved" (guide, step 2b).
//! This rule names what a PUT body would drop from the current registration; the runner's PUT
//! guard applies it before sending, the engine (`flow.put-drops-keys`) after a refusal.

use crate::certs::info::one_line_name;
use crate::certs::wire::serial_hex;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use serde_json::Value;

/// The certificates a PUT without `keys` registers: the TLS certificate presented and the one
/// that signs the JWS (DER).
#[derive(Debug, Default, Clone, Copy)]
pub struct Presented<'a> {
    pub tls: Option<&'a [u8]>,
    pub signing: Option<&'a [u8]>,
}

/// What the registration `current` has that a PUT of `body` would not keep.
pub fn dropped(current: &Value, body: &Value, presented: Presented<'_>) -> Vec<String> {
    // GET answers the application itself; POST and PUT answer `{contact, application: {..}}`.
    let current = current.get("application").unwrap_or(current);
    let mut lost = Vec::new();
    let kept_uris = strings(body.get("redirect_uris"));
    for uri in strings(current.get("redirect_uris")) {
        if !kept_uris.contains(&uri) {
            lost.push(format!("redirect URI `{uri}`"));
        }
    }
    for (set, presented) in [("tls", presented.tls), ("sign", presented.signing)] {
        let kept: Vec<Vec<u8>> = match body.get("keys") {
            Some(keys) => certificates(keys.get(set)),
            // Without `keys` the bank registers the certificates the request presents.
            None => presented.map(<[u8]>::to_vec).into_iter().collect(),
        };
        let registered = current.get("keys").and_then(|k| k.get(set));
        for jwk in registered.and_then(Value::as_array).into_iter().flatten() {
            match certificate(jwk) {
                Some(der) if kept.contains(&der) => {}
                Some(der) => lost.push(format!("keys.{set} certificate {}", describe(&der))),
                None => lost.push(format!(
                    "keys.{set} key {} (no x5c to compare: name it in the body)",
                    jwk.get("kid").or(jwk.get("x5t")).unwrap_or(&Value::Null)
                )),
            }
        }
    }
    lost
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn certificates(value: Option<&Value>) -> Vec<Vec<u8>> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(certificate)
        .collect()
}

/// The DER of a JWK's `x5c[0]`.
fn certificate(jwk: &Value) -> Option<Vec<u8>> {
    let first = jwk.get("x5c")?.get(0)?.as_str()?;
    STANDARD.decode(first).ok()
}

fn describe(der: &[u8]) -> String {
    match X509::from_der(der) {
        Ok(cert) => format!(
            "SN={} ({})",
            serial_hex(&cert),
            one_line_name(cert.subject_name())
        ),
        Err(_) => "(x5c[0] is not a certificate)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::self_signed::self_signed;
    use serde_json::json;

    fn der(cn: &str) -> Vec<u8> {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1);
        let key = openssl::ec::EcKey::generate(&group.unwrap()).unwrap();
        let key = openssl::pkey::PKey::from_ec_key(key).unwrap();
        let serial = format!("{:X}", cn.len() + 0x1000);
        let cert = self_signed(&key, cn, &serial, 1, Vec::new()).unwrap();
        cert.to_der().unwrap()
    }

    fn jwk(der: &[u8]) -> Value {
        json!({"kty": "RSA", "x5c": [STANDARD.encode(der)]})
    }

    #[test]
    fn a_body_keeping_everything_drops_nothing() {
        let (old_tls, old_sign, new_sign) = (der("old tls"), der("old sign"), der("new sign"));
        let current = json!({
            "redirect_uris": ["https://a.example/", "https://b.example/"],
            "keys": {"tls": [jwk(&old_tls)], "sign": [jwk(&old_sign)]}
        });
        let body = json!({
            "redirect_uris": ["https://b.example/", "https://a.example/", "https://c.example/"],
            "keys": {"tls": [jwk(&old_tls)], "sign": [jwk(&old_sign), jwk(&new_sign)]}
        });
        assert!(dropped(&current, &body, Presented::default()).is_empty());
    }

    #[test]
    fn each_dropped_uri_and_certificate_is_named() {
        let (old_tls, old_sign, new_sign) = (der("old tls"), der("old sign"), der("new sign"));
        let current = json!({"application": {
            "redirect_uris": ["https://a.example/", "https://b.example/"],
            "keys": {"tls": [jwk(&old_tls)], "sign": [jwk(&old_sign)]}
        }});
        let body = json!({
            "redirect_uris": ["https://a.example/"],
            "keys": {"tls": [jwk(&old_tls)], "sign": [jwk(&new_sign)]}
        });
        let lost = dropped(&current, &body, Presented::default());
        assert_eq!(lost.len(), 2, "{lost:?}");
        assert_eq!(lost[0], "redirect URI `https://b.example/`");
        assert!(lost[1].starts_with("keys.sign certificate SN="), "{lost:?}");
        assert!(lost[1].ends_with("(CN=old sign)"), "{lost:?}");
    }

    #[test]
    fn without_keys_the_presented_certificates_are_what_stays() {
        let (tls, sign, other) = (der("tls"), der("sign"), der("other"));
        let current = json!({
            "redirect_uris": [],
            "keys": {"tls": [jwk(&tls)], "sign": [jwk(&sign), jwk(&other)]}
        });
        let presented = Presented {
            tls: Some(&tls),
            signing: Some(&sign),
        };
        let lost = dropped(&current, &json!({"redirect_uris": []}), presented);
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert!(lost[0].contains("CN=other"), "{lost:?}");
    }
}
