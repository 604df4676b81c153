//! The signing faults: each changes one thing of the recipe (and, where the client would have
//! sent it so, the request) before the request is signed again. One per mistake of the guide's
//! JWS troubleshooting list and the diagnosis catalogue.

use super::recipe::{Line, Recipe};
use super::{Keys, MutateError, edit};
use crate::scenario::model::{Mutation, TimeShift};
use obconform_core::sign::message::{
    Message, checked_imf_fixdate, checked_sig_t, parse_imf_fixdate, parse_sig_t,
    request_target_of_url,
};
use obconform_core::wire::HttpRequest;
use serde_json::Value;

pub(super) fn apply<'k>(
    mutation: &Mutation,
    recipe: &mut Recipe<'k>,
    request: &mut HttpRequest,
    keys: &Keys<'k>,
) -> Result<(), MutateError> {
    match mutation {
        Mutation::TrailingLf => recipe.trailing_lf = true,
        Mutation::CrlfLineEndings => recipe.separator = "\r\n",
        Mutation::SpaceSeparatedLines => recipe.separator = " ",
        Mutation::DigestWithoutLabel => {
            let sent = request
                .header("digest")
                .map(str::to_string)
                .ok_or_else(|| MutateError::Unusable("the request sends no Digest".into()))?;
            let bare = sent
                .split_once('=')
                .map_or(sent.as_str(), |(_, hash)| hash)
                .to_string();
            recipe.line_mut("digest")?.set_value(&bare);
            edit::set_header(request, "digest", &bare);
        }
        Mutation::ReorderSigned => {
            if recipe.lines.len() < 2 {
                return Err(MutateError::Unusable(format!(
                    "reordering needs two signed headers or more ({})",
                    recipe.listing()
                )));
            }
            recipe.lines.reverse();
        }
        Mutation::Unsign(name) => {
            let index = recipe.position(name)?;
            recipe.lines.remove(index);
        }
        Mutation::SignExtra(name) => sign_extra(recipe, request, name)?,
        Mutation::SignRequestTarget(value) => recipe.line_mut("(request-target)")?.set_value(value),
        Mutation::SignValue { name, value } => recipe.line_mut(name)?.set_value(value),
        Mutation::SignWith(role) => {
            recipe.key = keys
                .roles
                .iter()
                .find(|(r, _)| r == role)
                .map(|(_, key)| key.as_ref())
                .ok_or_else(|| MutateError::NoRole(role.clone()))?;
        }
        Mutation::SignAlg(algorithm) => recipe.algorithm = *algorithm,
        Mutation::ShiftTime(shift) => shift_time(recipe, request, *shift)?,
        Mutation::PssSalt(salt) => {
            if !recipe.algorithm.is_pss() {
                return Err(MutateError::Unusable(format!(
                    "the signature is made with {}, not RSA-PSS: it has no salt",
                    recipe.algorithm
                )));
            }
            recipe.salt = *salt;
        }
        Mutation::JwsHeader(fields) => {
            for (field, value) in fields.iter() {
                let value = (!value.is_null()).then(|| value.clone());
                recipe.set_jws_field(field, value)?;
            }
        }
        Mutation::ResignHeader { name, value } => {
            recipe.line_mut(name)?.set_value(value);
            edit::set_header(request, name, value);
        }
        other => {
            return Err(MutateError::Unusable(format!(
                "`{}` is not a signing fault",
                other.name()
            )));
        }
    }
    Ok(())
}

/// Appends the line of a header the request has but the signature does not list.
fn sign_extra(
    recipe: &mut Recipe<'_>,
    request: &HttpRequest,
    name: &str,
) -> Result<(), MutateError> {
    if recipe.position(name).is_ok() {
        return Err(MutateError::AlreadySigned(
            name.to_string(),
            recipe.listing(),
        ));
    }
    let target = request_target_of_url(&request.url).map_err(MutateError::Unusable)?;
    let text = Message::of(request, &target)
        .signed_line(name)
        .ok_or_else(|| MutateError::NoSuchHeader(name.to_string()))?;
    recipe.lines.push(Line {
        name: name.to_ascii_lowercase(),
        text,
    });
    Ok(())
}

/// Moves `Date` (the header, and its signed line) and the JWS `sigT` by `shift`.
fn shift_time(
    recipe: &mut Recipe<'_>,
    request: &mut HttpRequest,
    shift: TimeShift,
) -> Result<(), MutateError> {
    let out_of_range = || MutateError::Unusable(format!("shifting by {shift} leaves the calendar"));
    let mut moved = false;
    if let Some(date) = request.header("date").map(str::to_string) {
        let at = parse_imf_fixdate(&date).ok_or_else(|| {
            MutateError::Unusable(format!(
                "the Date header `{date}` is not an IMF-fixdate to shift"
            ))
        })?;
        let shifted = shift
            .apply(at)
            .and_then(checked_imf_fixdate)
            .ok_or_else(out_of_range)?;
        edit::set_header(request, "Date", &shifted);
        if let Ok(line) = recipe.line_mut("date") {
            line.set_value(&shifted);
        }
        moved = true;
    }
    if let Some(text) = recipe.jws_field("sigT").and_then(Value::as_str) {
        let at = parse_sig_t(text).ok_or_else(|| {
            MutateError::Unusable(format!("sigT `{text}` is not a time to shift"))
        })?;
        let shifted = shift
            .apply(at)
            .and_then(checked_sig_t)
            .ok_or_else(out_of_range)?;
        recipe.set_jws_field("sigT", Some(shifted.into()))?;
        moved = true;
    }
    if moved {
        Ok(())
    } else {
        Err(MutateError::Unusable(
            "the request has neither a Date header nor a JWS sigT to shift".into(),
        ))
    }
}
