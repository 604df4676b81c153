//! The hub's state: per tenant (TLS client certificate) its registered URLs, users, consents
//! and updates. One lock: every operation is a few map lookups.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::UpdateTiming;
use crate::kernel::profiles::Profile;

/// SHA-256 of the tenant's TLS client certificate.
pub type TenantId = [u8; 32];

/// A bank reachable through the hub: the embedded sandbox's ING countries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bank {
    pub bank_id: &'static str,
    pub bank_id_type: &'static str,
    pub name: &'static str,
    /// The country of the bank's test profiles (psd2::profiles).
    pub country: &'static str,
}

pub const BANKS: &[Bank] = &[
    Bank {
        bank_id: "INGBNL2A",
        bank_id_type: "BIC",
        name: "ING Bank N.V.",
        country: "NL",
    },
    Bank {
        bank_id: "BBRUBEBB",
        bank_id_type: "BIC",
        name: "ING Belgium",
        country: "BE",
    },
    Bank {
        bank_id: "INGDDEFF",
        bank_id_type: "BIC",
        name: "ING-DiBa",
        country: "DE",
    },
    Bank {
        bank_id: "INGBATWW",
        bank_id_type: "BIC",
        name: "ING Austria",
        country: "AT",
    },
    Bank {
        bank_id: "INGBROBU",
        bank_id_type: "BIC",
        name: "ING Bank Romania",
        country: "RO",
    },
];

pub fn bank(bank_id: &str, bank_id_type: &str) -> Option<&'static Bank> {
    BANKS.iter().find(|b| {
        b.bank_id.eq_ignore_ascii_case(bank_id) && b.bank_id_type.eq_ignore_ascii_case(bank_id_type)
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantUrls {
    pub redirect_urls: Vec<String>,
    pub update_callback_urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentStatus {
    Requested,
    Given,
    Rejected,
}

impl ConsentStatus {
    pub fn name(self) -> &'static str {
        match self {
            ConsentStatus::Requested => "requested",
            ConsentStatus::Given => "given",
            ConsentStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Consent {
    pub id: String,
    pub user_id: String,
    pub bank: &'static Bank,
    pub redirect_url: String,
    pub status: ConsentStatus,
    /// The bank's test customer who consented.
    pub profile: Option<&'static Profile>,
    /// Set once an update of this consent completed: its data can be read.
    pub data_ready: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    Pending,
    Running,
    Completed,
}

impl UpdateStatus {
    pub fn name(self) -> &'static str {
        match self {
            UpdateStatus::Pending => "pending",
            UpdateStatus::Running => "running",
            UpdateStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Update {
    pub id: String,
    pub user_id: String,
    pub consent_id: String,
    pub callback_url: Option<String>,
    pub status: UpdateStatus,
    pub created: SystemTime,
    pub changed: SystemTime,
}

#[derive(Debug, Default)]
pub struct Tenant {
    pub urls: TenantUrls,
    pub users: HashMap<String, User>,
    pub consents: HashMap<String, Consent>,
    pub updates: HashMap<String, Update>,
}

impl Tenant {
    /// The user, or the hub's 404.
    pub fn user(&self, user_id: &str) -> Result<&User, super::error::HubError> {
        self.users
            .get(user_id)
            .ok_or_else(|| super::error::HubError::not_found(format!("User {user_id} not found")))
    }

    /// The user's consent, or the hub's 404 (a consent of another user is not found either).
    pub fn consent(
        &self,
        user_id: &str,
        consent_id: &str,
    ) -> Result<&Consent, super::error::HubError> {
        self.user(user_id)?;
        self.consents
            .get(consent_id)
            .filter(|c| c.user_id == user_id)
            .ok_or_else(|| {
                super::error::HubError::not_found(format!(
                    "Consent {consent_id} not found for user {user_id}"
                ))
            })
    }
}

#[derive(Debug, Default)]
pub struct HubStore {
    tenants: Mutex<HashMap<TenantId, Tenant>>,
    pub timing: UpdateTiming,
}

impl HubStore {
    pub fn new(timing: UpdateTiming) -> Self {
        Self {
            tenants: Mutex::default(),
            timing,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TenantId, Tenant>> {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the tenant (created on first use).
    pub fn with_tenant<T>(&self, tenant: &TenantId, f: impl FnOnce(&mut Tenant) -> T) -> T {
        f(self.lock().entry(*tenant).or_default())
    }

    /// Runs `f` on the consent `consent_id` and its tenant, whoever that is: the consent screen
    /// is reached without a certificate (tenants are few).
    pub fn with_consent<T>(
        &self,
        consent_id: &str,
        f: impl FnOnce(&mut Tenant, &str) -> T,
    ) -> Option<T> {
        let mut tenants = self.lock();
        let tenant = tenants
            .values_mut()
            .find(|t| t.consents.contains_key(consent_id))?;
        Some(f(tenant, consent_id))
    }
}

/// A fresh resource id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
