//! One HTTP client per environment (connections are reused), sending exact bytes.

use crate::environment::ActiveEnvironment;
use crate::error_chain::error_chain;
use crate::sign::SignedRequest;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("cannot set up the HTTP client for environment `{env}`: {detail}")]
    Setup { env: String, detail: String },
    #[error("{method} {url}: {detail}")]
    Send {
        method: String,
        url: String,
        detail: String,
    },
}

/// The response as received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::plan::find_header(&self.headers, name)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request as sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: SignedRequest,
    pub response: Response,
    pub elapsed: Duration,
}

pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub fn new(env: &ActiveEnvironment) -> Result<Self, TransportError> {
        let setup = |detail: String| TransportError::Setup {
            env: env.name.clone(),
            detail,
        };
        let tls = super::tls::client_config(env).map_err(setup)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // HTTP/1.1 keeps `Host` explicit and what is signed identical to what is sent.
            .http1_only()
            .no_proxy()
            .connect_timeout(env.connect_timeout)
            .timeout(env.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("obconform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(error_chain(&e)))?;
        Ok(Transport { client })
    }

    /// Sends the request's bytes unchanged and reads the whole response.
    pub async fn send(&self, signed: &SignedRequest) -> Result<Exchange, TransportError> {
        let request = &signed.request;
        let fail = |detail: String| TransportError::Send {
            method: request.method.clone(),
            url: request.url.clone(),
            detail,
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let started = Instant::now();
        let response = builder.send().await.map_err(|e| fail(describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(describe(&e)))?
            .to_vec();
        Ok(Exchange {
            request: signed.clone(),
            response: Response {
                status,
                headers,
                body,
            },
            elapsed: started.elapsed(),
        })
    }
}

/// A one-line cause with a hint, instead of reqwest's nested error.
fn describe(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let hint = if e.is_timeout() {
        "timed out — is the host reachable? (timeouts are set per environment)"
    } else if chain.contains("Connection refused") {
        "connection refused — is the host and port right, and is the server running?"
    } else if chain.contains("certificate")
        || chain.contains("Certificate")
        || chain.contains("handshake")
    {
        "TLS handshake failed — check the trust anchors and the client certificate of the environment"
    } else if e.is_connect() {
        "cannot connect — check the host name and the network"
    } else {
        "the exchange failed"
    };
    format!("{hint} ({chain})")
}
