//! `POST /oauth2/token`, `POST /oauth2/token/revoke` and the store of issued access tokens.
//!
//! Grants of `/oauth2/token`:
//! - `client_credentials` with `client_id`, no signature: the mTLS-only application token
//!   (step 2);
//! - `client_credentials` signed in `Authorization: Signature keyId="SN=<serial>"`: the
//!   HTTP-signature application token (step 3c); with `keyId="<client_id>"` instead, the Open
//!   Banking premium application's token (`showcase/token.rs`);
//! - `authorization_code` (step 3d) and `refresh_token`: the customer token, with
//!   `Authorization: Bearer <HTTP-signature application token>` and a `Signature` header whose
//!   keyId is the client_id ([`authenticate_signed`]); the codes and refresh tokens are kept in
//!   `consent/grants.rs`.

mod endpoint;

pub(crate) use crate::kernel::app_tokens::*;
pub use crate::kernel::authenticate::*;
pub use crate::kernel::tokens::*;
pub use endpoint::*;
