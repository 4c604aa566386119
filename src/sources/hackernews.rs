//! HackerNews source: placeholder until its branch lands (no queries, so the
//! daemon never polls it).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;

pub struct HackerNewsSource {
    http: Http,
    every: Duration,
}

impl HackerNewsSource {
    pub fn new(cfg: &crate::config::HackerNewsSource, _brands: &[crate::config::Brand]) -> HackerNewsSource {
        HackerNewsSource { http: Http::new("hackernews"), every: cfg.schedule.every }
    }
    pub fn queries(&self) -> Vec<Query> {
        vec![]
    }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> {
        Err(SourceError::Malformed("hackernews: not implemented yet".into()))
    }
    pub fn every(&self) -> Duration {
        self.every
    }
    pub fn http(&self) -> &Http {
        &self.http
    }
}
