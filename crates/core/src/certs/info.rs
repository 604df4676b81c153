//! What a certificate says, in one serialisable record: names, the identifiers it goes by on the
//! wire, validity, key, usages, PSD2 roles — and what is wrong with it (`warnings`).
//!
//! [`inspect`] takes the moment to judge validity against as an argument: there is no hidden
//! clock, so results are reproducible.

use super::load::key_matches;
use super::qc::{self, Psd2Statement, der};
use super::wire::{serial_hex, serial_key_id, x5t_s256, x5t_sha1};
use chrono::{DateTime, Months, SecondsFormat, TimeDelta, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKeyRef, Private};
use openssl::x509::{X509NameRef, X509Ref};
use serde::Serialize;

/// Stable warning ids (the diagnosis catalogue's).
pub mod warning {
    use crate::catalogue;
    pub const EXPIRED: &str = catalogue::CERT_EXPIRED;
    pub const NOT_YET_VALID: &str = catalogue::CERT_NOT_YET_VALID;
    pub const EXPIRING_SOON: &str = catalogue::CERT_EXPIRING_SOON;
    pub const LIFETIME_OVER_39_MONTHS: &str = catalogue::CERT_LIFETIME_OVER_39_MONTHS;
    pub const KEY_MISMATCH: &str = catalogue::CERT_KEY_MISMATCH;
    /// The validity dates could not be read.
    pub const VALIDITY_UNREADABLE: &str = catalogue::CERT_VALIDITY_UNREADABLE;
    /// The qcStatements extension is malformed.
    pub const QC_STATEMENTS_MALFORMED: &str = catalogue::CERT_QC_STATEMENTS_MALFORMED;
}

/// `cert.expiring-soon` fires this many days (or fewer) before `notAfter`.
pub const EXPIRING_SOON_DAYS: i64 = 30;
/// `cert.lifetime-over-39-months`: the longest lifetime publicly trusted TLS certificates had.
pub const MAX_LIFETIME_MONTHS: u32 = 39;

/// Something wrong with a certificate: a stable `id` (`cert.expired` …) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub id: &'static str,
    pub message: String,
}

/// Everything `obconform certs inspect` reports about one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// The file it was read from (set by the caller; `inspect` knows no paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// One line, most specific first: `CN=..., O=..., C=..`.
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    pub serial_hex: String,
    /// The keyId an application-token HTTP signature uses: `SN=<serial_hex>`.
    pub key_id: String,
    /// `x5t#S256`: base64url SHA-256 of the DER.
    pub x5t_s256: String,
    /// `x5t`: base64url SHA-1 of the DER.
    pub x5t: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    /// Whole days from `now` until `notAfter` (rounded down; negative once expired).
    pub days_left: i64,
    /// Whole days from `notBefore` to `notAfter`.
    pub lifetime_days: i64,
    /// `RSA 2048`, `EC P-256`, `Ed25519` …
    pub key_type: String,
    pub key_bits: u32,
    /// RFC 5280 names (`digitalSignature` …); empty when the extension is absent.
    pub key_usage: Vec<String>,
    /// `serverAuth`, `clientAuth` …, or the dotted OID of a purpose without a name here.
    pub extended_key_usage: Vec<String>,
    /// The ETSI PSD2 statement, when the certificate has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psd2: Option<Psd2Statement>,
    /// Whether the private key belongs to the certificate; absent when no key was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_matches: Option<bool>,
    /// Where that key came from (set by the caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Why no key was checked although one was found (set by the caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_note: Option<String>,
    /// Subjects of the other certificates in the same file (set by the caller).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl CertInfo {
    /// Whether anything is wrong: any warning.
    pub fn is_ok(&self) -> bool {
        self.warnings.is_empty()
    }
}

/// Describes `cert` as of `now`; with `key`, also whether the key belongs to it.
pub fn inspect(cert: &X509Ref, key: Option<&PKeyRef<Private>>, now: DateTime<Utc>) -> CertInfo {
    let mut warnings = Vec::new();

    let not_before = asn1_to_utc(cert.not_before());
    let not_after = asn1_to_utc(cert.not_after());
    let (not_before_text, not_after_text, days_left, lifetime_days) = match (not_before, not_after)
    {
        (Some(from), Some(until)) => {
            validity_warnings(from, until, now, &mut warnings);
            (
                rfc3339(from),
                rfc3339(until),
                floor_days(until - now),
                floor_days(until - from),
            )
        }
        _ => {
            warnings.push(Warning {
                id: warning::VALIDITY_UNREADABLE,
                message: "the validity dates cannot be read".into(),
            });
            (
                cert.not_before().to_string(),
                cert.not_after().to_string(),
                0,
                0,
            )
        }
    };

    let (key_type, key_bits) = describe_public_key(cert);
    let key_matches = key.map(|key| key_matches(cert, key));
    if key_matches == Some(false) {
        warnings.push(Warning {
            id: warning::KEY_MISMATCH,
            message: "the private key does not belong to this certificate".into(),
        });
    }

    let der_bytes = cert.to_der().unwrap_or_default();
    let psd2 = match qc::psd2_statement_from_der(&der_bytes) {
        Ok(statement) => statement,
        Err(e) => {
            warnings.push(Warning {
                id: warning::QC_STATEMENTS_MALFORMED,
                message: format!("the qcStatements extension cannot be read ({e})"),
            });
            None
        }
    };

    CertInfo {
        file: None,
        subject: one_line_name(cert.subject_name()),
        issuer: one_line_name(cert.issuer_name()),
        serial_hex: serial_hex(cert),
        key_id: serial_key_id(cert),
        x5t_s256: x5t_s256(cert),
        x5t: x5t_sha1(cert),
        not_before: not_before_text,
        not_after: not_after_text,
        days_left,
        lifetime_days,
        key_type,
        key_bits,
        key_usage: key_usage(&der_bytes),
        extended_key_usage: extended_key_usage(&der_bytes),
        psd2,
        key_matches,
        key_file: None,
        key_note: None,
        chain: Vec::new(),
        warnings,
    }
}

fn validity_warnings(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    warnings: &mut Vec<Warning>,
) {
    if now > until {
        // The same whole days as `days_left` (floor of until - now), negated: "313 days ago"
        // beside "expired 313 days ago", never 312 beside 313.
        let ago = -floor_days(until - now);
        warnings.push(Warning {
            id: warning::EXPIRED,
            message: format!(
                "expired on {} ({} ago): renew it",
                rfc3339(until),
                plural(ago, "day")
            ),
        });
    } else if now < from {
        warnings.push(Warning {
            id: warning::NOT_YET_VALID,
            message: format!(
                "not valid before {} (in {}): check the clock, or wait",
                rfc3339(from),
                plural(floor_days(from - now).max(0), "day")
            ),
        });
    } else if until - now <= TimeDelta::days(EXPIRING_SOON_DAYS) {
        warnings.push(Warning {
            id: warning::EXPIRING_SOON,
            message: format!(
                "expires on {}, within {EXPIRING_SOON_DAYS} days ({} left): renew it now",
                rfc3339(until),
                plural(floor_days(until - now), "day")
            ),
        });
    }
    let limit = from.checked_add_months(Months::new(MAX_LIFETIME_MONTHS));
    if limit.is_some_and(|limit| until > limit) {
        warnings.push(Warning {
            id: warning::LIFETIME_OVER_39_MONTHS,
            message: format!(
                "valid for {} (over {MAX_LIFETIME_MONTHS} months): banks and browsers refuse such long-lived certificates",
                plural(floor_days(until - from), "day")
            ),
        });
    }
}

/// `1 day`, `3 days`.
pub fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn floor_days(delta: TimeDelta) -> i64 {
    delta.num_seconds().div_euclid(86_400)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An ASN.1 time as UTC, via its distance from the Unix epoch (OpenSSL does the calendar).
fn asn1_to_utc(time: &Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(secs, 0)
}

/// `CN=example, O=Org, C=NL`: RFC 4514 order (most specific first) and escaping, short attribute
/// names where OpenSSL has them, the dotted OID otherwise.
pub fn one_line_name(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let object = entry.object();
            // Without a NID, OpenSSL's text of the object is the dotted OID.
            let attribute = match object.nid() {
                Nid::UNDEF => object.to_string(),
                nid => nid
                    .short_name()
                    .map(str::to_string)
                    .unwrap_or_else(|_| object.to_string()),
            };
            let value = match entry.data().to_string() {
                Ok(text) => escape_rfc4514(&text),
                Err(_) => format!("#{}", hex(entry.data().as_slice())),
            };
            format!("{attribute}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn describe_public_key(cert: &X509Ref) -> (String, u32) {
    let Ok(key) = cert.public_key() else {
        return ("unknown".into(), 0);
    };
    let bits = key.bits();
    let text = match key.id() {
        Id::RSA => format!("RSA {bits}"),
        Id::RSA_PSS => format!("RSA-PSS {bits}"),
        Id::DSA => format!("DSA {bits}"),
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::EC => {
            let curve = key
                .ec_key()
                .ok()
                .and_then(|ec| ec.group().curve_name())
                .map(|nid| match nid {
                    Nid::X9_62_PRIME256V1 => "P-256".to_string(),
                    Nid::SECP384R1 => "P-384".to_string(),
                    Nid::SECP521R1 => "P-521".to_string(),
                    other => other.short_name().unwrap_or("unnamed curve").to_string(),
                })
                .unwrap_or_else(|| format!("{bits}-bit curve"));
            format!("EC {curve}")
        }
        other => format!("key type {} ({bits} bits)", other.as_raw()),
    };
    (text, bits)
}

const KEY_USAGE_OID: &str = "2.5.29.15";
const EXTENDED_KEY_USAGE_OID: &str = "2.5.29.37";

/// RFC 5280 §4.2.1.3 bit names, bit 0 first.
const KEY_USAGE_NAMES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

pub(crate) fn key_usage(cert_der: &[u8]) -> Vec<String> {
    let Ok(Some(value)) = qc::extension_value(cert_der, KEY_USAGE_OID) else {
        return Vec::new();
    };
    let Ok(bits) = der::Reader::new(value).expect(der::BIT_STRING, "keyUsage") else {
        return Vec::new();
    };
    // The first content byte counts unused bits; the flags follow, most significant bit first.
    let flags = bits.get(1..).unwrap_or_default();
    KEY_USAGE_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
        .map(|(_, name)| name.to_string())
        .collect()
}

pub(crate) fn extended_key_usage(cert_der: &[u8]) -> Vec<String> {
    let Ok(Some(value)) = qc::extension_value(cert_der, EXTENDED_KEY_USAGE_OID) else {
        return Vec::new();
    };
    let Ok(purposes) = der::Reader::new(value).expect(der::SEQUENCE, "extKeyUsage") else {
        return Vec::new();
    };
    let mut reader = der::Reader::new(purposes);
    let mut names = Vec::new();
    while let Ok(oid) = reader.expect(der::OID, "extKeyUsage") {
        let Some(oid) = der::oid_to_string(oid) else {
            break;
        };
        let name = match oid.as_str() {
            "1.3.6.1.5.5.7.3.1" => "serverAuth",
            "1.3.6.1.5.5.7.3.2" => "clientAuth",
            "1.3.6.1.5.5.7.3.3" => "codeSigning",
            "1.3.6.1.5.5.7.3.4" => "emailProtection",
            "1.3.6.1.5.5.7.3.8" => "timeStamping",
            "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
            "2.5.29.37.0" => "anyExtendedKeyUsage",
            _ => oid.as_str(),
        };
        names.push(name.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::qc::{Psd2Role, psd2_extension};
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::{ExtendedKeyUsage, KeyUsage};
    use openssl::x509::{X509, X509NameBuilder};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn asn1(at: DateTime<Utc>) -> Asn1Time {
        Asn1Time::from_unix(at.timestamp()).unwrap()
    }

    struct Made {
        cert: X509,
        key: PKey<Private>,
    }

    fn make(key: PKey<Private>, from: &str, until: &str, psd2: bool) -> Made {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "NL").unwrap();
        name.append_entry_by_text("O", "Example, Inc.").unwrap();
        name.append_entry_by_text("organizationIdentifier", "PSDNL-DNB-123")
            .unwrap();
        name.append_entry_by_text("CN", "tpp").unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        let serial = BigNum::from_hex_str("0A1B2C")
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        builder.set_serial_number(&serial).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder.set_not_before(&asn1(at(from))).unwrap();
        builder.set_not_after(&asn1(at(until))).unwrap();
        builder
            .append_extension(
                KeyUsage::new()
                    .digital_signature()
                    .non_repudiation()
                    .decipher_only()
                    .key_agreement()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        builder
            .append_extension(
                ExtendedKeyUsage::new()
                    .client_auth()
                    .other("1.2.3.4")
                    .build()
                    .unwrap(),
            )
            .unwrap();
        if psd2 {
            builder
                .append_extension(
                    psd2_extension(&Psd2Role::ALL, "De Nederlandsche Bank", "NL-DNB").unwrap(),
                )
                .unwrap();
        }
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        Made {
            cert: builder.build(),
            key,
        }
    }

    fn rsa() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    }

    fn ids(info: &CertInfo) -> Vec<&'static str> {
        info.warnings.iter().map(|w| w.id).collect()
    }

    #[test]
    fn a_valid_certificate_is_described_without_warnings() {
        let made = make(rsa(), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", true);
        let info = inspect(&made.cert, Some(&made.key), at("2026-01-01T12:00:00Z"));
        assert_eq!(ids(&info), Vec::<&str>::new(), "{info:#?}");
        assert!(info.is_ok());
        assert_eq!(
            info.subject,
            r"CN=tpp, organizationIdentifier=PSDNL-DNB-123, O=Example\, Inc., C=NL"
        );
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.serial_hex, "0A1B2C");
        assert_eq!(info.key_id, "SN=0A1B2C");
        assert_eq!(info.not_before, "2025-01-01T00:00:00Z");
        assert_eq!(info.not_after, "2027-01-01T00:00:00Z");
        assert_eq!(info.days_left, 364); // 364.5 days, rounded down
        assert_eq!(info.lifetime_days, 730);
        assert_eq!(info.key_type, "RSA 2048");
        assert_eq!(info.key_bits, 2048);
        assert_eq!(
            info.key_usage,
            [
                "digitalSignature",
                "nonRepudiation",
                "keyAgreement",
                "decipherOnly"
            ]
        );
        assert_eq!(info.extended_key_usage, ["clientAuth", "1.2.3.4"]);
        assert_eq!(info.key_matches, Some(true));
        let psd2 = info.psd2.as_ref().unwrap();
        assert_eq!(psd2.roles, Psd2Role::ALL);
        assert_eq!(psd2.nca_id, "NL-DNB");
        // The thumbprints are those of the DER.
        assert_eq!(info.x5t_s256.len(), 43);
        assert_eq!(info.x5t.len(), 27);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["psd2"]["roles"][3], "PSP_IC");
        assert_eq!(json["warnings"], serde_json::json!([]));
        assert!(json.get("file").is_none());
    }

    #[test]
    fn validity_warnings_follow_now() {
        let made = make(rsa(), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", false);
        let check = |now: &str| ids(&inspect(&made.cert, None, at(now)));
        assert_eq!(check("2024-12-31T23:59:59Z"), [warning::NOT_YET_VALID]);
        assert_eq!(check("2025-01-01T00:00:00Z"), Vec::<&str>::new());
        assert_eq!(check("2026-12-01T23:59:59Z"), Vec::<&str>::new()); // 30 days + 1 s
        assert_eq!(check("2026-12-02T00:00:00Z"), [warning::EXPIRING_SOON]);
        assert_eq!(check("2027-01-01T00:00:00Z"), [warning::EXPIRING_SOON]);
        assert_eq!(check("2027-01-01T00:00:01Z"), [warning::EXPIRED]);
        let expired = inspect(&made.cert, None, at("2027-01-11T00:00:00Z"));
        assert_eq!(expired.days_left, -10);
        assert!(
            expired.warnings[0].message.contains("10 days ago"),
            "{expired:?}"
        );
        assert_eq!(expired.key_matches, None);
    }

    #[test]
    fn days_ago_and_days_left_agree_on_a_part_day() {
        let made = make(rsa(), "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", false);
        // 312.5 days after expiry: both say 313, never 312 beside 313.
        let info = inspect(&made.cert, None, at("2026-11-09T12:00:00Z"));
        assert_eq!(info.days_left, -313);
        assert!(
            info.warnings[0].message.contains("(313 days ago)"),
            "{info:?}"
        );
    }

    #[test]
    fn lifetime_over_39_months_is_flagged() {
        let now = "2025-06-01T00:00:00Z";
        let exactly = make(rsa(), "2025-01-01T00:00:00Z", "2028-04-01T00:00:00Z", false);
        assert_eq!(
            ids(&inspect(&exactly.cert, None, at(now))),
            Vec::<&str>::new()
        );
        let over = make(rsa(), "2025-01-01T00:00:00Z", "2028-04-01T00:00:01Z", false);
        let info = inspect(&over.cert, None, at(now));
        assert_eq!(ids(&info), [warning::LIFETIME_OVER_39_MONTHS]);
        assert!(info.warnings[0].message.contains("1186 days"), "{info:?}");
    }

    #[test]
    fn a_foreign_key_is_a_mismatch_and_ec_keys_are_named() {
        let ec = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let made = make(ec, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", false);
        let info = inspect(&made.cert, Some(&rsa()), at("2025-03-01T00:00:00Z"));
        assert_eq!(info.key_type, "EC P-256");
        assert_eq!(info.key_bits, 256);
        assert_eq!(info.key_matches, Some(false));
        assert_eq!(ids(&info), [warning::KEY_MISMATCH]);
        assert!(info.psd2.is_none());
    }

    #[test]
    fn names_are_escaped_as_rfc4514_says() {
        assert_eq!(escape_rfc4514("a,b+c"), r"a\,b\+c");
        assert_eq!(escape_rfc4514("#x "), r"\#x\ ");
        assert_eq!(escape_rfc4514(" lead"), r"\ lead");
        assert_eq!(escape_rfc4514("plain é"), "plain é");
        assert_eq!(escape_rfc4514(""), "");
    }
}
