//! The scenario format, version 1, as Rust types. Unknown keys are rejected everywhere.
//!
//! Doc comments here become the descriptions of `obconform schema`, which editors show.

use super::located::{Located, Position};
use super::ordered::OrderedMap;
use super::step_use::StepUse;
use obconform_core::sign::Algorithm;
use obconform_core::sign::Placement;
use obconform_core::sign::algorithm::PssSalt;
use obconform_core::sign::client_assertion::Thumbprint;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One scenario file: a named sequence of steps against one system.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario proves, in one line.
    pub name: String,
    /// The system under test, e.g. `ing-psd2`; the test is named `<system>::<file stem>`. One
    /// folder name (its snapshots are kept under it): letters, digits, `-`, `_` and `.`.
    #[serde(deserialize_with = "system_name")]
    pub system: String,
    /// Longer free text; not interpreted.
    #[serde(default)]
    pub description: Option<String>,
    /// Variables, rendered in order (a variable may use `env.*` and earlier variables).
    #[serde(default)]
    pub vars: OrderedMap<Located<String>>,
    /// Certificate roles the scenario needs besides `tls` and `signing`, e.g. `[new_tls,
    /// new_signing]` (from `--new-certs DIR`); without them it is skipped, with the reason.
    #[serde(default)]
    pub requires_certs: Vec<String>,
    /// Runs alone under `obconform run --jobs N`: no other scenario runs meanwhile. For scenarios
    /// that change what others see (a registration's keys or redirect URIs, a tenant's callback
    /// URLs). Default: true when a step sends PUT or DELETE, else false.
    #[serde(default)]
    pub exclusive: Option<bool>,
    /// Kinds of environment (`embedded`, `sandbox`, `production`) the whole scenario does not
    /// apply to, each with the reason, e.g. `production: grants support is the sandbox's`. It is
    /// skipped there (and counted as skipped, with the reason).
    #[serde(default)]
    pub skip_on: OrderedMap<Located<String>>,
    /// Data-driven runs: each name a list of values, the scenario run once per combination (all
    /// of them, in order), each case a test of its own (`system::stem[country=NL,mode=jws]`) with
    /// the values as `{{name}}`. At most 10,000 cases.
    #[serde(default)]
    pub matrix: OrderedMap<Located<Vec<serde_json::Value>>>,
    /// The steps, run in order; a failing step skips the rest. At least one.
    #[serde(deserialize_with = "at_least_one_step")]
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Whether the scenario must run with no other scenario beside it (`exclusive`).
    pub fn runs_alone(&self) -> bool {
        self.exclusive.unwrap_or_else(|| {
            self.steps
                .iter()
                .filter_map(|s| s.request.as_ref())
                .any(|r| {
                    let method = r.method.value.to_ascii_uppercase();
                    method == "PUT" || method == "DELETE"
                })
        })
    }
}

/// One request (or the customer's consent) and what its response must look like.
/// A steps file (`*.steps.yaml`): steps written once and used by scenarios with `use: FILE`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepsFile {
    /// What the steps do; not interpreted.
    #[serde(default)]
    pub description: Option<String>,
    /// The values the steps take from each use (`with:`), by name, each with its default or `~`
    /// when every use must give it. The steps see them as `{{name}}`, like vars.
    #[serde(default)]
    pub params: OrderedMap<Located<Option<String>>>,
    /// The steps, as a scenario writes them (a steps file cannot `use` another). At least one.
    #[serde(deserialize_with = "at_least_one_step")]
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in reports and used to name snapshots. Every step has one, except a `use` step,
    /// where it is optional and prefixes the names of the steps it brings (`<name>/<step>`), so
    /// that one steps file can be used twice in a scenario.
    #[serde(default)]
    pub name: Located<String>,
    /// The steps of a steps file (`*.steps.yaml`, the path relative to this file's folder), run
    /// here in this step's place. A `use` step has only `use`, `with` and `name`.
    #[serde(default, rename = "use")]
    pub uses: Option<Located<String>>,
    /// The values of the steps file's `params` at this use: templates, rendered when each of its
    /// steps runs (they may use vars and earlier captures).
    #[serde(default)]
    pub with: OrderedMap<Located<String>>,
    /// Where the step is written (set at load).
    #[serde(skip)]
    #[schemars(skip)]
    pub at: Position,
    /// The `use` that brought the step from a steps file (set at load); none for a scenario's own.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Option<Arc<StepUse>>,
    /// The HTTP request to send. A step has either `request` or `authorize`.
    #[serde(default)]
    pub request: Option<Request>,
    /// The customer's consent on the bank's consent screen, ending in the redirect to
    /// `redirect_uri` with `code` and `state` (capture them with `{query: code}`).
    #[serde(default)]
    pub authorize: Option<Located<Authorize>>,
    /// Wait for a POST the system under test sends to us (a status callback). A step has one
    /// of `request`, `authorize` and `callback`; `expect`, `capture` and `snapshot` then look at
    /// the received POST's headers and body.
    #[serde(default)]
    pub callback: Option<Located<Callback>>,
    /// How the request is signed: the name of a profile of the environment, or an inline profile.
    /// Default: `mtls` (no message signature; the TLS client certificate authenticates).
    #[serde(default)]
    pub sign: Option<Located<SignRef>>,
    /// What the response must satisfy.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Values to take from the response for later steps: `name: "$.json.path"` or
    /// `name: {json|header|regex: ..}`.
    #[serde(default)]
    pub capture: OrderedMap<Located<Capture>>,
    /// Snapshot-check the response (status, content type and body, volatile values redacted).
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
    /// Whether the step changes state at the bank (registration, update, payments). Default:
    /// yes for POST, PUT, PATCH and DELETE, no for GET, HEAD, OPTIONS and `authorize`. A production
    /// run refuses write steps unless it says `--allow-writes`; a POST that changes nothing at the
    /// bank (a token request `…/oauth2/token`, its revocation, a funds confirmation) says
    /// `write: false`. `write: false` is not honoured anywhere else: a PUT, PATCH or DELETE, or a
    /// POST to any other endpoint, is a write whatever the step says.
    #[serde(default)]
    pub write: Option<bool>,
    /// Negative tests: changes made to the request after it is signed, in order, so it goes out
    /// as a buggy client would send it: header and body edits leave the signature as computed;
    /// signing faults re-sign the way that client signs (same key unless `sign-with`).
    #[serde(default)]
    pub mutate: Vec<Located<Mutation>>,
    /// The certificate role presented in TLS for this request (default `tls`), e.g. `new_tls`
    /// after a renewal.
    #[serde(default)]
    pub tls: Option<Located<String>>,
    /// `PUT /oauth2/applications/{id}` replaces the whole registration, so before sending it the
    /// runner reads the current one and refuses a body that would drop a registered key or
    /// redirect URI (`flow.put-drops-keys`). `true` sends it anyway (retiring an old certificate).
    #[serde(default)]
    pub allow_drop: bool,
    /// The step is meant for a host that is not one of the environment's (a public document, a
    /// third party): it goes out presenting no client certificate, and is refused if it carries a
    /// credential header, a signature or a secret the run knows. Without it, a request to another
    /// host is refused (the environment's `hosts:` adds the bank's other hosts).
    #[serde(default)]
    pub other_host: bool,
    /// Kinds of environment (`embedded`, `sandbox`, `production`) this step does not apply to,
    /// each with the reason, e.g. `sandbox: ING's sandbox does not reflect PUT updates`. The step
    /// is reported as not applicable there; no later step may use its captures.
    #[serde(default)]
    pub skip_on: OrderedMap<Located<String>>,
    /// Polling: send the request again — rendered and signed afresh each time — until its
    /// response satisfies `until`, every `interval`, for at most `timeout`. The last response is
    /// the step's (for `expect`, captures, the snapshot and the report).
    #[serde(default)]
    pub retry: Option<Located<Retry>>,
}

/// A callback listener and the POST to wait for on it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// The listener's name. Listeners start with the scenario, so every step can use the URL as
    /// `{{callbacks.NAME}}` (e.g. the request that registers it). Several steps may wait on one
    /// listener, each taking a POST that came after the previous step's.
    pub name: String,
    /// What the POST must satisfy (the checks of `expect` on its headers and body; `status` is
    /// not one). POSTs that do not are passed over and waiting goes on. Default: any POST.
    #[serde(default)]
    pub until: Option<Expect>,
    /// How long to wait: `30s`, `2m` (default `30s`, at most `1440m`).
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    #[schemars(with = "String")]
    pub timeout: std::time::Duration,
    /// Where to listen, `IP:PORT` (default `127.0.0.1:0`: a free loopback port).
    #[serde(default)]
    pub listen: Option<Located<String>>,
    /// The URL `{{callbacks.NAME}}` gives instead of the listener's own, when the system under
    /// test reaches the listener through a tunnel or proxy forwarding to `listen` (a real bank
    /// cannot post to your loopback). The path the listener serves is `/callbacks/NAME`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The status answered to each POST (default 200).
    #[serde(default)]
    pub respond: Option<u16>,
}

/// How a step polls.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// What the response must satisfy to stop polling (the checks of `expect`).
    pub until: Expect,
    /// Time between attempts: `500ms`, `2s`, `1m` (default `1s`; at least `10ms`, at most
    /// `1440m`).
    #[serde(default = "default_interval", deserialize_with = "retry_interval")]
    #[schemars(with = "String")]
    pub interval: std::time::Duration,
    /// How long to keep polling: `30s`, `2m` (default `30s`, at most `1440m`); at most 1000
    /// attempts are sent whatever the timeout.
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    #[schemars(with = "String")]
    pub timeout: std::time::Duration,
}

fn system_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    safe_segment("system", &name).map_err(de::Error::custom)?;
    Ok(name)
}

/// `name` can be one folder name under another: not empty, not `.` or `..`, only letters,
/// digits, `-`, `_` and `.` (no `/`, `\\`, nor anything a path could escape with).
pub fn safe_segment(what: &str, name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name == "." || name == ".." || !name.chars().all(allowed) {
        return Err(format!(
            "{what} name `{name}` cannot name a folder: use letters, digits, `-`, `_` and `.` \
             (not `.` or `..`, no `/`)"
        ));
    }
    Ok(())
}

fn yes() -> bool {
    true
}

fn default_interval() -> std::time::Duration {
    std::time::Duration::from_secs(1)
}

fn default_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<std::time::Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(de::Error::custom)
}

fn at_least_one_step<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Step>, D::Error> {
    let steps: Vec<Step> = Vec::<Located<Step>>::deserialize(deserializer)?
        .into_iter()
        .map(|located| Step {
            at: located.at,
            ..located.value
        })
        .collect();
    if steps.is_empty() {
        return Err(de::Error::custom(
            "a scenario has at least one step (`- name: …` with a request, authorize or callback)",
        ));
    }
    Ok(steps)
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    duration(deserializer).map(Some)
}

/// A retry `interval`: a duration, at least [`MIN_RETRY_INTERVAL`].
fn retry_interval<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::time::Duration, D::Error> {
    let interval = duration(deserializer)?;
    if interval < MIN_RETRY_INTERVAL {
        return Err(de::Error::custom(format!(
            "retry interval {} ms is too short: at least {} ms between attempts",
            interval.as_millis(),
            MIN_RETRY_INTERVAL.as_millis()
        )));
    }
    Ok(interval)
}

/// The longest `timeout` or `interval` a scenario may ask for: 24 hours (`1440m`).
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// The longest `shift-time`: 366 days (`527040m`).
pub const MAX_TIME_SHIFT: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 60 * 60);

/// The shortest retry `interval`: 10 ms, so a poll cannot flood the server.
pub const MIN_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The most requests one `retry` step sends, whatever its timeout.
pub const MAX_RETRY_ATTEMPTS: u32 = 1000;

/// `250ms`, `2s`, `1.5s`, `3m`: a number and a unit, at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    parse_duration_within(text, MAX_DURATION)
}

fn parse_duration_within(
    text: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. `500ms`, `2s` or `1m`"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}`; use ms, s or m (e.g. `2s`)"
            ));
        }
    };
    let too_long = || {
        format!(
            "`{text}` is too long: at most {}m ({} s)",
            max.as_secs() / 60,
            max.as_secs()
        )
    };
    if !seconds.is_finite() || seconds > max.as_secs_f64() {
        return Err(too_long());
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| too_long())
}

/// A change made to a request after signing. Edits (`remove-header`, `set-header`, `set-body`,
/// `form-spaces-percent20`) leave the signature as computed; the signing faults re-sign the
/// request's signature (`x-jws-signature`, or `Signature` / `Authorization: Signature`) the way a
/// buggy client makes it, with the same key unless `sign-with` says otherwise.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Mutation {
    /// Remove this header (e.g. one listed in the signature's `headers`, to send it absent).
    RemoveHeader(String),
    /// Set this header to a literal value (e.g. `X-Request-ID` to `null`), added if absent.
    SetHeader { name: String, value: String },
    /// Replace the body bytes after signing: the Digest no longer matches
    /// (`httpsig.digest-mismatch`).
    SetBody(String),
    /// Re-encode every `+` of a form body as `%20` after signing; Digest and signature stay over
    /// the `+` form ING requires (`httpsig.form-encoding`).
    FormSpacesPercent20,
    /// Re-sign over the signing input plus a trailing LF after the last header line (guide JWS
    /// item 4: `jws.trailing-lf`, `httpsig.trailing-lf`).
    TrailingLf,
    /// Re-sign with the header lines joined by CRLF instead of LF, as on Windows (guide JWS item
    /// 9: `jws.crlf-line-endings`, `httpsig.crlf-line-endings`).
    CrlfLineEndings,
    /// Re-sign with the header lines joined by spaces instead of LF, as a script that builds the
    /// string with `echo $a $b` does (`jws.line-separator`, `httpsig.line-separator`).
    SpaceSeparatedLines,
    /// Send `Digest` as the bare base64 hash, without its `SHA-256=` label, and sign that value
    /// (`httpsig.digest-label`).
    DigestWithoutLabel,
    /// Re-sign with the header lines in reverse order; `sigD.pars` / `headers=` keep the listed
    /// order (guide JWS item 7: `jws.pars-order`).
    ReorderSigned,
    /// This header stays listed in `sigD.pars` / `headers=` and is sent, but its line is left out
    /// of the signing input (guide JWS item 1: `jws.pars-not-signed`).
    Unsign(String),
    /// This header (one the request has) is signed, its line appended after the listed ones,
    /// but it is not listed in `sigD.pars` / `headers=` (guide JWS item 2:
    /// `jws.signed-not-in-pars`).
    SignExtra(String),
    /// Re-sign with this `(request-target)` value, e.g. `post /other/path`, while the request
    /// goes where it was going (guide JWS item 3: `jws.request-target-mismatch`,
    /// `httpsig.request-target-mismatch`).
    SignRequestTarget(String),
    /// Re-sign with this value for the header `name` while the request keeps its own (guide JWS
    /// item 5: `jws.header-value-mismatch`).
    SignValue { name: String, value: String },
    /// Re-sign with the private key of another certificate role of the environment (e.g. `tls`),
    /// keeping keyId, `x5t#S256` and `TPP-Signature-Certificate` (guide JWS item 6:
    /// `jws.wrong-key`, `httpsig.wrong-key`).
    SignWith(String),
    /// Re-sign with another algorithm while the signature still names its own: JWS `PS384` under
    /// `"alg":"PS256"`, HTTP `RS512` (PKCS#1 SHA-512) under `algorithm="rsa-sha256"` (guide JWS
    /// item 8: `jws.alg-mismatch`, `httpsig.algorithm`).
    SignAlg(Algorithm),
    /// Move the signature's time — `Date` (header and signed line) and the JWS `sigT` — by this
    /// much, e.g. `-10m` or `5m`, and re-sign (guide JWS item 10: `jws.sigt-skew`,
    /// `httpsig.date-skew`).
    ShiftTime(TimeShift),
    /// JWS: re-sign with this RSA-PSS salt length, `max` (what the guide's script makes on
    /// OpenSSL 3.0: 222 bytes for RSA-2048) or a number of bytes (guide JWS item 11:
    /// `jws.pss-salt-length`).
    PssSalt(PssSalt),
    /// JWS: set these fields of the protected header (`null` removes one) and re-sign over the
    /// new header, e.g. `{b64: true}` (`jws.b64-not-false`), `{crit: [sigT, sigD]}`
    /// (`jws.crit-incomplete`), `{"x5t#S256": …}` (`jws.x5t-mismatch`).
    JwsHeader(OrderedMap<serde_json::Value>),
    /// Set this header to `value` both in the request and in the signing input — a client that
    /// signs a bad value correctly, e.g. `Date` in RFC 3339 (`httpsig.date-format`). The header
    /// must be signed.
    ResignHeader { name: String, value: String },
    /// HTTP signature: replace the `keyId` (not signed, so no re-sign), e.g. the serial without
    /// `SN=` (`httpsig.keyid-form`).
    KeyId(String),
    /// HTTP signature: move it from `Authorization: Signature …` to a `Signature` header or the
    /// other way round (replacing a Bearer `Authorization`) (`httpsig.placement`).
    MoveSignature,
}

/// A signed time shift: `-10m` (earlier), `5m` or `+5m` (later), in ms, s or m.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeShift {
    /// The shift goes back in time.
    pub earlier: bool,
    pub by: std::time::Duration,
}

impl TimeShift {
    pub fn parse(text: &str) -> Result<TimeShift, String> {
        let text = text.trim();
        let (earlier, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let by = parse_duration_within(rest, MAX_TIME_SHIFT)?;
        Ok(TimeShift { earlier, by })
    }

    /// `at` moved by the shift; `None` when that leaves the representable range.
    pub fn apply(self, at: std::time::SystemTime) -> Option<std::time::SystemTime> {
        if self.earlier {
            at.checked_sub(self.by)
        } else {
            at.checked_add(self.by)
        }
    }
}

impl fmt::Display for TimeShift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.earlier { "-" } else { "+" };
        write!(f, "{sign}{} s", self.by.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for TimeShift {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimeShift::parse(&text).map_err(de::Error::custom)
    }
}

impl JsonSchema for TimeShift {
    fn schema_name() -> Cow<'static, str> {
        "TimeShift".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A signed duration: `-10m`, `5m`, `+90s`, `-500ms`.",
            "type": "string",
            "pattern": "^[+-]?[0-9.]+(ms|s|m)$"
        })
    }
}

/// The customer's consent (guide step 3a/3b). On the embedded sandbox the runner fills in the
/// consent form like a browser; elsewhere it prints the URL and takes the code from a loopback
/// redirect listener, `--code`, or a line typed or piped on stdin. Every string is a template.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Authorize {
    /// How the customer consents: `browser` (default) — the consent screen, filled in by the
    /// runner on the embedded sandbox and by a person elsewhere — or `grants-support`, the
    /// sandbox's automated consent that ING's open-banking CLI uses instead of a browser
    /// (`GET /grantssupport/accounts`, `POST /grantssupport/{referenceId}/auth-code` on the
    /// environment's `grants_support` host; the embedded sandbox and ING's sandbox, not
    /// production).
    #[serde(default)]
    pub via: AuthorizeVia,
    /// Country of the consent screen (`/authorize/v2/{country}`), e.g. `NL`. With
    /// `via: grants-support`: the `country_code` asked of authorization-server-url, and the
    /// country of the test profile.
    #[serde(default)]
    pub country: Option<Located<String>>,
    /// `via: grants-support`: the application access token obtained with an HTTP signature,
    /// sent as `Authorization: Bearer` (e.g. `{{app_token}}`).
    #[serde(default)]
    pub token: Option<Located<String>>,
    /// `via: grants-support`: the `location` an earlier `GET /oauth2/authorization-server-url`
    /// answered, or its referenceId (the second-last path segment). Without it the step calls
    /// authorization-server-url itself (`scope`, `redirect_uri`, `country` as `country_code`),
    /// signed with the step's `sign` profile.
    #[serde(default)]
    pub reference: Option<Located<String>>,
    /// A consent URL to open instead of `{{env.consent}}/authorize/v2/{country}` (e.g. the old
    /// flow's `location`); the query parameters below are appended.
    #[serde(default)]
    pub url: Option<Located<String>>,
    /// Space-separated scope-tokens (required unless `code: false`).
    #[serde(default)]
    pub scope: Option<Located<String>>,
    /// Whether the redirect carries an authorization code (default `true`). `false` for an
    /// aggregator such as the PSD2 hub, which exchanges the bank's code itself: the step opens
    /// `url` as given (no OAuth parameters added) and checks that the customer comes back to
    /// `redirect_uri` without an `error`.
    #[serde(default = "yes")]
    pub code: bool,
    /// Where the bank sends the customer back; must be registered for the application.
    #[serde(default)]
    pub redirect_uri: Option<Located<String>>,
    /// The `state` value (default: a fresh random one); the redirect must return it unchanged.
    #[serde(default)]
    pub state: Option<Located<String>>,
    /// Default: the environment's `client_id`.
    #[serde(default)]
    pub client_id: Option<Located<String>>,
    /// Embedded sandbox: the test profile to pick, by its name on the screen or its id
    /// (default: the first one listed). With `via: grants-support`, on any sandbox: a profile
    /// of `GET /grantssupport/accounts` by name or id (default: the first of `country` that
    /// grants every scope asked).
    #[serde(default)]
    pub profile: Option<Located<String>>,
    /// Embedded sandbox: press Cancel instead of Next (the redirect then carries an error).
    #[serde(default)]
    pub cancel: bool,
}

/// How an `authorize` step obtains the customer's consent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizeVia {
    /// The consent screen: the runner is the browser on the embedded sandbox, a person elsewhere.
    #[default]
    Browser,
    /// The sandbox's automated consent (grants support), as ING's open-banking CLI uses it.
    GrantsSupport,
}

/// An HTTP request. Every string is a handlebars template.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    pub method: Located<String>,
    /// Absolute URL, usually `{{env.api}}/path`.
    pub url: Located<String>,
    /// Headers, sent in this order.
    #[serde(default)]
    pub headers: OrderedMap<Located<String>>,
    /// Query parameters appended to the URL, form-encoded (space as `+`), in this order.
    #[serde(default)]
    pub query: OrderedMap<Located<String>>,
    /// A JSON body (sent compact; `Content-Type: application/json` unless given).
    #[serde(default)]
    pub json: Option<Located<serde_json::Value>>,
    /// A form body, encoded as ING requires: `application/x-www-form-urlencoded`, space as `+`,
    /// parameters in this order.
    #[serde(default)]
    pub form: Option<Located<OrderedMap<Located<String>>>>,
    /// A body sent byte for byte as written (after rendering).
    #[serde(default)]
    pub raw: Option<Located<String>>,
}

/// A signing profile: by name (from the environment's `profiles`), or written inline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SignRef {
    Named(String),
    Inline(SignProfile),
}

/// How a request is authenticated on the wire.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignProfile {
    pub flow: Flow,
    /// Which of the environment's certificates signs (`signing` by default).
    #[serde(default)]
    pub cert: Option<String>,
    /// http-signature: rsa-sha256 (RSA keys) or ecdsa-sha256/384/512; jws: PS256 (RSA keys),
    /// PS384, PS512, ES256/384/512; client-assertion: RS256 or PS256. Default: by the key.
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// http-signature keyId, a template: `SN={{certs.signing.serial}}` (default) or `{{client_id}}`.
    #[serde(default)]
    pub key_id: Option<String>,
    /// http-signature: the signed headers in order (default `(request-target) date digest`);
    /// jws: sigD.pars (default `(request-target) digest content-type`). `x-request-id` and
    /// `x-ing-reqid` are generated when listed and not set by the step.
    #[serde(default)]
    pub headers: Option<Vec<String>>,
    /// http-signature: `authorization` (`Authorization: Signature …`, the app token) or
    /// `signature-header` (beside a Bearer token). Default: `signature-header` when the request
    /// has an Authorization header, else `authorization`.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// http-signature: a path prefix left out of the signed `(request-target)`, e.g.
    /// `/partner-api` for ING's partner API, which verifies `(request-target): get /ping` for
    /// `GET /partner-api/ping` (its gateway strips the prefix before checking). The request is
    /// still sent to the full URL; the prefix must start with `/` and end at a path segment, and
    /// a request whose path does not start with it is refused before sending.
    #[serde(default)]
    pub request_target_omits: Option<String>,
    /// Send the signing certificate in `TPP-Signature-Certificate` (one-line PEM).
    /// Default: yes for jws, no for http-signature.
    #[serde(default)]
    pub certificate_header: Option<bool>,
    /// client-assertion `aud`, a template; default: the request URL without query.
    #[serde(default)]
    pub audience: Option<String>,
    /// client-assertion header names the certificate by `x5t` (default) or `x5t#S256`.
    #[serde(default)]
    pub thumbprint: Option<Thumbprint>,
}

/// The signing flows of ING's guide.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// No message signature: mutual TLS only.
    #[default]
    Mtls,
    /// draft-cavage HTTP signature (`Signature` / `Authorization: Signature`).
    HttpSignature,
    /// Detached JWS in `x-jws-signature`.
    Jws,
    /// RFC 7523 client assertion.
    ClientAssertion,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Mtls => "mtls",
            Flow::HttpSignature => "http-signature",
            Flow::Jws => "jws",
            Flow::ClientAssertion => "client-assertion",
        }
    }
}

/// Expectations on the response.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status code, or a list of acceptable ones.
    #[serde(default)]
    pub status: Option<Located<StatusSet>>,
    /// Response headers (names case-insensitive): a string means equals, or a check.
    #[serde(default)]
    pub headers: OrderedMap<Located<ValueCheck>>,
    /// JSONPath (RFC 9535) → a scalar means equals, or a check. Every node the path selects must pass.
    #[serde(default)]
    pub json: OrderedMap<Located<ValueCheck>>,
    /// Text the body must contain (one string or a list).
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "OneOrMany")]
    pub body_contains: Vec<String>,
    /// The troubleshooting engine's findings on the request sent: exactly these ids (the diagnosis catalogue,
    /// e.g. `jws.trailing-lf`), in any order; `[]` means none.
    #[serde(default)]
    pub diagnosis: Option<Vec<Located<String>>>,
    /// `FILE#/json/pointer`: the body must validate against that schema. FILE is an API
    /// description of the environment's `contract` (by file name, e.g.
    /// `Account-Information-API.json#/definitions/Balance`) or a JSON/YAML file relative to the
    /// scenario.
    #[serde(default)]
    pub schema: Option<Located<String>>,
    /// `valid`: the response is signed as the bank signs its signed APIs' answers — `Digest` over
    /// the bytes received, `x-jws-signature` over content-type and digest, by a certificate that
    /// chains to the environment's `bank_ca`.
    #[serde(default)]
    pub response_signature: Option<Located<ResponseSignatureCheck>>,
    /// The bank's TLS server certificate as the session presented it — `subject`, `issuer`,
    /// `serial` (hex), `not_after` (RFC 3339) and `days_left` — each a check, e.g.
    /// `days_left: { gte: 30 }`: a certification run notices when the bank's certificate rotates.
    #[serde(default)]
    pub server_certificate: OrderedMap<Located<ValueCheck>>,
    /// The answer must come within this time, e.g. `500ms` or `2s` (measured from sending the
    /// request to its last byte; a polled step's last attempt).
    #[serde(default, deserialize_with = "optional_duration")]
    #[schemars(with = "Option<String>")]
    pub max_time: Option<std::time::Duration>,
}

/// What `expect.response_signature` asks of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResponseSignatureCheck {
    Valid,
}

/// One status code or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSet {
    One(#[schemars(range(min = 100, max = 599))] u16),
    Any(#[schemars(inner(range(min = 100, max = 599)))] Vec<u16>),
}

impl StatusSet {
    /// Every accepted status is an error (4xx/5xx): the step expects a refusal.
    pub fn only_errors(&self) -> bool {
        match self {
            StatusSet::One(s) => *s >= 400,
            StatusSet::Any(list) => !list.is_empty() && list.iter().all(|s| *s >= 400),
        }
    }

    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::One(s) => *s == status,
            StatusSet::Any(list) => list.contains(&status),
        }
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSet::One(s) => write!(f, "{s}"),
            StatusSet::Any(list) => {
                let items: Vec<String> = list.iter().map(u16::to_string).collect();
                write!(f, "one of {}", items.join(", "))
            }
        }
    }
}

/// A check on a value: a plain scalar means `equals`; otherwise a mapping of checks, all of which
/// must pass.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueCheck {
    Equals(serde_json::Value),
    Checks(Box<Checks>),
}

/// The checks a value can be put to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// Equal to this value (strings are templates).
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// Present (true) or absent (false).
    #[serde(default)]
    pub exists: Option<bool>,
    /// A string matching this regular expression (unanchored; use ^…$ to anchor).
    #[serde(default)]
    pub matches: Option<String>,
    /// Length of a string (characters), array or object.
    #[serde(default)]
    pub length: Option<usize>,
    /// A number greater than this.
    #[serde(default)]
    pub gt: Option<f64>,
    /// A number greater than or equal to this.
    #[serde(default)]
    pub gte: Option<f64>,
    /// A number less than this.
    #[serde(default)]
    pub lt: Option<f64>,
    /// A number less than or equal to this.
    #[serde(default)]
    pub lte: Option<f64>,
    /// The JSON type: string, number, integer, boolean, array, object or null.
    #[serde(default, rename = "type")]
    pub json_type: Option<JsonType>,
    /// A string containing this text, or an array with an element equal to this value (strings
    /// are templates).
    #[serde(default)]
    pub contains: Option<serde_json::Value>,
    /// A string starting with this text (a template).
    #[serde(default)]
    pub starts_with: Option<String>,
    /// Equal to one of these values (strings are templates).
    #[serde(default)]
    pub one_of: Option<Vec<serde_json::Value>>,
    /// Passes when these checks do not all pass, e.g. `not: { equals: "" }`.
    #[serde(default)]
    pub not: Option<Box<Checks>>,
    /// A JWT (`header.payload.signature`, base64url): its payload's claims, decoded but not
    /// verified, each JSONPath held to a check, e.g. `jwt: { $.scope: { contains: accounts } }`.
    #[serde(default)]
    pub jwt: Option<OrderedMap<ValueCheck>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

impl<'de> Deserialize<'de> for ValueCheck {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CheckVisitor;
        impl<'de> Visitor<'de> for CheckVisitor {
            type Value = ValueCheck;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar to compare with, or a mapping of checks")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(v.into()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ValueCheck, E> {
                Ok(ValueCheck::Equals(serde_json::Value::Null))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<ValueCheck, A::Error> {
                Err(de::Error::custom(
                    "a list cannot be compared directly: write `equals: [...]`",
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ValueCheck, A::Error> {
                let checks = Checks::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ValueCheck::Checks(Box::new(checks)))
            }
        }
        deserializer.deserialize_any(CheckVisitor)
    }
}

impl JsonSchema for ValueCheck {
    fn schema_name() -> Cow<'static, str> {
        "ValueCheck".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let checks = generator.subschema_for::<Checks>();
        json_schema!({
            "description": "A scalar (equals) or a mapping of checks.",
            // One type per branch: strict validators (ajv) refuse union `type`s.
            "anyOf": [
                { "type": "string" },
                { "type": "number" },
                { "type": "boolean" },
                { "type": "null" },
                checks
            ]
        })
    }
}

/// Where a captured value comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub source: CaptureSource,
    /// Kept out of every output. Defaults to true for names that look secret (token, code, secret,
    /// password, key, signature, assertion).
    pub secret: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaptureSource {
    /// A JSONPath that must select exactly one node.
    Json(String),
    /// A response header (case-insensitive).
    Header(String),
    /// A regular expression on the body: the first capture group if it has one, else the match.
    Regex(String),
    /// A query parameter of the `Location` header (a redirect: `code`, `state`, `error`).
    Query(String),
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CaptureSpec {
    /// JSONPath selecting exactly one node.
    #[serde(default)]
    json: Option<String>,
    /// Response header name.
    #[serde(default)]
    header: Option<String>,
    /// Regular expression on the body.
    #[serde(default)]
    regex: Option<String>,
    /// Query parameter of the redirect's `Location` header, e.g. `code`.
    #[serde(default)]
    query: Option<String>,
    /// Keep the value out of every output.
    #[serde(default)]
    secret: Option<bool>,
}

impl<'de> Deserialize<'de> for Capture {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CaptureVisitor;
        impl<'de> Visitor<'de> for CaptureVisitor {
            type Value = Capture;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a JSONPath string, or a mapping with one of json, header, regex, query",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Capture, E> {
                if !v.starts_with('$') {
                    return Err(E::custom(format!(
                        "`{v}` is not a JSONPath (it must start with `$`); for a header write `{{header: {v}}}`"
                    )));
                }
                Ok(Capture {
                    source: CaptureSource::Json(v.to_string()),
                    secret: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Capture, A::Error> {
                let spec = CaptureSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let source = match (spec.json, spec.header, spec.regex, spec.query) {
                    (Some(p), None, None, None) => CaptureSource::Json(p),
                    (None, Some(h), None, None) => CaptureSource::Header(h),
                    (None, None, Some(r), None) => CaptureSource::Regex(r),
                    (None, None, None, Some(q)) => CaptureSource::Query(q),
                    _ => {
                        return Err(de::Error::custom(
                            "a capture takes exactly one of `json`, `header`, `regex`, `query`",
                        ));
                    }
                };
                Ok(Capture {
                    source,
                    secret: spec.secret,
                })
            }
        }
        deserializer.deserialize_any(CaptureVisitor)
    }
}

impl JsonSchema for Capture {
    fn schema_name() -> Cow<'static, str> {
        "Capture".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let spec = generator.subschema_for::<CaptureSpec>();
        json_schema!({
            "description": "A JSONPath (starting with $), or {json|header|regex|query: .., secret: bool}.",
            "anyOf": [ { "type": "string", "pattern": "^\\$" }, spec ]
        })
    }
}

/// What a snapshot records.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Snapshot {
    Kind(SnapshotKind),
    Detailed(SnapshotSpec),
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Status, content type and body of the response.
    Response,
    /// The troubleshooting engine's findings on the request sent (id, what, fix).
    Diagnosis,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    pub of: SnapshotKind,
    /// Extra JSONPaths whose values are replaced by `[redacted]` in the snapshot.
    #[serde(default)]
    pub redact: Vec<String>,
}

impl Snapshot {
    pub fn kind(&self) -> SnapshotKind {
        match self {
            Snapshot::Kind(kind) => *kind,
            Snapshot::Detailed(spec) => spec.of,
        }
    }

    pub fn extra_redactions(&self) -> &[String] {
        match self {
            Snapshot::Kind(_) => &[],
            Snapshot::Detailed(spec) => &spec.redact,
        }
    }
}

/// Schema stand-in for a field that takes one string or a list of them.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::One(s) => vec![s],
        Either::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn time_shifts_take_a_sign() {
        use super::TimeShift;
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_000);
        let shift = |t| TimeShift::parse(t).unwrap().apply(at).unwrap();
        assert_eq!(shift("-10m"), at - Duration::from_secs(600));
        assert_eq!(shift("5m"), at + Duration::from_secs(300));
        assert_eq!(shift("+90s"), at + Duration::from_secs(90));
        assert!(TimeShift::parse("-soon").is_err());
        assert_eq!(
            TimeShift::parse("-2h").unwrap_err(),
            "`2h`: unknown unit `h`; use ms, s or m (e.g. `2s`)"
        );
    }

    #[test]
    fn durations_take_ms_s_and_m() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("2h").unwrap_err().contains("use ms, s or m"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_duration("1440m"), Ok(Duration::from_secs(86_400)));
        let nines = format!("{}s", "9".repeat(400));
        for huge in ["1441m", "99999999999999999999s", nines.as_str()] {
            let error = parse_duration(huge).unwrap_err();
            assert!(error.contains("too long"), "{huge}: {error}");
        }
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .contains("is too long: at most 1440m")
        );
        assert!(super::TimeShift::parse("-99999999999999m").is_err());
        assert!(super::TimeShift::parse("-527040m").is_ok());
    }
}
