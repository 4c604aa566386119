//! escucha: listens to social platforms for mentions of the configured
//! brands, classifies them, stores them in SQLite and pages whoever is on
//! call when a complaint stays unanswered. See DESIGN.md for the flow.

pub mod alert;
pub mod classify;
pub mod config;
pub mod model;
pub mod sources;
pub mod text;
