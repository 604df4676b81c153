//! RSA key generation, the slow part of issuing a test PKI (~20 ms for a 2048-bit key on one
//! core, by a classic prime search: sieve, then Miller–Rabin): keys wanted together are generated
//! ahead on every core at once and taken as needed.

mod primes;

use openssl::error::ErrorStack;
use openssl::pkey::{PKey, Private};
use std::sync::{Mutex, PoisonError};

/// The size of every generated key (ING's example certificates are 2048-bit RSA).
pub const RSA_BITS: u32 = 2048;

/// Keys generated ahead and not yet taken. A few, so an unused batch costs little memory.
static READY: Mutex<Vec<PKey<Private>>> = Mutex::new(Vec::new());
const MAX_READY: usize = 32;

/// Generates `count` keys on all cores and keeps them for the next [`rsa_key`] calls (keys of
/// concurrent callers mix harmlessly: each is fresh and random).
pub fn generate_ahead(count: usize) -> Result<(), ErrorStack> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count.max(1));
    let generated: Vec<Result<Vec<PKey<Private>>, ErrorStack>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                // Worker w makes keys w, w + threads, …: `count` in all.
                let share = (worker..count).step_by(threads).count();
                scope.spawn(move || (0..share).map(|_| generate()).collect())
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut ready = READY.lock().unwrap_or_else(PoisonError::into_inner);
    for keys in generated {
        for key in keys? {
            if ready.len() < MAX_READY {
                ready.push(key);
            }
        }
    }
    Ok(())
}

/// A fresh key: one generated ahead when there is one, else generated now.
pub fn rsa_key() -> Result<PKey<Private>, ErrorStack> {
    let ahead = READY.lock().unwrap_or_else(PoisonError::into_inner).pop();
    match ahead {
        Some(key) => Ok(key),
        None => generate(),
    }
}

fn generate() -> Result<PKey<Private>, ErrorStack> {
    primes::generate(RSA_BITS).and_then(PKey::from_rsa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_generated_ahead_are_distinct_2048_bit_keys_taken_once() {
        generate_ahead(3).unwrap();
        let keys: Vec<PKey<Private>> = (0..3).map(|_| rsa_key().unwrap()).collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(key.bits(), RSA_BITS);
            for other in &keys[i + 1..] {
                assert!(!key.public_eq(other), "every key is its own");
            }
        }
    }
}
