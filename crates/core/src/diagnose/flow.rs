//! What the engine knows of the flow around a request: tokens, codes and the registration seen
//! earlier in the run. Secrets are kept only as fingerprints, so a context can be saved beside
//! the requests of a run and read back by `obconform explain`.

use serde::{Deserialize, Serialize};

/// How an access token was obtained; ING binds every token to its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenMode {
    /// `/oauth2/token` with mTLS only: good for `/oauth2/applications/*`.
    MtlsOnly,
    /// `/oauth2/token` signed with an HTTP signature (or a code / refresh exchange made so).
    Signed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFact {
    /// [`fingerprint`] of the access token.
    pub fingerprint: String,
    pub mode: TokenMode,
    /// The scopes the token response granted.
    pub scopes: Vec<String>,
    /// Unix seconds when it was issued (the response arrived).
    pub issued_at: u64,
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFact {
    /// [`fingerprint`] of the authorization code.
    pub fingerprint: String,
    /// Unix seconds when the code reached the client.
    pub issued_at: u64,
    /// The redirect_uri the consent was requested with, when one was.
    pub redirect_uri: Option<String>,
    /// Unix seconds of an earlier exchange of this code, if there was one.
    pub exchanged_at: Option<u64>,
}

/// The application's registration as last read (`GET /oauth2/applications/me`): public
/// certificates and redirect URIs, no secrets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegistrationFact {
    /// The metadata as the bank answered it.
    pub metadata: serde_json::Value,
}

impl RegistrationFact {
    pub fn redirect_uris(&self) -> Vec<String> {
        let app = self.metadata.get("application").unwrap_or(&self.metadata);
        app.get("redirect_uris")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowContext {
    #[serde(default)]
    pub tokens: Vec<TokenFact>,
    #[serde(default)]
    pub codes: Vec<CodeFact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationFact>,
}

/// `sha256:` and the first 16 hex digits of the SHA-256 of a secret: enough to recognise it,
/// useless to replay it.
pub fn fingerprint(secret: &str) -> String {
    let digest = openssl::sha::sha256(secret.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
