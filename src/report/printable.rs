//! Text from scenarios and from the bank, made safe to print: a control character (an ANSI escape,
//! a carriage return that rewrites the line, a backspace) is shown escaped, so a scenario name or a
//! response body cannot forge a `PASS` line or rewrite the terminal. Line feeds and tabs stay.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character but LF and tab written as `\x1b`, `\r`, `\u{202e}`…
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Control characters, and the Unicode controls that reorder or hide text on a terminal.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_keeps_lines() {
        assert_eq!(printable("PASS  1. ok\n\tnext"), "PASS  1. ok\n\tnext");
        assert_eq!(printable("name\x1b[2K\r  PASS"), "name\\x1b[2K\\r  PASS");
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
    }
}
