//! The signing recipe of a request — which lines, joined how, signed with which algorithm, salt
//! and key — read back from the request as it was correctly signed, so that a fault changes one
//! thing and the request is signed again with exactly that change.

use super::{MutateError, placement};
use crate::scenario::model::Flow;
use crate::steps::sign::{SignedRequest, replace_header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform_core::sign::algorithm::{Algorithm, Family, PssSalt};
use obconform_core::sign::key::SigningKey;
use obconform_core::sign::{JWS_HEADER, jws};
use serde_json::Value;

/// One line of the signing input: `name: value`, the name lower-case.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub name: String,
    pub text: String,
}

impl Line {
    pub fn set_value(&mut self, value: &str) {
        self.text = format!("{}: {value}", self.name);
    }
}

/// What the lines are wrapped in.
#[derive(Debug, Clone)]
pub(super) enum Envelope {
    /// draft-cavage: the parameters stay as they stand in the request; only `signature=` changes.
    Http,
    /// JWS: the protected header (the signing input starts with its base64url), re-encoded only
    /// when a fault changes it, so an untouched header keeps its exact bytes.
    Jws { header: Value, header_b64: String },
}

#[derive(Debug, Clone)]
pub(super) struct Recipe<'k> {
    pub envelope: Envelope,
    /// In signing order.
    pub lines: Vec<Line>,
    /// LF, or CRLF for the Windows fault.
    pub separator: &'static str,
    pub trailing_lf: bool,
    /// What really signs, whatever the signature names.
    pub algorithm: Algorithm,
    pub salt: PssSalt,
    pub key: &'k SigningKey,
}

impl<'k> Recipe<'k> {
    /// The recipe `signed` was made with: its signature's parameters and its signing input.
    pub fn read(signed: &SignedRequest, key: &'k SigningKey) -> Result<Self, MutateError> {
        let input = signed
            .signing_input
            .as_deref()
            .ok_or(MutateError::NotSigned(signed.flow.name()))?;
        let (envelope, names, lines, algorithm) = match signed.flow {
            Flow::HttpSignature => {
                let (_, params) = placement::locate(&signed.request)?;
                let algorithm = match params.algorithm.as_deref() {
                    Some(name) => known_algorithm(name)?,
                    None => Algorithm::default_for(Family::HttpSignature, &key.key),
                };
                (Envelope::Http, params.headers, input, algorithm)
            }
            Flow::Jws => {
                let value = signed
                    .request
                    .header(JWS_HEADER)
                    .ok_or(MutateError::NoSignatureHeader(JWS_HEADER))?;
                let parsed = jws::parse(value).map_err(|e| MutateError::Unusable(e.to_string()))?;
                let lines = input
                    .strip_prefix(&parsed.header_b64)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .ok_or_else(|| {
                        MutateError::Unusable(
                            "the signing input does not start with the JWS header".into(),
                        )
                    })?;
                let names = parsed.pars.iter().map(|p| p.to_ascii_lowercase()).collect();
                let algorithm = known_algorithm(&parsed.alg)?;
                let envelope = Envelope::Jws {
                    header: parsed.header,
                    header_b64: parsed.header_b64,
                };
                (envelope, names, lines, algorithm)
            }
            other => return Err(MutateError::NotSigned(other.name())),
        };
        Ok(Recipe {
            envelope,
            lines: split_lines(lines, names)?,
            separator: "\n",
            trailing_lf: false,
            algorithm,
            salt: PssSalt::Digest,
            key,
        })
    }

    /// What the (faulty) client signs.
    pub fn signing_input(&self) -> String {
        let mut input = match &self.envelope {
            Envelope::Http => String::new(),
            Envelope::Jws { header_b64, .. } => format!("{header_b64}."),
        };
        let lines: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        input.push_str(&lines.join(self.separator));
        if self.trailing_lf {
            input.push('\n');
        }
        input
    }

    /// Signs the request again with this recipe, in place of its signature, and records what
    /// was signed.
    pub fn sign_into(&self, signed: &mut SignedRequest) -> Result<(), MutateError> {
        let input = self.signing_input();
        let signature = self
            .algorithm
            .sign_with_salt(&self.key.key, input.as_bytes(), self.salt)
            .map_err(|e| MutateError::Sign(e.to_string()))?;
        match &self.envelope {
            Envelope::Http => {
                placement::replace_signature(&mut signed.request, &STANDARD.encode(signature))?
            }
            Envelope::Jws { header_b64, .. } => replace_header(
                &mut signed.request,
                JWS_HEADER,
                format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(signature)),
            ),
        }
        signed.signing_input = Some(input);
        Ok(())
    }

    /// The signed line of a header (any case), or which ones are signed.
    pub fn line_mut(&mut self, name: &str) -> Result<&mut Line, MutateError> {
        let index = self.position(name)?;
        Ok(&mut self.lines[index])
    }

    pub fn position(&self, name: &str) -> Result<usize, MutateError> {
        self.lines
            .iter()
            .position(|l| l.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| MutateError::UnsignedHeader(name.to_string(), self.listing()))
    }

    /// The signed names, for messages: `signed: (request-target) date digest`.
    pub fn listing(&self) -> String {
        let names: Vec<&str> = self.lines.iter().map(|l| l.name.as_str()).collect();
        format!("signed: {}", names.join(" "))
    }

    /// A field of the JWS protected header; `None` for an HTTP signature or an absent field.
    pub fn jws_field(&self, field: &str) -> Option<&Value> {
        match &self.envelope {
            Envelope::Jws { header, .. } => header.get(field),
            Envelope::Http => None,
        }
    }

    /// Sets (`None`: removes) a field of the JWS protected header and re-encodes it, keeping the
    /// other fields where they were.
    pub fn set_jws_field(&mut self, field: &str, value: Option<Value>) -> Result<(), MutateError> {
        let Envelope::Jws { header, header_b64 } = &mut self.envelope else {
            return Err(MutateError::WrongSignature {
                needs: "a JWS (x-jws-signature)",
                has: "an HTTP signature",
            });
        };
        let Some(fields) = header.as_object_mut() else {
            return Err(MutateError::Unusable(
                "the JWS header is not a JSON object".into(),
            ));
        };
        match value {
            Some(value) => {
                fields.insert(field.to_string(), value);
            }
            None => {
                fields.shift_remove(field);
            }
        }
        *header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(())
    }
}

fn known_algorithm(name: &str) -> Result<Algorithm, MutateError> {
    Algorithm::from_name(name).ok_or_else(|| {
        MutateError::Unusable(format!("the signature names an unknown algorithm `{name}`"))
    })
}

/// The signing input's lines, one per listed name, as the signer wrote them.
fn split_lines(lines: &str, names: Vec<String>) -> Result<Vec<Line>, MutateError> {
    let texts: Vec<&str> = lines.split('\n').collect();
    let matches = texts.len() == names.len()
        && texts.iter().zip(&names).all(|(text, name)| {
            text.strip_prefix(name.as_str())
                .is_some_and(|r| r.starts_with(": "))
        });
    if !matches {
        return Err(MutateError::Unusable(
            "the signing input does not match the signature's header list".into(),
        ));
    }
    Ok(names
        .into_iter()
        .zip(texts)
        .map(|(name, text)| Line {
            name,
            text: text.to_string(),
        })
        .collect())
}
