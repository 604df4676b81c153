//! Presenting outcomes: the console as a run goes, and the report files made from one model
//! (report.json, junit.xml, report.html).

pub mod console;
pub mod curl;
pub mod files;
pub mod html;
pub mod junit;
pub mod model;
