//! Signature algorithms of both signing protocols, as OpenSSL operations over bytes.
//!
//! draft-cavage names (`rsa-sha256`, `ecdsa-sha256` …) and JWA names (`PS256`, `ES256` …) map onto
//! four schemes. Two traps are handled here once: RSA-PSS always uses a salt as long as the digest
//! (OpenSSL's default is the maximum, which RFC 7518 verifiers reject), and JWS ECDSA signatures are
//! the raw `r‖s` pair, not the DER that OpenSSL produces.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Every algorithm obconform signs with, by the name each protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum Algorithm {
    /// draft-cavage `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    /// draft-cavage `ecdsa-sha256`: ECDSA with SHA-256, DER signature.
    #[serde(rename = "ecdsa-sha256")]
    EcdsaSha256,
    #[serde(rename = "ecdsa-sha384")]
    EcdsaSha384,
    #[serde(rename = "ecdsa-sha512")]
    EcdsaSha512,
    /// JWA RS256: RSASSA-PKCS1-v1_5 with SHA-256 (client assertions).
    RS256,
    RS384,
    RS512,
    /// JWA PS256: RSASSA-PSS with SHA-256, MGF1-SHA-256, salt of 32 bytes.
    PS256,
    PS384,
    PS512,
    /// JWA ES256: ECDSA P-256 with SHA-256, raw r‖s signature.
    ES256,
    ES384,
    ES512,
}

/// Which signing protocol an algorithm belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    HttpSignature,
    Jose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Pkcs1,
    Pss,
    EcdsaDer,
    EcdsaRaw,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AlgorithmError {
    #[error("{alg} needs {needs} key, but the key is {found}")]
    WrongKey {
        alg: Algorithm,
        needs: &'static str,
        found: String,
    },
    #[error("OpenSSL could not sign with {alg}: {detail}")]
    Crypto { alg: Algorithm, detail: String },
}

impl Algorithm {
    pub const ALL: [Algorithm; 13] = [
        Algorithm::RsaSha256,
        Algorithm::EcdsaSha256,
        Algorithm::EcdsaSha384,
        Algorithm::EcdsaSha512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
    ];

    /// The name on the wire (`algorithm="…"` or `"alg":"…"`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::EcdsaSha256 => "ecdsa-sha256",
            Algorithm::EcdsaSha384 => "ecdsa-sha384",
            Algorithm::EcdsaSha512 => "ecdsa-sha512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
        }
    }

    /// Parses a wire name; draft-cavage names are case-insensitive, JWA names are not.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| match a.family() {
            Family::HttpSignature => a.name().eq_ignore_ascii_case(name),
            Family::Jose => a.name() == name,
        })
    }

    pub fn family(self) -> Family {
        match self {
            Algorithm::RsaSha256
            | Algorithm::EcdsaSha256
            | Algorithm::EcdsaSha384
            | Algorithm::EcdsaSha512 => Family::HttpSignature,
            _ => Family::Jose,
        }
    }

    fn scheme(self) -> Scheme {
        match self {
            Algorithm::RsaSha256 | Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
                Scheme::Pkcs1
            }
            Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => Scheme::Pss,
            Algorithm::EcdsaSha256 | Algorithm::EcdsaSha384 | Algorithm::EcdsaSha512 => {
                Scheme::EcdsaDer
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Scheme::EcdsaRaw,
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self.scheme(), Scheme::Pkcs1 | Scheme::Pss)
    }

    pub fn is_pss(self) -> bool {
        self.scheme() == Scheme::Pss
    }

    pub fn digest(self) -> MessageDigest {
        match self.digest_len() {
            48 => MessageDigest::sha384(),
            64 => MessageDigest::sha512(),
            _ => MessageDigest::sha256(),
        }
    }

    /// Digest length in bytes, which is also the PSS salt length.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::EcdsaSha384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => 48,
            Algorithm::EcdsaSha512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::ES512 => 64,
            _ => 32,
        }
    }

    /// The curve a JWS ECDSA algorithm is defined for (draft-cavage leaves the curve open).
    fn jws_curve(self) -> Option<Nid> {
        match self {
            Algorithm::ES256 => Some(Nid::X9_62_PRIME256V1),
            Algorithm::ES384 => Some(Nid::SECP384R1),
            Algorithm::ES512 => Some(Nid::SECP521R1),
            _ => None,
        }
    }

    /// The default of a protocol for a key: RSA → `rsa-sha256` / `PS256`; EC → by curve.
    pub fn default_for<T: HasPublic>(family: Family, key: &PKeyRef<T>) -> Algorithm {
        let curve = key.ec_key().ok().and_then(|ec| ec.group().curve_name());
        match (family, curve) {
            (Family::HttpSignature, None) => Algorithm::RsaSha256,
            (Family::HttpSignature, Some(Nid::SECP384R1)) => Algorithm::EcdsaSha384,
            (Family::HttpSignature, Some(Nid::SECP521R1)) => Algorithm::EcdsaSha512,
            (Family::HttpSignature, Some(_)) => Algorithm::EcdsaSha256,
            (Family::Jose, None) => Algorithm::PS256,
            (Family::Jose, Some(Nid::SECP384R1)) => Algorithm::ES384,
            (Family::Jose, Some(Nid::SECP521R1)) => Algorithm::ES512,
            (Family::Jose, Some(_)) => Algorithm::ES256,
        }
    }

    /// Whether the key can make (or verify) this algorithm's signatures.
    pub fn check_key<T: HasPublic>(self, key: &PKeyRef<T>) -> Result<(), AlgorithmError> {
        // Described only when refused: this runs on every signature made and verified.
        let wrong = |needs| AlgorithmError::WrongKey {
            alg: self,
            needs,
            found: describe_key(key),
        };
        if self.is_rsa() {
            return if key.id() == Id::RSA {
                Ok(())
            } else {
                Err(wrong("an RSA"))
            };
        }
        let curve = key.ec_key().ok().and_then(|ec| ec.group().curve_name());
        match (curve, self.jws_curve()) {
            (None, _) => Err(wrong("an EC")),
            (Some(have), Some(need)) if have != need => Err(wrong(match self {
                Algorithm::ES384 => "a P-384",
                Algorithm::ES512 => "a P-521",
                _ => "a P-256",
            })),
            _ => Ok(()),
        }
    }

    /// Signs `data` with the private key.
    pub fn sign(self, key: &PKeyRef<Private>, data: &[u8]) -> Result<Vec<u8>, AlgorithmError> {
        self.sign_with_salt(key, data, PssSalt::Digest)
    }

    /// Signs with a chosen RSA-PSS salt length (ignored by the other schemes): the mutations use
    /// it to make the maximum-salt signature OpenSSL's defaults produce.
    pub fn sign_with_salt(
        self,
        key: &PKeyRef<Private>,
        data: &[u8],
        salt: PssSalt,
    ) -> Result<Vec<u8>, AlgorithmError> {
        self.check_key(key)?;
        let crypto = |e: openssl::error::ErrorStack| AlgorithmError::Crypto {
            alg: self,
            detail: e.to_string(),
        };
        let mut signer = Signer::new(self.digest(), key).map_err(crypto)?;
        if self.is_pss() {
            signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(crypto)?;
            signer.set_rsa_pss_saltlen(salt.openssl()).map_err(crypto)?;
            signer.set_rsa_mgf1_md(self.digest()).map_err(crypto)?;
        }
        let signature = signer.sign_oneshot_to_vec(data).map_err(crypto)?;
        if self.scheme() == Scheme::EcdsaRaw {
            return der_to_raw(&signature, ec_field_len(key)).map_err(crypto);
        }
        Ok(signature)
    }

    /// Verifies strictly: PSS only with a salt as long as the digest; JWS ECDSA only raw `r‖s`.
    pub fn verify<T: HasPublic>(self, key: &PKeyRef<T>, data: &[u8], signature: &[u8]) -> bool {
        self.verify_with_salt(key, data, signature, RsaPssSaltlen::DIGEST_LENGTH)
    }

    /// Verifies a PSS signature made with exactly this salt length (the other schemes as
    /// [`Algorithm::verify`]): proof that a signature is what a `pss-salt` mutation claims.
    pub fn verify_pss_salt<T: HasPublic>(
        self,
        key: &PKeyRef<T>,
        data: &[u8],
        signature: &[u8],
        salt: PssSalt,
    ) -> bool {
        self.verify_with_salt(key, data, signature, salt.openssl())
    }

    fn verify_with_salt<T: HasPublic>(
        self,
        key: &PKeyRef<T>,
        data: &[u8],
        signature: &[u8],
        salt: RsaPssSaltlen,
    ) -> bool {
        if self.check_key(key).is_err() {
            return false;
        }
        let der;
        let signature = if self.scheme() == Scheme::EcdsaRaw {
            match raw_to_der(signature, ec_field_len(key)) {
                Some(d) => {
                    der = d;
                    der.as_slice()
                }
                None => return false,
            }
        } else {
            signature
        };
        let run = || -> Result<bool, openssl::error::ErrorStack> {
            let mut verifier = Verifier::new(self.digest(), key)?;
            if self.is_pss() {
                verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
                verifier.set_rsa_pss_saltlen(salt)?;
                verifier.set_rsa_mgf1_md(self.digest())?;
            }
            verifier.verify_oneshot(signature, data)
        };
        run().unwrap_or(false)
    }

    /// `(r, s)` of an ECDSA signature read as [`Algorithm::verify`] reads it: JWS `r‖s` of twice
    /// the key's field size; draft-cavage DER that encodes back to the same bytes (OpenSSL refuses
    /// any other). `None` for RSA, and for a signature verify refuses unread; the range of `r`
    /// and `s` is left to the caller.
    pub(crate) fn ecdsa_components<T: HasPublic>(
        self,
        key: &PKeyRef<T>,
        signature: &[u8],
    ) -> Option<(BigNum, BigNum)> {
        match self.scheme() {
            Scheme::EcdsaRaw => {
                let field = ec_field_len(key);
                if signature.len() != 2 * field {
                    return None;
                }
                let (r, s) = signature.split_at(field);
                Some((BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?))
            }
            Scheme::EcdsaDer => {
                let sig = EcdsaSig::from_der(signature).ok()?;
                if sig.to_der().ok()? != signature {
                    return None;
                }
                Some((sig.r().to_owned().ok()?, sig.s().to_owned().ok()?))
            }
            Scheme::Pkcs1 | Scheme::Pss => None,
        }
    }

    /// For a PSS signature that fails the strict check: the salt length it was actually made
    /// with, when it verifies with another one (the guide's troubleshooting item 11).
    pub fn pss_salt_len<T: HasPublic>(
        self,
        key: &PKeyRef<T>,
        data: &[u8],
        signature: &[u8],
    ) -> Option<usize> {
        if !self.is_pss()
            || !self.verify_with_salt(key, data, signature, RsaPssSaltlen::MAXIMUM_LENGTH)
                && !self.verify_with_salt(key, data, signature, auto_salt())
        {
            return None;
        }
        // The salt is read out of the PSS encoding the public key opens (RFC 8017 §9.1.2): the
        // reading that is of `data` (another hash's can look well-formed by chance).
        crate::sign::recover::recover_all(key, signature)?
            .into_iter()
            .find(|reading| reading.matches(data))
            .and_then(|reading| match reading {
                crate::sign::recover::Recovered::Pss { salt, .. } => Some(salt.len()),
                _ => None,
            })
    }
}

/// An RSA-PSS salt length. RFC 7518 fixes it to the digest length; OpenSSL signs with the
/// maximum unless told otherwise (the guide's troubleshooting item 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PssSalt {
    /// As long as the digest: what JWS verifiers require.
    Digest,
    /// As long as the key allows (222 bytes for RSA-2048 with SHA-256): OpenSSL's default.
    Max,
    /// Exactly this many bytes.
    Bytes(u16),
}

impl PssSalt {
    fn openssl(self) -> RsaPssSaltlen {
        match self {
            PssSalt::Digest => RsaPssSaltlen::DIGEST_LENGTH,
            PssSalt::Max => RsaPssSaltlen::MAXIMUM_LENGTH,
            PssSalt::Bytes(n) => RsaPssSaltlen::custom(i32::from(n)),
        }
    }
}

impl fmt::Display for PssSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PssSalt::Digest => f.write_str("digest"),
            PssSalt::Max => f.write_str("max"),
            PssSalt::Bytes(n) => write!(f, "{n}"),
        }
    }
}

/// Scenario syntax: `max` or a number of bytes.
impl<'de> Deserialize<'de> for PssSalt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SaltVisitor;
        impl serde::de::Visitor<'_> for SaltVisitor {
            type Value = PssSalt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`max` or a salt length in bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PssSalt, E> {
                u16::try_from(v)
                    .map(PssSalt::Bytes)
                    .map_err(|_| E::custom(format!("a salt of {v} bytes is longer than any key")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PssSalt, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("a salt length cannot be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PssSalt, E> {
                match v {
                    "max" => Ok(PssSalt::Max),
                    _ => match v.parse::<u64>() {
                        Ok(n) => self.visit_u64(n),
                        Err(_) => Err(E::custom(format!(
                            "`{v}` is not a salt length: write `max` or a number of bytes"
                        ))),
                    },
                }
            }
        }
        deserializer.deserialize_any(SaltVisitor)
    }
}

impl JsonSchema for PssSalt {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PssSalt".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`max` (OpenSSL's default salt) or a salt length in bytes.",
            "anyOf": [ { "const": "max" }, { "type": "integer", "minimum": 0, "maximum": 65535 } ]
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// "RSA 2048", "EC P-256" — for messages.
pub fn describe_key<T: HasPublic>(key: &PKeyRef<T>) -> String {
    match key.id() {
        Id::RSA => format!("RSA {}", key.bits()),
        Id::EC => {
            let curve = key.ec_key().ok().and_then(|ec| ec.group().curve_name());
            match curve {
                Some(Nid::X9_62_PRIME256V1) => "EC P-256".into(),
                Some(Nid::SECP384R1) => "EC P-384".into(),
                Some(Nid::SECP521R1) => "EC P-521".into(),
                _ => format!("EC {} bits", key.bits()),
            }
        }
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DSA => format!("DSA {}", key.bits()),
        // OpenSSL's own short name when it has one (`Id(1087)` says nothing to a user).
        other => Nid::from_raw(other.as_raw())
            .short_name()
            .map_or_else(|_| format!("key type {}", other.as_raw()), str::to_string),
    }
}

// OpenSSL's "auto" salt detection on verify (-2), which the crate has no constant for.
fn auto_salt() -> RsaPssSaltlen {
    RsaPssSaltlen::custom(-2)
}

fn ec_field_len<T: HasPublic>(key: &PKeyRef<T>) -> usize {
    key.bits().div_ceil(8) as usize
}

fn der_to_raw(der: &[u8], field: usize) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let sig = EcdsaSig::from_der(der)?;
    let mut raw = sig.r().to_vec_padded(field as i32)?;
    raw.extend(sig.s().to_vec_padded(field as i32)?);
    Ok(raw)
}

fn raw_to_der(raw: &[u8], field: usize) -> Option<Vec<u8>> {
    if raw.len() != 2 * field {
        return None;
    }
    let r = BigNum::from_slice(&raw[..field]).ok()?;
    let s = BigNum::from_slice(&raw[field..]).ok()?;
    EcdsaSig::from_private_components(r, s).ok()?.to_der().ok()
}

#[cfg(test)]
mod tests {

    #[test]
    fn keys_are_described_by_their_type() {
        let ed = openssl::pkey::PKey::generate_ed25519().unwrap();
        assert_eq!(describe_key(&ed), "Ed25519");
        let rsa =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        assert_eq!(describe_key(&rsa), "RSA 2048");
    }

    use super::*;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    fn rsa() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    }

    fn ec(nid: Nid) -> PKey<Private> {
        let group = EcGroup::from_curve_name(nid).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    #[test]
    fn names_round_trip_and_cavage_names_ignore_case() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(
            Algorithm::from_name("RSA-SHA256"),
            Some(Algorithm::RsaSha256)
        );
        assert_eq!(Algorithm::from_name("ps256"), None);
    }

    #[test]
    fn every_algorithm_round_trips_and_rejects_a_flipped_bit() {
        let rsa = rsa();
        for alg in Algorithm::ALL {
            let key = match alg {
                Algorithm::ES384 | Algorithm::EcdsaSha384 => ec(Nid::SECP384R1),
                Algorithm::ES512 | Algorithm::EcdsaSha512 => ec(Nid::SECP521R1),
                Algorithm::ES256 | Algorithm::EcdsaSha256 => ec(Nid::X9_62_PRIME256V1),
                _ => rsa.clone(),
            };
            let data = b"(request-target): post /oauth2/token";
            let mut sig = alg.sign(&key, data).unwrap();
            assert!(alg.verify(&key, data, &sig), "{alg}");
            assert!(!alg.verify(&key, b"other", &sig), "{alg}");
            if alg == Algorithm::ES512 {
                assert_eq!(sig.len(), 132, "raw r||s for P-521");
            }
            sig[10] ^= 1;
            assert!(!alg.verify(&key, data, &sig), "{alg} tampered");
        }
    }

    #[test]
    fn pss_uses_the_digest_length_and_a_maximum_salt_is_named() {
        let key = rsa();
        let data = b"input";
        let good = Algorithm::PS256.sign(&key, data).unwrap();
        assert_eq!(Algorithm::PS256.pss_salt_len(&key, data, &good), Some(32));
        // What `openssl dgst -sigopt rsa_padding_mode:pss` does on OpenSSL 3.0: maximum salt.
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        signer
            .set_rsa_pss_saltlen(RsaPssSaltlen::MAXIMUM_LENGTH)
            .unwrap();
        let max = signer.sign_oneshot_to_vec(data).unwrap();
        assert!(!Algorithm::PS256.verify(&key, data, &max));
        assert_eq!(Algorithm::PS256.pss_salt_len(&key, data, &max), Some(222));
    }

    #[test]
    fn a_chosen_pss_salt_is_made_and_verified_only_as_that_salt() {
        let key = rsa();
        let data = b"input";
        for (salt, len) in [
            (PssSalt::Max, 222),
            (PssSalt::Bytes(20), 20),
            (PssSalt::Digest, 32),
        ] {
            let sig = Algorithm::PS256.sign_with_salt(&key, data, salt).unwrap();
            assert_eq!(
                Algorithm::PS256.pss_salt_len(&key, data, &sig),
                Some(len),
                "{salt}"
            );
            assert!(Algorithm::PS256.verify_pss_salt(&key, data, &sig, salt));
            assert_eq!(Algorithm::PS256.verify(&key, data, &sig), len == 32);
        }
        // Other schemes have no salt: the parameter changes nothing.
        let sig = Algorithm::RS256
            .sign_with_salt(&key, data, PssSalt::Max)
            .unwrap();
        assert!(Algorithm::RS256.verify(&key, data, &sig));
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_with_what_it_is() {
        let err = Algorithm::PS256
            .sign(&ec(Nid::X9_62_PRIME256V1), b"x")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "PS256 needs an RSA key, but the key is EC P-256"
        );
        let err = Algorithm::ES384
            .sign(&ec(Nid::X9_62_PRIME256V1), b"x")
            .unwrap_err();
        assert!(err.to_string().contains("P-384"), "{err}");
    }

    #[test]
    fn defaults_follow_the_key() {
        let p384 = ec(Nid::SECP384R1);
        assert_eq!(
            Algorithm::default_for(Family::Jose, &p384),
            Algorithm::ES384
        );
        assert_eq!(
            Algorithm::default_for(Family::HttpSignature, &rsa()),
            Algorithm::RsaSha256
        );
    }
}
