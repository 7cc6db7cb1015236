//! nodecheck-collector: stores reports from a fleet of nodes and serves the aggregated view.
//!
//! [`store`] keeps reports durably with the per-node state and fleet aggregates maintained at
//! ingest; [`api`] serves them over HTTP, through [`server`]'s bounded connections; [`auth`]
//! holds the tokens.

pub mod api;
pub mod auth;
pub mod catalogue;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod kubernetes;
pub mod server;
pub mod store;
pub mod tls;

#[cfg(test)]
mod api_tests;
