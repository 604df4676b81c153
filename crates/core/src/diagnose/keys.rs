//! The keys a signature may have been made with, and opening a signature with one of them.

use super::Evidence;
use super::ec_opener::EcOpener;
use crate::certs::info::one_line_name;
use crate::certs::load::key_matches;
use crate::certs::wire::serial_hex;
use crate::sign::Algorithm;
use crate::sign::recover::{Hash, Recovered, recover_all};
use openssl::pkey::{PKey, Public};
use openssl::x509::{X509, X509Ref};

/// A public key from the evidence, named for findings.
pub struct KeyCandidate<'a> {
    pub key: PKey<Public>,
    pub label: String,
    pub certificate: Option<&'a X509>,
}

/// `CN=…, O=… (serial 49BA5C71)`.
pub fn describe_certificate(cert: &X509Ref) -> String {
    format!(
        "{} (serial {})",
        one_line_name(cert.subject_name()),
        serial_hex(cert)
    )
}

/// Whether the certificate is for TLS (extendedKeyUsage clientAuth/serverAuth) rather than for
/// signing (nonRepudiation / contentCommitment).
pub fn is_tls_certificate(cert: &X509Ref) -> bool {
    let der = cert.to_der().unwrap_or_default();
    let eku = crate::certs::info::extended_key_usage(&der);
    let usage = crate::certs::info::key_usage(&der);
    eku.iter().any(|p| p == "clientAuth" || p == "serverAuth")
        && !usage.iter().any(|u| u == "nonRepudiation")
}

/// Every certificate's key, then the keys of private keys that belong to no certificate given —
/// all but `named`, the key of the certificate the request names (already tried).
pub fn candidates<'a>(evidence: &Evidence<'a>, named: &PKey<Public>) -> Vec<KeyCandidate<'a>> {
    let mut out: Vec<KeyCandidate<'a>> = evidence
        .certificates
        .iter()
        .filter(|cert| !cert.public_key().is_ok_and(|k| k.public_eq(named)))
        .filter_map(|cert| {
            Some(KeyCandidate {
                key: cert.public_key().ok()?,
                label: format!("the key of {}", describe_certificate(cert)),
                certificate: Some(cert),
            })
        })
        .collect();
    for (index, key) in evidence.keys.iter().enumerate() {
        if evidence.certificates.iter().any(|c| key_matches(c, key)) {
            continue;
        }
        let Ok(public) = key
            .public_key_to_der()
            .and_then(|der| PKey::public_key_from_der(&der))
        else {
            continue;
        };
        if public.public_eq(named) {
            continue;
        }
        out.push(KeyCandidate {
            key: public,
            label: format!(
                "private key #{} given, which belongs to none of the certificates",
                index + 1
            ),
            certificate: None,
        });
    }
    out
}

/// Opens a signature over candidate inputs: RSA by undoing the RSA operation once, EC by one
/// fixed-base multiplication per input (see [`EcOpener`]).
pub enum Opener {
    /// Every well-formed reading of the RSA block, most likely first (more than one only when a
    /// PSS block also looks well-formed under another hash, by chance); none: not this key.
    Rsa(Vec<Recovered>),
    Ec(EcOpener),
}

impl Opener {
    pub fn new(key: &PKey<Public>, algorithm: Algorithm, signature: &[u8]) -> Opener {
        match recover_all(key, signature) {
            Some(readings) => Opener::Rsa(readings),
            None => Opener::Ec(EcOpener::new(key, algorithm, signature)),
        }
    }

    pub fn opens(&self, input: &[u8]) -> bool {
        match self {
            Opener::Rsa(readings) => readings.iter().any(|r| r.matches(input)),
            Opener::Ec(opener) => opener.opens(input),
        }
    }

    /// The index of the first input the signature opens over: what a search asks, all
    /// candidates at once so that an EC check can share work among them.
    pub fn first_opening(&self, inputs: &[&[u8]]) -> Option<usize> {
        match self {
            Opener::Rsa(readings) => inputs
                .iter()
                .position(|input| readings.iter().any(|r| r.matches(input))),
            Opener::Ec(opener) => opener.first_opening(inputs),
        }
    }

    /// Whether the key certainly did not make the signature (known for RSA only).
    pub fn not_this_key(&self) -> bool {
        matches!(self, Opener::Rsa(readings) if readings.is_empty())
    }

    /// The RSA reading to judge the encoding by: the one that opens the input as `sent` when one
    /// does (the true reading, whatever hash it has); else the one with the hash the algorithm
    /// names (a chance reading under another hash must not pass for a wrong algorithm), else the
    /// most likely. `None` for EC, or when the key did not make the signature.
    pub fn reading(&self, expected: Hash, sent: Option<&[u8]>) -> Option<&Recovered> {
        match self {
            Opener::Rsa(readings) => sent
                .and_then(|input| readings.iter().find(|r| r.matches(input)))
                .or_else(|| readings.iter().find(|r| r.hash() == Some(expected)))
                .or(readings.first()),
            Opener::Ec(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::rsa::Rsa;

    fn ec(curve: Nid) -> (PKey<Private>, PKey<Public>) {
        let group = EcGroup::from_curve_name(curve).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let public = PKey::public_key_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
        (key, public)
    }

    const EC_ALGORITHMS: [(Algorithm, Nid); 4] = [
        (Algorithm::ES256, Nid::X9_62_PRIME256V1),
        (Algorithm::EcdsaSha256, Nid::X9_62_PRIME256V1),
        (Algorithm::ES384, Nid::SECP384R1),
        (Algorithm::EcdsaSha384, Nid::SECP384R1),
    ];

    /// An EC signature opens over the input it was made over whether it is checked alone
    /// (verified in full) or among candidates — early (one by one) or late (together) — and
    /// over no other, whatever the key.
    #[test]
    fn an_ec_signature_opens_over_its_input_wherever_it_comes() {
        for (algorithm, curve) in EC_ALGORITHMS {
            let (key, public) = ec(curve);
            let input = b"(request-target): get /v3/accounts\ndate: Tue, 05 Nov 2019 12:41:32 GMT";
            let signature = algorithm.sign(&key, input).unwrap();
            let opener = Opener::new(&public, algorithm, &signature);
            assert!(opener.opens(input), "{algorithm}");
            assert!(!opener.opens(&input[1..]));
            let others: Vec<String> = (0..100).map(|i| format!("date: {i}")).collect();
            for at in [0, 5, 40, 99] {
                let mut inputs: Vec<&[u8]> = others.iter().map(|o| o.as_bytes()).collect();
                assert_eq!(opener.first_opening(&inputs), None);
                inputs.insert(at, input);
                inputs.push(input);
                assert_eq!(
                    opener.first_opening(&inputs),
                    Some(at),
                    "{algorithm} at {at}"
                );
            }
            assert!(!opener.not_this_key() && opener.reading(Hash::Sha256, None).is_none());
            let (_, stranger) = ec(curve);
            let elsewhere = Opener::new(&stranger, algorithm, &signature);
            let inputs: Vec<&[u8]> = vec![input; 40];
            assert!(!elsewhere.opens(input) && elsewhere.first_opening(&inputs).is_none());
        }
    }

    /// `r = n` (and a signature cut short): nothing opens, first or later, and nothing panics.
    #[test]
    fn an_ec_signature_out_of_range_opens_nothing() {
        for (algorithm, curve) in EC_ALGORITHMS {
            let (key, public) = ec(curve);
            let input = b"digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
            let good = algorithm.sign(&key, input).unwrap();
            let (_, s) = algorithm.ecdsa_components(&key, &good).unwrap();
            let mut n = BigNum::new().unwrap();
            let ec_key = key.ec_key().unwrap();
            ec_key
                .group()
                .order(&mut n, &mut BigNumContext::new().unwrap())
                .unwrap();
            let size = if curve == Nid::SECP384R1 { 48 } else { 32 };
            let r_is_n = if algorithm.family() == crate::sign::Family::Jose {
                [
                    n.to_vec_padded(size).unwrap(),
                    s.to_vec_padded(size).unwrap(),
                ]
                .concat()
            } else {
                openssl::ecdsa::EcdsaSig::from_private_components(n, s)
                    .unwrap()
                    .to_der()
                    .unwrap()
            };
            let inputs: Vec<&[u8]> = vec![input; 40];
            for signature in [r_is_n, good[..good.len() - 1].to_vec()] {
                let opener = Opener::new(&public, algorithm, &signature);
                assert!(!opener.opens(input) && opener.first_opening(&inputs).is_none());
            }
        }
    }

    /// A PS512 signature whose block also looks well-formed under another hash (about 1 in 128):
    /// the engine judges the encoding by the reading of the hash `alg` names, and opens the input
    /// whichever reading it is.
    #[test]
    fn the_opener_judges_by_the_reading_of_the_named_hash() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let (input, signature) = (0..4000u32)
            .find_map(|i| {
                let input = format!("date: {i}");
                let signature = Algorithm::PS512.sign(&key, input.as_bytes()).unwrap();
                let readings = recover_all(&key, &signature).unwrap();
                (readings.len() > 1).then_some((input, signature))
            })
            .expect("a chance reading within 4000 signatures");
        let public = PKey::public_key_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
        let opener = Opener::new(&public, Algorithm::PS512, &signature);
        let judged = opener.reading(Hash::Sha512, None).unwrap();
        assert!(
            matches!(judged, Recovered::Pss { hash: Hash::Sha512, salt, .. } if salt.len() == 64)
        );
        assert!(opener.opens(input.as_bytes()) && !opener.not_this_key());
    }

    /// A PS384 signature under `alg: PS256` whose block also reads, by chance, as SHA-256 PSS
    /// with some other salt: the reading that opens the input sent is the one judged, so the
    /// finding is the algorithm, not the salt.
    #[test]
    fn the_reading_that_opens_the_input_sent_is_judged_first() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let (input, signature) = (0..8000u32)
            .find_map(|i| {
                let input = format!("date: {i}");
                let signature = Algorithm::PS384.sign(&key, input.as_bytes()).unwrap();
                let readings = recover_all(&key, &signature).unwrap();
                readings
                    .iter()
                    .any(|r| r.hash() == Some(Hash::Sha256))
                    .then_some((input, signature))
            })
            .expect("a chance SHA-256 reading within 8000 signatures");
        let public = PKey::public_key_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
        let opener = Opener::new(&public, Algorithm::PS256, &signature);
        assert_eq!(
            opener.reading(Hash::Sha256, None).and_then(Recovered::hash),
            Some(Hash::Sha256),
            "without the input, the named hash's reading"
        );
        assert_eq!(
            opener
                .reading(Hash::Sha256, Some(input.as_bytes()))
                .and_then(Recovered::hash),
            Some(Hash::Sha384)
        );
    }
}
