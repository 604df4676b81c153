//! A signing certificate and its private key, with the identifiers signatures carry computed once.

use crate::certs::info::one_line_name;
use crate::certs::wire::{one_line_pem, serial_hex, serial_key_id, x5t_s256, x5t_sha1};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::bn::{BigNum, BigNumContext};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde_json::{Map, Value, json};

pub struct SigningKey {
    pub cert: X509,
    pub key: PKey<Private>,
    /// Upper-case hex serial.
    pub serial: String,
    /// The application-token keyId, `SN=<serial>`.
    pub key_id: String,
    pub x5t_s256: String,
    pub x5t: String,
    /// `TPP-Signature-Certificate` value.
    pub cert_one_line: String,
}

impl SigningKey {
    pub fn new(cert: X509, key: PKey<Private>) -> Self {
        SigningKey {
            serial: serial_hex(&cert),
            key_id: serial_key_id(&cert),
            x5t_s256: x5t_s256(&cert),
            x5t: x5t_sha1(&cert),
            cert_one_line: one_line_pem(&cert),
            cert,
            key,
        }
    }

    /// What templates see as `certs.<role>`: serial, key_id, x5t, x5t_s256, subject.
    pub fn template_value(&self) -> Value {
        let subject = one_line_name(self.cert.subject_name());
        json!({
            "serial": self.serial,
            "key_id": self.key_id,
            "x5t": self.x5t,
            "x5t_s256": self.x5t_s256,
            "subject": subject,
            "pem": self.cert_one_line,
            "x5c": STANDARD.encode(self.cert.to_der().unwrap_or_default()),
            "jwk": self.jwk(),
        })
    }

    /// The public key as a JWK with the certificate in `x5c`, as `/oauth2/applications` bodies
    /// carry it (`kty alg use kid n e x5t x5c`; EC keys: `crv x y`).
    pub fn jwk(&self) -> Value {
        let b64url = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
        let x5c = STANDARD.encode(self.cert.to_der().unwrap_or_default());
        let mut jwk = Map::new();
        if let Ok(rsa) = self.key.rsa() {
            jwk.insert("kty".into(), "RSA".into());
            jwk.insert("alg".into(), "RS256".into());
            jwk.insert("use".into(), "sig".into());
            jwk.insert("kid".into(), self.serial.clone().into());
            jwk.insert("n".into(), b64url(rsa.n().to_vec()).into());
            jwk.insert("e".into(), b64url(rsa.e().to_vec()).into());
        } else if let Ok(ec) = self.key.ec_key() {
            let mut ctx = BigNumContext::new().ok();
            let (mut x, mut y) = (BigNum::new().ok(), BigNum::new().ok());
            if let (Some(ctx), Some(x), Some(y)) = (ctx.as_mut(), x.as_mut(), y.as_mut()) {
                let _ = ec.public_key().affine_coordinates(ec.group(), x, y, ctx);
            }
            let size = self.key.bits().div_ceil(8) as i32;
            let coordinate = |n: Option<BigNum>| {
                n.and_then(|n| n.to_vec_padded(size).ok())
                    .map(b64url)
                    .unwrap_or_default()
            };
            let crv = match self.key.bits() {
                384 => "P-384",
                521 => "P-521",
                _ => "P-256",
            };
            jwk.insert("kty".into(), "EC".into());
            jwk.insert("use".into(), "sig".into());
            jwk.insert("kid".into(), self.serial.clone().into());
            jwk.insert("crv".into(), crv.into());
            jwk.insert("x".into(), coordinate(x).into());
            jwk.insert("y".into(), coordinate(y).into());
        }
        jwk.insert("x5t".into(), self.x5t.clone().into());
        jwk.insert("x5c".into(), json!([x5c]));
        Value::Object(jwk)
    }
}

impl std::fmt::Debug for SigningKey {
    // The private key stays out of debug output on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("serial", &self.serial)
            .field("x5t_s256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}
