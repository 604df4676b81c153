//! `${VAR}` in environment values: production secrets and paths come from the process environment.

/// Replaces every `${NAME}` with the variable's value; an unset variable is an error naming it.
pub fn expand_env_vars(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unterminated `${{` in `{text}`"));
        };
        let name = &after[..end];
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => return Err(format!("environment variable `{name}` is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "HOME_DIR").then(|| "/home/tpp".to_string())
    }

    #[test]
    fn replaces_set_variables_and_names_unset_ones() {
        assert_eq!(
            expand_env_vars("${HOME_DIR}/tls.pem", &lookup).unwrap(),
            "/home/tpp/tls.pem"
        );
        assert_eq!(expand_env_vars("no vars", &lookup).unwrap(), "no vars");
        let err = expand_env_vars("${MISSING_ONE}", &lookup).unwrap_err();
        assert!(err.contains("MISSING_ONE"), "{err}");
        assert!(expand_env_vars("${OPEN", &lookup).is_err());
    }
}
