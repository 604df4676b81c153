//! The sandbox's browser pages (the consent screen, the payment SCA page): one self-contained
//! page shape, its response headers and HTML escaping.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A whole page with its own style sheet: no external resources.
pub fn page(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{style}</style></head>\n<body><main>\n{body}</main></body></html>\n",
        escape(title)
    )
}

/// The look of the bank's payment pages (the PIS SCA page, the Payment Request payer page).
pub const PAYMENT_PAGE_STYLE: &str = "body{margin:0;background:#f0f0f0;font-family:Arial,Helvetica,sans-serif;\
color:#333}main{max-width:34em;margin:3em auto;background:#fff;padding:2em 2.5em;\
box-shadow:0 2px 8px rgba(0,0,0,.15)}h1,h2{color:#ff6200;font-weight:normal}h1{font-size:1.4em}\
h2{font-size:1.2em;margin-top:1.5em}.note{font-size:.85em;color:#666;border-left:3px solid #ff6200;\
padding-left:.8em}th{text-align:left;padding-right:1.5em;font-weight:normal;color:#777}\
label.account{display:block;padding:.6em 0;border-bottom:1px solid #eee}.iban{display:block;\
font-size:.8em;color:#777;margin-left:1.8em}.buttons{display:flex;flex-direction:row-reverse;\
justify-content:flex-start;gap:1em;margin-top:1.5em}button{padding:.6em 2em;border:1px solid \
#ff6200;background:#fff;color:#ff6200;font-size:1em;cursor:pointer}button.primary{\
background:#ff6200;color:#fff}.error{color:#b00020}";

/// A payment page in the bank's look.
pub fn payment_page(title: &str, body: &str) -> String {
    page(title, PAYMENT_PAGE_STYLE, body)
}

/// A payment page that says what went wrong, with `status`.
pub fn payment_error_page(status: StatusCode, message: &str) -> Response {
    let body = payment_page(
        "Something went wrong",
        &format!(
            "<h1>Something went wrong</h1>\n<p class=\"error\">{}</p>\n",
            escape(message)
        ),
    );
    html_response(status, body)
}

/// Self-contained, not cached, not to be framed (ING forbids embedding its authorization page).
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

/// HTML text and attribute escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
