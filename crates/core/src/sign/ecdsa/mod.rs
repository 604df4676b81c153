//! One ECDSA signature checked against many candidate inputs, as the diagnosis engine does.
//!
//! A verification accepts when `x(u1·G + u2·Q) mod n = r`, with `w = s⁻¹ mod n`, `u1 = e·w`,
//! `u2 = r·w` and `e` the input's digest. Only `u1` depends on the input: `w` and the point
//! `u2·Q` are worked out once per signature, and each input then costs its digest, `u1·G` from
//! the curve's generator table (additions only, no doubling), one more addition and a compare —
//! a fraction of a full verification, most of all on P-384, which OpenSSL 3.0 has no fast code
//! for. Many inputs at once ([`Prepared::matches_all`]) add in affine coordinates, one
//! inversion per step serving all of them, which takes about a quarter off again. It is the
//! same equation OpenSSL checks; callers still confirm a match with a full verification, so a
//! match they report is certain.

mod curve;
mod field;
mod point;
mod table;

use crate::sign::Algorithm;
use curve::Curve;
use field::{Limbs, limbs_from_be};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcKeyRef, EcPoint};
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, PKeyRef};
use point::Affine;

/// A signature made ready for [`Prepared::matches`].
pub struct Prepared(Curves);

enum Curves {
    P256(Check<4>),
    P384(Check<6>),
    P521(Check<9>),
}

impl Prepared {
    /// `None` when the check does not apply: not an ECDSA algorithm, a key the algorithm refuses,
    /// a curve other than P-256, P-384 and P-521, or a signature no input can verify (unreadable
    /// in the algorithm's encoding, `r` or `s` outside `1…n−1`). The caller verifies in full then.
    pub fn new<T: HasPublic>(
        key: &PKeyRef<T>,
        algorithm: Algorithm,
        signature: &[u8],
    ) -> Option<Prepared> {
        if algorithm.is_rsa() || algorithm.check_key(key).is_err() {
            return None;
        }
        let ec = key.ec_key().ok()?;
        let (r, s) = algorithm.ecdsa_components(key, signature)?;
        let digest = algorithm.digest();
        Some(Prepared(match ec.group().curve_name()? {
            Nid::X9_62_PRIME256V1 => Curves::P256(Check::new(curve::p256()?, &ec, digest, &r, &s)?),
            Nid::SECP384R1 => Curves::P384(Check::new(curve::p384()?, &ec, digest, &r, &s)?),
            Nid::SECP521R1 => Curves::P521(Check::new(curve::p521()?, &ec, digest, &r, &s)?),
            _ => return None,
        }))
    }

    /// Whether the signature verifies over `input`.
    pub fn matches(&self, input: &[u8]) -> bool {
        match &self.0 {
            Curves::P256(check) => check.matches(input),
            Curves::P384(check) => check.matches(input),
            Curves::P521(check) => check.matches(input),
        }
    }

    /// [`Prepared::matches`] for each input, in one pass that shares work among them: cheaper
    /// per input once there are a couple of hundred (each of the ~50 steps costs one inversion,
    /// whatever the number of inputs).
    pub fn matches_all(&self, inputs: &[&[u8]]) -> Vec<bool> {
        match &self.0 {
            Curves::P256(check) => check.matches_all(inputs),
            Curves::P384(check) => check.matches_all(inputs),
            Curves::P521(check) => check.matches_all(inputs),
        }
    }
}

struct Check<const N: usize> {
    curve: &'static Curve<N>,
    digest: MessageDigest,
    /// `s⁻¹ mod n` in the order's Montgomery form: one multiplication by it gives `e·s⁻¹ mod n`.
    w: Limbs<N>,
    /// `(r·s⁻¹)·Q`; `None` at infinity.
    rq: Option<Affine<N>>,
    /// The x coordinates a point has when `x mod n = r`.
    xs: Vec<Limbs<N>>,
}

impl<const N: usize> Check<N> {
    fn new<T: HasPublic>(
        curve: &'static Curve<N>,
        ec: &EcKeyRef<T>,
        digest: MessageDigest,
        r: &BigNumRef,
        s: &BigNumRef,
    ) -> Option<Self> {
        let group = ec.group();
        let mut ctx = BigNumContext::new().ok()?;
        let mut n = BigNum::new().ok()?;
        group.order(&mut n, &mut ctx).ok()?;
        // What OpenSSL refuses before any arithmetic: no input verifies.
        let in_range = |v: &BigNumRef| !v.is_negative() && v.num_bits() > 0 && v.ucmp(&n).is_lt();
        if !in_range(r) || !in_range(s) {
            return None;
        }
        let (mut w, mut u2) = (BigNum::new().ok()?, BigNum::new().ok()?);
        w.mod_inverse(s, &n, &mut ctx).ok()?;
        u2.mod_mul(r, &w, &n, &mut ctx).ok()?;
        let mut rq = EcPoint::new(group).ok()?;
        rq.mul2(group, ec.public_key(), &u2, &mut ctx).ok()?;
        Some(Check {
            curve,
            digest,
            w: curve.order.mont_of(&w)?,
            rq: curve.affine(group, &rq, &mut ctx),
            xs: curve.xs_of(r, &n)?,
        })
    }

    /// `u1 = e·s⁻¹ mod n` for the input's digest `e`.
    fn u1(&self, input: &[u8]) -> Option<Limbs<N>> {
        let digest = hash(self.digest, input).ok()?;
        let e = truncated::<N>(&digest, self.curve.order_bits)?;
        let order = &self.curve.order;
        // e < 2^bits(n) < 2n: one subtraction reduces it; the product is then e·s⁻¹ mod n.
        Some(order.mul(&order.reduce_once(&e), &self.w))
    }

    fn matches(&self, input: &[u8]) -> bool {
        let Some(u1) = self.u1(input) else {
            return false;
        };
        let field = &self.curve.field;
        let mut sum = self.curve.table.mul(field, &u1);
        if let Some(rq) = &self.rq {
            sum = sum.add_affine(field, rq);
        }
        self.xs.iter().any(|x| sum.has_x(field, x))
    }

    fn matches_all(&self, inputs: &[&[u8]]) -> Vec<bool> {
        let u1s: Vec<Option<Limbs<N>>> = inputs.iter().map(|input| self.u1(input)).collect();
        let scalars: Vec<Limbs<N>> = u1s.iter().map(|u1| u1.unwrap_or([0; N])).collect();
        let field = &self.curve.field;
        let mut sums = self.curve.table.mul_all(field, &scalars);
        let rqs = vec![self.rq; sums.len()];
        point::add_all(field, &mut sums, &rqs);
        sums.iter()
            .zip(&u1s)
            .map(|(sum, u1)| u1.is_some() && sum.is_some_and(|p| self.xs.contains(&p.x)))
            .collect()
    }
}

/// The digest as the number ECDSA signs: its leftmost `bits` bits (SEC 1 §4.1.3 step 5, as
/// OpenSSL takes it: whole bytes first, then a shift for the bits left over).
fn truncated<const N: usize>(digest: &[u8], bits: usize) -> Option<Limbs<N>> {
    let bytes = &digest[..digest.len().min(bits.div_ceil(8))];
    let mut e = limbs_from_be::<N>(bytes)?;
    let excess = (8 * bytes.len()).saturating_sub(bits);
    if excess > 0 {
        for i in 0..N {
            let above = e.get(i + 1).map_or(0, |next| next << (64 - excess));
            e[i] = e[i] >> excess | above;
        }
    }
    Some(e)
}

#[cfg(test)]
mod tests;
