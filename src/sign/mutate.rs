//! Mutations for negative tests: changes made to a request after it is signed, so it goes out
//! as a buggy client would send it (as the OpenID and UK conformance suites do). The signature
//! is left as computed; the bank must refuse what was changed under it.

use crate::plan::PlannedRequest;
use crate::scenario::model::Mutation;

/// Applies `mutations` in order to the signed request.
pub fn apply(request: &mut PlannedRequest, mutations: &[Mutation]) {
    for mutation in mutations {
        match mutation {
            Mutation::RemoveHeader(name) => {
                request
                    .headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            }
            Mutation::SetHeader { name, value } => {
                match request
                    .headers
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    Some((_, existing)) => *existing = value.clone(),
                    None => request.headers.push((name.clone(), value.clone())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PlannedRequest {
        PlannedRequest {
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
        apply(&mut r, &[Mutation::RemoveHeader("x-request-id".into())]);
        assert_eq!(r.header("X-Request-ID"), None);
        assert_eq!(r.headers.len(), 2);
        assert_eq!(
            r.header("Signature"),
            Some("keyId=\"x\""),
            "signature untouched"
        );
    }

    #[test]
    fn set_header_replaces_in_place_or_appends() {
        let mut r = request();
        apply(
            &mut r,
            &[
                Mutation::SetHeader {
                    name: "x-request-id".into(),
                    value: "null".into(),
                },
                Mutation::SetHeader {
                    name: "PSU-IP-Address".into(),
                    value: "127.0.0.1".into(),
                },
            ],
        );
        assert_eq!(r.headers[1], ("X-Request-ID".into(), "null".into()));
        assert_eq!(r.headers[3], ("PSU-IP-Address".into(), "127.0.0.1".into()));
    }
}
