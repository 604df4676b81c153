//! A NIST prime curve as the fast check needs it, built from OpenSSL's own parameters once per
//! process (the generator table takes a few milliseconds): the field and order moduli and the
//! generator's table.

use super::field::{Limbs, Modulus};
use super::point::Affine;
use super::table::GeneratorTable;
use openssl::bn::{BigNum, BigNumContext, BigNumContextRef, BigNumRef};
use openssl::ec::{EcGroup, EcGroupRef, EcPointRef};
use openssl::nid::Nid;
use std::sync::OnceLock;

pub struct Curve<const N: usize> {
    /// Modulo the field prime `p`.
    pub field: Modulus<N>,
    /// Modulo the group order `n`.
    pub order: Modulus<N>,
    /// Bits of `n`: how much of a digest ECDSA takes.
    pub order_bits: usize,
    pub table: GeneratorTable<N>,
}

pub fn p256() -> Option<&'static Curve<4>> {
    static CURVE: OnceLock<Option<Curve<4>>> = OnceLock::new();
    CURVE
        .get_or_init(|| Curve::load(Nid::X9_62_PRIME256V1))
        .as_ref()
}

pub fn p384() -> Option<&'static Curve<6>> {
    static CURVE: OnceLock<Option<Curve<6>>> = OnceLock::new();
    CURVE.get_or_init(|| Curve::load(Nid::SECP384R1)).as_ref()
}

pub fn p521() -> Option<&'static Curve<9>> {
    static CURVE: OnceLock<Option<Curve<9>>> = OnceLock::new();
    CURVE.get_or_init(|| Curve::load(Nid::SECP521R1)).as_ref()
}

impl<const N: usize> Curve<N> {
    /// `None` unless the curve is `y² = x³ − 3x + b` over a prime field of at most `N` limbs
    /// (the point formulas assume `a = −3`).
    fn load(nid: Nid) -> Option<Self> {
        let group = EcGroup::from_curve_name(nid).ok()?;
        let mut ctx = BigNumContext::new().ok()?;
        let (mut p, mut a, mut b, mut n) = (
            BigNum::new().ok()?,
            BigNum::new().ok()?,
            BigNum::new().ok()?,
            BigNum::new().ok()?,
        );
        group
            .components_gfp(&mut p, &mut a, &mut b, &mut ctx)
            .ok()?;
        group.order(&mut n, &mut ctx).ok()?;
        let three = BigNum::from_u32(3).ok()?;
        let mut a_plus_3 = BigNum::new().ok()?;
        a_plus_3.checked_add(&a, &three).ok()?;
        if a_plus_3 != p {
            return None;
        }
        let field = Modulus::new(&p)?;
        let order = Modulus::new(&n)?;
        let order_bits = usize::try_from(n.num_bits()).ok()?;
        let generator = affine_of(&field, &group, group.generator_opt()?, &mut ctx)?;
        let table = GeneratorTable::new(&field, &generator, order_bits)?;
        Some(Curve {
            field,
            order,
            order_bits,
            table,
        })
    }

    /// An OpenSSL point of this curve, in this module's form; `None` at infinity.
    pub fn affine(
        &self,
        group: &EcGroupRef,
        point: &EcPointRef,
        ctx: &mut BigNumContextRef,
    ) -> Option<Affine<N>> {
        affine_of(&self.field, group, point, ctx)
    }

    /// `r` as an x coordinate, and `r + n` when that is below `p` too: the two x a point can
    /// have when `x mod n = r`.
    pub fn xs_of(&self, r: &BigNumRef, n: &BigNumRef) -> Option<Vec<Limbs<N>>> {
        let mut xs = vec![self.field.mont_of(r)?];
        let mut plus_n = BigNum::new().ok()?;
        plus_n.checked_add(r, n).ok()?;
        xs.extend(self.field.mont_of(&plus_n));
        Some(xs)
    }
}

fn affine_of<const N: usize>(
    field: &Modulus<N>,
    group: &EcGroupRef,
    point: &EcPointRef,
    ctx: &mut BigNumContextRef,
) -> Option<Affine<N>> {
    if point.is_infinity(group) {
        return None;
    }
    let (mut x, mut y) = (BigNum::new().ok()?, BigNum::new().ok()?);
    point.affine_coordinates(group, &mut x, &mut y, ctx).ok()?;
    Some(Affine {
        x: field.mont_of(&x)?,
        y: field.mont_of(&y)?,
    })
}
