//! Callback listeners: a `callback` step waits for a POST that the system under test sends to us
//! (the PSD2 hub posts each status change of a data update to a registered callback URL).
//!
//! Listeners start with the scenario, so a step before the waiting one can register the URL;
//! every POST is kept, answered at once, and each waiting step takes the first one after the
//! previous step's that satisfies its checks.

use crate::context::callback_names;
use crate::pacing::Pacing;
use crate::scenario::model::Callback as CallbackSpec;
use crate::scenario::{LoadedScenario, Located};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use obconform_core::wire::HttpRequest;
use obconform_core::wire::HttpResponse;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long a callback step on simulated time waits for the POST of the event it brought on
/// before bringing on the next (a loopback POST takes milliseconds).
const DELIVERY_GRACE: Duration = Duration::from_millis(250);

/// A received POST as what `expect`, captures and snapshots look at: its headers and body.
pub fn as_message(post: &HttpRequest) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: post.headers.clone(),
        body: post.body.clone(),
    }
}

/// What a listener serves and what it received.
#[derive(Debug)]
struct Inbox {
    path: String,
    local: SocketAddr,
    respond: StatusCode,
    posts: Mutex<Vec<HttpRequest>>,
    /// Requests that were not a POST to the callback path (answered 404/405, reported).
    strays: Mutex<Vec<String>>,
    arrived: Notify,
}

/// One listening callback endpoint.
pub struct CallbackListener {
    url: String,
    inbox: Arc<Inbox>,
    /// How many POSTs earlier steps have looked at.
    cursor: Mutex<usize>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for CallbackListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackListener")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The callback path of a listener named `name`.
pub fn callback_path(name: &str) -> String {
    format!("/callbacks/{name}")
}

impl CallbackListener {
    /// Listens on `listen` for POSTs to `/callbacks/{name}`, answering `respond`. The URL given
    /// out is `public_url` when set (a tunnel forwarding to `listen`), else the listener's own.
    pub async fn start(
        name: &str,
        listen: SocketAddr,
        public_url: Option<&str>,
        respond: StatusCode,
    ) -> Result<CallbackListener, String> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("callback `{name}`: cannot listen on {listen}: {e}"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("callback `{name}`: {e}"))?;
        let path = callback_path(name);
        let url = match public_url {
            Some(url) => url.to_string(),
            None => format!("http://{local}{path}"),
        };
        let inbox = Arc::new(Inbox {
            path,
            local,
            respond,
            posts: Mutex::default(),
            strays: Mutex::default(),
            arrived: Notify::new(),
        });
        let app = Router::new().fallback(receive).with_state(inbox.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallbackListener {
            url,
            inbox,
            cursor: Mutex::new(0),
            task,
        })
    }

    /// The URL the system under test posts to (`{{callbacks.NAME}}`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The status each POST is answered with.
    pub fn respond(&self) -> StatusCode {
        self.inbox.respond
    }

    /// Waits until a POST after the ones earlier steps took satisfies `unmet` (no unmet checks),
    /// at most `timeout` (of `pacing`'s time). The POST is taken; on timeout the error says what
    /// arrived and why none matched.
    pub async fn wait_for(
        &self,
        unmet: &dyn Fn(&HttpResponse) -> Vec<String>,
        timeout: Duration,
        pacing: &Pacing,
    ) -> Result<HttpRequest, String> {
        let watch = pacing.stopwatch();
        let mut last_unmet: Option<Vec<String>> = None;
        loop {
            // Register interest before looking, so a POST arriving in between still wakes us.
            let arrived = self.inbox.arrived.notified();
            {
                let posts = lock(&self.inbox.posts);
                let mut cursor = lock(&self.cursor);
                while *cursor < posts.len() {
                    let post = &posts[*cursor];
                    *cursor += 1;
                    let failures = unmet(&as_message(post));
                    if failures.is_empty() {
                        return Ok(post.clone());
                    }
                    last_unmet = Some(failures);
                }
            }
            let left = timeout.saturating_sub(watch.elapsed());
            if left.is_zero() {
                return Err(self.nothing_matched(timeout, last_unmet));
            }
            // On simulated time the sandbox's next event does not come by itself: bring it on,
            // then give the POST it may send a moment to arrive before looking further ahead.
            let wait = if pacing.skip_to_next_event(&watch, left) {
                DELIVERY_GRACE.min(left)
            } else {
                left
            };
            // Timed out or not, the loop looks at the inbox and the time left again.
            let _ = tokio::time::timeout(wait, arrived).await;
        }
    }

    fn nothing_matched(&self, timeout: Duration, last_unmet: Option<Vec<String>>) -> String {
        let posts = lock(&self.inbox.posts).len();
        let strays = lock(&self.inbox.strays).clone();
        let mut why = format!(
            "callback: no matching POST reached {} within {:.1} s ({posts} received in all",
            self.url,
            timeout.as_secs_f64()
        );
        if let Some(unmet) = last_unmet {
            why.push_str(&format!("; the last one: {}", unmet.join("; ")));
        }
        why.push(')');
        if !strays.is_empty() {
            why.push_str(&format!(
                "; also received, not a POST to the callback path: {}",
                strays.join(", ")
            ));
        }
        why
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The listeners of one scenario, by name; stopped when dropped.
#[derive(Debug, Default)]
pub struct Callbacks {
    listeners: Vec<(String, CallbackListener)>,
}

/// Where a scenario's listener `name` listens, its public URL and answer, from the step that
/// sets them (validation allows one).
pub fn listener_settings<'a>(
    loaded: &'a LoadedScenario,
    name: &str,
) -> Option<&'a Located<CallbackSpec>> {
    let mut same_name = loaded
        .scenario
        .steps
        .iter()
        .filter_map(|s| s.callback.as_ref())
        .filter(|c| c.value.name == name);
    let first = same_name.clone().next();
    same_name
        .find(|c| {
            c.value.listen.is_some() || c.value.public_url.is_some() || c.value.respond.is_some()
        })
        .or(first)
}

/// `listen:` as an address; the default is a free loopback port.
pub fn listen_address(spec: &CallbackSpec) -> Result<SocketAddr, String> {
    match &spec.listen {
        None => Ok(SocketAddr::from(([127, 0, 0, 1], 0))),
        Some(text) => text.value.parse().map_err(|_| {
            format!(
                "`listen: {}` is not an address: write IP:PORT, e.g. 127.0.0.1:8089",
                text.value
            )
        }),
    }
}

/// The status a listener answers with.
pub fn respond_status(spec: &CallbackSpec) -> Result<StatusCode, String> {
    let code = spec.respond.unwrap_or(200);
    StatusCode::from_u16(code)
        .ok()
        .filter(|s| s.is_success())
        .ok_or_else(|| format!("`respond: {code}` must be a 2xx status"))
}

impl Callbacks {
    /// Starts a listener for every callback the scenario waits on.
    pub async fn start(loaded: &LoadedScenario) -> Result<Callbacks, String> {
        let mut callbacks = Callbacks::default();
        for name in callback_names(loaded) {
            let Some(spec) = listener_settings(loaded, name) else {
                continue;
            };
            let spec = &spec.value;
            let listener = CallbackListener::start(
                name,
                listen_address(spec)?,
                spec.public_url.as_deref(),
                respond_status(spec)?,
            )
            .await?;
            callbacks.listeners.push((name.to_string(), listener));
        }
        Ok(callbacks)
    }

    pub fn get(&self, name: &str) -> Option<&CallbackListener> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l)
    }

    /// `(name, url)` of every listener.
    pub fn urls(&self) -> impl Iterator<Item = (&str, &str)> {
        self.listeners.iter().map(|(n, l)| (n.as_str(), l.url()))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if uri.path() != inbox.path {
        lock(&inbox.strays).push(format!("{method} {uri}"));
        return StatusCode::NOT_FOUND;
    }
    if method != Method::POST {
        lock(&inbox.strays).push(format!("{method} {uri}"));
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let request = HttpRequest {
        method: method.to_string(),
        url: format!("http://{}{uri}", inbox.local),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect(),
        body: body.to_vec(),
    };
    lock(&inbox.posts).push(request);
    inbox.arrived.notify_waiters();
    inbox.respond
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(url: &str, body: &str) -> u16 {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    fn status_is(wanted: &'static str) -> impl Fn(&HttpResponse) -> Vec<String> {
        move |message: &HttpResponse| {
            let body = message.body_text();
            if body.contains(wanted) {
                Vec::new()
            } else {
                vec![format!("status is not {wanted}: {body}")]
            }
        }
    }

    #[tokio::test]
    async fn steps_take_posts_in_order_and_skip_the_ones_that_do_not_match() {
        let listener = CallbackListener::start(
            "update",
            SocketAddr::from(([127, 0, 0, 1], 0)),
            None,
            StatusCode::OK,
        )
        .await
        .expect("listen");
        let url = listener.url().to_string();
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/callbacks/update"));
        for status in ["pending", "running", "completed"] {
            assert_eq!(
                post(&url, &format!("{{\"status\":\"{status}\"}}")).await,
                200
            );
        }
        let running = listener
            .wait_for(
                &status_is("running"),
                Duration::from_secs(5),
                &Pacing::real(),
            )
            .await
            .expect("running");
        assert!(String::from_utf8_lossy(&running.body).contains("running"));
        // `pending` was passed over and is not offered again; `completed` comes after `running`.
        let completed = listener
            .wait_for(
                &status_is("completed"),
                Duration::from_secs(5),
                &Pacing::real(),
            )
            .await
            .expect("completed");
        assert_eq!(completed.method, "POST");
        let err = listener
            .wait_for(
                &status_is("pending"),
                Duration::from_millis(50),
                &Pacing::real(),
            )
            .await
            .unwrap_err();
        assert!(err.contains("3 received in all"), "{err}");
    }

    #[tokio::test]
    async fn a_post_arriving_while_waiting_wakes_the_step_and_strays_are_reported() {
        let listener = CallbackListener::start(
            "hub",
            SocketAddr::from(([127, 0, 0, 1], 0)),
            None,
            StatusCode::NO_CONTENT,
        )
        .await
        .expect("listen");
        let url = listener.url().to_string();
        let base = url.trim_end_matches("/callbacks/hub").to_string();
        assert_eq!(post(&format!("{base}/elsewhere"), "{}").await, 404);
        // join! polls the wait first: it finds the inbox empty and sleeps before the POST is sent.
        let until = status_is("completed");
        let real = Pacing::real();
        let (got, answered) = tokio::join!(
            listener.wait_for(&until, Duration::from_secs(10), &real),
            post(&url, "{\"status\":\"completed\"}")
        );
        let got = got.expect("completed");
        assert_eq!(answered, 204);
        assert!(got.url.ends_with("/callbacks/hub"));
        let err = listener
            .wait_for(
                &status_is("completed"),
                Duration::from_millis(20),
                &Pacing::real(),
            )
            .await
            .unwrap_err();
        assert!(err.contains("POST /elsewhere"), "{err}");
    }
}
