//! Shell words that expand to exactly the given text or bytes (bash).

/// Single-quoted for POSIX shells: `'` becomes `'\''`; everything else is literal, newlines too.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// One bash word expanding to exactly `bytes`: printable text single-quoted, control characters
/// (but newline and tab) and bytes that are not UTF-8 as `$'\xNN'`, so an editor or terminal
/// cannot change them. A NUL byte cannot be in a shell word at all: callers keep it out.
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut text = String::new();
    let mut escaped = String::new();
    let flush_text = |out: &mut String, text: &mut String| {
        if !text.is_empty() {
            out.push_str(&shell_quote(text));
            text.clear();
        }
    };
    let flush_escaped = |out: &mut String, escaped: &mut String| {
        if !escaped.is_empty() {
            out.push_str(&format!("$'{escaped}'"));
            escaped.clear();
        }
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                flush_text(&mut out, &mut text);
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    escaped.push_str(&format!("\\x{byte:02x}"));
                }
            } else {
                flush_escaped(&mut out, &mut escaped);
                text.push(c);
            }
        }
        if !chunk.invalid().is_empty() {
            flush_text(&mut out, &mut text);
            for byte in chunk.invalid() {
                escaped.push_str(&format!("\\x{byte:02x}"));
            }
        }
    }
    flush_text(&mut out, &mut text);
    flush_escaped(&mut out, &mut escaped);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What bash makes of `word`, as bytes.
    fn bash_expands(word: &str) -> Vec<u8> {
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("printf '%s' {word}")])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn quotes_dollars_backticks_and_newlines_stay_literal() {
        for text in [
            "it's",
            "a \"b\" $HOME `id` $(id) \\n ${x:-y}",
            "two\nlines\n",
            "tab\there",
            "",
            "'",
            "'''",
            "!event",
        ] {
            assert_eq!(
                bash_expands(&shell_quote(text)),
                text.as_bytes(),
                "{text:?}"
            );
            assert_eq!(
                bash_expands(&quote_bytes(text.as_bytes())),
                text.as_bytes(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn control_characters_and_non_utf8_bytes_are_escaped_exactly() {
        let bytes = b"a\r\nb\x1b[0m\xff\xfe'c\x7f\xc3\xa9 \xe2\x82".to_vec();
        let word = quote_bytes(&bytes);
        assert!(!word.contains('\r') && !word.contains('\x1b'), "{word:?}");
        assert_eq!(bash_expands(&word), bytes);
    }
}
