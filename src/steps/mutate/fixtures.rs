//! Test fixtures: keys (made once per test binary: RSA generation is slow), correctly signed
//! requests of both kinds, and the sign module's strict verifiers over them.

use super::Keys;
use crate::scenario::model::{Flow, SignProfile};
use crate::steps::sign::{SignInputs, SignedRequest, sign};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform_core::sign::http_signature::{self, HttpSigError, Placement};
use obconform_core::sign::jws::{self, JwsError};
use obconform_core::sign::message::{Message, request_target_of_url};
use obconform_core::sign::{Algorithm, SigningKey};
use obconform_core::wire::HttpRequest;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2019-11-19T17:28:15Z, Tue, 19 Nov 2019 17:28:15 GMT.
pub const NOW: u64 = 1_574_184_495;

fn key(rsa: bool, serial: &str) -> Arc<SigningKey> {
    let key = if rsa {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    } else {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    };
    let cert =
        obconform_core::certs::self_signed::self_signed(&key, "test", serial, 30, vec![]).unwrap();
    Arc::new(SigningKey::new(cert, key))
}

fn roles() -> &'static [(String, Arc<SigningKey>)] {
    static ROLES: OnceLock<Vec<(String, Arc<SigningKey>)>> = OnceLock::new();
    ROLES.get_or_init(|| {
        vec![
            ("tls".into(), key(true, "1A2B3C4D")),
            ("signing".into(), key(true, "49BA5C71")),
            ("ec".into(), key(false, "0EC0")),
        ]
    })
}

pub struct Fixture {
    pub roles: &'static [(String, Arc<SigningKey>)],
    pub now: SystemTime,
}

pub fn http_profile(placement: Placement) -> SignProfile {
    SignProfile {
        flow: Flow::HttpSignature,
        placement: Some(placement),
        certificate_header: Some(true),
        ..SignProfile::default()
    }
}

pub fn jws_profile() -> SignProfile {
    SignProfile {
        flow: Flow::Jws,
        ..SignProfile::default()
    }
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            roles: roles(),
            now: UNIX_EPOCH + Duration::from_secs(NOW),
        }
    }

    pub fn role(&self, name: &str) -> &'static SigningKey {
        self.roles
            .iter()
            .find(|(r, _)| r == name)
            .map(|(_, k)| k.as_ref())
            .unwrap()
    }

    pub fn signing(&self) -> &'static SigningKey {
        self.role("signing")
    }

    pub fn keys(&self) -> Keys<'static> {
        Keys {
            signed_with: Some(self.signing()),
            roles: self.roles,
        }
    }

    /// The guide's application-token request.
    pub fn request(&self) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: "https://127.0.0.1:8443/oauth2/token".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: b"grant_type=client_credentials".to_vec(),
        }
    }

    fn inputs(&self) -> SignInputs<'_> {
        SignInputs {
            key: Some(self.signing()),
            key_id: None,
            audience: None,
            client_id: None,
            now: self.now,
        }
    }

    pub fn sign_http(&self, profile: &SignProfile) -> SignedRequest {
        self.sign_http_request(self.request(), profile)
    }

    pub fn sign_http_request(&self, request: HttpRequest, profile: &SignProfile) -> SignedRequest {
        sign(request, profile, &self.inputs()).unwrap()
    }

    /// The guide's registration request, signed as a detached JWS.
    pub fn sign_jws(&self) -> SignedRequest {
        let request = HttpRequest {
            method: "POST".into(),
            url: "https://127.0.0.1:8443/oauth2/applications".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"contact":"test@ingsandbox.com"}"#.to_vec(),
        };
        sign(request, &jws_profile(), &self.inputs()).unwrap()
    }

    /// ING's strict check of an HTTP signature with the signing certificate, at `now`.
    pub fn verify_http_at(
        &self,
        signed: &SignedRequest,
        now: SystemTime,
    ) -> Result<Algorithm, HttpSigError> {
        let target = request_target_of_url(&signed.request.url).unwrap();
        let message = Message::of(&signed.request, &target);
        let (_, params) = http_signature::locate(&message)?;
        let policy = http_signature::Policy {
            required: &http_signature::DEFAULT_HEADERS,
            now,
            max_skew: Duration::from_secs(180),
        };
        let public = self.signing().cert.public_key().unwrap();
        http_signature::verify(&message, &params, &public, &policy)
    }

    pub fn verify_http(&self, signed: &SignedRequest) -> Result<Algorithm, HttpSigError> {
        self.verify_http_at(signed, self.now)
    }

    /// ING's strict check of a JWS with the signing certificate, at `now`.
    pub fn verify_jws_at(
        &self,
        signed: &SignedRequest,
        now: SystemTime,
    ) -> Result<Algorithm, JwsError> {
        let target = request_target_of_url(&signed.request.url).unwrap();
        let message = Message::of(&signed.request, &target);
        let parsed = jws::parse(
            signed
                .request
                .header(obconform_core::sign::JWS_HEADER)
                .unwrap(),
        )?;
        let policy = jws::Policy {
            required: &jws::DEFAULT_PARS,
            now,
            max_skew: Duration::from_secs(180),
        };
        let signing = self.signing();
        let public = signing.cert.public_key().unwrap();
        jws::verify(&message, &parsed, &public, &signing.x5t_s256, &policy)
    }

    pub fn verify_jws(&self, signed: &SignedRequest) -> Result<Algorithm, JwsError> {
        self.verify_jws_at(signed, self.now)
    }
}

/// The signature bytes a request carries, taken apart by hand (not with the parsers under
/// test): the base64 `signature="…"` of an HTTP signature, or what follows `..` in a JWS.
pub fn signature_bytes(signed: &SignedRequest) -> Vec<u8> {
    match signed.flow {
        Flow::Jws => {
            let value = signed
                .request
                .header(obconform_core::sign::JWS_HEADER)
                .unwrap();
            let (_, signature) = value.split_once("..").unwrap();
            URL_SAFE_NO_PAD.decode(signature).unwrap()
        }
        _ => {
            let value = signed
                .request
                .header("Signature")
                .or_else(|| signed.request.header("Authorization"))
                .unwrap();
            let start = value.find("signature=\"").unwrap() + "signature=\"".len();
            let end = start + value[start..].find('"').unwrap();
            STANDARD.decode(&value[start..end]).unwrap()
        }
    }
}

/// The protected header of a JWS as JSON text, decoded by hand.
pub fn jws_header_json(signed: &SignedRequest) -> String {
    let value = signed
        .request
        .header(obconform_core::sign::JWS_HEADER)
        .unwrap();
    let (header, _) = value.split_once("..").unwrap();
    String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}
