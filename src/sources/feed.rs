//! Feed source: placeholder until its branch lands (no queries, so the
//! daemon never polls it).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;

pub struct FeedSource {
    http: Http,
    every: Duration,
}

impl FeedSource {
    pub fn new(cfg: &[crate::config::FeedSource], _brands: &[crate::config::Brand]) -> FeedSource {
        FeedSource { http: Http::new("feed"), every: cfg.first().map_or(Duration::from_secs(600), |f| f.schedule.every) }
    }
    pub fn queries(&self) -> Vec<Query> {
        vec![]
    }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> {
        Err(SourceError::Malformed("feed: not implemented yet".into()))
    }
    pub fn every(&self) -> Duration {
        self.every
    }
    pub fn http(&self) -> &Http {
        &self.http
    }
}
