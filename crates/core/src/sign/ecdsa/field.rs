//! Arithmetic modulo an odd number of `N` 64-bit limbs, in Montgomery form (`a·R mod m`,
//! `R = 2^(64·N)`). Variable time on purpose: everything it sees is public (a signature, a
//! public key, a candidate input), and branches keep it short.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};

/// A number as little-endian 64-bit limbs.
pub type Limbs<const N: usize> = [u64; N];

/// An odd modulus with what Montgomery multiplication needs, worked out once.
#[derive(Debug, Clone)]
pub struct Modulus<const N: usize> {
    m: Limbs<N>,
    /// `−m⁻¹ mod 2^64`: the multiplier that clears one limb per reduction step.
    m_neg_inv: u64,
    /// `R² mod m`: multiplying by it brings a number into Montgomery form.
    r2: Limbs<N>,
    /// `R mod m`: one, in Montgomery form.
    one: Limbs<N>,
}

impl<const N: usize> Modulus<N> {
    /// `None` when `m` is even, below 3 or wider than `N` limbs.
    pub fn new(m: &BigNumRef) -> Option<Self> {
        let limbs = limbs_of(m)?;
        if limbs[0] & 1 == 0 || m.num_bits() < 2 {
            return None;
        }
        // Newton's iteration doubles the correct low bits each step: 1 → 64 in six.
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(limbs[0].wrapping_mul(inv)));
        }
        let power_mod = |exponent: i32| -> Option<Limbs<N>> {
            let mut ctx = BigNumContext::new().ok()?;
            let one = BigNum::from_u32(1).ok()?;
            let mut power = BigNum::new().ok()?;
            power.lshift(&one, exponent).ok()?;
            let mut residue = BigNum::new().ok()?;
            residue.nnmod(&power, m, &mut ctx).ok()?;
            limbs_of(&residue)
        };
        let bits = 64 * N as i32;
        Some(Modulus {
            m: limbs,
            m_neg_inv: inv.wrapping_neg(),
            r2: power_mod(2 * bits)?,
            one: power_mod(bits)?,
        })
    }

    pub fn one(&self) -> Limbs<N> {
        self.one
    }

    /// Into Montgomery form; `a` may be any `N`-limb number (the product stays below `2m`).
    pub fn to_mont(&self, a: &Limbs<N>) -> Limbs<N> {
        self.mul(a, &self.r2)
    }

    /// Out of Montgomery form (the tests compare with OpenSSL's numbers).
    #[cfg(test)]
    pub fn out_of_mont(&self, a: &Limbs<N>) -> Limbs<N> {
        let mut one = [0u64; N];
        one[0] = 1;
        self.mul(a, &one)
    }

    /// `a − m` when `a ≥ m`: brings a number below `2m` to its canonical residue.
    pub fn reduce_once(&self, a: &Limbs<N>) -> Limbs<N> {
        if at_least(a, &self.m) {
            sub(a, &self.m).0
        } else {
            *a
        }
    }

    pub fn add(&self, a: &Limbs<N>, b: &Limbs<N>) -> Limbs<N> {
        let (sum, carry) = add(a, b);
        // With a carry the true sum is 2^(64N) more, so wrapping `− m` still lands below m.
        if carry || at_least(&sum, &self.m) {
            sub(&sum, &self.m).0
        } else {
            sum
        }
    }

    pub fn sub(&self, a: &Limbs<N>, b: &Limbs<N>) -> Limbs<N> {
        let (difference, borrow) = sub(a, b);
        if borrow {
            add(&difference, &self.m).0
        } else {
            difference
        }
    }

    pub fn neg(&self, a: &Limbs<N>) -> Limbs<N> {
        self.sub(&[0; N], a)
    }

    /// `a·b·R⁻¹ mod m`, canonical for any `a` of `N` limbs and `b < m` (coarsely integrated
    /// operand scanning: one limb of `b` added in, one limb reduced away, per step).
    pub fn mul(&self, a: &Limbs<N>, b: &Limbs<N>) -> Limbs<N> {
        let mut t = [0u64; N];
        // The limb above `t`: the running value stays below 2^(64N+1) between steps.
        let mut high = 0u64;
        for &b_i in b {
            let mut carry = 0u64;
            for (t_j, &a_j) in t.iter_mut().zip(a) {
                let v = u128::from(*t_j) + u128::from(a_j) * u128::from(b_i) + u128::from(carry);
                *t_j = v as u64;
                carry = (v >> 64) as u64;
            }
            let v = u128::from(high) + u128::from(carry);
            high = v as u64;
            let higher = (v >> 64) as u64;

            let q = t[0].wrapping_mul(self.m_neg_inv);
            let v = u128::from(t[0]) + u128::from(q) * u128::from(self.m[0]);
            let mut carry = (v >> 64) as u64;
            for j in 1..N {
                let v =
                    u128::from(t[j]) + u128::from(q) * u128::from(self.m[j]) + u128::from(carry);
                t[j - 1] = v as u64;
                carry = (v >> 64) as u64;
            }
            let v = u128::from(high) + u128::from(carry);
            t[N - 1] = v as u64;
            high = higher + (v >> 64) as u64;
        }
        if high != 0 || at_least(&t, &self.m) {
            sub(&t, &self.m).0
        } else {
            t
        }
    }

    pub fn square(&self, a: &Limbs<N>) -> Limbs<N> {
        self.mul(a, a)
    }

    /// `a^(m−2)`: the inverse of a Montgomery-form `a` when `m` is prime (zero stays zero).
    pub fn invert(&self, a: &Limbs<N>) -> Limbs<N> {
        let mut exponent = self.m;
        exponent[0] -= 2; // m is odd and at least 3: no borrow.
        let mut result = self.one;
        for bit in (0..64 * N).rev() {
            result = self.square(&result);
            if exponent[bit / 64] >> (bit % 64) & 1 == 1 {
                result = self.mul(&result, a);
            }
        }
        result
    }

    /// A number below `m` into Montgomery form; `None` when it is negative or not below `m`.
    pub fn mont_of(&self, n: &BigNumRef) -> Option<Limbs<N>> {
        let limbs = limbs_of(n)?;
        (!n.is_negative() && !at_least(&limbs, &self.m)).then(|| self.to_mont(&limbs))
    }
}

pub fn is_zero<const N: usize>(a: &Limbs<N>) -> bool {
    a.iter().all(|&l| l == 0)
}

/// Big-endian bytes (at most `8·N`) as limbs.
pub fn limbs_from_be<const N: usize>(bytes: &[u8]) -> Option<Limbs<N>> {
    if bytes.len() > 8 * N {
        return None;
    }
    let mut limbs = [0u64; N];
    for (i, &byte) in bytes.iter().rev().enumerate() {
        limbs[i / 8] |= u64::from(byte) << (8 * (i % 8));
    }
    Some(limbs)
}

/// A non-negative number of at most `N` limbs.
pub fn limbs_of<const N: usize>(n: &BigNumRef) -> Option<Limbs<N>> {
    if n.is_negative() {
        return None;
    }
    limbs_from_be(&n.to_vec())
}

/// Whether `a ≥ b`.
fn at_least<const N: usize>(a: &Limbs<N>, b: &Limbs<N>) -> bool {
    for i in (0..N).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

fn add<const N: usize>(a: &Limbs<N>, b: &Limbs<N>) -> (Limbs<N>, bool) {
    let mut out = [0u64; N];
    let mut carry = false;
    for i in 0..N {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        out[i] = s;
        carry = c1 || c2;
    }
    (out, carry)
}

fn sub<const N: usize>(a: &Limbs<N>, b: &Limbs<N>) -> (Limbs<N>, bool) {
    let mut out = [0u64; N];
    let mut borrow = false;
    for i in 0..N {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        out[i] = d;
        borrow = b1 || b2;
    }
    (out, borrow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::EcGroup;
    use openssl::nid::Nid;

    fn bn(limbs: &[u64]) -> BigNum {
        let bytes: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        BigNum::from_slice(&bytes).unwrap()
    }

    /// A deterministic spread of numbers below `m`, the edges included.
    fn samples<const N: usize>(m: &BigNum) -> Vec<BigNum> {
        let mut out = vec![
            BigNum::from_u32(0).unwrap(),
            BigNum::from_u32(1).unwrap(),
            m - &BigNum::from_u32(1).unwrap(),
            m - &BigNum::from_u32(2).unwrap(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut ctx = BigNumContext::new().unwrap();
        for _ in 0..40 {
            let limbs: Vec<u64> = (0..N)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                })
                .collect();
            let mut reduced = BigNum::new().unwrap();
            reduced.nnmod(&bn(&limbs), m, &mut ctx).unwrap();
            out.push(reduced);
        }
        out
    }

    /// Every operation against OpenSSL's, modulo each NIST curve's field prime and order.
    fn agrees_with_openssl<const N: usize>(curve: Nid) {
        let group = EcGroup::from_curve_name(curve).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut p, mut a, mut b, mut n) = (
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
        );
        group
            .components_gfp(&mut p, &mut a, &mut b, &mut ctx)
            .unwrap();
        group.order(&mut n, &mut ctx).unwrap();
        for m in [p, n] {
            let modulus = Modulus::<N>::new(&m).unwrap();
            let values = samples::<N>(&m);
            for x in &values {
                for y in values.iter().step_by(3) {
                    let (xm, ym) = (modulus.mont_of(x).unwrap(), modulus.mont_of(y).unwrap());
                    let mut want = BigNum::new().unwrap();
                    want.mod_mul(x, y, &m, &mut ctx).unwrap();
                    let got = modulus.out_of_mont(&modulus.mul(&xm, &ym));
                    assert_eq!(got, limbs_of::<N>(&want).unwrap(), "{x} · {y} mod {m}");
                    want.mod_add(x, y, &m, &mut ctx).unwrap();
                    let got = modulus.out_of_mont(&modulus.add(&xm, &ym));
                    assert_eq!(got, limbs_of::<N>(&want).unwrap(), "{x} + {y} mod {m}");
                    want.mod_sub(x, y, &m, &mut ctx).unwrap();
                    let got = modulus.out_of_mont(&modulus.sub(&xm, &ym));
                    assert_eq!(got, limbs_of::<N>(&want).unwrap(), "{x} − {y} mod {m}");
                }
                let xm = modulus.mont_of(x).unwrap();
                if x.num_bits() > 0 {
                    let inverse = modulus.mul(&xm, &modulus.invert(&xm));
                    assert_eq!(inverse, modulus.one(), "{x}⁻¹ mod {m}");
                }
            }
            assert!(modulus.mont_of(&m).is_none(), "m itself is not a residue");
        }
    }

    #[test]
    fn p256_arithmetic_agrees_with_openssl() {
        agrees_with_openssl::<4>(Nid::X9_62_PRIME256V1);
    }

    #[test]
    fn p384_arithmetic_agrees_with_openssl() {
        agrees_with_openssl::<6>(Nid::SECP384R1);
    }

    #[test]
    fn p521_arithmetic_agrees_with_openssl() {
        agrees_with_openssl::<9>(Nid::SECP521R1);
    }

    /// A full-width operand (not reduced) still multiplies to the canonical residue.
    #[test]
    fn an_unreduced_left_operand_is_fine() {
        let m = bn(&[u64::MAX - 58, u64::MAX, u64::MAX, u64::MAX >> 1]);
        let modulus = Modulus::<4>::new(&m).unwrap();
        let all_ones = [u64::MAX; 4];
        let mut ctx = BigNumContext::new().unwrap();
        let mut want = BigNum::new().unwrap();
        want.nnmod(&bn(&all_ones), &m, &mut ctx).unwrap();
        let got = modulus.out_of_mont(&modulus.to_mont(&all_ones));
        assert_eq!(got, limbs_of::<4>(&want).unwrap());
        assert!(Modulus::<4>::new(&bn(&[10, 0, 0, 0])).is_none(), "even");
    }
}
