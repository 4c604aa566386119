//! The brand the source tests watch, built directly (no config file).

use escucha::config::{Accounts, Brand, Escalate, RespondWithin};
use std::time::Duration;

/// Interjet, the term "Interjet", 30 min for a complaint, 5 for an
/// escalation, with these accounts.
pub fn interjet(accounts: Accounts) -> Brand {
    Brand {
        id: "interjet".into(),
        name: "Interjet".into(),
        terms: vec!["Interjet".into()],
        exclude: Vec::new(),
        executives: Vec::new(),
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(300) },
        oncall: None,
        accounts,
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: Vec::new(),
        classify: Default::default(),
    }
}
