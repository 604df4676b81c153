//! Undoing the RSA operation of a signature with a public key (RFC 8017 §8.1.2 / §9.1.2): the
//! encoded message tells, without knowing what was signed, whether this key made the signature
//! at all, with which hash, with what PSS salt — and then any candidate signing input is checked
//! with one hash instead of one RSA verification.

use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{HasPublic, PKeyRef};
use openssl::rsa::Padding;

/// The hash functions a signature may have been made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    const ALL: [Hash; 4] = [Hash::Sha256, Hash::Sha384, Hash::Sha512, Hash::Sha1];

    /// The SHA-2 hash with digests of `len` bytes (what a JWS `alg` like PS384 names).
    pub fn of_size(len: usize) -> Option<Hash> {
        Hash::ALL.into_iter().find(|h| h.size() == len)
    }

    pub fn digest(self) -> MessageDigest {
        match self {
            Hash::Sha1 => MessageDigest::sha1(),
            Hash::Sha256 => MessageDigest::sha256(),
            Hash::Sha384 => MessageDigest::sha384(),
            Hash::Sha512 => MessageDigest::sha512(),
        }
    }

    pub fn size(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    /// The DER prefix of a PKCS#1 v1.5 DigestInfo for this hash (RFC 8017 §9.2 note 1).
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Hash::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    fn of(self, data: &[u8]) -> Vec<u8> {
        hash(self.digest(), data)
            .map(|d| d.to_vec())
            .unwrap_or_default()
    }
}

/// What the public key makes of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// RSASSA-PKCS1-v1_5: the hash and the digest that was signed.
    Pkcs1 { hash: Hash, digest: Vec<u8> },
    /// RSASSA-PSS: the hash (of the message and of MGF1), the salt, and `H`.
    Pss {
        hash: Hash,
        salt: Vec<u8>,
        h: Vec<u8>,
    },
    /// Neither encoding: the signature was not made with this key (or was damaged).
    NotThisKey,
}

impl Recovered {
    /// Whether the signature was made over `input`.
    pub fn matches(&self, input: &[u8]) -> bool {
        match self {
            Recovered::Pkcs1 { hash, digest } => hash.of(input) == *digest,
            Recovered::Pss { hash, salt, h } => {
                let mut m = vec![0u8; 8];
                m.extend(hash.of(input));
                m.extend_from_slice(salt);
                hash.of(&m) == *h
            }
            Recovered::NotThisKey => false,
        }
    }

    pub fn hash(&self) -> Option<Hash> {
        match self {
            Recovered::Pkcs1 { hash, .. } | Recovered::Pss { hash, .. } => Some(*hash),
            Recovered::NotThisKey => None,
        }
    }
}

/// `None` when the key is not RSA (ECDSA signatures cannot be opened this way). A PSS encoding
/// names no hash, and one tried with the wrong hash can look well-formed by chance (about 1 in
/// 255): of several readings, the one with the longest zero padding wins (the true one, unless the
/// salt fills the whole block); [`recover_all`] gives every reading to check against a message.
pub fn recover<T: HasPublic>(key: &PKeyRef<T>, signature: &[u8]) -> Option<Recovered> {
    let mut readings = recover_all(key, signature)?;
    Some(if readings.is_empty() {
        Recovered::NotThisKey
    } else {
        readings.swap_remove(0)
    })
}

/// Every well-formed reading of the signature, most likely first; empty when it was not made with
/// this key. `None` when the key is not RSA.
pub fn recover_all<T: HasPublic>(key: &PKeyRef<T>, signature: &[u8]) -> Option<Vec<Recovered>> {
    let rsa = key.rsa().ok()?;
    let size = rsa.size() as usize;
    if signature.len() != size {
        return Some(Vec::new());
    }
    let mut em = vec![0u8; size];
    let Ok(n) = rsa.public_decrypt(signature, &mut em, Padding::NONE) else {
        // The signature is not below the modulus: not made with this key.
        return Some(Vec::new());
    };
    em.truncate(n);
    let em_bits = rsa.n().num_bits() as usize - 1;
    Some(match pkcs1(&em) {
        Some(reading) => vec![reading],
        None => pss(em, em_bits),
    })
}

/// `00 01 FF… 00 DigestInfo`.
fn pkcs1(em: &[u8]) -> Option<Recovered> {
    let rest = em.strip_prefix(&[0x00, 0x01])?;
    let padding = rest.iter().take_while(|&&b| b == 0xff).count();
    if padding < 8 {
        return None;
    }
    let info = rest[padding..].strip_prefix(&[0x00])?;
    Hash::ALL.into_iter().find_map(|hash| {
        let digest = info.strip_prefix(hash.digest_info_prefix())?;
        (digest.len() == hash.size()).then(|| Recovered::Pkcs1 {
            hash,
            digest: digest.to_vec(),
        })
    })
}

/// `maskedDB ‖ H ‖ BC`, tried with each hash for MGF1 (a PSS signature's hash is not written in
/// it): every hash under which it is well-formed, the longest zero padding first.
fn pss(mut em: Vec<u8>, em_bits: usize) -> Vec<Recovered> {
    // A modulus of 8k+1 bits gives an encoded message one byte shorter than the modulus.
    if em_bits.is_multiple_of(8) {
        if em.first() != Some(&0) {
            return Vec::new();
        }
        em.remove(0);
    }
    if em.last() != Some(&0xbc) {
        return Vec::new();
    }
    let em_len = em.len();
    let mut readings: Vec<(usize, Recovered)> = Hash::ALL
        .into_iter()
        .filter_map(|hash| {
            let h_len = hash.size();
            if em_len < h_len + 2 {
                return None;
            }
            let (masked_db, rest) = em.split_at(em_len - h_len - 1);
            let h = &rest[..h_len];
            let unused_bits = 8 * em_len - em_bits;
            if unused_bits > 0 && masked_db[0] >> (8 - unused_bits) != 0 {
                return None;
            }
            let mask = mgf1(hash.digest(), h, masked_db.len())?;
            let mut db: Vec<u8> = masked_db.iter().zip(mask).map(|(a, b)| a ^ b).collect();
            db[0] &= 0xffu8 >> unused_bits;
            let one = db.iter().position(|&b| b != 0)?;
            (db[one] == 0x01).then(|| {
                let reading = Recovered::Pss {
                    hash,
                    salt: db[one + 1..].to_vec(),
                    h: h.to_vec(),
                };
                (one, reading)
            })
        })
        .collect();
    // Stable: equal padding keeps the order of Hash::ALL.
    readings.sort_by_key(|(zeros, _)| std::cmp::Reverse(*zeros));
    readings.into_iter().map(|(_, reading)| reading).collect()
}

/// The mask generation function of RFC 8017 §B.2.1.
fn mgf1(digest: MessageDigest, seed: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len + digest.size());
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut input = seed.to_vec();
        input.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&hash(digest, &input).ok()?);
        counter += 1;
    }
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::Algorithm;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::sign::{RsaPssSaltlen, Signer};

    /// A PS512 signature whose block, unmasked with SHA-256 or SHA-384, also looks well-formed
    /// (about 1 in 128 signatures): the true reading still wins, and the false one is listed.
    #[test]
    fn a_chance_reading_under_another_hash_does_not_win() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let found = (0..4000u32).find_map(|i| {
            let input = format!("date: {i}");
            let signature = Algorithm::PS512.sign(&key, input.as_bytes()).unwrap();
            let readings = recover_all(&key, &signature).unwrap();
            (readings.len() > 1).then_some((input, signature, readings))
        });
        let (input, signature, readings) = found.expect("a chance reading within 4000 signatures");
        assert!(readings.iter().any(|r| r.hash() != Some(Hash::Sha512)));
        let best = recover(&key, &signature).unwrap();
        assert_eq!(best.hash(), Some(Hash::Sha512));
        assert!(best.matches(input.as_bytes()));
        assert_eq!(
            Algorithm::PS512.pss_salt_len(&key, input.as_bytes(), &signature),
            Some(64),
            "the salt of the reading that is of the input"
        );
    }

    #[test]
    fn pkcs1_and_pss_signatures_open_with_their_key_only() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let other = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let input = b"(request-target): post /oauth2/token";
        for (alg, hash) in [
            (Algorithm::RsaSha256, Hash::Sha256),
            (Algorithm::RS512, Hash::Sha512),
            (Algorithm::PS256, Hash::Sha256),
            (Algorithm::PS384, Hash::Sha384),
        ] {
            let signature = alg.sign(&key, input).unwrap();
            let recovered = recover(&key, &signature).unwrap();
            assert_eq!(recovered.hash(), Some(hash), "{alg}");
            assert!(recovered.matches(input), "{alg}");
            assert!(!recovered.matches(b"other input"), "{alg}");
            if let Recovered::Pss { salt, .. } = &recovered {
                assert_eq!(salt.len(), hash.size(), "{alg}: salt as long as the digest");
            }
            assert_eq!(recover(&other, &signature), Some(Recovered::NotThisKey));
        }
    }

    #[test]
    fn the_maximum_pss_salt_is_read_out() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        signer
            .set_rsa_pss_saltlen(RsaPssSaltlen::MAXIMUM_LENGTH)
            .unwrap();
        let signature = signer.sign_oneshot_to_vec(b"x").unwrap();
        match recover(&key, &signature).unwrap() {
            Recovered::Pss { salt, .. } => assert_eq!(salt.len(), 222),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ec_keys_cannot_be_opened() {
        let group =
            openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
        assert_eq!(recover(&key, &[0u8; 64]), None);
    }
}
