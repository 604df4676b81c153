//! A loopback redirect listener (RFC 8252 §7.3): when the redirect URI is
//! `http://127.0.0.1:PORT/path` (or `localhost`, `[::1]`), the runner listens there for the
//! browser's redirect, answers it with a short page, and hands back the URL the browser asked
//! for. It binds loopback addresses only and serves one redirect.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);
const DONE_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>obconform</title>\
</head><body><p>The consent was received by obconform; you can close this window.</p></body></html>";

/// Where to listen for a redirect URI, if it is a loopback `http` URI with a port.
pub fn loopback_address(redirect_uri: &str) -> Option<SocketAddr> {
    let url = Url::parse(redirect_uri).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let ip: IpAddr = match url.host_str()? {
        "localhost" | "127.0.0.1" => Ipv4Addr::LOCALHOST.into(),
        "[::1]" => Ipv6Addr::LOCALHOST.into(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, url.port()?))
}

/// Binds the listener (before the URL is shown, so a fast browser cannot beat it).
pub async fn listen(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address} for the redirect: {e} (is the port in use?)")
    })
}

/// Waits for the browser's request to the redirect URI's path and returns its full URL. Other
/// paths (a favicon) get 404 and the wait goes on.
pub async fn wait_for_redirect(
    listener: &TcpListener,
    redirect_uri: &str,
    timeout: Duration,
) -> Result<String, String> {
    let expected = Url::parse(redirect_uri).map_err(|e| format!("redirect_uri: {e}"))?;
    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Typically out of file descriptors: wait rather than spin until the timeout.
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            };
            if let Some(url) = serve_one(stream, &expected).await {
                return url;
            }
        }
    };
    tokio::time::timeout(timeout, serve).await.map_err(|_| {
        format!(
            "no redirect reached {redirect_uri} within {} s; consent in the browser, or pass --code",
            timeout.as_secs()
        )
    })
}

/// Reads one request; answers it; returns the full URL when it is the redirect.
async fn serve_one(mut stream: TcpStream, expected: &Url) -> Option<String> {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
        .ok()??;
    let target = request_target(&head)?;
    let mut url = expected.clone();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let is_redirect = path == expected.path();
    let response = if is_redirect {
        url.set_query((!query.is_empty()).then_some(query));
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{DONE_PAGE}",
            DONE_PAGE.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    is_redirect.then(|| url.to_string())
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

/// `/path?query` of a `GET /path?query HTTP/1.1` request line.
fn request_target(head: &str) -> Option<&str> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_uris_with_a_port_are_listened_on() {
        assert_eq!(
            loopback_address("http://127.0.0.1:8765/cb"),
            Some(SocketAddr::from(([127, 0, 0, 1], 8765)))
        );
        assert_eq!(
            loopback_address("http://localhost:9000/"),
            Some(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        assert!(loopback_address("http://[::1]:9000/").is_some());
        assert_eq!(loopback_address("https://127.0.0.1:8765/cb"), None);
        assert_eq!(loopback_address("http://www.example.com:8080/"), None);
        assert_eq!(loopback_address("http://10.0.0.1:8080/"), None);
    }

    #[tokio::test]
    async fn serves_the_redirect_and_ignores_other_paths() {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let redirect_uri = format!("http://127.0.0.1:{port}/cb");
        let browser = tokio::spawn(async move {
            let mut answers = Vec::new();
            for target in ["/favicon.ico", "/cb?state=s&code=c1"] {
                let mut s = TcpStream::connect(("127.0.0.1", port))
                    .await
                    .expect("connect");
                let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                s.write_all(request.as_bytes()).await.expect("write");
                let mut answer = String::new();
                s.read_to_string(&mut answer).await.expect("read");
                answers.push(answer);
            }
            answers
        });
        let url = wait_for_redirect(&listener, &redirect_uri, Duration::from_secs(30))
            .await
            .expect("redirect");
        assert_eq!(url, format!("http://127.0.0.1:{port}/cb?state=s&code=c1"));
        let answers = browser.await.expect("browser");
        assert!(answers[0].starts_with("HTTP/1.1 404"));
        assert!(answers[1].starts_with("HTTP/1.1 200") && answers[1].contains("close this window"));
    }
}
