//! One line out of an error and its causes, for messages people read.

/// `error: cause: deeper cause`, skipping causes whose text the line already holds.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Prints `message` on stderr as an error: `error: …`, once — a located error (a scenario or
/// environments file) renders its own `error:` line with the source under it.
pub fn print_error(message: impl std::fmt::Display) {
    let text = message.to_string();
    match text.starts_with("error: ") {
        true => eprintln!("{text}"),
        false => eprintln!("error: {text}"),
    }
}
