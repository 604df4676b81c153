//! Signing a planned request per its flow. Pure: bytes and keys in, headers out; no I/O.
//!
//! Only `mtls` exists so far: the TLS client certificate authenticates and no header is added.
//! HTTP signatures, JWS and client assertions plug in here as further flows.

use crate::plan::PlannedRequest;
use crate::scenario::model::{Flow, SignProfile};

/// A request ready to send: the planned request plus whatever its flow added.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    pub request: PlannedRequest,
    pub flow: Flow,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    #[error(
        "signing flow `{0}` is not available yet in this version of obconform (only `mtls` is)"
    )]
    FlowNotAvailable(&'static str),
}

/// Whether a profile can be used at all; checked before anything is sent.
pub fn check_profile(profile: &SignProfile) -> Result<(), SignError> {
    match profile.flow {
        Flow::Mtls => Ok(()),
        other => Err(SignError::FlowNotAvailable(other.name())),
    }
}

/// Signs afresh: call it again for every send, retries included.
pub fn sign(request: PlannedRequest, profile: &SignProfile) -> Result<SignedRequest, SignError> {
    check_profile(profile)?;
    Ok(SignedRequest {
        request,
        flow: profile.flow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> PlannedRequest {
        PlannedRequest {
            method: "POST".into(),
            url: "https://127.0.0.1/oauth2/token".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: b"grant_type=client_credentials&client_id=x".to_vec(),
        }
    }

    #[test]
    fn mtls_adds_nothing_and_keeps_the_bytes() {
        let profile = SignProfile {
            flow: Flow::Mtls,
            cert: None,
        };
        let signed = sign(planned(), &profile).unwrap();
        assert_eq!(signed.request, planned());
    }

    #[test]
    fn other_flows_are_refused_by_name() {
        let profile = SignProfile {
            flow: Flow::Jws,
            cert: None,
        };
        let err = sign(planned(), &profile).unwrap_err();
        assert!(err.to_string().contains("`jws`"), "{err}");
    }
}
