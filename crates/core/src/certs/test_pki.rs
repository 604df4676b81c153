//! The sandbox's test PKI, generated afresh at every start: a CA, the listener's server
//! certificate, and the example client certificates named exactly as ING's download.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

/// Why the test PKI could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot create the PKI directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating the test PKI failed while {step}")]
    Pki {
        step: &'static str,
        source: openssl::error::ErrorStack,
    },
}

/// The partner API's credentials file (`obconform sandbox` writes it into the PKI folder).
pub const PARTNER_ENV_FILE: &str = "partner-api.env";

pub const CA_CERT_FILE: &str = "ca.pem";
/// The test CA's key, written so that `obconform certs issue` can issue renewed client pairs.
pub const CA_KEY_FILE: &str = "ca.key";
pub const CLIENT_TLS_CERT_FILE: &str = "example_client_tls.cer";
pub const CLIENT_TLS_KEY_FILE: &str = "example_client_tls.key";
pub const CLIENT_SIGNING_CERT_FILE: &str = "example_client_signing.cer";
pub const CLIENT_SIGNING_KEY_FILE: &str = "example_client_signing.key";
/// Sub-directory of the PKI directory with the Open Banking (premium) app's example pair, under
/// the same four file names.
pub const PREMIUM_DIR: &str = "premium";
/// The sandbox bank's signing certificate (no key): what its signed responses carry in `x5c`.
pub const BANK_SIGNING_CERT_FILE: &str = "bank_signing.pem";

/// Serial of ING's example signing certificate: app-token keyIds read `SN=49BA5C71`.
pub const SIGNING_CERT_SERIAL_HEX: &str = "49BA5C71";
/// Fixed serial of the example TLS certificate (distinct from the signing one).
pub const TLS_CERT_SERIAL_HEX: &str = "2C6A4E15";

pub const CA_COMMON_NAME: &str = "obconform embedded sandbox CA";
/// organizationIdentifier of the example TPP, as PSD2 eIDAS certificates carry one.
pub const EXAMPLE_TPP_ORGANIZATION_ID: &str = "PSDNL-SBX-1234512345";
/// National competent authority named in the example client certificates' PSD2 qcStatement.
pub const EXAMPLE_NCA_NAME: &str = "De Nederlandsche Bank";
pub const EXAMPLE_NCA_ID: &str = "NL-DNB";

const VALIDITY_DAYS: i64 = 730;

/// Where the generated PEM files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiFiles {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub client_tls_cert: PathBuf,
    pub client_tls_key: PathBuf,
    pub client_signing_cert: PathBuf,
    pub client_signing_key: PathBuf,
    /// `partner-api.env`: the partner API's credentials (written by `Sandbox::start`).
    pub partner_env: PathBuf,
}

impl PkiFiles {
    /// The files `obconform sandbox --pki DIR` writes into `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ca_cert: dir.join(CA_CERT_FILE),
            ca_key: dir.join(CA_KEY_FILE),
            client_tls_cert: dir.join(CLIENT_TLS_CERT_FILE),
            client_tls_key: dir.join(CLIENT_TLS_KEY_FILE),
            client_signing_cert: dir.join(CLIENT_SIGNING_CERT_FILE),
            client_signing_key: dir.join(CLIENT_SIGNING_KEY_FILE),
            partner_env: dir.join(PARTNER_ENV_FILE),
        }
    }

    /// The premium app's pair in `DIR/premium/`; the CA is shared, so `ca_cert` and `ca_key`
    /// stay those of `DIR`. Derived from `dir` alone, so it works when attaching too.
    pub fn premium(&self) -> Self {
        Self {
            ca_cert: self.ca_cert.clone(),
            ca_key: self.ca_key.clone(),
            ..Self::in_dir(&self.dir.join(PREMIUM_DIR))
        }
    }
}

/// A certificate and its key (Debug shows the certificate and the key's algorithm, never the key).
#[derive(Debug)]
pub struct KeyPair {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// The whole test PKI, in memory.
pub struct TestPki {
    pub ca: KeyPair,
    pub server: KeyPair,
    pub client_tls: KeyPair,
    pub client_signing: KeyPair,
}

enum Profile {
    Ca,
    Server { ips: Vec<IpAddr> },
    ClientTls,
    Signing,
}

struct Spec<'a> {
    subject: &'a [(&'a str, &'a str)],
    serial_hex: Option<&'a str>,
    profile: Profile,
}

impl TestPki {
    /// Generates every key and certificate. `server_ips` are added to the server
    /// certificate's SANs next to 127.0.0.1, ::1 and localhost.
    pub fn generate(server_ips: &[IpAddr]) -> Result<Self, PkiError> {
        let ca = issue(
            &Spec {
                subject: &[("C", "NL"), ("O", "obconform"), ("CN", CA_COMMON_NAME)],
                serial_hex: None,
                profile: Profile::Ca,
            },
            None,
        )?;
        let mut ips: Vec<IpAddr> =
            vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
        for ip in server_ips {
            if !ip.is_unspecified() && !ips.contains(ip) {
                ips.push(*ip);
            }
        }
        let server = issue(
            &Spec {
                subject: &[("O", "obconform embedded sandbox"), ("CN", "localhost")],
                serial_hex: None,
                profile: Profile::Server { ips },
            },
            Some(&ca),
        )?;
        let (client_tls, client_signing) = client_pair(
            &ca,
            &tpp_subject,
            [Some(TLS_CERT_SERIAL_HEX), Some(SIGNING_CERT_SERIAL_HEX)],
        )?;
        Ok(Self {
            ca,
            server,
            client_tls,
            client_signing,
        })
    }

    /// Writes `ca.pem`, `ca.key` and the four example files into `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<PkiFiles, PkiError> {
        let files = write_client_pair(dir, &self.client_tls, &self.client_signing)?;
        write_file(
            &files.ca_cert,
            &step(self.ca.cert.to_pem(), "encoding the CA certificate")?,
            false,
        )?;
        write_file(
            &files.ca_key,
            &step(
                self.ca.key.private_key_to_pem_pkcs8(),
                "encoding the CA key",
            )?,
            true,
        )?;
        Ok(files)
    }
}

/// A renewed client pair issued by `ca`: fresh keys and random serials, the example TPP's
/// subjects, usages and PSD2 roles — what a certificate renewal hands a TPP.
pub fn renew_client_pair(ca: &KeyPair) -> Result<(KeyPair, KeyPair), PkiError> {
    client_pair(ca, &tpp_subject, [None, None])
}

/// The Open Banking (premium) app's example pair, issued by the same CA (so the API listener
/// accepts its TLS certificate): fresh keys, random serials, its own organization name.
pub fn premium_client_pair(ca: &KeyPair) -> Result<(KeyPair, KeyPair), PkiError> {
    let subject = |cn| {
        [
            ("C", "NL"),
            ("O", "obconform example premium app"),
            ("CN", cn),
        ]
    };
    client_pair(ca, &subject, [None, None])
}

/// A client TLS and signing pair issued by `ca`, subjects by common name (`example_client_tls`,
/// `example_client_signing`), with the given serials or random ones.
fn client_pair<S: AsRef<[(&'static str, &'static str)]>>(
    ca: &KeyPair,
    subject: &dyn Fn(&'static str) -> S,
    serials: [Option<&str>; 2],
) -> Result<(KeyPair, KeyPair), PkiError> {
    let [tls_serial, signing_serial] = serials;
    let tls = issue(
        &Spec {
            subject: subject("example_client_tls").as_ref(),
            serial_hex: tls_serial,
            profile: Profile::ClientTls,
        },
        Some(ca),
    )?;
    let signing = issue(
        &Spec {
            subject: subject("example_client_signing").as_ref(),
            serial_hex: signing_serial,
            profile: Profile::Signing,
        },
        Some(ca),
    )?;
    Ok((tls, signing))
}

/// The sandbox bank's signing certificate (its signed responses), issued by `ca`.
pub fn bank_signing_pair(ca: &KeyPair) -> Result<KeyPair, PkiError> {
    issue(
        &Spec {
            subject: &[
                ("C", "NL"),
                ("O", "obconform embedded sandbox"),
                ("CN", "obconform sandbox bank signing"),
            ],
            serial_hex: None,
            profile: Profile::Signing,
        },
        Some(ca),
    )
}

/// Reads the test CA that `write_to` wrote into `dir`.
pub fn load_ca(dir: &Path) -> Result<KeyPair, PkiError> {
    let files = PkiFiles::in_dir(dir);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| PkiError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
    };
    let cert = step(
        X509::from_pem(&read(&files.ca_cert)?),
        "reading the CA certificate",
    )?;
    let key = step(
        PKey::private_key_from_pem(&read(&files.ca_key)?),
        "reading the CA key",
    )?;
    Ok(KeyPair { cert, key })
}

/// Writes a client TLS and signing pair under ING's file names into `dir` (created if missing).
pub fn write_client_pair(
    dir: &Path,
    tls: &KeyPair,
    signing: &KeyPair,
) -> Result<PkiFiles, PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| PkiError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let files = PkiFiles::in_dir(&dir);
    for (pair, cert_path, key_path, what) in [
        (
            tls,
            &files.client_tls_cert,
            &files.client_tls_key,
            "client TLS",
        ),
        (
            signing,
            &files.client_signing_cert,
            &files.client_signing_key,
            "client signing",
        ),
    ] {
        write_file(cert_path, &step(pair.cert.to_pem(), what)?, false)?;
        write_file(
            key_path,
            &step(pair.key.private_key_to_pem_pkcs8(), what)?,
            true,
        )?;
    }
    Ok(files)
}

fn tpp_subject(cn: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("C", "NL"),
        ("O", "obconform example TPP"),
        ("organizationIdentifier", EXAMPLE_TPP_ORGANIZATION_ID),
        ("CN", cn),
    ]
}

fn step<T>(result: Result<T, ErrorStack>, step: &'static str) -> Result<T, PkiError> {
    result.map_err(|source| PkiError::Pki { step, source })
}

fn x509_time(offset_days: i64) -> Result<Asn1Time, PkiError> {
    let at = chrono::Utc::now() + chrono::Duration::days(offset_days);
    step(
        Asn1Time::from_str_x509(&at.format("%Y%m%d%H%M%SZ").to_string()),
        "setting the validity period",
    )
}

fn issue(spec: &Spec<'_>, issuer: Option<&KeyPair>) -> Result<KeyPair, PkiError> {
    let key = step(super::rsa_keys::rsa_key(), "generating an RSA key")?;
    let mut builder = step(X509Builder::new(), "creating a certificate")?;
    step(builder.set_version(2), "setting the certificate version")?;

    let serial = match spec.serial_hex {
        Some(hex) => step(BigNum::from_hex_str(hex), "parsing a fixed serial number")?,
        None => {
            let mut bn = step(BigNum::new(), "creating a serial number")?;
            step(
                bn.rand(127, MsbOption::MAYBE_ZERO, false),
                "drawing a random serial number",
            )?;
            bn
        }
    };
    let serial = step(serial.to_asn1_integer(), "encoding the serial number")?;
    step(
        builder.set_serial_number(&serial),
        "setting the serial number",
    )?;

    let mut name = step(X509NameBuilder::new(), "creating a subject name")?;
    for (field, value) in spec.subject {
        step(
            name.append_entry_by_text(field, value),
            "building a subject name",
        )?;
    }
    let name = name.build();
    step(builder.set_subject_name(&name), "setting the subject")?;
    let issuer_name = issuer.map_or(name.as_ref(), |i| i.cert.subject_name());
    step(builder.set_issuer_name(issuer_name), "setting the issuer")?;
    let not_before = x509_time(-1)?;
    let not_after = x509_time(VALIDITY_DAYS)?;
    step(builder.set_not_before(&not_before), "setting notBefore")?;
    step(builder.set_not_after(&not_after), "setting notAfter")?;
    step(builder.set_pubkey(&key), "setting the public key")?;

    let issuer_cert = issuer.map(|i| i.cert.as_ref());
    let mut extensions = Vec::new();
    match &spec.profile {
        Profile::Ca => {
            extensions.push(BasicConstraints::new().critical().ca().build());
            extensions.push(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build(),
            );
        }
        Profile::Server { ips } => {
            extensions.push(BasicConstraints::new().critical().build());
            extensions.push(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build(),
            );
            extensions.push(ExtendedKeyUsage::new().server_auth().build());
            let mut san = SubjectAlternativeName::new();
            san.dns("localhost");
            for ip in ips {
                san.ip(&ip.to_string());
            }
            extensions.push(san.build(&builder.x509v3_context(issuer_cert, None)));
        }
        Profile::ClientTls => {
            extensions.push(BasicConstraints::new().critical().build());
            extensions.push(KeyUsage::new().critical().digital_signature().build());
            extensions.push(ExtendedKeyUsage::new().client_auth().build());
            extensions.push(example_psd2_statement());
        }
        Profile::Signing => {
            extensions.push(BasicConstraints::new().critical().build());
            extensions.push(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build(),
            );
            extensions.push(example_psd2_statement());
        }
    }
    extensions.push(SubjectKeyIdentifier::new().build(&builder.x509v3_context(issuer_cert, None)));
    if issuer.is_some() {
        extensions.push(
            AuthorityKeyIdentifier::new()
                .keyid(false)
                .build(&builder.x509v3_context(issuer_cert, None)),
        );
    }
    for extension in extensions {
        let extension = step(extension, "building a certificate extension")?;
        step(
            builder.append_extension(extension),
            "adding a certificate extension",
        )?;
    }

    let signing_key = issuer.map_or(&key, |i| &i.key);
    step(
        builder.sign(signing_key, MessageDigest::sha256()),
        "signing a certificate",
    )?;
    Ok(KeyPair {
        cert: builder.build(),
        key,
    })
}

/// The PSD2 qcStatement of the example TPP's certificates: every role, as a real eIDAS
/// certificate of a licensed TPP carries.
fn example_psd2_statement() -> Result<openssl::x509::X509Extension, ErrorStack> {
    super::qc::psd2_extension(&super::qc::Psd2Role::ALL, EXAMPLE_NCA_NAME, EXAMPLE_NCA_ID)
}

pub fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let io_err = |source| PkiError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(io_err)?;
    file.write_all(contents).map_err(io_err)?;
    #[cfg(unix)]
    if private {
        // `mode` only applies to new files; tighten a key file left by an earlier run too.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_chain_to_the_ca_and_carry_the_fixed_serials()
    -> Result<(), Box<dyn std::error::Error>> {
        let pki = TestPki::generate(&[])?;
        let ca_key = pki.ca.cert.public_key()?;
        for pair in [&pki.server, &pki.client_tls, &pki.client_signing] {
            assert!(pair.cert.verify(&ca_key)?);
            assert!(pair.cert.public_key()?.public_eq(&pair.key));
        }
        let serial = |c: &X509| -> Result<String, ErrorStack> {
            Ok(c.serial_number().to_bn()?.to_hex_str()?.to_string())
        };
        assert_eq!(serial(&pki.client_signing.cert)?, SIGNING_CERT_SERIAL_HEX);
        assert_eq!(serial(&pki.client_tls.cert)?, TLS_CERT_SERIAL_HEX);
        Ok(())
    }

    #[test]
    fn example_client_certificates_carry_every_psd2_role() -> Result<(), Box<dyn std::error::Error>>
    {
        use crate::certs::qc::{Psd2Role, psd2_statement};
        let pki = TestPki::generate(&[])?;
        for pair in [&pki.client_tls, &pki.client_signing] {
            let statement = psd2_statement(&pair.cert)?.ok_or("no PSD2 statement")?;
            assert_eq!(statement.roles, Psd2Role::ALL);
            assert_eq!(statement.nca_name, EXAMPLE_NCA_NAME);
            assert_eq!(statement.nca_id, EXAMPLE_NCA_ID);
        }
        for pair in [&pki.ca, &pki.server] {
            assert_eq!(psd2_statement(&pair.cert)?, None);
        }
        Ok(())
    }
}
