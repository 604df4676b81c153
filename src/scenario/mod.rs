//! Scenario files: the YAML model, loading with positions, validation and the JSON Schema.

pub mod discover;
pub mod error;
pub mod load;
pub mod located;
pub mod matrix;
pub mod model;
pub mod names;
pub mod ordered;
pub mod reuse;
pub mod schema;
pub mod step_use;
mod yaml;

pub use error::{SourceError, SourceErrors};
pub use load::{LoadedScenario, load_scenario};
pub use located::{Located, Position};
pub use matrix::load_scenarios;
