//! Presenting outcomes: the console as a run goes, and the report files made from one model
//! (report.json, junit.xml, report.html).

pub mod builder;
pub mod console;
pub mod coverage;
pub mod curl;
pub mod curl_export;
pub mod files;
pub mod html;
pub mod json_events;
pub mod junit;
pub mod model;
pub mod printable;
pub mod request_archive;
pub mod sink;
pub mod tap;
pub mod terminal;
pub mod wire_log;
pub mod write_warnings;
