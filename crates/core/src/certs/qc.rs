//! The PSD2 part of an eIDAS certificate: the ETSI TS 119 495 `PSD2QcType` statement inside the
//! qcStatements extension (RFC 3739, OID 1.3.6.1.5.5.7.1.3) — the PSP's roles and its national
//! competent authority (NCA).
//!
//! A small hand-written DER reader does the parsing (certificates come from users and may be
//! anything: every length is checked, nothing here panics), and [`qc_statements_der`] builds the
//! extension for the sandbox's example certificates and for tests.
//!
//! ```text
//! QCStatements ::= SEQUENCE OF QCStatement
//! QCStatement  ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }
//! PSD2QcType   ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName UTF8String, nCAId UTF8String }
//! RolesOfPSP   ::= SEQUENCE OF SEQUENCE { roleOfPspOid OBJECT IDENTIFIER, roleOfPspName UTF8String }
//! ```

use openssl::asn1::{Asn1Object, Asn1OctetString};
use openssl::error::ErrorStack;
use openssl::x509::{X509Extension, X509Ref};
use serde::Serialize;

/// The qcStatements certificate extension (RFC 3739).
pub const QC_STATEMENTS_OID: &str = "1.3.6.1.5.5.7.1.3";
/// ETSI TS 119 495 `id-etsi-psd2-qcStatement`.
pub const PSD2_QC_TYPE_OID: &str = "0.4.0.19495.2";

/// A PSP role of ETSI TS 119 495 §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Psd2Role {
    /// Account servicing (the bank).
    #[serde(rename = "PSP_AS")]
    AccountServicing,
    /// Payment initiation.
    #[serde(rename = "PSP_PI")]
    PaymentInitiation,
    /// Account information.
    #[serde(rename = "PSP_AI")]
    AccountInformation,
    /// Issuing of card-based payment instruments.
    #[serde(rename = "PSP_IC")]
    CardIssuing,
}

impl Psd2Role {
    /// All four roles, in the order of ETSI TS 119 495.
    pub const ALL: [Psd2Role; 4] = [
        Psd2Role::AccountServicing,
        Psd2Role::PaymentInitiation,
        Psd2Role::AccountInformation,
        Psd2Role::CardIssuing,
    ];

    /// `roleOfPspOid` (`id-psd2-role-psp-as` …).
    pub fn oid(self) -> &'static str {
        match self {
            Psd2Role::AccountServicing => "0.4.0.19495.1.1",
            Psd2Role::PaymentInitiation => "0.4.0.19495.1.2",
            Psd2Role::AccountInformation => "0.4.0.19495.1.3",
            Psd2Role::CardIssuing => "0.4.0.19495.1.4",
        }
    }

    /// `roleOfPspName`: `PSP_AS`, `PSP_PI`, `PSP_AI`, `PSP_IC`.
    pub fn name(self) -> &'static str {
        match self {
            Psd2Role::AccountServicing => "PSP_AS",
            Psd2Role::PaymentInitiation => "PSP_PI",
            Psd2Role::AccountInformation => "PSP_AI",
            Psd2Role::CardIssuing => "PSP_IC",
        }
    }

    pub fn from_oid(oid: &str) -> Option<Psd2Role> {
        Psd2Role::ALL.into_iter().find(|r| r.oid() == oid)
    }

    pub fn from_name(name: &str) -> Option<Psd2Role> {
        Psd2Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Psd2Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the PSD2 statement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Psd2Statement {
    /// Known roles, in the certificate's order (identified by OID, or by name when the OID is not
    /// one of the four).
    pub roles: Vec<Psd2Role>,
    /// Roles that are none of the four, as `oid (name)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_roles: Vec<String>,
    pub nca_name: String,
    pub nca_id: String,
}

/// Malformed DER, with what was being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER in {context}: {problem}")]
pub struct DerError {
    pub context: &'static str,
    pub problem: &'static str,
}

/// The PSD2 statement of a certificate: `Ok(None)` when it has no qcStatements extension or
/// no PSD2 statement in it.
pub fn psd2_statement(cert: &X509Ref) -> Result<Option<Psd2Statement>, DerError> {
    let der = cert.to_der().map_err(|_| DerError {
        context: "certificate",
        problem: "cannot be encoded",
    })?;
    psd2_statement_from_der(&der)
}

/// [`psd2_statement`] over the certificate's DER.
pub fn psd2_statement_from_der(cert_der: &[u8]) -> Result<Option<Psd2Statement>, DerError> {
    match extension_value(cert_der, QC_STATEMENTS_OID)? {
        Some(value) => parse_qc_statements(value),
        None => Ok(None),
    }
}

/// Finds the PSD2 statement in a qcStatements extension value (`QCStatements`, the contents of
/// the extension's OCTET STRING).
pub fn parse_qc_statements(value: &[u8]) -> Result<Option<Psd2Statement>, DerError> {
    const CTX: &str = "qcStatements";
    let mut outer = der::Reader::new(value);
    let statements = outer.expect(der::SEQUENCE, CTX)?;
    outer.finish(CTX)?;
    let mut statements = der::Reader::new(statements);
    while !statements.is_empty() {
        let statement = statements.expect(der::SEQUENCE, CTX)?;
        let mut statement = der::Reader::new(statement);
        let id = der::oid_to_string(statement.expect(der::OID, CTX)?)
            .ok_or_else(|| der::err(CTX, "invalid statement OID"))?;
        if id != PSD2_QC_TYPE_OID {
            continue;
        }
        let info = statement.expect(der::SEQUENCE, "PSD2QcType")?;
        return parse_psd2_qc_type(info).map(Some);
    }
    Ok(None)
}

fn parse_psd2_qc_type(info: &[u8]) -> Result<Psd2Statement, DerError> {
    const CTX: &str = "PSD2QcType";
    let mut fields = der::Reader::new(info);
    let roles = fields.expect(der::SEQUENCE, CTX)?;
    let nca_name = utf8(fields.expect(der::UTF8_STRING, CTX)?, CTX)?;
    let nca_id = utf8(fields.expect(der::UTF8_STRING, CTX)?, CTX)?;
    let mut statement = Psd2Statement {
        roles: Vec::new(),
        unknown_roles: Vec::new(),
        nca_name,
        nca_id,
    };
    let mut roles = der::Reader::new(roles);
    while !roles.is_empty() {
        const RCTX: &str = "RoleOfPSP";
        let role = roles.expect(der::SEQUENCE, RCTX)?;
        let mut role = der::Reader::new(role);
        let oid = der::oid_to_string(role.expect(der::OID, RCTX)?)
            .ok_or_else(|| der::err(RCTX, "invalid role OID"))?;
        let name = utf8(role.expect(der::UTF8_STRING, RCTX)?, RCTX)?;
        match Psd2Role::from_oid(&oid).or_else(|| Psd2Role::from_name(&name)) {
            Some(known) if !statement.roles.contains(&known) => statement.roles.push(known),
            Some(_) => {}
            None => statement.unknown_roles.push(format!("{oid} ({name})")),
        }
    }
    Ok(statement)
}

fn utf8(bytes: &[u8], context: &'static str) -> Result<String, DerError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| der::err(context, "UTF8String is not UTF-8"))
}

/// The DER of a qcStatements extension value holding one PSD2 statement.
pub fn qc_statements_der(roles: &[Psd2Role], nca_name: &str, nca_id: &str) -> Vec<u8> {
    let roles: Vec<u8> = roles
        .iter()
        .flat_map(|role| {
            der::tlv(
                der::SEQUENCE,
                &[
                    der::tlv(der::OID, &der::oid_from_str(role.oid()).unwrap_or_default()),
                    der::tlv(der::UTF8_STRING, role.name().as_bytes()),
                ]
                .concat(),
            )
        })
        .collect();
    let psd2 = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::SEQUENCE, &roles),
            der::tlv(der::UTF8_STRING, nca_name.as_bytes()),
            der::tlv(der::UTF8_STRING, nca_id.as_bytes()),
        ]
        .concat(),
    );
    let statement = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(
                der::OID,
                &der::oid_from_str(PSD2_QC_TYPE_OID).unwrap_or_default(),
            ),
            psd2,
        ]
        .concat(),
    );
    der::tlv(der::SEQUENCE, &statement)
}

/// The qcStatements extension (non-critical, as ETSI EN 319 412-5 requires) with one PSD2
/// statement, ready for `X509Builder::append_extension`.
pub fn psd2_extension(
    roles: &[Psd2Role],
    nca_name: &str,
    nca_id: &str,
) -> Result<X509Extension, ErrorStack> {
    let oid = Asn1Object::from_str(QC_STATEMENTS_OID)?;
    let value = Asn1OctetString::new_from_bytes(&qc_statements_der(roles, nca_name, nca_id))?;
    X509Extension::new_from_der(&oid, false, &value)
}

/// The value (contents of `extnValue`) of the extension `oid` in a DER certificate; `Ok(None)`
/// when the certificate has no such extension.
pub fn extension_value<'a>(cert_der: &'a [u8], oid: &str) -> Result<Option<&'a [u8]>, DerError> {
    const CTX: &str = "certificate";
    let Some(wanted) = der::oid_from_str(oid) else {
        return Ok(None);
    };
    let mut cert = der::Reader::new(cert_der);
    let mut cert = der::Reader::new(cert.expect(der::SEQUENCE, CTX)?);
    let mut tbs = der::Reader::new(cert.expect(der::SEQUENCE, "tbsCertificate")?);
    while !tbs.is_empty() {
        let (tag, content) = tbs.read("tbsCertificate")?;
        // [3] EXPLICIT Extensions; everything before it (version, serial, names, key...) is skipped.
        if tag != 0xA3 {
            continue;
        }
        let mut wrapper = der::Reader::new(content);
        let mut extensions = der::Reader::new(wrapper.expect(der::SEQUENCE, "extensions")?);
        while !extensions.is_empty() {
            let mut extension = der::Reader::new(extensions.expect(der::SEQUENCE, "extension")?);
            let id = extension.expect(der::OID, "extension")?;
            let (mut tag, mut value) = extension.read("extension")?;
            if tag == der::BOOLEAN {
                (tag, value) = extension.read("extension")?;
            }
            if tag != der::OCTET_STRING {
                return Err(der::err("extension", "extnValue is not an OCTET STRING"));
            }
            if id == wanted.as_slice() {
                return Ok(Some(value));
            }
        }
        return Ok(None);
    }
    Ok(None)
}

/// A minimal DER reader and writer: definite lengths, one-byte tags — all X.509 needs.
pub mod der {
    use super::DerError;

    pub const BOOLEAN: u8 = 0x01;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0C;
    pub const SEQUENCE: u8 = 0x30;

    pub(crate) fn err(context: &'static str, problem: &'static str) -> DerError {
        DerError { context, problem }
    }

    /// Reads consecutive TLVs out of a byte slice.
    pub struct Reader<'a> {
        rest: &'a [u8],
    }

    impl<'a> Reader<'a> {
        pub fn new(bytes: &'a [u8]) -> Self {
            Reader { rest: bytes }
        }

        pub fn is_empty(&self) -> bool {
            self.rest.is_empty()
        }

        /// The next TLV as (tag, contents).
        pub fn read(&mut self, context: &'static str) -> Result<(u8, &'a [u8]), DerError> {
            let (&tag, after_tag) = self
                .rest
                .split_first()
                .ok_or_else(|| err(context, "unexpected end of data"))?;
            if tag & 0x1F == 0x1F {
                return Err(err(context, "multi-byte tags are not supported"));
            }
            let (&first, mut after_len) = after_tag
                .split_first()
                .ok_or_else(|| err(context, "missing length"))?;
            let len = if first < 0x80 {
                usize::from(first)
            } else {
                let count = usize::from(first & 0x7F);
                if count == 0 {
                    return Err(err(context, "indefinite length is not DER"));
                }
                if count > 4 {
                    return Err(err(context, "length too large"));
                }
                if after_len.len() < count {
                    return Err(err(context, "truncated length"));
                }
                let (bytes, rest) = after_len.split_at(count);
                after_len = rest;
                bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
            };
            if after_len.len() < len {
                return Err(err(context, "truncated contents"));
            }
            let (content, rest) = after_len.split_at(len);
            self.rest = rest;
            Ok((tag, content))
        }

        /// The next TLV, which must have `tag`; returns its contents.
        pub fn expect(&mut self, tag: u8, context: &'static str) -> Result<&'a [u8], DerError> {
            let (found, content) = self.read(context)?;
            if found != tag {
                return Err(err(context, "unexpected tag"));
            }
            Ok(content)
        }

        /// Fails when anything is left.
        pub fn finish(&self, context: &'static str) -> Result<(), DerError> {
            if self.rest.is_empty() {
                Ok(())
            } else {
                Err(err(context, "trailing data"))
            }
        }
    }

    /// One TLV with a definite length.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// Dotted OID text from the contents of an OBJECT IDENTIFIER; `None` when malformed.
    pub fn oid_to_string(content: &[u8]) -> Option<String> {
        let mut arcs: Vec<u64> = Vec::new();
        let mut value: u64 = 0;
        let mut in_arc = false;
        for &byte in content {
            if !in_arc && byte == 0x80 {
                return None; // non-minimal encoding
            }
            if value > (u64::MAX >> 7) {
                return None;
            }
            value = (value << 7) | u64::from(byte & 0x7F);
            in_arc = byte & 0x80 != 0;
            if !in_arc {
                arcs.push(value);
                value = 0;
            }
        }
        if in_arc || arcs.is_empty() {
            return None;
        }
        let first = arcs[0];
        let (a, b) = match first {
            0..40 => (0, first),
            40..80 => (1, first - 40),
            _ => (2, first - 80),
        };
        let mut text = format!("{a}.{b}");
        for arc in &arcs[1..] {
            text.push('.');
            text.push_str(&arc.to_string());
        }
        Some(text)
    }

    /// The contents of an OBJECT IDENTIFIER from dotted text; `None` when not a valid OID.
    pub fn oid_from_str(text: &str) -> Option<Vec<u8>> {
        let arcs: Vec<u64> = text
            .split('.')
            .map(|a| a.parse::<u64>().ok())
            .collect::<Option<_>>()?;
        let [first, second, rest @ ..] = arcs.as_slice() else {
            return None;
        };
        if *first > 2 || (*first < 2 && *second >= 40) {
            return None;
        }
        let mut out = Vec::new();
        let head = first.checked_mul(40)?.checked_add(*second)?;
        for arc in std::iter::once(head).chain(rest.iter().copied()) {
            let mut chunk = vec![(arc & 0x7F) as u8];
            let mut v = arc >> 7;
            while v > 0 {
                chunk.push(0x80 | (v & 0x7F) as u8);
                v >>= 7;
            }
            chunk.reverse();
            out.extend(chunk);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::X509;

    fn cert_with(extension: Option<X509Extension>) -> X509 {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let extensions = extension.into_iter().collect();
        crate::certs::self_signed::self_signed(&key, "qc test", "01", 10, extensions).unwrap()
    }

    #[test]
    fn oids_round_trip_and_match_known_encodings() {
        // 1.3.6.1.5.5.7.1.3 as every X.509 library encodes it.
        assert_eq!(
            der::oid_from_str(QC_STATEMENTS_OID).unwrap(),
            [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x03]
        );
        // 0.4.0.19495.2: 19495 = 0x4C27 → 0x81 0x98 0x27.
        assert_eq!(
            der::oid_from_str(PSD2_QC_TYPE_OID).unwrap(),
            [0x04, 0x00, 0x81, 0x98, 0x27, 0x02]
        );
        for oid in [
            "2.5.29.37",
            "2.999.3",
            "0.4.0.19495.1.4",
            "1.2.840.113549.1.1.11",
        ] {
            let der = der::oid_from_str(oid).unwrap();
            assert_eq!(der::oid_to_string(&der).as_deref(), Some(oid));
            // openssl agrees with the encoding.
            let object = Asn1Object::from_str(oid).unwrap();
            assert_eq!(object.as_slice(), der.as_slice(), "{oid}");
        }
        assert_eq!(der::oid_from_str("1.40"), None);
        assert_eq!(der::oid_from_str("3.1"), None);
        assert_eq!(der::oid_from_str("1"), None);
        assert_eq!(der::oid_from_str("1.x"), None);
        assert_eq!(der::oid_to_string(&[0x2B, 0x86]), None); // arc not terminated
        assert_eq!(der::oid_to_string(&[]), None);
    }

    #[test]
    fn long_lengths_are_encoded_and_read_back() {
        let content = vec![0x41; 300];
        let encoded = der::tlv(der::OCTET_STRING, &content);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2C]);
        let mut reader = der::Reader::new(&encoded);
        assert_eq!(reader.expect(der::OCTET_STRING, "t").unwrap(), &content[..]);
        assert!(reader.is_empty());
    }

    #[test]
    fn built_extension_parses_back_from_a_certificate() {
        let ext = psd2_extension(&Psd2Role::ALL, "De Nederlandsche Bank", "NL-DNB").unwrap();
        let cert = cert_with(Some(ext));
        let statement = psd2_statement(&cert).unwrap().expect("a PSD2 statement");
        assert_eq!(statement.roles, Psd2Role::ALL);
        assert!(statement.unknown_roles.is_empty());
        assert_eq!(statement.nca_name, "De Nederlandsche Bank");
        assert_eq!(statement.nca_id, "NL-DNB");
        // OpenSSL knows the extension by name and sees it as non-critical.
        let text = String::from_utf8(cert.to_text().unwrap()).unwrap();
        assert!(text.contains("qcStatements:"), "{text}");
        assert!(!text.contains("qcStatements: critical"), "{text}");
    }

    #[test]
    fn certificate_without_the_extension_has_no_statement() {
        let cert = cert_with(None);
        assert_eq!(psd2_statement(&cert).unwrap(), None);
    }

    #[test]
    fn other_statements_are_skipped_and_unknown_roles_kept() {
        // QcCompliance (0.4.0.1862.1.1, no info) before the PSD2 statement, and a role OID that is
        // none of the four.
        let compliance = der::tlv(
            der::SEQUENCE,
            &der::tlv(der::OID, &der::oid_from_str("0.4.0.1862.1.1").unwrap()),
        );
        let role = |oid: &str, name: &str| {
            der::tlv(
                der::SEQUENCE,
                &[
                    der::tlv(der::OID, &der::oid_from_str(oid).unwrap()),
                    der::tlv(der::UTF8_STRING, name.as_bytes()),
                ]
                .concat(),
            )
        };
        let roles = [role("0.4.0.19495.1.3", "PSP_AI"), role("1.2.3.4", "PSP_XX")].concat();
        let psd2 = der::tlv(
            der::SEQUENCE,
            &[
                der::tlv(der::OID, &der::oid_from_str(PSD2_QC_TYPE_OID).unwrap()),
                der::tlv(
                    der::SEQUENCE,
                    &[
                        der::tlv(der::SEQUENCE, &roles),
                        der::tlv(der::UTF8_STRING, b"Bundesanstalt"),
                        der::tlv(der::UTF8_STRING, b"DE-BAFIN"),
                    ]
                    .concat(),
                ),
            ]
            .concat(),
        );
        let value = der::tlv(der::SEQUENCE, &[compliance, psd2].concat());
        let statement = parse_qc_statements(&value).unwrap().unwrap();
        assert_eq!(statement.roles, [Psd2Role::AccountInformation]);
        assert_eq!(statement.unknown_roles, ["1.2.3.4 (PSP_XX)"]);
        assert_eq!(statement.nca_id, "DE-BAFIN");
        let json = serde_json::to_value(&statement).unwrap();
        assert_eq!(json["roles"], serde_json::json!(["PSP_AI"]));
    }

    #[test]
    fn truncated_or_garbage_der_is_an_error_never_a_panic() {
        let good = qc_statements_der(&Psd2Role::ALL, "De Nederlandsche Bank", "NL-DNB");
        assert!(parse_qc_statements(&good).unwrap().is_some());
        // Every truncation of a valid value fails cleanly.
        for len in 0..good.len() {
            assert!(
                parse_qc_statements(&good[..len]).is_err(),
                "truncated to {len} bytes was accepted"
            );
        }
        // Every single-byte corruption either parses or fails, without panicking.
        for i in 0..good.len() {
            for byte in [0x00, 0x7F, 0x80, 0x84, 0xFF] {
                let mut bad = good.clone();
                bad[i] = byte;
                let _ = parse_qc_statements(&bad);
            }
        }
        assert!(parse_qc_statements(&[0x30, 0x80, 0x00, 0x00]).is_err()); // indefinite length
        assert!(parse_qc_statements(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err()); // huge length
        assert!(parse_qc_statements(&[0x1F, 0x01, 0x00]).is_err()); // multi-byte tag
        assert!(parse_qc_statements(&[0x30, 0x00, 0x00]).is_err()); // trailing data
        // A whole certificate cut short.
        let cert = cert_with(Some(
            psd2_extension(&Psd2Role::ALL, "De Nederlandsche Bank", "NL-DNB").unwrap(),
        ))
        .to_der()
        .unwrap();
        for len in [0, 1, 2, 10, cert.len() / 2, cert.len() - 1] {
            let _ = psd2_statement_from_der(&cert[..len]);
        }
        assert!(psd2_statement_from_der(b"not DER at all").is_err());
    }
}
