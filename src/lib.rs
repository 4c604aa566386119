//! escucha: listens to social platforms for mentions of the configured
//! brands, classifies them, stores them in SQLite and pages whoever is on
//! call when a complaint stays unanswered. See DESIGN.md for the flow.

pub mod classify;
pub mod config;
pub mod model;
pub mod sources;
pub mod text;
pub mod clock;
pub mod store;
pub mod alert;
pub mod matcher;
pub mod cli;
pub mod daemon;
pub mod ingest;
pub mod systemd;
