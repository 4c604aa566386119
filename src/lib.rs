//! escucha: listens to social platforms for mentions of the configured
//! brands, classifies them, stores them in SQLite and pages whoever is on
//! call when a complaint stays unanswered. See DESIGN.md for the flow.

pub mod ack;
pub mod alert;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod health;
pub mod housekeeping;
pub mod http;
pub mod ingest;
pub mod learning;
pub mod leases;
pub mod matcher;
pub mod metrics;
pub mod model;
pub mod sources;
pub mod store;
pub mod streams;
pub mod systemd;
pub mod text;
pub mod web;
