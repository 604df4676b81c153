//! What a step does between planning its request and checking the answer: sign it per its
//! profile, apply the negative test's mutations, obtain a consent (`authorize`), or wait for a
//! system's callback.

pub mod authorize;
pub mod callback;
pub mod mutate;
pub mod sign;
