//! nodecheck-collector: stores reports from a fleet of nodes and serves the aggregated view.
//!
//! The data flow of a request: [`server`] accepts it on a bounded connection; [`auth`] turns
//! its credential into a principal (every route's extractors); [`api`] routes it; a report goes
//! through [`ingest`] (limits, scoring, the batched writer) into [`store`], which keeps reports
//! durably with the per-node state and fleet aggregates maintained at ingest; [`web`] renders
//! the dashboard. [`catalogue`] is what the collector itself knows about checks.

pub mod api;
pub mod app;
pub mod auth;
pub mod catalogue;
pub mod cert;
pub mod config;
pub mod db;
pub mod ingest;
pub mod kubernetes;
pub mod server;
pub mod store;
pub mod tls;
pub mod web;
pub mod webhooks;

#[cfg(test)]
mod api_tests;
