//! Alerting: who to tell and when. Planning is pure (`plan`, `oncall`);
//! `dispatch` writes pages to the outbox and delivers them.

pub mod oncall;
pub mod plan;
