//! A tiny ING PSD2 client, as a TPP might write one: mutual TLS with its QWAC, the mTLS-only
//! application token and the registered metadata (the guide's step 2), and the HTTP-signed
//! application token (step 3c). Its tests run it against obconform's embedded sandbox.

use obconform_core::sign::digest::sha256_digest;
use obconform_core::sign::message::{Message, imf_fixdate, request_target_of_url};
use obconform_core::sign::{Algorithm, CERTIFICATE_HEADER, Placement, SigningKey, http_signature};
use obconform_core::wire::HttpRequest;
use openssl::pkey::PKey;
use openssl::x509::X509;
use serde_json::Value;
use std::path::PathBuf;
use std::time::SystemTime;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

const FORM: &str = "application/x-www-form-urlencoded";

/// The files a TPP gets from its certificate authority (and, for a test bank, the bank's CA).
#[derive(Debug, Clone)]
pub struct Certificates {
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub signing_cert: PathBuf,
    pub signing_key: PathBuf,
    /// The CA that signed the bank's server certificate, when it is not a public one.
    pub bank_ca: Option<PathBuf>,
}

/// An access token as the bank answered it.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: String,
    pub client_id: Option<String>,
}

pub struct IngClient {
    api: String,
    http: reqwest::Client,
    signing: SigningKey,
}

impl IngClient {
    /// A client of the API host `api` (`https://api.sandbox.ing.com`).
    pub fn new(api: impl Into<String>, certificates: &Certificates) -> Result<IngClient, Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut identity = std::fs::read(&certificates.tls_cert)?;
        identity.extend(std::fs::read(&certificates.tls_key)?);
        let mut builder = reqwest::Client::builder()
            .identity(reqwest::Identity::from_pem(&identity)?)
            .http1_only();
        if let Some(ca) = &certificates.bank_ca {
            builder =
                builder.tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(ca)?)?]);
        }
        let cert = X509::from_pem(&std::fs::read(&certificates.signing_cert)?)?;
        let key = PKey::private_key_from_pem(&std::fs::read(&certificates.signing_key)?)?;
        Ok(IngClient {
            api: api.into(),
            http: builder.build()?,
            signing: SigningKey::new(cert, key),
        })
    }

    /// Step 2: an application token with mutual TLS alone (`client_id` in the body).
    pub async fn mtls_token(&self, client_id: &str) -> Result<Token, Error> {
        let body = format!("grant_type=client_credentials&client_id={client_id}");
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.api))
            .header("Content-Type", FORM)
            .body(body)
            .send()
            .await?;
        token(response).await
    }

    /// Step 2: the registered application, read with an mTLS-only token.
    pub async fn application(&self, token: &Token) -> Result<Value, Error> {
        let response = self
            .http
            .get(format!("{}/oauth2/applications/me", self.api))
            .bearer_auth(&token.access_token)
            .send()
            .await?;
        json(response).await
    }

    /// Step 3c: an application token requested with an HTTP signature (`keyId="SN=<serial>"`)
    /// over `(request-target) date digest`, the signing certificate beside it. `scope` is
    /// space-separated; the body spells it as ING requires (`+` for spaces, `%3A` for `:`).
    pub async fn app_token(&self, scope: &str) -> Result<Token, Error> {
        let scope = scope.replace(':', "%3A").replace(' ', "+");
        let mut request = HttpRequest {
            method: "POST".into(),
            url: format!("{}/oauth2/token", self.api),
            headers: Vec::new(),
            body: format!("grant_type=client_credentials&scope={scope}").into_bytes(),
        };
        let headers = [
            ("Content-Type", FORM.to_string()),
            ("Date", imf_fixdate(SystemTime::now())),
            ("Digest", sha256_digest(&request.body)),
            (CERTIFICATE_HEADER, self.signing.cert_one_line.clone()),
        ];
        request.headers = headers
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        let target = request_target_of_url(&request.url)?;
        let signed: Vec<String> = ["(request-target)", "date", "digest"]
            .map(String::from)
            .to_vec();
        let signature = http_signature::sign(
            &Message::of(&request, &target),
            &self.signing.key_id,
            Algorithm::RsaSha256,
            &signed,
            Placement::Authorization,
            &self.signing.key,
        )?;
        request
            .headers
            .push((signature.header_name.to_string(), signature.header_value));
        let mut call = self.http.post(&request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            call = call.header(name, value);
        }
        token(call.send().await?).await
    }
}

/// The bank's refusal, with what it said and why (the embedded sandbox names the mistake).
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
    /// `x-obconform-diagnosis`, on the embedded sandbox.
    pub diagnosis: Option<String>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the bank answered {}: {}", self.status, self.body)?;
        if let Some(diagnosis) = &self.diagnosis {
            write!(f, " (diagnosis: {diagnosis})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

async fn json(response: reqwest::Response) -> Result<Value, Error> {
    let status = response.status().as_u16();
    let diagnosis = response
        .headers()
        .get("x-obconform-diagnosis")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await?;
    if status != 200 {
        return Err(Box::new(Refused {
            status,
            body,
            diagnosis,
        }));
    }
    Ok(serde_json::from_str(&body)?)
}

async fn token(response: reqwest::Response) -> Result<Token, Error> {
    let body = json(response).await?;
    let access_token = body["access_token"]
        .as_str()
        .ok_or("the token response has no access_token")?
        .to_string();
    Ok(Token {
        access_token,
        client_id: body["client_id"].as_str().map(str::to_string),
    })
}
