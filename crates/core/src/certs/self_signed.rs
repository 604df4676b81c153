//! Self-signed certificates for keys a test or a benchmark makes up on the spot.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::{X509, X509Extension, X509NameBuilder};

/// A v3 certificate for `key`, subject = issuer = `CN=<cn>`, valid from now for `days`, with the
/// given hex serial and extensions.
pub fn self_signed(
    key: &PKeyRef<Private>,
    cn: &str,
    serial_hex: &str,
    days: u32,
    extensions: Vec<X509Extension>,
) -> Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
    let name = name.build();
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = BigNum::from_hex_str(serial_hex)?.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    for extension in extensions {
        builder.append_extension(extension)?;
    }
    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}
