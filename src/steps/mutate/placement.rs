//! Where an HTTP signature stands and what its unsigned parameters say: reading it, writing a
//! new `signature=` into it, relabelling its `keyId`, moving it between `Authorization` and
//! `Signature`. None of these sign.

use super::MutateError;
use super::edit::set_header;
use obconform_core::sign::http_signature::{self, HttpSigError, Placement, SignatureParams};
use obconform_core::sign::message::Message;
use obconform_core::wire::HttpRequest;

/// The request's HTTP signature: where it is and its parameters.
pub(super) fn locate(request: &HttpRequest) -> Result<(Placement, SignatureParams), MutateError> {
    // Finding the signature reads headers only; the request target plays no part.
    let message = Message {
        method: &request.method,
        target: "",
        headers: &request.headers,
        body: &request.body,
    };
    http_signature::locate(&message).map_err(|e| match e {
        HttpSigError::NoSignature => {
            MutateError::NoSignatureHeader("`Signature` or `Authorization: Signature`")
        }
        other => MutateError::Unusable(other.to_string()),
    })
}

/// Puts a new signature value into the parameters where they stand.
pub(super) fn replace_signature(
    request: &mut HttpRequest,
    signature_b64: &str,
) -> Result<(), MutateError> {
    let (placement, mut params) = locate(request)?;
    params.signature = signature_b64.to_string();
    write(request, placement, &params);
    Ok(())
}

/// Replaces the keyId; keyId is not signed, so the signature stays valid.
pub(super) fn set_key_id(request: &mut HttpRequest, key_id: &str) -> Result<(), MutateError> {
    let (placement, mut params) = locate(request)?;
    params.key_id = key_id.to_string();
    write(request, placement, &params);
    Ok(())
}

/// Moves the signature to the other placement. Into `Authorization` it takes the place of a
/// Bearer token there: a request has one Authorization header, and a client that puts its
/// signature there has lost the token.
pub(super) fn move_signature(request: &mut HttpRequest) -> Result<(), MutateError> {
    let (from, params) = locate(request)?;
    let from_name = from.header_name();
    request
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case(from_name));
    let to = match from {
        Placement::Authorization => Placement::SignatureHeader,
        Placement::SignatureHeader => Placement::Authorization,
    };
    write(request, to, &params);
    Ok(())
}

fn write(request: &mut HttpRequest, placement: Placement, params: &SignatureParams) {
    let value = params.to_header_value();
    let value = match placement {
        Placement::Authorization => format!("Signature {value}"),
        Placement::SignatureHeader => value,
    };
    set_header(request, placement.header_name(), &value);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Fixture, http_profile};
    use super::*;
    use crate::scenario::model::Mutation;
    use crate::steps::mutate::apply;

    #[test]
    fn key_id_is_replaced_and_the_signature_still_verifies() {
        let fixture = Fixture::new();
        let mut signed = fixture.sign_http(&http_profile(Placement::Authorization));
        let before = signed.clone();
        apply(
            &mut signed,
            [&Mutation::KeyId("49BA5C71".into())],
            &fixture.keys(),
        )
        .unwrap();
        let (placement, params) = locate(&signed.request).unwrap();
        assert_eq!(placement, Placement::Authorization);
        assert_eq!(params.key_id, "49BA5C71");
        let (_, original) = locate(&before.request).unwrap();
        assert_eq!(params.signature, original.signature, "not re-signed");
        assert_eq!(signed.signing_input, before.signing_input);
        fixture.verify_http(&signed).unwrap();
    }

    #[test]
    fn the_signature_moves_both_ways_and_still_verifies() {
        let fixture = Fixture::new();
        let mut signed = fixture.sign_http(&http_profile(Placement::Authorization));
        apply(&mut signed, [&Mutation::MoveSignature], &fixture.keys()).unwrap();
        assert_eq!(signed.request.header("Authorization"), None);
        let (placement, _) = locate(&signed.request).unwrap();
        assert_eq!(placement, Placement::SignatureHeader);
        fixture.verify_http(&signed).unwrap();

        // Beside a Bearer token: moved into Authorization, it replaces the token.
        let mut request = fixture.request();
        request
            .headers
            .push(("Authorization".into(), "Bearer t0k3n".into()));
        let mut signed =
            fixture.sign_http_request(request, &http_profile(Placement::SignatureHeader));
        apply(&mut signed, [&Mutation::MoveSignature], &fixture.keys()).unwrap();
        assert_eq!(signed.request.header("Signature"), None);
        let authorization = signed.request.header("Authorization").unwrap();
        assert!(
            authorization.starts_with("Signature keyId="),
            "{authorization}"
        );
        let authorizations = signed
            .request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .count();
        assert_eq!(authorizations, 1);
        fixture.verify_http(&signed).unwrap();
    }

    #[test]
    fn a_jws_has_no_key_id_to_relabel() {
        let fixture = Fixture::new();
        let mut signed = fixture.sign_jws();
        let err = apply(&mut signed, [&Mutation::KeyId("x".into())], &fixture.keys()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mutation 1 (`key-id`): it applies to an HTTP signature, but the request carries a JWS (x-jws-signature)"
        );
    }
}
