//! Header and body edits made under the signature, which stays as computed: the bank must
//! refuse what was changed under it.

use super::MutateError;
use crate::scenario::model::Mutation;
use obconform_core::wire::HttpRequest;

pub(super) fn apply(mutation: &Mutation, request: &mut HttpRequest) -> Result<(), MutateError> {
    match mutation {
        Mutation::RemoveHeader(name) => {
            request
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
        Mutation::SetHeader { name, value } => set_header(request, name, value),
        Mutation::SetBody(text) => request.body = text.as_bytes().to_vec(),
        Mutation::FormSpacesPercent20 => form_spaces_percent20(request)?,
        other => {
            return Err(MutateError::Unusable(format!(
                "`{}` is not a header or body edit",
                other.name()
            )));
        }
    }
    Ok(())
}

/// Sets a header where it stands (its first occurrence; later ones go), or appends it.
pub(super) fn set_header(request: &mut HttpRequest, name: &str, value: &str) {
    let mut seen = false;
    request.headers.retain_mut(|(n, v)| {
        if !n.eq_ignore_ascii_case(name) {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        *v = value.to_string();
        true
    });
    if !seen {
        request.headers.push((name.to_string(), value.to_string()));
    }
}

/// Every `+` of a form body (an encoded space: a literal plus is `%2B`) as `%20`, the way a
/// library re-encoding the form after the Digest was taken sends it.
fn form_spaces_percent20(request: &mut HttpRequest) -> Result<(), MutateError> {
    let content_type = request.header("content-type").unwrap_or("(none)");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(MutateError::Unusable(format!(
            "it re-encodes a form body, but the Content-Type is {content_type}"
        )));
    }
    if !request.body.contains(&b'+') {
        return Err(MutateError::Unusable(
            "the form body has no `+` (an encoded space) to re-encode as %20".into(),
        ));
    }
    let mut body = Vec::with_capacity(request.body.len() + 8);
    for &byte in &request.body {
        match byte {
            b'+' => body.extend_from_slice(b"%20"),
            other => body.push(other),
        }
    }
    request.body = body;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Fixture, http_profile};
    use super::*;
    use obconform_core::sign::digest::DigestError;
    use obconform_core::sign::http_signature::{HttpSigError, Placement};

    fn request() -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: "https://bank/v3/accounts".into(),
            headers: vec![
                ("Date".into(), "Fri, 05 Nov 2019 12:41:32 GMT".into()),
                ("X-Request-ID".into(), "7f1c".into()),
                ("Signature".into(), "keyId=\"x\"".into()),
            ],
            body: Vec::new(),
        }
    }

    #[test]
    fn remove_header_drops_it_whatever_its_case() {
        let mut r = request();
        apply_edit(&mut r, Mutation::RemoveHeader("x-request-id".into()));
        assert_eq!(r.header("X-Request-ID"), None);
        assert_eq!(r.headers.len(), 2);
        assert_eq!(
            r.header("Signature"),
            Some("keyId=\"x\""),
            "signature untouched"
        );
    }

    fn apply_edit(request: &mut HttpRequest, mutation: Mutation) {
        apply(&mutation, request).unwrap();
    }

    #[test]
    fn set_header_replaces_in_place_or_appends() {
        let mut r = request();
        apply_edit(
            &mut r,
            Mutation::SetHeader {
                name: "x-request-id".into(),
                value: "null".into(),
            },
        );
        apply_edit(
            &mut r,
            Mutation::SetHeader {
                name: "PSU-IP-Address".into(),
                value: "127.0.0.1".into(),
            },
        );
        assert_eq!(r.headers[1], ("X-Request-ID".into(), "null".into()));
        assert_eq!(r.headers[3], ("PSU-IP-Address".into(), "127.0.0.1".into()));
    }

    #[test]
    fn set_body_breaks_the_digest_and_nothing_else() {
        let fixture = Fixture::new();
        let mut signed = fixture.sign_http(&http_profile(Placement::Authorization));
        let before = signed.clone();
        let mutation = Mutation::SetBody("grant_type=password".into());
        crate::steps::mutate::apply(&mut signed, [&mutation], &fixture.keys()).unwrap();
        assert_eq!(signed.request.body, b"grant_type=password");
        assert_eq!(signed.request.headers, before.request.headers);
        assert!(matches!(
            fixture.verify_http(&signed),
            Err(HttpSigError::Digest(DigestError::Mismatch { .. }))
        ));
    }

    #[test]
    fn form_spaces_become_percent20_under_a_digest_of_the_plus_form() {
        let fixture = Fixture::new();
        let mut request = fixture.request();
        request.body = b"grant_type=client_credentials&scope=a%3Ab+c+d".to_vec();
        let mut signed =
            fixture.sign_http_request(request, &http_profile(Placement::Authorization));
        let before = signed.clone();
        crate::steps::mutate::apply(
            &mut signed,
            [&Mutation::FormSpacesPercent20],
            &fixture.keys(),
        )
        .unwrap();
        assert_eq!(
            signed.request.body,
            b"grant_type=client_credentials&scope=a%3Ab%20c%20d"
        );
        assert_eq!(
            signed.request.header("Digest"),
            before.request.header("Digest"),
            "the Digest stays over the + form"
        );
        assert!(matches!(
            fixture.verify_http(&signed),
            Err(HttpSigError::Digest(DigestError::Mismatch { .. }))
        ));
        // Put back, it verifies: nothing else changed.
        signed.request.body = before.request.body.clone();
        fixture.verify_http(&signed).unwrap();
    }

    #[test]
    fn form_spaces_need_a_form_with_a_space() {
        let mut json = request();
        json.headers
            .push(("Content-Type".into(), "application/json".into()));
        json.body = b"{\"a\":\"b+c\"}".to_vec();
        let err = apply(&Mutation::FormSpacesPercent20, &mut json).unwrap_err();
        assert!(err.to_string().contains("application/json"), "{err}");
        let mut form = request();
        form.headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        form.body = b"grant_type=client_credentials".to_vec();
        let err = apply(&Mutation::FormSpacesPercent20, &mut form).unwrap_err();
        assert!(err.to_string().contains("no `+`"), "{err}");
    }
}
