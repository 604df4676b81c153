//! Every diagnosis id (the guide's troubleshooting lists and the checks this project adds), with its one-line meaning and
//! fix. The ids are stable: scenarios expect them and the sandbox sends them in
//! `X-Obconform-Diagnosis`.

/// The response header in which the embedded sandbox names the findings behind a refusal
/// (comma-separated ids); the runner reads it to show and snapshot them.
pub const DIAGNOSIS_HEADER: &str = "x-obconform-diagnosis";

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: &'static str,
    /// One line: what the mistake is.
    pub meaning: &'static str,
    pub fix: &'static str,
    /// Where ING's PSD2 guide names it ("JWS troubleshooting 4", "Migration FAQ"), or
    /// "obconform" for a check this project adds.
    pub source: &'static str,
}

macro_rules! ids {
    ($($name:ident = $id:literal;)*) => {
        $(pub const $name: &str = $id;)*
    };
}

ids! {
    JWS_PARS_NOT_SIGNED = "jws.pars-not-signed";
    JWS_SIGNED_NOT_IN_PARS = "jws.signed-not-in-pars";
    JWS_REQUEST_TARGET_MISMATCH = "jws.request-target-mismatch";
    JWS_TRAILING_LF = "jws.trailing-lf";
    JWS_HEADER_VALUE_MISMATCH = "jws.header-value-mismatch";
    JWS_WRONG_KEY = "jws.wrong-key";
    JWS_PARS_ORDER = "jws.pars-order";
    JWS_ALG_MISMATCH = "jws.alg-mismatch";
    JWS_CRLF_LINE_ENDINGS = "jws.crlf-line-endings";
    JWS_SIGT_SKEW = "jws.sigt-skew";
    JWS_PSS_SALT_LENGTH = "jws.pss-salt-length";
    JWS_HEADER_NOT_JSON = "jws.header-not-json";
    JWS_B64_NOT_FALSE = "jws.b64-not-false";
    JWS_CRIT_INCOMPLETE = "jws.crit-incomplete";
    JWS_X5T_MISMATCH = "jws.x5t-mismatch";
    JWS_LINE_SEPARATOR = "jws.line-separator";
    HTTPSIG_KEYID_FORM = "httpsig.keyid-form";
    HTTPSIG_HEADERS_MISMATCH = "httpsig.headers-mismatch";
    HTTPSIG_REQUEST_TARGET_MISMATCH = "httpsig.request-target-mismatch";
    HTTPSIG_REQUEST_TARGET_PREFIX = "httpsig.request-target-prefix";
    HTTPSIG_TRAILING_LF = "httpsig.trailing-lf";
    HTTPSIG_CRLF_LINE_ENDINGS = "httpsig.crlf-line-endings";
    HTTPSIG_DATE_FORMAT = "httpsig.date-format";
    HTTPSIG_DATE_SKEW = "httpsig.date-skew";
    HTTPSIG_DIGEST_MISMATCH = "httpsig.digest-mismatch";
    HTTPSIG_FORM_ENCODING = "httpsig.form-encoding";
    HTTPSIG_WRONG_KEY = "httpsig.wrong-key";
    HTTPSIG_ALGORITHM = "httpsig.algorithm";
    HTTPSIG_PLACEMENT = "httpsig.placement";
    HTTPSIG_CERTIFICATE_HEADER = "httpsig.certificate-header";
    HTTPSIG_LINE_SEPARATOR = "httpsig.line-separator";
    HTTPSIG_DIGEST_LABEL = "httpsig.digest-label";
    FLOW_TOKEN_MODE_MISMATCH = "flow.token-mode-mismatch";
    FLOW_REDIRECT_URI_REQUIRED = "flow.redirect-uri-required";
    FLOW_REDIRECT_URI_MISMATCH = "flow.redirect-uri-mismatch";
    FLOW_STATE_INVALID = "flow.state-invalid";
    FLOW_CODE_EXPIRED = "flow.code-expired";
    FLOW_TOKEN_EXPIRED = "flow.token-expired";
    FLOW_SCOPE_MISSING = "flow.scope-missing";
    FLOW_PUT_DROPS_KEYS = "flow.put-drops-keys";
    FLOW_NOT_SUBSCRIBED = "flow.not-subscribed";
    FLOW_XSRF_TOKEN_MISMATCH = "flow.xsrf-token-mismatch";
    CERT_EXPIRED = "cert.expired";
    CERT_NOT_YET_VALID = "cert.not-yet-valid";
    CERT_KEY_MISMATCH = "cert.key-mismatch";
    CERT_WRONG_USAGE = "cert.wrong-usage";
    CERT_LIFETIME_OVER_39_MONTHS = "cert.lifetime-over-39-months";
    CERT_REVOKED = "cert.revoked";
    CERT_OTHER_APPLICATION = "cert.other-application";
    CERT_EXPIRING_SOON = "cert.expiring-soon";
    CERT_VALIDITY_UNREADABLE = "cert.validity-unreadable";
    CERT_QC_STATEMENTS_MALFORMED = "cert.qc-statements-malformed";
    RESPONSE_UNSIGNED = "response.unsigned";
    RESPONSE_DIGEST_MISMATCH = "response.digest-mismatch";
    RESPONSE_JWS_MALFORMED = "response.jws-malformed";
    RESPONSE_SIGNATURE_INVALID = "response.signature-invalid";
    RESPONSE_CERTIFICATE_UNTRUSTED = "response.certificate-untrusted";
}

const fn e(
    id: &'static str,
    meaning: &'static str,
    fix: &'static str,
    source: &'static str,
) -> Entry {
    Entry {
        id,
        meaning,
        fix,
        source,
    }
}

/// The catalogue, in the guide's order; ids the guide does not name come after their family.
pub const CATALOGUE: &[Entry] = &[
    e(
        JWS_PARS_NOT_SIGNED,
        "a header listed in sigD.pars is missing from the signing input (or from the request)",
        "build the signing input from exactly the headers of sigD.pars, each sent with the request",
        "JWS troubleshooting 1",
    ),
    e(
        JWS_SIGNED_NOT_IN_PARS,
        "the signing input has a header that sigD.pars does not list (or pars lacks a required one)",
        "list in sigD.pars every header you sign, and sign (request-target), digest and content-type",
        "JWS troubleshooting 2",
    ),
    e(
        JWS_REQUEST_TARGET_MISMATCH,
        "(request-target) was signed with another method or path than the request has",
        "sign `(request-target): <lower-case method> <path and query as sent>`",
        "JWS troubleshooting 3",
    ),
    e(
        JWS_TRAILING_LF,
        "the signing input ends with a line feed after the last header",
        "join the header lines with LF and add nothing after the last one (printf %s, not echo)",
        "JWS troubleshooting 4",
    ),
    e(
        JWS_HEADER_VALUE_MISMATCH,
        "a signed header has another value in the request than in the signing input",
        "sign the header values exactly as sent; compute Digest over the body bytes sent",
        "JWS troubleshooting 5",
    ),
    e(
        JWS_WRONG_KEY,
        "the signature was made with a key other than the one of the certificate x5t#S256 names",
        "sign with the private key of the signing (QSeal) certificate sent in TPP-Signature-Certificate",
        "JWS troubleshooting 6",
    ),
    e(
        JWS_PARS_ORDER,
        "the signing input has the headers of sigD.pars in another order",
        "write the header lines in the order of sigD.pars",
        "JWS troubleshooting 7",
    ),
    e(
        JWS_ALG_MISMATCH,
        "the protected header's alg is not the algorithm the signature was made with (or not accepted)",
        "sign with the algorithm alg names: PS256 is RSA-PSS with SHA-256",
        "JWS troubleshooting 8",
    ),
    e(
        JWS_CRLF_LINE_ENDINGS,
        "the signing input's lines end with CR LF (Windows line endings)",
        "join the header lines with LF only (on Windows: another curl, or strip \\r)",
        "JWS troubleshooting 9",
    ),
    e(
        JWS_SIGT_SKEW,
        "sigT is more than 3 minutes from the bank's clock, or not RFC 3339 UTC",
        "set sigT to the current UTC time, like 2019-11-19T17:28:15Z, and sync the clock (NTP)",
        "JWS troubleshooting 10",
    ),
    e(
        JWS_PSS_SALT_LENGTH,
        "the RSA-PSS salt is not as long as the digest (OpenSSL's default is the maximum)",
        "sign with `-sigopt rsa_pss_saltlen:32` for PS256 (or OpenSSL 3.2+)",
        "JWS troubleshooting 11",
    ),
    e(
        JWS_HEADER_NOT_JSON,
        "x-jws-signature is missing, not `<header>..<signature>`, or its header is not base64url JSON",
        "send x-jws-signature as base64url(JSON header) + \"..\" + base64url(signature)",
        "obconform",
    ),
    e(
        JWS_B64_NOT_FALSE,
        "the protected header does not say \"b64\": false",
        "put \"b64\": false in the protected header (the payload is detached and unencoded)",
        "obconform",
    ),
    e(
        JWS_CRIT_INCOMPLETE,
        "crit does not list sigT, sigD and b64",
        "set \"crit\": [\"sigT\", \"sigD\", \"b64\"]",
        "obconform",
    ),
    e(
        JWS_X5T_MISMATCH,
        "x5t#S256 is not the thumbprint of the certificate sent in TPP-Signature-Certificate",
        "set x5t#S256 to base64url(SHA-256(DER of the signing certificate)) and send that certificate",
        "obconform",
    ),
    e(
        JWS_LINE_SEPARATOR,
        "the signing input's header lines were joined with a space (or nothing) instead of LF",
        "join the `name: value` lines with a single LF (`\\n`), not with spaces",
        "real clients",
    ),
    e(
        HTTPSIG_KEYID_FORM,
        "keyId has the wrong form for this request",
        "application token: keyId=\"SN=<signing certificate serial in hex>\"; with a Bearer token: keyId=\"<client_id>\"",
        "guide: production table",
    ),
    e(
        HTTPSIG_HEADERS_MISMATCH,
        "the headers= list is not what was signed: a header missing, extra, reordered or required and absent",
        "sign exactly the headers= list, in its order, and include (request-target) date digest",
        "obconform",
    ),
    e(
        HTTPSIG_REQUEST_TARGET_MISMATCH,
        "(request-target) was signed with another method or path than the request has",
        "sign `(request-target): <lower-case method> <path and query as sent>`",
        "obconform",
    ),
    e(
        HTTPSIG_REQUEST_TARGET_PREFIX,
        "the partner API signs (request-target) without its /partner-api prefix; this one has it",
        "sign `get /ping`, not `get /partner-api/ping` (profile: request_target_omits)",
        "ING partner API docs",
    ),
    e(
        HTTPSIG_TRAILING_LF,
        "the signing string ends with a line feed after the last header",
        "join the header lines with LF and add nothing after the last one (printf %s, not echo)",
        "draft-cavage §2.3",
    ),
    e(
        HTTPSIG_CRLF_LINE_ENDINGS,
        "the signing string's lines end with CR LF",
        "join the header lines with LF only",
        "draft-cavage §2.3",
    ),
    e(
        HTTPSIG_DATE_FORMAT,
        "Date is not an IMF-fixdate",
        "send Date like `Tue, 05 Nov 2019 12:41:32 GMT` (date -u '+%a, %d %b %Y %H:%M:%S GMT')",
        "obconform",
    ),
    e(
        HTTPSIG_DATE_SKEW,
        "Date is more than 3 minutes from the bank's clock",
        "send the current time in Date and sync the clock (NTP)",
        "obconform",
    ),
    e(
        HTTPSIG_DIGEST_MISMATCH,
        "Digest is not SHA-256 of the body bytes sent",
        "send Digest: SHA-256=base64(SHA-256(body bytes as sent)); for no body, of the empty string",
        "guide FAQ: digest",
    ),
    e(
        HTTPSIG_FORM_ENCODING,
        "the digest is of the form body encoded differently than sent (spaces as %20 vs +, or unencoded)",
        "encode the form once (spaces as +, as ING requires) and digest exactly those bytes",
        "obconform",
    ),
    e(
        HTTPSIG_WRONG_KEY,
        "the signature was made with a key other than the one of the certificate keyId names",
        "sign with the private key of the signing certificate whose serial (or client_id) keyId names",
        "obconform",
    ),
    e(
        HTTPSIG_ALGORITHM,
        "algorithm= is not the one the signature was made with, or not accepted",
        "sign RSA keys with rsa-sha256 (PKCS#1 v1.5, SHA-256) and say algorithm=\"rsa-sha256\"",
        "obconform",
    ),
    e(
        HTTPSIG_PLACEMENT,
        "the signature is in the wrong header (or in both, or in none)",
        "application token: `Authorization: Signature …`; beside a Bearer token: a `Signature` header",
        "guide: production table",
    ),
    e(
        HTTPSIG_CERTIFICATE_HEADER,
        "TPP-Signature-Certificate is missing, not a PEM certificate, or not the certificate keyId names",
        "send the signing certificate as one-line PEM in TPP-Signature-Certificate",
        "guide: production table",
    ),
    e(
        HTTPSIG_LINE_SEPARATOR,
        "the signing string's header lines were joined with a space (or nothing) instead of LF",
        "join the `name: value` lines with a single LF (`\\n`), not with spaces",
        "real clients",
    ),
    e(
        HTTPSIG_DIGEST_LABEL,
        "Digest carries the bare base64 hash without its `SHA-256=` label",
        "send `Digest: SHA-256=<base64 of the SHA-256 of the body>` and sign that value",
        "real clients",
    ),
    e(
        FLOW_TOKEN_MODE_MISMATCH,
        "an access token of the other mode: mTLS-only tokens for /oauth2/applications, signed tokens elsewhere",
        "get the token the way the endpoint needs: without signature (client_id in the form) for /oauth2/applications, HTTP-signed otherwise",
        "Migration FAQ",
    ),
    e(
        FLOW_REDIRECT_URI_REQUIRED,
        "redirect_uri is needed here and was not sent",
        "send the registered redirect_uri on the consent URL request and on the code exchange",
        "Migration FAQ",
    ),
    e(
        FLOW_REDIRECT_URI_MISMATCH,
        "redirect_uri is not registered, or not the one the consent was requested with",
        "use a registered redirect_uri, the same on the consent request and the code exchange",
        "Migration FAQ",
    ),
    e(
        FLOW_STATE_INVALID,
        "state is blank or has characters the guide does not allow",
        "send a non-blank state of letters, digits and -._~",
        "oAuth2 documentation",
    ),
    e(
        FLOW_CODE_EXPIRED,
        "the authorization code was used before or is older than 10 minutes",
        "exchange each code once, within 10 minutes; get a new consent for a new code",
        "oAuth2 documentation",
    ),
    e(
        FLOW_TOKEN_EXPIRED,
        "the access token has expired (ING: 900 s)",
        "request a new token (or refresh the customer token) before it expires",
        "oAuth2 documentation",
    ),
    e(
        FLOW_SCOPE_MISSING,
        "the access token was not granted the scope this endpoint needs",
        "request the token (and the consent) with the endpoint's scope",
        "oAuth2 documentation",
    ),
    e(
        FLOW_PUT_DROPS_KEYS,
        "a PUT of the application replaces everything and this one leaves out registered keys or redirect URIs",
        "GET /oauth2/applications/me first and PUT the whole registration with your change",
        "Migration FAQ",
    ),
    e(
        FLOW_NOT_SUBSCRIBED,
        "the application is not subscribed to the API it calls",
        "use the credentials of the application subscribed to this API",
        "ING Open Banking",
    ),
    e(
        FLOW_XSRF_TOKEN_MISMATCH,
        "the sandbox's automated consent (grants support) got no X-XSRF-Token header equal to its XSRF-TOKEN cookie",
        "send the XSRF-TOKEN cookie and the same value in X-XSRF-Token on POST /grantssupport/{referenceId}/auth-code",
        "ING's open-banking CLI",
    ),
    e(
        CERT_EXPIRED,
        "the certificate has expired",
        "renew the certificate and register it (PUT /oauth2/applications/me)",
        "obconform",
    ),
    e(
        CERT_NOT_YET_VALID,
        "the certificate is not valid yet",
        "wait for notBefore, or check the clock",
        "obconform",
    ),
    e(
        CERT_KEY_MISMATCH,
        "the private key does not belong to the certificate",
        "use the key generated with this certificate's request (compare the public keys)",
        "obconform",
    ),
    e(
        CERT_WRONG_USAGE,
        "a TLS certificate used to sign, or a signing certificate used for TLS",
        "TLS (QWAC) certificate for the connection, signing (QSeal) certificate for signatures",
        "obconform",
    ),
    e(
        CERT_LIFETIME_OVER_39_MONTHS,
        "the certificate is valid for more than 39 months",
        "get a certificate with a validity of at most 39 months",
        "obconform",
    ),
    e(
        CERT_REVOKED,
        "the certificate is revoked",
        "use a certificate that is not revoked; you cannot update the configuration with revoked ones",
        "Migration FAQ",
    ),
    e(
        CERT_OTHER_APPLICATION,
        "the TLS certificate belongs to another registered application than the client_id",
        "use the certificate pair registered with this client_id",
        "ING Open Banking",
    ),
    e(
        CERT_EXPIRING_SOON,
        "the certificate expires within 30 days",
        "renew it now: issue, register with PUT, then switch",
        "obconform certs inspect",
    ),
    e(
        CERT_VALIDITY_UNREADABLE,
        "the certificate's validity dates cannot be read",
        "check the certificate file",
        "obconform certs inspect",
    ),
    e(
        CERT_QC_STATEMENTS_MALFORMED,
        "the certificate's QCStatements extension is malformed",
        "ask the issuer for an eIDAS certificate with well-formed PSD2 QCStatements",
        "obconform certs inspect",
    ),
    e(
        RESPONSE_UNSIGNED,
        "a response of a signed API came without Digest or x-jws-signature",
        "check that the bank signs this endpoint's answers (and that no proxy strips the headers)",
        "ING Open Banking (signed responses)",
    ),
    e(
        RESPONSE_DIGEST_MISMATCH,
        "the response's Digest is not the SHA-256 of the body received",
        "the body changed between the bank and you (a proxy, a re-encoding): hash the exact bytes received",
        "ING Open Banking (signed responses)",
    ),
    e(
        RESPONSE_JWS_MALFORMED,
        "the response's x-jws-signature is not a detached JWS over content-type and digest with an x5c certificate",
        "read `<header>..<signature>`; sigD.pars must list content-type and digest",
        "ING Open Banking (signed responses)",
    ),
    e(
        RESPONSE_SIGNATURE_INVALID,
        "the response signature does not verify over the listed headers with the x5c certificate's key",
        "verify over `<header b64url>.content-type: …` LF `digest: …` exactly as received (PS256, salt 32)",
        "ING Open Banking (signed responses)",
    ),
    e(
        RESPONSE_CERTIFICATE_UNTRUSTED,
        "the response's signing certificate does not chain to the bank's CA (or is expired)",
        "configure the bank's CA for the environment (`bank_ca`); refuse answers signed by anyone else",
        "ING Open Banking (signed responses)",
    ),
];

/// The entry of `id`.
pub fn entry(id: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_family_prefix_is_known() {
        let mut seen = std::collections::HashSet::new();
        for entry in CATALOGUE {
            assert!(seen.insert(entry.id), "{} twice", entry.id);
            let family = entry.id.split('.').next().unwrap_or_default();
            assert!(
                ["jws", "httpsig", "flow", "cert", "response"].contains(&family),
                "{}",
                entry.id
            );
            assert!(!entry.fix.is_empty() && !entry.meaning.is_empty());
        }
    }

    /// The ids of the project's original catalogue, in their order.
    const DESIGN_IDS: &str = "jws.pars-not-signed jws.signed-not-in-pars jws.request-target-mismatch \
        jws.trailing-lf jws.header-value-mismatch jws.wrong-key jws.pars-order jws.alg-mismatch \
        jws.crlf-line-endings jws.sigt-skew jws.pss-salt-length jws.header-not-json \
        jws.b64-not-false jws.crit-incomplete jws.x5t-mismatch httpsig.keyid-form \
        httpsig.headers-mismatch httpsig.request-target-mismatch httpsig.date-format \
        httpsig.date-skew httpsig.digest-mismatch httpsig.form-encoding httpsig.wrong-key \
        httpsig.algorithm httpsig.placement httpsig.certificate-header flow.token-mode-mismatch \
        flow.redirect-uri-required flow.code-expired flow.token-expired flow.scope-missing \
        flow.put-drops-keys cert.expired cert.not-yet-valid cert.key-mismatch cert.wrong-usage \
        cert.lifetime-over-39-months cert.revoked";

    #[test]
    fn every_id_design_names_is_in_the_catalogue() {
        let named: Vec<&str> = DESIGN_IDS.split_whitespace().collect();
        assert_eq!(named.len(), 38);
        for id in named {
            assert!(entry(id).is_some(), "{id} is not in the catalogue");
        }
    }
}
