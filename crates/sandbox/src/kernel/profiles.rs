//! The sandbox's test customers ("test profiles"), per country, as ING's sandbox consent screen
//! offers them: the customer picks one, and the authorization code grants that profile's
//! accounts. Plain constants, so the AIS endpoints can serve the same data.
//!
//! Facts (ING's guide and recorded sandbox data): the NL profile names and their order; the NL
//! profile "Hr A van Dijk , Mw B Mol-van Dijk" with account `450ffbb8-9f11-4ec6-a1e1-df48aefc82ef`,
//! IBAN `NL69INGB0123456789`, product `Betaalrekening`, and a credit card `5248 **** **** 1234`;
//! the AT IBAN `AT861921012345678912` (Girokonto) and the RO RON IBAN `RO44INGB0000999908767270`.
//! Everything else — the other accounts' resource ids and IBANs, the BE/DE/AT/RO profile names,
//! the card's resource id — is invented for the embedded sandbox (inference, marked per item).
//! Invented IBANs have valid check digits; ING's `AT861921012345678912` does not (kept verbatim).

/// What kind of account a test profile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A current (payment) account, identified by its IBAN (`/v3/accounts`).
    Current,
    /// A credit card account, identified by its masked PAN (`/v1/card-accounts`).
    Card,
}

/// One account of a test profile, in the fields `/v3/accounts` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// `resourceId`: the id in `/v3/accounts/{id}/…`.
    pub resource_id: &'static str,
    /// Current accounts.
    pub iban: Option<&'static str>,
    /// Cards, as ING shows them (`5248 **** **** 1234`).
    pub masked_pan: Option<&'static str>,
    /// The account name (ING: the holders' names).
    pub name: &'static str,
    /// ISO 4217.
    pub currency: &'static str,
    /// ING's product name (`Betaalrekening`, `Girokonto`, …).
    pub product: &'static str,
    pub kind: AccountKind,
}

/// A test customer on the consent screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// A stable slug, the value of the consent form's `profile` field.
    pub id: &'static str,
    /// The name as the consent screen shows it.
    pub name: &'static str,
    /// Every account the profile grants (the sandbox grants all of them).
    pub accounts: &'static [Account],
    /// The scopes the profile can grant through the automated consent (grants support), in
    /// the order `GET /grantssupport/accounts` lists them. The consent screen does not filter
    /// by them: it grants the scopes the consent request asks for.
    pub scopes: &'static [&'static str],
}

/// A country of ING's consent application (`/authorize/v2/{code}`) with its test profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2, upper case, as in the consent URL.
    pub code: &'static str,
    pub name: &'static str,
    pub profiles: &'static [Profile],
}

const fn current(
    resource_id: &'static str,
    iban: &'static str,
    name: &'static str,
    currency: &'static str,
    product: &'static str,
) -> Account {
    Account {
        resource_id,
        iban: Some(iban),
        masked_pan: None,
        name,
        currency,
        product,
        kind: AccountKind::Current,
    }
}

const fn card(
    resource_id: &'static str,
    masked_pan: &'static str,
    name: &'static str,
    currency: &'static str,
    product: &'static str,
) -> Account {
    Account {
        resource_id,
        iban: None,
        masked_pan: Some(masked_pan),
        name,
        currency,
        product,
        kind: AccountKind::Card,
    }
}

const VAN_DIJK_MOL: &str = "Hr A van Dijk , Mw B Mol-van Dijk";

const BALANCES: &str = "payment-accounts:balances:view";
const TRANSACTIONS: &str = "payment-accounts:transactions:view";
const FUNDS: &str = "payment-accounts:funds-availability:view";
const CARD_TRANSACTIONS: &str = "card-accounts:transactions:view";

/// What a profile with current accounts grants through grants support: the guide's consent
/// screen shows `payment-accounts:balances:view,payment-accounts:transactions:view` beside each
/// profile; funds confirmation is added so that every customer scope of the sandbox has a
/// profile (inference).
const CURRENT_ACCOUNT_SCOPES: &[&str] = &[BALANCES, TRANSACTIONS, FUNDS];

/// The Netherlands: the eight profiles of the guide's screenshot, in its order.
const NL: &[Profile] = &[
    Profile {
        id: "van-dijk-mol",
        name: VAN_DIJK_MOL,
        accounts: &[
            current(
                "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef",
                "NL69INGB0123456789",
                VAN_DIJK_MOL,
                "EUR",
                "Betaalrekening",
            ),
            // The card's resource id is invented.
            card(
                "70b7c00c-2506-4766-9d1f-02bb3ac738f4",
                "5248 **** **** 1234",
                VAN_DIJK_MOL,
                "EUR",
                "CREDITCARD",
            ),
        ],
        scopes: &[BALANCES, TRANSACTIONS, FUNDS, CARD_TRANSACTIONS],
    },
    // Names from the guide; accounts invented.
    Profile {
        id: "a-van-dijk",
        name: "A Van Dijk",
        accounts: &[current(
            "345a7856-35e3-47e1-9838-130a59bbbc96",
            "NL20INGB0001234567",
            "A Van Dijk",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "alice-and-bob",
        name: "Alice and Bob",
        accounts: &[current(
            "05c71f99-b359-452d-8ded-93b1f9bde5b8",
            "NL86INGB0002345678",
            "Alice and Bob",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "jane-doe",
        name: "Jane Doe",
        accounts: &[current(
            "efc7d409-4e81-459b-b838-025b6d95422a",
            "NL55INGB0003456789",
            "Jane Doe",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "john-doe",
        name: "John Doe",
        accounts: &[current(
            "66c222a9-8f73-4951-82b9-1b0cdf82b269",
            "NL03INGB0004567890",
            "John Doe",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "peter-smith",
        name: "Peter Smith",
        accounts: &[current(
            "8e69157e-1235-4cc4-a4aa-56f822ec4306",
            "NL53INGB0005678901",
            "Peter Smith",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "sarah-smith",
        name: "Sarah Smith",
        accounts: &[current(
            "120c7b54-2066-4c8e-a835-f2a0664c04d1",
            "NL56INGB0006789012",
            "Sarah Smith",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "w-van-dijk",
        name: "W Van Dijk",
        accounts: &[current(
            "5229135d-419e-41b9-8dee-0a9e386275cb",
            "NL74INGB0007890123",
            "W Van Dijk",
            "EUR",
            "Betaalrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
];

/// Austria: the first IBAN is ING's; names and the second account are invented.
const AT: &[Profile] = &[
    Profile {
        id: "max-mustermann",
        name: "Max Mustermann",
        accounts: &[current(
            "c55aa4d2-d286-41bc-ac8e-cb86158c5b4c",
            "AT861921012345678912",
            "Max Mustermann",
            "EUR",
            "Girokonto",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "laura-musterfrau",
        name: "Laura Musterfrau",
        accounts: &[current(
            "a6d904e9-faa3-4f56-8208-bcbf803be418",
            "AT971921023456789012",
            "Laura Musterfrau",
            "EUR",
            "Girokonto",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
];

/// Belgium: invented.
const BE: &[Profile] = &[
    Profile {
        id: "jan-peeters",
        name: "Jan Peeters",
        accounts: &[current(
            "543cf2fd-0ef9-4ec7-9f76-13fe25a4fcbb",
            "BE31363012345678",
            "Jan Peeters",
            "EUR",
            "Zichtrekening",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "marie-dubois",
        name: "Marie Dubois",
        accounts: &[current(
            "5afe787a-e8e7-4cb0-812b-009f5061cbef",
            "BE82363023456789",
            "Marie Dubois",
            "EUR",
            "Compte à vue",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
];

/// Germany: invented.
const DE: &[Profile] = &[
    Profile {
        id: "erika-mustermann",
        name: "Erika Mustermann",
        accounts: &[current(
            "9e4f470f-3a94-4a25-bcf3-7bdf4f0c6c59",
            "DE41500105170123456789",
            "Erika Mustermann",
            "EUR",
            "Girokonto",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "hans-schmidt",
        name: "Hans Schmidt",
        accounts: &[current(
            "72165cb9-f0b6-432c-bb5f-9e3fd0f8c1e8",
            "DE70500105171234567890",
            "Hans Schmidt",
            "EUR",
            "Girokonto",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
];

/// Romania: the first IBAN is ING's; "Popescu Corina" with scope
/// `payment-accounts:balances:view` is the profile ING's open-banking CLI selects on grants
/// support (her account is invented); the other names and accounts are invented.
const RO: &[Profile] = &[
    Profile {
        id: "ion-popescu",
        name: "Ion Popescu",
        accounts: &[current(
            "536e5b28-ed1c-4663-b49f-6980d1a7fd30",
            "RO44INGB0000999908767270",
            "Ion Popescu",
            "RON",
            "Cont curent",
        )],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "maria-ionescu",
        name: "Maria Ionescu",
        accounts: &[
            current(
                "ce032d29-ec05-4a96-8c3c-b2d8a7c6393a",
                "RO17INGB0000999908767271",
                "Maria Ionescu",
                "RON",
                "Cont curent",
            ),
            current(
                "3126df2c-ae09-45b1-b5ce-29b5ad391e3b",
                "RO87INGB0000999908767272",
                "Maria Ionescu",
                "EUR",
                "Cont curent",
            ),
        ],
        scopes: CURRENT_ACCOUNT_SCOPES,
    },
    Profile {
        id: "popescu-corina",
        name: "Popescu Corina",
        accounts: &[current(
            "a0869419-a324-4208-9fec-9800db82eeb7",
            "RO60INGB0000999908767273",
            "Popescu Corina",
            "RON",
            "Cont curent",
        )],
        scopes: &[BALANCES],
    },
];

/// Every country the embedded sandbox has test profiles for. ING's guide also lists ES, LU, IT
/// and WB (Wholesale Banking); the sandbox has no profiles for them.
pub const COUNTRIES: &[Country] = &[
    Country {
        code: "NL",
        name: "The Netherlands",
        profiles: NL,
    },
    Country {
        code: "BE",
        name: "Belgium",
        profiles: BE,
    },
    Country {
        code: "DE",
        name: "Germany",
        profiles: DE,
    },
    Country {
        code: "AT",
        name: "Austria",
        profiles: AT,
    },
    Country {
        code: "RO",
        name: "Romania",
        profiles: RO,
    },
];

/// Every country with test profiles, in the order the country selection shows them.
pub fn countries() -> &'static [Country] {
    COUNTRIES
}

/// The country with this code (upper case, as in the consent URL).
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

/// The test profiles of a country, in consent-screen order; empty for a country without any.
pub fn profiles_for(country_code: &str) -> &'static [Profile] {
    country(country_code).map_or(&[], |c| c.profiles)
}

/// One test profile by country and id.
pub fn profile(country_code: &str, id: &str) -> Option<&'static Profile> {
    profiles_for(country_code).iter().find(|p| p.id == id)
}

/// The account with this resource id, with its country and profile.
pub fn account(
    resource_id: &str,
) -> Option<(&'static Country, &'static Profile, &'static Account)> {
    COUNTRIES.iter().find_map(|country| {
        country.profiles.iter().find_map(|profile| {
            profile
                .accounts
                .iter()
                .find(|a| a.resource_id == resource_id)
                .map(|a| (country, profile, a))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// ISO 13616 mod-97 check.
    fn iban_is_valid(iban: &str) -> bool {
        if iban.len() < 5 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
            return false;
        }
        let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
        let mut rest = 0u32;
        for c in rearranged.chars() {
            let Some(value) = c.to_digit(36) else {
                return false;
            };
            for digit in value.to_string().chars() {
                rest = (rest * 10 + digit.to_digit(10).unwrap_or(0)) % 97;
            }
        }
        rest == 1
    }

    #[test]
    fn nl_profiles_are_the_consent_screens() {
        let names: Vec<&str> = profiles_for("NL").iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "Hr A van Dijk , Mw B Mol-van Dijk",
                "A Van Dijk",
                "Alice and Bob",
                "Jane Doe",
                "John Doe",
                "Peter Smith",
                "Sarah Smith",
                "W Van Dijk",
            ]
        );
        let first = profile("NL", "van-dijk-mol").map(|p| p.accounts);
        let accounts = first.unwrap_or_default();
        assert_eq!(accounts.len(), 2);
        assert_eq!(
            accounts[0].resource_id,
            "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef"
        );
        assert_eq!(accounts[0].iban, Some("NL69INGB0123456789"));
        assert_eq!(accounts[0].product, "Betaalrekening");
        assert_eq!(accounts[1].masked_pan, Some("5248 **** **** 1234"));
        assert_eq!(accounts[1].kind, AccountKind::Card);
    }

    #[test]
    fn lookups() {
        assert!(profiles_for("XX").is_empty());
        assert!(profiles_for("nl").is_empty(), "codes are upper case");
        assert!(profile("AT", "van-dijk-mol").is_none());
        let found = account("450ffbb8-9f11-4ec6-a1e1-df48aefc82ef")
            .map(|(country, profile, _)| (country.code, profile.id));
        assert_eq!(found, Some(("NL", "van-dijk-mol")));
        assert!(
            profiles_for("AT")
                .iter()
                .flat_map(|p| p.accounts)
                .any(|a| a.iban == Some("AT861921012345678912") && a.product == "Girokonto")
        );
        assert!(
            profiles_for("RO")
                .iter()
                .flat_map(|p| p.accounts)
                .any(|a| a.iban == Some("RO44INGB0000999908767270") && a.currency == "RON")
        );
    }

    #[test]
    fn data_is_consistent() {
        let mut resource_ids = HashSet::new();
        for country in countries() {
            assert!(!country.profiles.is_empty(), "{}", country.code);
            let mut ids = HashSet::new();
            for profile in country.profiles {
                assert!(ids.insert(profile.id), "duplicate profile {}", profile.id);
                assert!(
                    profile
                        .id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{}",
                    profile.id
                );
                assert!(!profile.accounts.is_empty(), "{}", profile.id);
                for account in profile.accounts {
                    assert!(
                        resource_ids.insert(account.resource_id),
                        "duplicate {}",
                        account.resource_id
                    );
                    assert!(uuid::Uuid::parse_str(account.resource_id).is_ok());
                    match account.kind {
                        AccountKind::Current => {
                            let iban = account.iban.unwrap_or_default();
                            assert!(iban.starts_with(country.code), "{iban}");
                            assert!(account.masked_pan.is_none());
                            // ING's own AT example IBAN has wrong check digits; kept verbatim.
                            if iban != "AT861921012345678912" {
                                assert!(iban_is_valid(iban), "{iban}");
                            }
                        }
                        AccountKind::Card => {
                            assert!(account.iban.is_none() && account.masked_pan.is_some());
                        }
                    }
                }
            }
        }
        assert!(iban_is_valid("NL69INGB0123456789"));
        assert!(!iban_is_valid("NL69INGB0123456780"));
    }
}
