//! Bluesky source: placeholder until its branch lands (no queries, so the
//! daemon never polls it).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;

pub struct BlueskySource {
    http: Http,
    every: Duration,
}

impl BlueskySource {
    pub fn new(cfg: &crate::config::BlueskySource, _brands: &[crate::config::Brand]) -> BlueskySource {
        BlueskySource { http: Http::new("bluesky"), every: cfg.schedule.every }
    }
    pub fn queries(&self) -> Vec<Query> {
        vec![]
    }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> {
        Err(SourceError::Malformed("bluesky: not implemented yet".into()))
    }
    pub fn every(&self) -> Duration {
        self.every
    }
    pub fn http(&self) -> &Http {
        &self.http
    }
}
