//! The client against obconform's embedded bank, started in the test: like a mock server, but it
//! verifies mutual TLS, tokens and signatures as ING does, and says why when it refuses.

use ing_client_example::{Certificates, IngClient, Refused};
use obconform::sandbox::{PSD2_CLIENT_ID, Sandbox, SandboxConfig};

fn certificates(bank: &Sandbox) -> Certificates {
    let pki = bank.pki();
    Certificates {
        tls_cert: pki.client_tls_cert.clone(),
        tls_key: pki.client_tls_key.clone(),
        signing_cert: pki.client_signing_cert.clone(),
        signing_key: pki.client_signing_key.clone(),
        bank_ca: Some(pki.ca_cert.clone()),
    }
}

#[tokio::test]
async fn reads_its_registration_with_an_mtls_token() {
    let bank = Sandbox::start(SandboxConfig::loopback()).await.unwrap();
    let client = IngClient::new(bank.base_url(), &certificates(&bank)).unwrap();
    let token = client.mtls_token(PSD2_CLIENT_ID).await.unwrap();
    assert_eq!(token.client_id.as_deref(), Some(PSD2_CLIENT_ID));
    let me = client.application(&token).await.unwrap();
    assert_eq!(me["applications"][0]["client_id"], PSD2_CLIENT_ID);
    bank.shutdown().await;
}

#[tokio::test]
async fn gets_an_http_signed_application_token() {
    let bank = Sandbox::start(SandboxConfig::loopback()).await.unwrap();
    let client = IngClient::new(bank.base_url(), &certificates(&bank)).unwrap();
    let token = client
        .app_token("payment-accounts:balances:view granting")
        .await
        .unwrap();
    assert_eq!(token.client_id.as_deref(), Some(PSD2_CLIENT_ID));
    assert!(token.access_token.len() >= 16);
}

/// A client whose signing key is not the certificate's: the bank refuses, and the embedded one
/// names the mistake instead of a bare 401.
#[tokio::test]
async fn a_signature_with_the_wrong_key_is_refused_and_explained() {
    let bank = Sandbox::start(SandboxConfig::loopback()).await.unwrap();
    let mut certificates = certificates(&bank);
    certificates.signing_key = bank.pki().client_tls_key.clone();
    let client = IngClient::new(bank.base_url(), &certificates).unwrap();
    let error = client.app_token("granting").await.unwrap_err();
    let refused = error.downcast_ref::<Refused>().expect("the bank's refusal");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.diagnosis.as_deref(), Some("httpsig.wrong-key"));
}
