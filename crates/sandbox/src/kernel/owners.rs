//! Whose certificate is it? Naming the application a wrong certificate belongs to turns a bare
//! 401 into the fix ("you connected with the PSD2 pair, use `premium/`").

use openssl::x509::X509;

use super::applications::PREMIUM_CLIENT_ID;
use crate::kernel::applications::{AppRegistry, Application, PSD2_CLIENT_ID};
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::pki::{CLIENT_TLS_CERT_FILE, PREMIUM_DIR};
use crate::kernel::tls::PeerCertificate;
use crate::kernel::verify::unauthorized;
use obconform_core::certs::info::one_line_name;
use obconform_core::certs::wire::serial_hex;

/// `client_id X (the PSD2 example application)`.
pub fn app_label(client_id: &str) -> String {
    match client_id {
        PREMIUM_CLIENT_ID => {
            format!("client_id {client_id} (the Open Banking premium application)")
        }
        PSD2_CLIENT_ID => format!("client_id {client_id} (the PSD2 example application)"),
        _ => format!("client_id {client_id}"),
    }
}

/// Where the sandbox wrote an example file (`name`, one of ING's file names) of `client_id`.
pub fn example_file(client_id: &str, name: &str) -> String {
    if client_id == PREMIUM_CLIENT_ID {
        format!("{PREMIUM_DIR}/{name}")
    } else {
        name.to_owned()
    }
}

/// `subject, serial S` of a DER certificate (what `openssl x509 -subject -serial` shows).
pub fn describe(der: &[u8]) -> String {
    match X509::from_der(der) {
        Ok(cert) => format!(
            "{}, serial {}",
            one_line_name(cert.subject_name()),
            serial_hex(&cert)
        ),
        Err(_) => "an unreadable certificate".to_owned(),
    }
}

/// The other application whose TLS certificate `peer` is, when `app` or that application is the
/// premium one: the mix-up the two example pairs invite. `None` otherwise, so that PSD2-only
/// answers stay as they were.
pub fn tls_of_other_application(
    registry: &AppRegistry,
    app: &Application,
    peer: &PeerCertificate,
) -> Option<IngError> {
    if app.is_tls_certificate(peer) {
        return None;
    }
    let owner = registry
        .iter()
        .find(|other| other.client_id != app.client_id && other.is_tls_certificate(peer))?;
    if app.client_id != PREMIUM_CLIENT_ID && owner.client_id != PREMIUM_CLIENT_ID {
        return None;
    }
    Some(
        unauthorized(format!(
            "The TLS client certificate ({}) is the TLS certificate of {}, not of {}: connect \
             with the TLS certificate of {} ({})",
            describe(peer.der()),
            app_label(&owner.client_id),
            app_label(&app.client_id),
            app.client_id,
            example_file(&app.client_id, CLIENT_TLS_CERT_FILE),
        ))
        .with_diagnosis(diagnosis::CERT_OTHER_APPLICATION),
    )
}
