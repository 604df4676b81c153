//! Points of a curve `y² = x³ − 3x + b` (every NIST prime curve): affine, and Jacobian
//! (`x = X/Z²`, `y = Y/Z³`, `Z = 0` the point at infinity) to add without an inversion each time.
//! Coordinates are in the field's Montgomery form.

use super::field::{Limbs, Modulus, is_zero};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Affine<const N: usize> {
    pub x: Limbs<N>,
    pub y: Limbs<N>,
}

#[derive(Debug, Clone, Copy)]
pub struct Jacobian<const N: usize> {
    x: Limbs<N>,
    y: Limbs<N>,
    z: Limbs<N>,
}

impl<const N: usize> Affine<N> {
    pub fn neg(&self, f: &Modulus<N>) -> Affine<N> {
        Affine {
            x: self.x,
            y: f.neg(&self.y),
        }
    }
}

impl<const N: usize> Jacobian<N> {
    pub fn infinity() -> Self {
        Jacobian {
            x: [0; N],
            y: [0; N],
            z: [0; N],
        }
    }

    pub fn from_affine(f: &Modulus<N>, p: &Affine<N>) -> Self {
        Jacobian {
            x: p.x,
            y: p.y,
            z: f.one(),
        }
    }

    pub fn is_infinity(&self) -> bool {
        is_zero(&self.z)
    }

    /// `2·P` with `a = −3` (dbl-2001-b, with `Z3 = 2·Y·Z`).
    pub fn double(&self, f: &Modulus<N>) -> Self {
        let delta = f.square(&self.z);
        let gamma = f.square(&self.y);
        let beta = f.mul(&self.x, &gamma);
        let t = f.mul(&f.sub(&self.x, &delta), &f.add(&self.x, &delta));
        let alpha = f.add(&f.add(&t, &t), &t);
        let beta4 = f.add(&f.add(&beta, &beta), &f.add(&beta, &beta));
        let x = f.sub(&f.square(&alpha), &f.add(&beta4, &beta4));
        let gamma2 = f.square(&gamma);
        let gamma8 = f.add(&gamma2, &gamma2);
        let gamma8 = f.add(&gamma8, &gamma8);
        let gamma8 = f.add(&gamma8, &gamma8);
        let y = f.sub(&f.mul(&alpha, &f.sub(&beta4, &x)), &gamma8);
        let yz = f.mul(&self.y, &self.z);
        Jacobian {
            x,
            y,
            z: f.add(&yz, &yz),
        }
    }

    /// `P + Q` for an affine `Q`, with the cases the short formula cannot take (P at infinity,
    /// `P = Q`, `P = −Q`) handled apart.
    pub fn add_affine(&self, f: &Modulus<N>, q: &Affine<N>) -> Self {
        if self.is_infinity() {
            return Jacobian::from_affine(f, q);
        }
        let zz = f.square(&self.z);
        let u2 = f.mul(&q.x, &zz);
        let s2 = f.mul(&q.y, &f.mul(&self.z, &zz));
        let h = f.sub(&u2, &self.x);
        let r = f.sub(&s2, &self.y);
        if is_zero(&h) {
            return if is_zero(&r) {
                self.double(f)
            } else {
                Jacobian::infinity()
            };
        }
        let hh = f.square(&h);
        let hhh = f.mul(&h, &hh);
        let v = f.mul(&self.x, &hh);
        let x = f.sub(&f.sub(&f.square(&r), &hhh), &f.add(&v, &v));
        let y = f.sub(&f.mul(&r, &f.sub(&v, &x)), &f.mul(&self.y, &hhh));
        Jacobian {
            x,
            y,
            z: f.mul(&self.z, &h),
        }
    }

    /// Whether the affine x of this (finite) point is `x`, without an inversion: `X = x·Z²`.
    pub fn has_x(&self, f: &Modulus<N>, x: &Limbs<N>) -> bool {
        !self.is_infinity() && f.mul(x, &f.square(&self.z)) == self.x
    }

    pub fn affine(&self, f: &Modulus<N>) -> Option<Affine<N>> {
        (!self.is_infinity()).then(|| self.scaled(f, &f.invert(&self.z)))
    }

    /// The affine point, given `1/Z`.
    fn scaled(&self, f: &Modulus<N>, z_inv: &Limbs<N>) -> Affine<N> {
        let zz_inv = f.square(z_inv);
        Affine {
            x: f.mul(&self.x, &zz_inv),
            y: f.mul(&self.y, &f.mul(&zz_inv, z_inv)),
        }
    }
}

/// Finite points to affine with one inversion for all; `None` when one is at infinity.
pub fn batch_to_affine<const N: usize>(
    f: &Modulus<N>,
    points: &[Jacobian<N>],
) -> Option<Vec<Affine<N>>> {
    if points.iter().any(Jacobian::is_infinity) {
        return None;
    }
    let zs: Vec<Limbs<N>> = points.iter().map(|p| p.z).collect();
    let z_invs = batch_invert(f, &zs);
    Some(
        points
            .iter()
            .zip(&z_invs)
            .map(|(p, z_inv)| p.scaled(f, z_inv))
            .collect(),
    )
}

/// `sums[j] += addends[j]` for every `j`, in affine coordinates: an affine addition needs
/// `1/(x_q − x_p)`, and one inversion serves them all (the cheapest way to add many pairs).
pub fn add_all<const N: usize>(
    f: &Modulus<N>,
    sums: &mut [Option<Affine<N>>],
    addends: &[Option<Affine<N>>],
) {
    let mut pairs = Vec::with_capacity(sums.len());
    let mut differences = Vec::with_capacity(sums.len());
    for (j, (sum, addend)) in sums.iter_mut().zip(addends).enumerate() {
        let Some(q) = addend else {
            continue;
        };
        match sum {
            None => *sum = Some(*q),
            // P + P and P − P, which the short formula cannot take (rare: done apart).
            Some(p) if p.x == q.x => {
                *sum = Jacobian::from_affine(f, p).add_affine(f, q).affine(f);
            }
            Some(p) => {
                pairs.push(j);
                differences.push(f.sub(&q.x, &p.x));
            }
        }
    }
    for (j, inverse) in pairs.into_iter().zip(batch_invert(f, &differences)) {
        if let (Some(p), Some(q)) = (sums[j], addends[j]) {
            let slope = f.mul(&f.sub(&q.y, &p.y), &inverse);
            let x = f.sub(&f.sub(&f.square(&slope), &p.x), &q.x);
            let y = f.sub(&f.mul(&slope, &f.sub(&p.x, &x)), &p.y);
            sums[j] = Some(Affine { x, y });
        }
    }
}

/// The inverse of every value (none zero) for one inversion and three multiplications each
/// (Montgomery's trick: invert the product, then peel the factors off one by one).
fn batch_invert<const N: usize>(f: &Modulus<N>, values: &[Limbs<N>]) -> Vec<Limbs<N>> {
    // prefix[i] = values[0] · … · values[i−1]
    let mut prefix = Vec::with_capacity(values.len());
    let mut running = f.one();
    for v in values {
        prefix.push(running);
        running = f.mul(&running, v);
    }
    // Walking back, `inverse` is 1 / (values[0] · … · values[i]).
    let mut inverse = f.invert(&running);
    let mut out = vec![[0; N]; values.len()];
    for (i, v) in values.iter().enumerate().rev() {
        out[i] = f.mul(&inverse, &prefix[i]);
        inverse = f.mul(&inverse, v);
    }
    out
}
