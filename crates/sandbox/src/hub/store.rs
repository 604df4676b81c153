//! The hub's state: per tenant (TLS client certificate) its registered URLs, users, consents
//! and updates. One lock: every operation is a few map lookups.

use std::collections::{HashMap, VecDeque};
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

/// At most this many users, consents and updates (each) per tenant; past it the oldest are
/// forgotten.
pub const MAX_PER_TENANT: usize = 10_000;
/// A completed update is forgotten this long after it completed (sandbox time).
pub const COMPLETED_UPDATE_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Default)]
pub struct Tenant {
    pub urls: TenantUrls,
    pub users: HashMap<String, User>,
    pub consents: HashMap<String, Consent>,
    pub updates: HashMap<String, Update>,
    /// Ids in creation order, for forgetting the oldest (ids of deleted entries are skipped).
    order: CreationOrder,
}

#[derive(Debug, Default)]
struct CreationOrder {
    users: VecDeque<String>,
    consents: VecDeque<String>,
    updates: VecDeque<String>,
}

/// Makes room for one more entry in `map`: pops the oldest ids until it is below `cap`, and
/// keeps the queue within twice the map (ids of deleted entries).
fn make_room<V>(map: &mut HashMap<String, V>, order: &mut VecDeque<String>, cap: usize) {
    while map.len() >= cap {
        match order.pop_front() {
            Some(id) => {
                map.remove(&id);
            }
            None => break,
        }
    }
    if order.len() > 2 * map.len() + 64 {
        order.retain(|id| map.contains_key(id));
    }
}

impl Tenant {
    pub fn insert_user(&mut self, user: User) {
        make_room(&mut self.users, &mut self.order.users, MAX_PER_TENANT);
        self.order.users.push_back(user.id.clone());
        self.users.insert(user.id.clone(), user);
    }

    pub fn insert_consent(&mut self, consent: Consent) {
        make_room(&mut self.consents, &mut self.order.consents, MAX_PER_TENANT);
        self.order.consents.push_back(consent.id.clone());
        self.consents.insert(consent.id.clone(), consent);
    }

    /// Inserts `update`, forgetting updates completed more than
    /// [`COMPLETED_UPDATE_RETENTION`] before `now` and, past the cap, the oldest.
    pub fn insert_update(&mut self, update: Update, now: SystemTime) {
        let updates = &mut self.updates;
        updates.retain(|_, u| {
            u.status != UpdateStatus::Completed
                || u.changed
                    .checked_add(COMPLETED_UPDATE_RETENTION)
                    .is_none_or(|until| until > now)
        });
        make_room(updates, &mut self.order.updates, MAX_PER_TENANT);
        self.order.updates.push_back(update.id.clone());
        self.updates.insert(update.id.clone(), update);
    }

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

#[cfg(test)]
mod bound_tests {
    use super::*;
    use std::time::Duration;

    fn update(id: String, status: UpdateStatus, at: SystemTime) -> Update {
        Update {
            id,
            user_id: "u".into(),
            consent_id: "c".into(),
            callback_url: None,
            status,
            created: at,
            changed: at,
        }
    }

    #[test]
    fn a_tenant_forgets_old_completed_updates_and_keeps_each_kind_capped() {
        let mut tenant = Tenant::default();
        let start = SystemTime::now();
        for i in 0..MAX_PER_TENANT + 5 {
            tenant.insert_user(User {
                id: format!("user{i}"),
                client_id: None,
            });
        }
        assert_eq!(tenant.users.len(), MAX_PER_TENANT);
        assert!(!tenant.users.contains_key("user0"), "oldest forgotten");
        assert!(
            tenant
                .users
                .contains_key(&format!("user{}", MAX_PER_TENANT + 4))
        );

        tenant.insert_update(update("done".into(), UpdateStatus::Completed, start), start);
        tenant.insert_update(
            update("running".into(), UpdateStatus::Running, start),
            start,
        );
        let later = start + COMPLETED_UPDATE_RETENTION + Duration::from_secs(1);
        tenant.insert_update(update("new".into(), UpdateStatus::Pending, later), later);
        assert!(!tenant.updates.contains_key("done"));
        assert!(tenant.updates.contains_key("running"));
        assert!(tenant.updates.contains_key("new"));
    }
}
