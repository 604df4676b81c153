//! `POST /sandbox/user-resources/api/user` `{"clientId": "…"}` (optional, the tenant's own id
//! for the user, unique per tenant) → 201 `{"userId", "clientId"}`; `GET …/user/id/{userId}`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{HubError, json_body, reply};
use super::store::{User, new_id};
use super::tenant::tenant_of;
use crate::hub::HubContext;
use crate::kernel::tls::PeerCertificate;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUser {
    #[serde(default)]
    client_id: Option<String>,
}

pub fn user_json(user: &User) -> Value {
    json!({ "userId": user.id, "clientId": user.client_id })
}

pub async fn create(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        // An empty body is a user without clientId.
        let new: NewUser = if body.is_empty() {
            NewUser { client_id: None }
        } else {
            json_body(&body)?
        };
        state.hub.with_tenant(&tenant, |t| {
            if let Some(client_id) = &new.client_id
                && t.users
                    .values()
                    .any(|u| u.client_id.as_ref() == Some(client_id))
            {
                return Err(HubError::conflict(format!(
                    "A user with clientId {client_id} already exists"
                )));
            }
            let user = User {
                id: new_id(),
                client_id: new.client_id,
            };
            let answer = user_json(&user);
            t.insert_user(user);
            Ok(answer)
        })
    });
    reply(StatusCode::CREATED, result)
}

pub async fn get(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path(user_id): Path<String>,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        state
            .hub
            .with_tenant(&tenant, |t| t.user(&user_id).map(user_json))
    });
    reply(StatusCode::OK, result)
}
