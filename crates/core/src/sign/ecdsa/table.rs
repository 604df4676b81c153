//! The generator's multiples, window by window, so that `k·G` is a sum of one table point per
//! 8 bits of `k` and needs no doubling: what makes a candidate input cheap to check.

use super::field::{Limbs, Modulus};
use super::point::{Affine, Jacobian, add_all, batch_to_affine};

const WINDOW_BITS: usize = 8;
/// Digits run from −128 to 128 (a negative one is a table point with `y` negated): the multiples
/// 1…128 of each window's base.
const PER_WINDOW: usize = 1 << (WINDOW_BITS - 1);

pub struct GeneratorTable<const N: usize> {
    /// Entry `w·PER_WINDOW + d − 1` is `d·2^(8w)·G`.
    points: Vec<Affine<N>>,
    windows: usize,
}

impl<const N: usize> GeneratorTable<N> {
    /// A table for scalars below `2^bits`; `None` if a multiple is at infinity (a generator of
    /// tiny order).
    pub fn new(f: &Modulus<N>, generator: &Affine<N>, bits: usize) -> Option<Self> {
        // One window more for the carry the top digit may leave.
        let windows = bits.div_ceil(WINDOW_BITS) + 1;
        let mut multiples = Vec::with_capacity(windows * PER_WINDOW);
        let mut base = *generator;
        for _ in 0..windows {
            let mut multiple = Jacobian::from_affine(f, &base);
            multiples.push(multiple);
            for _ in 1..PER_WINDOW {
                multiple = multiple.add_affine(f, &base);
                multiples.push(multiple);
            }
            // 2 · 128·base is the next window's base, 2^8·base.
            base = multiple.double(f).affine(f)?;
        }
        Some(GeneratorTable {
            points: batch_to_affine(f, &multiples)?,
            windows,
        })
    }

    /// `k·G` for a `k` below the `2^bits` the table was made for.
    pub fn mul(&self, f: &Modulus<N>, k: &Limbs<N>) -> Jacobian<N> {
        let mut sum = Jacobian::infinity();
        let mut carry = 0;
        for window in 0..self.windows {
            if let Some(point) = self.addend(f, k, window, &mut carry) {
                sum = sum.add_affine(f, &point);
            }
        }
        sum
    }

    /// `k·G` for every `k`, affine (`None` at infinity): window by window, the additions of all
    /// scalars share one inversion, and each costs about half the multiplications of a Jacobian
    /// one.
    pub fn mul_all(&self, f: &Modulus<N>, scalars: &[Limbs<N>]) -> Vec<Option<Affine<N>>> {
        let mut sums = vec![None; scalars.len()];
        let mut carries = vec![0; scalars.len()];
        let mut addends = vec![None; scalars.len()];
        for window in 0..self.windows {
            for ((k, carry), addend) in scalars.iter().zip(&mut carries).zip(&mut addends) {
                *addend = self.addend(f, k, window, carry);
            }
            add_all(f, &mut sums, &addends);
        }
        sums
    }

    /// The table point for `k`'s digit in `window`, taking the carry from the window below and
    /// leaving the one for the window above; `None` for a zero digit.
    fn addend(
        &self,
        f: &Modulus<N>,
        k: &Limbs<N>,
        window: usize,
        carry: &mut usize,
    ) -> Option<Affine<N>> {
        let digit = byte(k, window * WINDOW_BITS) + *carry;
        // A digit above 128 becomes digit − 256, carrying one into the next window.
        let (magnitude, negative) = if digit > PER_WINDOW {
            (2 * PER_WINDOW - digit, true)
        } else {
            (digit, false)
        };
        *carry = usize::from(negative);
        let point = self.points[window * PER_WINDOW + magnitude.checked_sub(1)?];
        Some(if negative { point.neg(f) } else { point })
    }
}

/// The 8 bits of `k` from bit `offset` on (zero past its end).
fn byte<const N: usize>(k: &Limbs<N>, offset: usize) -> usize {
    k.get(offset / 64)
        .map_or(0, |limb| (limb >> (offset % 64) & 0xff) as usize)
}
