//! (being written)

use std::sync::Arc;

use axum::Router;

use crate::sandbox::server::SandboxState;

pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
}
