//! The partner's credentials, made afresh at every sandbox start, and `partner-api.env`, the file
//! that hands them to the user like ING's onboarding e-mail and API portal do.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::error::ErrorStack;

use crate::kernel::SandboxError;
use crate::kernel::pki::write_file;

/// Written next to the PKI files (mode 0600: it holds secrets).
pub use crate::kernel::pki::PARTNER_ENV_FILE as ENV_FILE;

pub const CLIENT_ID_VAR: &str = "PARTNER_CLIENT_ID";
pub const CLIENT_SECRET_VAR: &str = "PARTNER_CLIENT_SECRET";
pub const SUBSCRIPTION_KEY_VAR: &str = "SUBSCRIPTION_KEY";
pub const COMPANY_ID_VAR: &str = "PARTNER_COMPANY_ID";

/// 32 random bytes: a 43-character base64url secret (Azure AD secrets are ~40 characters).
const SECRET_BYTES: usize = 32;
/// 16 random bytes: 32 hex digits, the form of an Azure API Management subscription key.
const SUBSCRIPTION_KEY_BYTES: usize = 16;

/// What ING sends a partner at onboarding: the OAuth client (Azure AD application), the API
/// portal's subscription key and the partner's company id.
#[derive(Clone, PartialEq, Eq)]
pub struct PartnerCredentials {
    /// The Azure AD application (client) id: a UUID.
    pub client_id: String,
    pub client_secret: String,
    /// Sent in the `Subscription-Key` header of every call.
    pub subscription_key: String,
    /// Sent in the `Partner-Company-Id` header of every API call.
    pub company_id: String,
}

impl PartnerCredentials {
    /// Fresh random credentials.
    pub fn generate() -> Result<Self, ErrorStack> {
        let mut secret = [0u8; SECRET_BYTES];
        openssl::rand::rand_bytes(&mut secret)?;
        let mut key = [0u8; SUBSCRIPTION_KEY_BYTES];
        openssl::rand::rand_bytes(&mut key)?;
        Ok(Self {
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: URL_SAFE_NO_PAD.encode(secret),
            subscription_key: key.iter().map(|b| format!("{b:02x}")).collect(),
            company_id: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// `NAME=value` lines under a comment, readable by `source`, docker `--env-file` and dotenv
    /// (the values are UUIDs, hex and base64url: nothing to quote).
    pub fn env_file_contents(&self, api_base: &str) -> String {
        format!(
            "# ING partner API credentials of the obconform embedded sandbox (new at every start; keep private)\n\
             # token: POST {api_base}/token-api/oauth2/token   API: {api_base}/partner-api/ping\n\
             {CLIENT_ID_VAR}={}\n\
             {CLIENT_SECRET_VAR}={}\n\
             {SUBSCRIPTION_KEY_VAR}={}\n\
             {COMPANY_ID_VAR}={}\n",
            self.client_id, self.client_secret, self.subscription_key, self.company_id
        )
    }
}

/// Secrets stay out of debug output (the sandbox state is `Debug`).
impl fmt::Debug for PartnerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("subscription_key", &"[redacted]")
            .field("company_id", &self.company_id)
            .finish()
    }
}

/// Writes `dir/partner-api.env` with mode 0600 and returns its path.
pub fn write_env_file(
    dir: &Path,
    credentials: &PartnerCredentials,
    api_base: &str,
) -> Result<PathBuf, SandboxError> {
    let path = dir.join(ENV_FILE);
    write_file(
        &path,
        credentials.env_file_contents(api_base).as_bytes(),
        true,
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_have_the_documented_forms() -> Result<(), ErrorStack> {
        let a = PartnerCredentials::generate()?;
        let b = PartnerCredentials::generate()?;
        assert!(uuid::Uuid::parse_str(&a.client_id).is_ok());
        assert!(uuid::Uuid::parse_str(&a.company_id).is_ok());
        assert!(a.client_secret.len() >= 32, "{}", a.client_secret.len());
        assert_eq!(a.subscription_key.len(), 32);
        assert!(
            a.subscription_key
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a.client_secret, b.client_secret);
        assert_ne!(a.subscription_key, b.subscription_key);
        let debug = format!("{a:?}");
        assert!(!debug.contains(&a.client_secret) && !debug.contains(&a.subscription_key));
        Ok(())
    }

    #[test]
    fn the_env_file_is_a_comment_then_name_value_lines() -> Result<(), ErrorStack> {
        let creds = PartnerCredentials::generate()?;
        let text = creds.env_file_contents("https://127.0.0.1:8443");
        let mut lines = text.lines();
        assert!(lines.next().is_some_and(|l| l.starts_with("# ")));
        let pairs: Vec<(&str, &str)> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .collect();
        assert_eq!(
            pairs,
            [
                (CLIENT_ID_VAR, creds.client_id.as_str()),
                (CLIENT_SECRET_VAR, creds.client_secret.as_str()),
                (SUBSCRIPTION_KEY_VAR, creds.subscription_key.as_str()),
                (COMPANY_ID_VAR, creds.company_id.as_str()),
            ]
        );
        Ok(())
    }
}
