//! Opening a signature that is not RSA. One input (the request as the bank builds it) is
//! verified in full; a search over many candidates prepares the signature once ([`Prepared`])
//! and checks them together, each match confirmed by a full verification. A signature the fast
//! check does not cover is verified in full for every input.

use crate::sign::Algorithm;
use crate::sign::ecdsa::Prepared;
use openssl::pkey::{PKey, Public};

/// Candidates checked one by one before the rest go together: a mistake found among the first
/// (the most specific, and the most common) costs no pass over all of them.
const ONE_BY_ONE: usize = 16;

pub struct EcOpener {
    key: PKey<Public>,
    algorithm: Algorithm,
    signature: Vec<u8>,
}

impl EcOpener {
    pub fn new(key: &PKey<Public>, algorithm: Algorithm, signature: &[u8]) -> EcOpener {
        EcOpener {
            key: key.clone(),
            algorithm,
            signature: signature.to_vec(),
        }
    }

    pub fn opens(&self, input: &[u8]) -> bool {
        self.algorithm.verify(&self.key, input, &self.signature)
    }

    /// The index of the first input the signature opens over.
    pub fn first_opening(&self, inputs: &[&[u8]]) -> Option<usize> {
        let Some(prepared) = Prepared::new(&self.key, self.algorithm, &self.signature) else {
            return inputs.iter().position(|input| self.opens(input));
        };
        let (early, rest) = inputs.split_at(inputs.len().min(ONE_BY_ONE));
        if let Some(i) = early
            .iter()
            .position(|input| prepared.matches(input) && self.opens(input))
        {
            return Some(i);
        }
        prepared
            .matches_all(rest)
            .into_iter()
            .zip(rest)
            .position(|(matches, input)| matches && self.opens(input))
            .map(|i| early.len() + i)
    }
}
