//! One HTTP client per environment and client certificate (connections are reused), sending
//! exact bytes.

use crate::environment::ActiveEnvironment;
use crate::environment::hosts::HostPolicy;
use crate::error_chain::error_chain;
use crate::steps::sign::SignedRequest;
use obconform_core::wire::HttpResponse;
use rustls::RootCertStore;
use std::sync::Arc;
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
        /// No answer within the environment's timeouts.
        timed_out: bool,
    },
    /// Not sent: the URL is not one of the environment's hosts ([`HostPolicy`]).
    #[error("{method} {url}: {detail}")]
    ForeignHost {
        method: String,
        url: String,
        detail: String,
    },
}

impl TransportError {
    /// Refused before sending, to keep the environment's credentials from another host.
    pub fn refused_unsent(&self) -> bool {
        matches!(self, TransportError::ForeignHost { .. })
    }

    /// The request got no answer in time (as opposed to a refused or broken connection).
    pub fn timed_out(&self) -> bool {
        matches!(
            self,
            TransportError::Send {
                timed_out: true,
                ..
            }
        )
    }
}

/// A request as sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: SignedRequest,
    pub response: HttpResponse,
    pub elapsed: Duration,
    /// The server's certificate (DER) as the TLS session presented it; `None` without TLS.
    pub server_certificate: Option<Vec<u8>>,
}

pub struct Transport {
    /// The client presenting the `tls` certificate (or none), for most requests.
    default: reqwest::Client,
    /// One client per other certificate role a step may present (`tls: new_tls`).
    by_role: Vec<(String, reqwest::Client)>,
    /// A client presenting no certificate, for steps meant for another host (`other_host`).
    anonymous: reqwest::Client,
    /// The origins the environment's credentials may go to; any other is refused unsent.
    hosts: HostPolicy,
}

/// The `User-Agent` every request carries (reqwest also adds `Accept: */*` when a request has no
/// `Accept`): what a replay of the request must send too.
pub const USER_AGENT: &str = concat!("obconform/", env!("CARGO_PKG_VERSION"));

/// The certificate role presented when a step names none.
pub const DEFAULT_TLS_ROLE: &str = "tls";

impl Transport {
    pub fn new(env: &ActiveEnvironment) -> Result<Self, TransportError> {
        let roots = super::tls::server_roots(env).map_err(|detail| setup_error(env, detail))?;
        let default = client(env, roots.as_ref(), env.identity(DEFAULT_TLS_ROLE))?;
        let by_role = env
            .identities
            .iter()
            .filter(|(role, _)| role != DEFAULT_TLS_ROLE)
            .map(|(role, identity)| {
                Ok((role.clone(), client(env, roots.as_ref(), Some(identity))?))
            })
            .collect::<Result<_, TransportError>>()?;
        Ok(Transport {
            default,
            by_role,
            anonymous: client(env, roots.as_ref(), None)?,
            hosts: env.host_policy(),
        })
    }

    /// Sends over a connection presenting the `tls` certificate.
    pub async fn send(&self, signed: &SignedRequest) -> Result<Exchange, TransportError> {
        self.send_with(&self.default, signed).await
    }

    /// Sends over a connection presenting the certificate of `role`.
    pub async fn send_as(
        &self,
        signed: &SignedRequest,
        role: &str,
    ) -> Result<Exchange, TransportError> {
        if role == DEFAULT_TLS_ROLE {
            return self.send(signed).await;
        }
        match self.by_role.iter().find(|(r, _)| r == role) {
            Some((_, client)) => self.send_with(client, signed).await,
            None => Err(TransportError::Send {
                method: signed.request.method.clone(),
                url: signed.request.url.clone(),
                detail: format!("no certificate `{role}` to present in TLS"),
                timed_out: false,
            }),
        }
    }

    /// Sends to a host that need not be the environment's, presenting no client certificate.
    /// The caller has made sure the request carries no credential (`other_host` steps).
    pub async fn send_elsewhere(&self, signed: &SignedRequest) -> Result<Exchange, TransportError> {
        self.exchange(&self.anonymous, signed).await
    }

    /// Sends with `client` if the URL is one of the environment's hosts; refused unsent if not.
    async fn send_with(
        &self,
        client: &reqwest::Client,
        signed: &SignedRequest,
    ) -> Result<Exchange, TransportError> {
        let request = &signed.request;
        self.hosts
            .check(&request.url)
            .map_err(|detail| TransportError::ForeignHost {
                method: request.method.clone(),
                url: request.url.clone(),
                detail,
            })?;
        self.exchange(client, signed).await
    }

    /// Sends the request's bytes unchanged and reads the whole response.
    async fn exchange(
        &self,
        client: &reqwest::Client,
        signed: &SignedRequest,
    ) -> Result<Exchange, TransportError> {
        let request = &signed.request;
        let fail = |e: &reqwest::Error| TransportError::Send {
            method: request.method.clone(),
            url: request.url.clone(),
            detail: describe(e),
            timed_out: e.is_timeout(),
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| {
            TransportError::Send {
                method: request.method.clone(),
                url: request.url.clone(),
                detail: e.to_string(),
                timed_out: false,
            }
        })?;
        let mut builder = client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let started = Instant::now();
        let response = builder.send().await.map_err(|e| fail(&e))?;
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
        let server_certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec);
        let body = response.bytes().await.map_err(|e| fail(&e))?.to_vec();
        Ok(Exchange {
            request: signed.clone(),
            response: HttpResponse {
                status,
                headers,
                body,
            },
            elapsed: started.elapsed(),
            server_certificate,
        })
    }
}

fn setup_error(env: &ActiveEnvironment, detail: String) -> TransportError {
    TransportError::Setup {
        env: env.name.clone(),
        detail,
    }
}

/// An HTTP/1.1 client presenting `identity` (connections are reused per client).
fn client(
    env: &ActiveEnvironment,
    roots: Option<&Arc<RootCertStore>>,
    identity: Option<&obconform_core::certs::Identity>,
) -> Result<reqwest::Client, TransportError> {
    let setup = |detail: String| setup_error(env, detail);
    let tls = super::tls::client_config(roots, identity).map_err(setup)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // The server's certificate, for `expect.server_certificate`.
        .tls_info(true)
        // HTTP/1.1 keeps `Host` explicit and what is signed identical to what is sent.
        .http1_only()
        .no_proxy()
        .connect_timeout(env.connect_timeout)
        .timeout(env.request_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| setup(error_chain(&e)))
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
