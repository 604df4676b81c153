//! Template helpers: json, uuid, now, urlencode, base64.

use base64::Engine;
use chrono::{Duration, Utc};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub fn register(engine: &mut Handlebars<'static>) {
    engine.register_helper("json", Box::new(json));
    engine.register_helper("uuid", Box::new(uuid));
    engine.register_helper("now", Box::new(now));
    engine.register_helper("urlencode", Box::new(urlencode));
    engine.register_helper("base64", Box::new(base64));
}

fn invalid(helper: &'static str, message: impl Into<String>) -> RenderError {
    RenderErrorReason::Other(format!("{helper}: {}", message.into())).into()
}

/// The value of the first parameter. Strict mode does not reach helper parameters, so a missing
/// variable is reported here, by name.
fn first_param<'a>(
    h: &'a Helper,
    name: &'static str,
) -> Result<&'a serde_json::Value, RenderError> {
    let param = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(name, 0))?;
    if param.is_value_missing() {
        let path = param.relative_path().cloned().unwrap_or_else(|| "?".into());
        return Err(RenderErrorReason::MissingVariable(Some(path)).into());
    }
    Ok(param.value())
}

/// A value as text: a string as it is, anything else as JSON.
pub(crate) fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `{{json v}}`: the value as JSON, so a string inside a raw JSON body keeps its quotes and escapes.
fn json(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = first_param(h, "json")?;
    let text = serde_json::to_string(value).map_err(|e| invalid("json", e.to_string()))?;
    out.write(&text)?;
    Ok(())
}

/// `{{uuid}}`: a fresh random (v4) UUID, e.g. for X-Request-ID.
fn uuid(
    _: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&uuid::Uuid::new_v4().to_string())?;
    Ok(())
}

/// `{{now}}` (RFC 3339 UTC), `{{now "imf"}}` (HTTP Date), `{{now "unix"}}` or `{{now "%Y-%m-%d"}}`
/// (chrono format), each with an optional `offset="-7d"` (units s, m, h, d).
fn now(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let mut at = Utc::now();
    if let Some(offset) = h.hash_get("offset") {
        let text = as_text(offset.value());
        let by = parse_offset(&text).map_err(|e| invalid("now", e))?;
        at = at.checked_add_signed(by).ok_or_else(|| {
            invalid(
                "now",
                format!("offset `{text}` moves the time outside the calendar"),
            )
        })?;
    }
    let format = match h.param(0) {
        Some(_) => Some(as_text(first_param(h, "now")?)),
        None => None,
    };
    let text = match format.as_deref() {
        None | Some("rfc3339") => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Some("imf") => obconform_core::sign::message::imf_fixdate(at.into()),
        Some("unix") => at.timestamp().to_string(),
        Some(pattern) => {
            use std::fmt::Write;
            let mut s = String::new();
            write!(s, "{}", at.format(pattern))
                .map_err(|_| invalid("now", format!("bad format `{pattern}`")))?;
            s
        }
    };
    out.write(&text)?;
    Ok(())
}

/// A signed offset; an error (not a panic) for one chrono cannot hold.
fn parse_offset(text: &str) -> Result<Duration, String> {
    let bad = || format!("offset `{text}` is not like -7d, +2h, 30m or 10s");
    let trimmed = text.trim();
    let (sign, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let unit = digits.chars().last().ok_or_else(bad)?;
    let amount: i64 = digits[..digits.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let amount = sign * amount;
    let by = match unit {
        's' => Duration::try_seconds(amount),
        'm' => Duration::try_minutes(amount),
        'h' => Duration::try_hours(amount),
        'd' => Duration::try_days(amount),
        _ => return Err(bad()),
    };
    by.ok_or_else(|| format!("offset `{text}` is too large"))
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (space as %20).
pub(crate) const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `{{urlencode v}}`: percent-encodes a value for a path segment or query value.
fn urlencode(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = as_text(first_param(h, "urlencode")?);
    out.write(&utf8_percent_encode(&value, URL_COMPONENT).to_string())?;
    Ok(())
}

/// `{{base64 v}}`: standard base64 (with padding) of the value's UTF-8 bytes.
fn base64(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = as_text(first_param(h, "base64")?);
    out.write(&base64::engine::general_purpose::STANDARD.encode(value.as_bytes()))?;
    Ok(())
}

#[cfg(test)]
mod offset_tests {
    use super::parse_offset;

    #[test]
    fn offsets_out_of_range_are_errors() {
        assert_eq!(parse_offset("-7d"), Ok(chrono::Duration::days(-7)));
        for huge in [
            "-99999999999999d",
            "-9223372036854775807s",
            "9223372036854775807h",
        ] {
            assert!(
                parse_offset(huge).unwrap_err().contains("is too large"),
                "{huge}"
            );
        }
    }
}
