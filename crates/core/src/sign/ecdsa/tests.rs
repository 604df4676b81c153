//! The fast check against OpenSSL: the table's multiples against `EC_POINT_mul`, and every
//! verdict against a full [`Algorithm::verify`] — matching and not, both encodings, digests
//! longer and shorter than the order, a high `s`, `x(R) ≥ n`, and signatures nothing verifies.

use super::*;
use openssl::ec::{EcGroup, EcGroupRef, EcKey, EcPointRef};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Private, Public};

fn key(curve: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn order(group: &EcGroupRef) -> BigNum {
    let mut n = BigNum::new().unwrap();
    group
        .order(&mut n, &mut BigNumContext::new().unwrap())
        .unwrap();
    n
}

fn field_len(curve: Nid) -> i32 {
    match curve {
        Nid::X9_62_PRIME256V1 => 32,
        Nid::SECP384R1 => 48,
        _ => 66,
    }
}

/// `(r, s)` in the algorithm's encoding.
fn encode(algorithm: Algorithm, curve: Nid, r: &BigNumRef, s: &BigNumRef) -> Vec<u8> {
    if algorithm.family() == crate::sign::Family::Jose {
        let mut raw = r.to_vec_padded(field_len(curve)).unwrap();
        raw.extend(s.to_vec_padded(field_len(curve)).unwrap());
        raw
    } else {
        EcdsaSig::from_private_components(r.to_owned().unwrap(), s.to_owned().unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    }
}

fn same_point(group: &EcGroupRef, a: &EcPointRef, b: &EcPointRef) -> bool {
    a.eq(group, b, &mut BigNumContext::new().unwrap()).unwrap()
}

/// `k·G` from the table equals OpenSSL's, for the edges of the digit recoding and spread values.
fn table_agrees<const N: usize>(curve: &Curve<N>, nid: Nid) {
    let group = EcGroup::from_curve_name(nid).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let n = order(&group);
    let mut scalars: Vec<BigNum> = [0u32, 1, 2, 127, 128, 129, 255, 256, 0x8080, 0xffff]
        .iter()
        .map(|&k| BigNum::from_u32(k).unwrap())
        .collect();
    for below in [1u32, 2, 128] {
        scalars.push(&n - &BigNum::from_u32(below).unwrap());
    }
    // Every byte 0x80 or 0x81: a carry through each window.
    for byte in [0x80u8, 0x81] {
        let bytes = vec![byte; (curve.order_bits - 1) / 8];
        scalars.push(BigNum::from_slice(&bytes).unwrap());
    }
    let mut seed = BigNum::from_u32(0x5eed).unwrap();
    for _ in 0..12 {
        let mut next = BigNum::new().unwrap();
        next.mod_sqr(&seed, &n, &mut ctx).unwrap();
        next.add_word(0x9e37).unwrap();
        scalars.push(next.to_owned().unwrap());
        seed = next;
    }
    for k in scalars {
        let limbs = field::limbs_of::<N>(&k).unwrap();
        let ours = curve.table.mul(&curve.field, &limbs);
        let mut theirs = EcPoint::new(&group).unwrap();
        theirs.mul_generator2(&group, &k, &mut ctx).unwrap();
        match curve.affine(&group, &theirs, &mut ctx) {
            None => assert!(ours.is_infinity(), "{k}·G"),
            Some(want) => assert_eq!(ours.affine(&curve.field), Some(want), "{k}·G"),
        }
    }
}

#[test]
fn the_generator_tables_agree_with_openssl() {
    table_agrees(curve::p256().unwrap(), Nid::X9_62_PRIME256V1);
    table_agrees(curve::p384().unwrap(), Nid::SECP384R1);
    table_agrees(curve::p521().unwrap(), Nid::SECP521R1);
}

/// Affine additions in a batch give what Jacobian ones give, the cases the short formula
/// cannot take included: a sum at infinity, `P + P`, `P − P`, nothing to add.
#[test]
fn batch_additions_agree_with_single_ones() {
    let curve = curve::p256().unwrap();
    let f = &curve.field;
    let point = |k: u64| {
        let mut limbs = [0; 4];
        limbs[0] = k;
        curve.table.mul(f, &limbs).affine(f).unwrap()
    };
    let (a, b, c) = (point(7), point(1 << 40), point(12345));
    let mut sums = vec![None, Some(a), Some(a), Some(a), Some(b), None];
    let addends = [Some(a), Some(a), Some(a.neg(f)), None, Some(c), None];
    let want: Vec<Option<Affine<4>>> = sums
        .iter()
        .zip(&addends)
        .map(|(sum, addend)| {
            let start = sum.map_or(point::Jacobian::infinity(), |p| {
                point::Jacobian::from_affine(f, &p)
            });
            addend.map_or(start, |q| start.add_affine(f, &q)).affine(f)
        })
        .collect();
    point::add_all(f, &mut sums, &addends);
    assert_eq!(sums, want);
    assert_eq!(sums[1], Some(point(14)));
    assert_eq!(sums[2], None);
    assert_eq!(sums[4], Some(point((1 << 40) + 12345)));
}

/// Every ECDSA algorithm with each curve it accepts: draft-cavage leaves the curve open, so
/// P-256 also meets SHA-384 and SHA-512 (digests longer than the order, truncated) and P-384
/// meets SHA-256 (shorter) and SHA-512.
const PAIRS: [(Algorithm, Nid); 12] = [
    (Algorithm::ES256, Nid::X9_62_PRIME256V1),
    (Algorithm::EcdsaSha256, Nid::X9_62_PRIME256V1),
    (Algorithm::EcdsaSha384, Nid::X9_62_PRIME256V1),
    (Algorithm::EcdsaSha512, Nid::X9_62_PRIME256V1),
    (Algorithm::ES384, Nid::SECP384R1),
    (Algorithm::EcdsaSha384, Nid::SECP384R1),
    (Algorithm::EcdsaSha256, Nid::SECP384R1),
    (Algorithm::EcdsaSha512, Nid::SECP384R1),
    (Algorithm::ES512, Nid::SECP521R1),
    (Algorithm::EcdsaSha512, Nid::SECP521R1),
    (Algorithm::EcdsaSha256, Nid::SECP521R1),
    (Algorithm::EcdsaSha384, Nid::SECP521R1),
];

/// The check and a full verification say the same on the signed input, on inputs that differ
/// by a byte, and under another key of the same curve.
#[test]
fn the_check_agrees_with_a_full_verification() {
    for (algorithm, curve) in PAIRS {
        let (signer, stranger) = (key(curve), key(curve));
        for i in 0..4 {
            let input = format!("(request-target): get /v3/accounts\ndate: {i}");
            let signature = algorithm.sign(&signer, input.as_bytes()).unwrap();
            let prepared = Prepared::new(&signer, algorithm, &signature)
                .unwrap_or_else(|| panic!("{algorithm} on {curve:?}: prepared"));
            let others = [
                format!("{input}\n"),
                input.replace("get", "GET"),
                String::new(),
            ];
            assert!(algorithm.verify(&signer, input.as_bytes(), &signature));
            assert!(prepared.matches(input.as_bytes()), "{algorithm} {curve:?}");
            for other in &others {
                let verifies = algorithm.verify(&signer, other.as_bytes(), &signature);
                assert_eq!(prepared.matches(other.as_bytes()), verifies, "{other:?}");
                assert!(!verifies);
            }
            let mut all: Vec<&[u8]> = others.iter().map(|o| o.as_bytes()).collect();
            all.insert(i, input.as_bytes());
            let verified: Vec<bool> = all
                .iter()
                .map(|other| algorithm.verify(&signer, other, &signature))
                .collect();
            assert_eq!(
                prepared.matches_all(&all),
                verified,
                "{algorithm} {curve:?}"
            );
            let elsewhere = Prepared::new(&stranger, algorithm, &signature).unwrap();
            assert!(!elsewhere.matches(input.as_bytes()), "another key");
            assert_eq!(elsewhere.matches_all(&all), vec![false; all.len()]);
        }
    }
}

/// `(r, n − s)` verifies as well as `(r, s)` (OpenSSL, like ECDSA itself, takes either half):
/// so does the check, whichever half the signer produced.
#[test]
fn a_high_s_signature_is_checked_as_openssl_verifies_it() {
    for (algorithm, curve) in PAIRS {
        let signer = key(curve);
        let n = order(signer.ec_key().unwrap().group());
        let input = b"digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let signature = algorithm.sign(&signer, input).unwrap();
        let (r, s) = algorithm.ecdsa_components(&signer, &signature).unwrap();
        let flipped = encode(algorithm, curve, &r, &(&n - &s));
        assert!(algorithm.verify(&signer, input, &flipped), "{algorithm}");
        let prepared = Prepared::new(&signer, algorithm, &flipped).unwrap();
        assert!(prepared.matches(input), "{algorithm} {curve:?}");
        assert!(!prepared.matches(b"digest: other"));
    }
}

/// Signatures no input verifies: nothing prepared, nothing verified, no panic.
#[test]
fn a_signature_out_of_range_or_unreadable_is_never_prepared() {
    for (algorithm, curve) in PAIRS {
        let signer = key(curve);
        let n = order(signer.ec_key().unwrap().group());
        let input = b"date: Tue, 05 Nov 2019 12:41:32 GMT";
        let good = algorithm.sign(&signer, input).unwrap();
        let (r, s) = algorithm.ecdsa_components(&signer, &good).unwrap();
        let zero = BigNum::new().unwrap();
        let mut n_plus_1 = n.to_owned().unwrap();
        n_plus_1.add_word(1).unwrap();
        let mut bad = vec![
            encode(algorithm, curve, &zero, &s),
            encode(algorithm, curve, &r, &zero),
            encode(algorithm, curve, &n, &s),
            encode(algorithm, curve, &r, &n),
            encode(algorithm, curve, &r, &n_plus_1),
            good[..good.len() - 1].to_vec(),
            [good.as_slice(), &[0]].concat(),
            Vec::new(),
        ];
        if algorithm.family() == crate::sign::Family::HttpSignature {
            bad.push(der_with_negative_r(&s));
        }
        for signature in bad {
            assert!(
                !algorithm.verify(&signer, input, &signature),
                "{signature:02x?}"
            );
            assert!(
                Prepared::new(&signer, algorithm, &signature).is_none(),
                "{algorithm} {curve:?}: {signature:02x?}"
            );
        }
    }
}

/// `SEQUENCE { INTEGER −1, INTEGER s }`: an `r` below zero in DER.
fn der_with_negative_r(s: &BigNumRef) -> Vec<u8> {
    let mut s_bytes = s.to_vec();
    if s_bytes[0] & 0x80 != 0 {
        s_bytes.insert(0, 0);
    }
    let mut content = vec![0x02, 0x01, 0xff, 0x02, s_bytes.len() as u8];
    content.extend(s_bytes);
    let mut der = vec![0x30, content.len() as u8];
    der.extend(content);
    der
}

/// A key the algorithm refuses (ES384 names P-384) or an RSA algorithm: not prepared.
#[test]
fn only_ecdsa_with_a_key_the_algorithm_takes_is_prepared() {
    let p256 = key(Nid::X9_62_PRIME256V1);
    let signature = Algorithm::ES256.sign(&p256, b"x").unwrap();
    assert!(Prepared::new(&p256, Algorithm::ES384, &signature).is_none());
    assert!(Prepared::new(&p256, Algorithm::RS256, &signature).is_none());
    assert!(Prepared::new(&p256, Algorithm::ES256, &signature).is_some());
}

/// A point whose x is at least n signs with `r = x − n`: the check finds it through `r + n`.
/// No private key makes one in reasonable time (`x ≥ n` is rare), so the public key is solved
/// for instead: `Q = u2⁻¹·(R − u1·G)` verifies `(r, s)` over the input.
fn x_above_the_order(algorithm: Algorithm, curve: Nid) {
    let group = EcGroup::from_curve_name(curve).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let n = order(&group);
    let (point, r) = (1u32..)
        .find_map(|t| {
            let mut x = n.to_owned().unwrap();
            x.add_word(t).unwrap();
            let mut compressed = vec![0x02];
            compressed.extend(x.to_vec_padded(field_len(curve)).unwrap());
            let point = EcPoint::from_bytes(&group, &compressed, &mut ctx).ok()?;
            Some((point, BigNum::from_u32(t).unwrap()))
        })
        .unwrap();
    let input = b"(request-target): post /oauth2/token";
    let s = BigNum::from_u32(0x00c0_ffee).unwrap();
    let e = {
        let digest = hash(algorithm.digest(), input).unwrap();
        let bits = order(&group).num_bits() as usize;
        let limbs = truncated::<9>(&digest, bits).unwrap();
        let bytes: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        BigNum::from_slice(&bytes).unwrap()
    };
    let (mut w, mut u1, mut u2, mut u2_inv) = (
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
        BigNum::new().unwrap(),
    );
    w.mod_inverse(&s, &n, &mut ctx).unwrap();
    u1.mod_mul(&e, &w, &n, &mut ctx).unwrap();
    u2.mod_mul(&r, &w, &n, &mut ctx).unwrap();
    u2_inv.mod_inverse(&u2, &n, &mut ctx).unwrap();
    let mut u1g = EcPoint::new(&group).unwrap();
    u1g.mul_generator2(&group, &u1, &mut ctx).unwrap();
    u1g.invert2(&group, &mut ctx).unwrap();
    let mut difference = EcPoint::new(&group).unwrap();
    difference.add(&group, &point, &u1g, &mut ctx).unwrap();
    let mut q = EcPoint::new(&group).unwrap();
    q.mul2(&group, &difference, &u2_inv, &mut ctx).unwrap();
    let key: PKey<Public> = PKey::from_ec_key(EcKey::from_public_key(&group, &q).unwrap()).unwrap();
    let signature = encode(algorithm, curve, &r, &s);
    assert!(
        algorithm.verify(&key, input, &signature),
        "OpenSSL: x mod n = r"
    );
    let prepared = Prepared::new(&key, algorithm, &signature).unwrap();
    assert!(prepared.matches(input), "{algorithm} {curve:?}");
    assert!(!prepared.matches(b"(request-target): post /oauth2/token\n"));
    let inputs: [&[u8]; 3] = [b"", input, b"(request-target): post /oauth2/token\n"];
    assert_eq!(prepared.matches_all(&inputs), [false, true, false]);
    // The point is R itself: u1·G + u2·Q.
    let mut sum = EcPoint::new(&group).unwrap();
    sum.mul_full(&group, &u1, &q, &u2, &mut ctx).unwrap();
    assert!(same_point(&group, &sum, &point));
}

#[test]
fn a_point_with_x_above_the_order_matches_through_r_plus_n() {
    x_above_the_order(Algorithm::EcdsaSha256, Nid::X9_62_PRIME256V1);
    x_above_the_order(Algorithm::ES256, Nid::X9_62_PRIME256V1);
    x_above_the_order(Algorithm::EcdsaSha384, Nid::X9_62_PRIME256V1);
    x_above_the_order(Algorithm::ES384, Nid::SECP384R1);
    x_above_the_order(Algorithm::EcdsaSha384, Nid::SECP384R1);
}

/// Leftmost bits: whole bytes first, then a shift — for an order whose size is no whole number
/// of bytes (no NIST curve's digest needs it, a 255-bit order would).
#[test]
fn a_digest_is_truncated_to_the_order_s_bits() {
    let digest: Vec<u8> = (0u8..48).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
    let mut want = BigNum::new().unwrap();
    want.rshift(&BigNum::from_slice(&digest[..32]).unwrap(), 1)
        .unwrap();
    let got = truncated::<4>(&digest, 255).unwrap();
    assert_eq!(got, field::limbs_of::<4>(&want).unwrap());
    let whole = truncated::<4>(&digest, 256).unwrap();
    assert_eq!(whole, limbs_from_be::<4>(&digest[..32]).unwrap());
    let short = truncated::<6>(&digest[..32], 384).unwrap();
    assert_eq!(short, limbs_from_be::<6>(&digest[..32]).unwrap());
}
