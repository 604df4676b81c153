//! The integration tests of the workspace, one binary (one link, one process start per run):
//! each module is what used to be a test file of its own; `common` holds the shared helpers (a
//! sandbox on 127.0.0.1 that stops when dropped, running the real binary).

mod common;

mod authorize_step;
mod bad_input;
mod bad_input_suite;
mod callback_step;
mod cert_validity;
mod certs_inspect;
mod certs_issue;
mod cli;
mod command_line_vars;
mod completions_man;
mod contract;
mod contract_library;
mod contract_probe;
mod curl_export;
mod diagnose_engine;
mod events;
mod explain;
mod explain_har;
mod fuzz;
mod guide_scripts;
mod hardening_output;
mod hardening_runner;
mod hardening_sandbox;
mod hardening_secrets;
mod harness;
mod messages;
mod mutate_faults;
mod pkcs12_environment;
mod production_writes;
mod put_guard;
mod readme_walkthrough;
mod redaction_everywhere;
mod renewal;
mod report_html;
mod reports;
mod response_signature;
mod retry;
mod run_format;
mod sandbox_ais;
mod sandbox_granting;
mod sandbox_hub;
mod sandbox_partner;
mod sandbox_payment_request;
mod sandbox_pis;
mod sandbox_server;
mod sandbox_showcase;
mod sandbox_signatures;
mod sign_aws_lc;
mod sign_command;
mod sign_openssl;
mod sign_vectors;
mod transport_wire;
