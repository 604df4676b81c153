//! The registry of PSD2 applications: their certificates, redirect URIs, scopes and what a
//! replacement dropped — shared by every system that authenticates an application.

use axum::http::StatusCode;
use openssl::x509::X509;
use serde::Serialize;

use crate::kernel::errors::IngError;
use crate::kernel::jwk::{CertKey, MetadataJwk};
pub use crate::kernel::jwk::{normalize_serial, serial_of};
use crate::kernel::tls::PeerCertificate;

/// The Open Banking premium application's client_id (ING's sandbox value).
pub const PREMIUM_CLIENT_ID: &str = "e77d776b-90af-4684-bebc-521e5b2614dd";

/// The pre-registered sandbox application (ING's documented sandbox client_id).
pub const PSD2_CLIENT_ID: &str = "5ca1ab1e-c0ca-c01a-cafe-154deadbea75";
pub const PSD2_CONTACT: &str = "one@example.com";
pub const PSD2_REDIRECT_URI: &str = "https://www.example.com/";

/// Every PSD2 scope-token the example certificates grant, in ING's naming.
pub const PSD2_SCOPES: &[&str] = &[
    "payment-accounts:balances:view",
    "payment-accounts:transactions:view",
    "payment-accounts:orders:create",
    // Inference: ING's card-account and funds-confirmation scope names are not in the seeds.
    "card-accounts:transactions:view",
    "payment-accounts:funds-availability:view",
    "granting",
    "payment-requests:view",
    "payment-requests:create",
    "payment-requests:close",
    "greetings:view",
    "virtual-ledger-accounts:fund-reservation:create",
    "virtual-ledger-accounts:fund-reservation:delete",
    "virtual-ledger-accounts:balance:view",
];

/// A registered application: what ING knows about a TPP's client_id.
#[derive(Debug, Clone)]
pub struct Application {
    pub client_id: String,
    pub contact: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Certificates accepted for mutual TLS.
    pub tls_keys: Vec<CertKey>,
    /// Certificates whose keys sign requests (HTTP signatures, JWS).
    pub signing_keys: Vec<CertKey>,
}

impl Application {
    pub fn is_tls_certificate(&self, peer: &PeerCertificate) -> bool {
        self.tls_keys.iter().any(|k| k.sha256() == peer.sha256())
    }

    pub fn is_signing_certificate(&self, peer: &PeerCertificate) -> bool {
        self.signing_keys
            .iter()
            .any(|k| k.sha256() == peer.sha256())
    }

    /// The registered signing certificate with this DER SHA-256, if any.
    pub fn signing_key(&self, sha256: &[u8; 32]) -> Option<&CertKey> {
        self.signing_keys.iter().find(|k| k.sha256() == sha256)
    }

    pub(crate) fn keys(&self) -> ApplicationKeys {
        ApplicationKeys {
            tls: self.tls_keys.iter().map(CertKey::metadata_jwk).collect(),
            sign: self
                .signing_keys
                .iter()
                .map(CertKey::metadata_jwk)
                .collect(),
        }
    }
}

/// The example application together with the CA that issued its certificates (see
/// `psd2::example_application`). Registering it also makes the registry trust that CA.
#[derive(Debug, Clone)]
pub struct ExampleApplication {
    pub app: Application,
    pub ca: X509,
}

/// What [`AppRegistry::upsert`] takes: an application, and possibly a CA to trust from now on.
#[derive(Debug, Clone)]
pub struct Registration {
    app: Application,
    trust_anchor: Option<X509>,
}

impl From<Application> for Registration {
    fn from(app: Application) -> Self {
        Self {
            app,
            trust_anchor: None,
        }
    }
}

impl From<ExampleApplication> for Registration {
    fn from(example: ExampleApplication) -> Self {
        Self {
            app: example.app,
            trust_anchor: Some(example.ca),
        }
    }
}

/// Which of an application's key lists a certificate was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Tls,
    Sign,
}

/// A certificate that a replacement (PUT) removed from an application; remembered so that a later
/// use of it is explained (`flow.put-drops-keys`) rather than only refused.
#[derive(Debug, Clone)]
pub struct DroppedKey {
    pub client_id: String,
    pub kind: KeyKind,
    pub key: CertKey,
}

/// All registered applications, in registration order, and the CAs whose certificates may be
/// registered (the sandbox's test CA; ING: the QTSPs it trusts).
#[derive(Debug, Default)]
pub struct AppRegistry {
    apps: Vec<Application>,
    trust_anchors: Vec<X509>,
    dropped: Vec<DroppedKey>,
    /// Applications whose redirect URIs a replacement (`PUT /oauth2/applications/{id}`) set:
    /// the guide's migration rule applies to them once they also use the old granting flow.
    redirects_put: Vec<String>,
}

impl AppRegistry {
    pub fn get(&self, client_id: &str) -> Option<&Application> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// Adds the application, or replaces the one with the same client_id entirely (PUT
    /// semantics), remembering the certificates the replacement dropped. Returns the replaced
    /// application. An [`ExampleApplication`] also adds its CA to the trust anchors.
    pub fn upsert(&mut self, registration: impl Into<Registration>) -> Option<Application> {
        let Registration { app, trust_anchor } = registration.into();
        let is_example = trust_anchor.is_some();
        if let Some(ca) = trust_anchor {
            self.trust(ca);
        }
        // A certificate registered again is no longer "dropped".
        self.dropped.retain(|d| {
            let keys = match d.kind {
                KeyKind::Tls => &app.tls_keys,
                KeyKind::Sign => &app.signing_keys,
            };
            d.client_id != app.client_id || !keys.iter().any(|k| k.sha256() == d.key.sha256())
        });
        let index = self.apps.iter().position(|a| a.client_id == app.client_id);
        let Some(index) = index else {
            self.apps.push(app);
            return None;
        };
        let old = std::mem::replace(&mut self.apps[index], app);
        let new = &self.apps[index];
        // A replacement is a PUT (the example application is only ever inserted).
        self.redirects_put.retain(|id| *id != new.client_id);
        if !is_example && !new.redirect_uris.is_empty() {
            self.redirects_put.push(new.client_id.clone());
        }
        for (kind, before, after) in [
            (KeyKind::Tls, &old.tls_keys, &new.tls_keys),
            (KeyKind::Sign, &old.signing_keys, &new.signing_keys),
        ] {
            for key in before {
                if !after.iter().any(|k| k.sha256() == key.sha256()) {
                    self.dropped.push(DroppedKey {
                        client_id: old.client_id.clone(),
                        kind,
                        key: key.clone(),
                    });
                }
            }
        }
        Some(old)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Application> {
        self.apps.iter()
    }

    /// Trusts `ca` for certificates presented in registrations and updates.
    pub fn trust(&mut self, ca: X509) {
        let der = ca.to_der().ok();
        let known = self.trust_anchors.iter().any(|t| t.to_der().ok() == der);
        if !known {
            self.trust_anchors.push(ca);
        }
    }

    pub fn trust_anchors(&self) -> &[X509] {
        &self.trust_anchors
    }

    /// Every registered signing certificate whose serial is `serial` (normalized: upper-case
    /// hex without leading zeros), with its application, in registration order.
    pub fn signing_keys_with_serial(&self, serial: &str) -> Vec<(&Application, &CertKey)> {
        self.apps
            .iter()
            .flat_map(|app| app.signing_keys.iter().map(move |key| (app, key)))
            .filter(|(_, key)| key.serial() == serial)
            .collect()
    }

    /// Whether some application has a TLS certificate of this serial (a keyId naming the TLS
    /// certificate instead of the signing one).
    pub fn has_tls_key_with_serial(&self, serial: &str) -> bool {
        self.apps
            .iter()
            .flat_map(|app| app.tls_keys.iter())
            .any(|key| key.serial() == serial)
    }

    /// The application a PUT removed this signing certificate (by serial) from.
    pub fn dropped_signing_key(&self, serial: &str) -> Option<&DroppedKey> {
        self.dropped
            .iter()
            .rev()
            .find(|d| d.kind == KeyKind::Sign && d.key.serial() == serial)
    }

    /// Whether the application's current redirect URIs were registered by a replacement (PUT).
    pub fn redirect_uris_registered_by_put(&self, client_id: &str) -> bool {
        self.redirects_put.iter().any(|id| id == client_id)
    }

    /// Whether a PUT removed the peer's certificate from `client_id`'s TLS keys.
    pub fn tls_key_was_dropped(&self, client_id: &str, peer: &PeerCertificate) -> bool {
        self.dropped.iter().any(|d| {
            d.kind == KeyKind::Tls && d.client_id == client_id && d.key.sha256() == peer.sha256()
        })
    }
}

/// 403 for a token used on another application's id.
pub fn other_application(token_client_id: &str, id: &str) -> IngError {
    IngError::oauth(
        StatusCode::FORBIDDEN,
        format!("The access token was issued to client_id {token_client_id}, not to {id}"),
    )
}

/// The token outlived its application (removed after the token was issued).
pub fn application_gone() -> IngError {
    IngError::bearer_unauthorized("The application of this access token no longer exists")
}

/// The `keys` of an application in the metadata answers: its TLS and signing certificates.
#[derive(Serialize)]
pub struct ApplicationKeys {
    pub(crate) tls: Vec<MetadataJwk>,
    pub(crate) sign: Vec<MetadataJwk>,
}
