//! Mutations for negative tests: changes made to a request after it is signed, so it goes out
//! as a buggy client would send it (as the OpenID and UK conformance suites do).
//!
//! Two kinds. Edits (`edit`) change headers or body under the signature, which stays as
//! computed. Signing faults (`fault`) re-create the signature the way a buggy client makes it:
//! the correct signing recipe is read back from the signed request (`recipe`), the fault changes
//! it, and the request is signed again with it — so the signature verifies over exactly the
//! faulty input, and `SignedRequest::signing_input` says what that was. `placement` moves or
//! relabels an HTTP signature without re-signing.

mod edit;
mod fault;
mod placement;
mod recipe;

use crate::scenario::model::{Flow, Mutation};
use crate::steps::sign::SignedRequest;
use obconform_core::sign::SigningKey;
use recipe::Recipe;
use std::sync::Arc;

/// The keys a mutation may sign with.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// The certificate and key the request was signed with (`None` for mTLS).
    pub signed_with: Option<&'a SigningKey>,
    /// Every certificate role of the environment, for `sign-with`.
    pub roles: &'a [(String, Arc<SigningKey>)],
}

/// Which signature a mutation needs the request to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: a header or body edit.
    Nothing,
    /// Either kind: re-signs whichever the request carries.
    Signature,
    /// A JWS (`x-jws-signature`).
    Jws,
    /// A draft-cavage HTTP signature.
    HttpSignature,
}

impl Mutation {
    /// The YAML name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::RemoveHeader(_) => "remove-header",
            Mutation::SetHeader { .. } => "set-header",
            Mutation::SetBody(_) => "set-body",
            Mutation::FormSpacesPercent20 => "form-spaces-percent20",
            Mutation::TrailingLf => "trailing-lf",
            Mutation::CrlfLineEndings => "crlf-line-endings",
            Mutation::SpaceSeparatedLines => "space-separated-lines",
            Mutation::DigestWithoutLabel => "digest-without-label",
            Mutation::ReorderSigned => "reorder-signed",
            Mutation::Unsign(_) => "unsign",
            Mutation::SignExtra(_) => "sign-extra",
            Mutation::SignRequestTarget(_) => "sign-request-target",
            Mutation::SignValue { .. } => "sign-value",
            Mutation::SignWith(_) => "sign-with",
            Mutation::SignAlg(_) => "sign-alg",
            Mutation::ShiftTime(_) => "shift-time",
            Mutation::PssSalt(_) => "pss-salt",
            Mutation::JwsHeader(_) => "jws-header",
            Mutation::ResignHeader { .. } => "resign-header",
            Mutation::KeyId(_) => "key-id",
            Mutation::MoveSignature => "move-signature",
        }
    }

    pub fn needs(&self) -> Needs {
        match self {
            Mutation::RemoveHeader(_)
            | Mutation::SetHeader { .. }
            | Mutation::SetBody(_)
            | Mutation::FormSpacesPercent20 => Needs::Nothing,
            Mutation::PssSalt(_) | Mutation::JwsHeader(_) => Needs::Jws,
            Mutation::KeyId(_) | Mutation::MoveSignature => Needs::HttpSignature,
            _ => Needs::Signature,
        }
    }

    /// Whether it signs the request again.
    pub fn resigns(&self) -> bool {
        !matches!(
            self,
            Mutation::RemoveHeader(_)
                | Mutation::SetHeader { .. }
                | Mutation::SetBody(_)
                | Mutation::FormSpacesPercent20
                | Mutation::KeyId(_)
                | Mutation::MoveSignature
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutateError {
    #[error("it changes an x-jws-signature or HTTP signature, but flow `{0}` makes neither")]
    NotSigned(&'static str),
    #[error("it applies to {needs}, but the request carries {has}")]
    WrongSignature {
        needs: &'static str,
        has: &'static str,
    },
    #[error("the request has no {0} header left to change")]
    NoSignatureHeader(&'static str),
    #[error("`{0}` is not among the signed headers ({1})")]
    UnsignedHeader(String, String),
    #[error("`{0}` is already among the signed headers ({1}): it cannot be signed unlisted")]
    AlreadySigned(String, String),
    #[error("the request has no `{0}` header to sign")]
    NoSuchHeader(String),
    #[error("the environment has no certificate `{0}` to sign with")]
    NoRole(String),
    #[error("{0}")]
    Unusable(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A mutation that could not be made: which one (0-based) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mutation {} (`{name}`): {source}", .index + 1)]
pub struct MutationFailed {
    pub index: usize,
    pub name: &'static str,
    pub source: MutateError,
}

/// Applies `mutations` in order to the signed request. The signing recipe is read once, before
/// any of them, so an edit (`set-header`) stays unsigned whichever side of a re-signing fault it
/// is written on, and faults accumulate (`trailing-lf` then `sign-with: tls` is both). The
/// request is signed again after each run of consecutive faults, so `[sign-with: ec, sign-alg:
/// ES256]` need not be signable half-way.
pub fn apply<'m, 'k>(
    signed: &mut SignedRequest,
    mutations: impl IntoIterator<Item = &'m Mutation>,
    keys: &Keys<'k>,
) -> Result<(), MutationFailed> {
    let mut recipe: Option<Recipe<'k>> = None;
    // The last fault not yet signed: its index and name, to blame if signing fails.
    let mut unsigned: Option<(usize, &'static str)> = None;
    for (index, mutation) in mutations.into_iter().enumerate() {
        let failed = |source| MutationFailed {
            index,
            name: mutation.name(),
            source,
        };
        check_needs(mutation.needs(), signed.flow).map_err(failed)?;
        if mutation.resigns() {
            let recipe = match &mut recipe {
                Some(recipe) => recipe,
                None => {
                    let key = keys
                        .signed_with
                        .ok_or(MutateError::NotSigned(signed.flow.name()))
                        .map_err(failed)?;
                    recipe.insert(Recipe::read(signed, key).map_err(failed)?)
                }
            };
            fault::apply(mutation, recipe, &mut signed.request, keys).map_err(failed)?;
            unsigned = Some((index, mutation.name()));
            continue;
        }
        sign_pending(recipe.as_ref(), &mut unsigned, signed)?;
        match mutation {
            Mutation::KeyId(key_id) => placement::set_key_id(&mut signed.request, key_id),
            Mutation::MoveSignature => placement::move_signature(&mut signed.request),
            other => edit::apply(other, &mut signed.request),
        }
        .map_err(failed)?;
    }
    sign_pending(recipe.as_ref(), &mut unsigned, signed)
}

/// Signs with the recipe when faults were applied since it last signed.
fn sign_pending(
    recipe: Option<&Recipe<'_>>,
    unsigned: &mut Option<(usize, &'static str)>,
    signed: &mut SignedRequest,
) -> Result<(), MutationFailed> {
    match (recipe, unsigned.take()) {
        (Some(recipe), Some((index, name))) => {
            recipe.sign_into(signed).map_err(|source| MutationFailed {
                index,
                name,
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Whether the request's flow carries the signature a mutation needs.
fn check_needs(needs: Needs, flow: Flow) -> Result<(), MutateError> {
    let has = match flow {
        Flow::HttpSignature => "an HTTP signature",
        Flow::Jws => "a JWS (x-jws-signature)",
        Flow::Mtls | Flow::ClientAssertion if needs != Needs::Nothing => {
            return Err(MutateError::NotSigned(flow.name()));
        }
        _ => return Ok(()),
    };
    let wrong = |needs| Err(MutateError::WrongSignature { needs, has });
    match (needs, flow) {
        (Needs::Jws, Flow::HttpSignature) => wrong("a JWS (x-jws-signature)"),
        (Needs::HttpSignature, Flow::Jws) => wrong("an HTTP signature"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
