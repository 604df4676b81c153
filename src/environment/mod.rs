//! Environments: loading `environments.yaml` and turning one entry into an active target.

pub mod active;
pub mod expand;
pub mod hosts;
pub mod model;

pub use active::{
    ActiveEnvironment, ContractCache, ContractOverride, EnvironmentError, load_environments,
    locate_environments_file, open_contract,
};
