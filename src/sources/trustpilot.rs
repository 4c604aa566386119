//! Trustpilot reviews (`[source.trustpilot]`): the Business Units API's
//! private reviews of each configured business unit, newest first, 100 a
//! page by `page` number; a business user's access token (password grant,
//! the API key and secret as Basic credentials), cached until it expires
//! (100 hours). REFERENCE-reviews.md §4. A `companyReply` answers.

use super::http::Http;
use super::reviews::{get_authorized, time, token_request, Listing, Review, TokenCache};
use super::SourceError;
use crate::config::{Secret, TrustpilotSource};
use serde::Deserialize;

/// The documented maximum `perPage`.
pub const PAGE_SIZE: u32 = 100;

const CREDENTIAL: &str = "the business user login (client_id, client_secret, username, password): check the API key and secret of the application and the business user's email and password";

pub struct Api {
    api_base: String,
    token_url: String,
    client_id: Secret,
    client_secret: Secret,
    username: Secret,
    password: Secret,
    token: TokenCache,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default)]
    reviews: Vec<TReview>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TReview {
    id: String,
    #[serde(default)]
    consumer: Option<Consumer>,
    #[serde(default)]
    stars: Option<u8>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    language: Option<String>,
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    company_reply: Option<CompanyReply>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consumer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyReply {
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl Api {
    pub fn new(c: &TrustpilotSource) -> Api {
        Api {
            api_base: c.api_base.trim_end_matches('/').to_string(),
            token_url: c.token_url.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
            token: TokenCache::default(),
        }
    }

    async fn access_token(&self, http: &Http) -> Result<String, SourceError> {
        let now = http.now();
        if let Some(t) = self.token.get(now) {
            return Ok(t);
        }
        let form = [("grant_type", "password"), ("username", self.username.expose()), ("password", self.password.expose())];
        let req = http
            .client()
            .post(&self.token_url)
            .basic_auth(self.client_id.expose(), Some(self.client_secret.expose()))
            .form(&form)
            .header("accept", "application/json");
        let (token, until) = token_request(http, req, CREDENTIAL, now).await?;
        self.token.set(token.clone(), until);
        Ok(token)
    }

    /// One page of `unit`'s reviews; `page` is the 1-based page number.
    pub async fn list(&self, http: &Http, unit: &str, page: Option<&str>) -> Result<Listing, SourceError> {
        let page: u32 = page.and_then(|p| p.parse().ok()).unwrap_or(1);
        let url = format!("{}/v1/private/business-units/{unit}/reviews", self.api_base);
        let params = [("perPage", PAGE_SIZE.to_string()), ("orderBy", "createdat.desc".to_string()), ("page", page.to_string())];
        let resp = get_authorized(http, &url, &params, &self.token, || self.access_token(http), CREDENTIAL).await?;
        let body: ListResponse = resp.json("trustpilot: business unit reviews")?;
        // A full page may have a next one; a page past the end is empty.
        let next = (body.reviews.len() as u32 >= PAGE_SIZE).then(|| (page + 1).to_string());
        Ok(Listing { reviews: body.reviews.into_iter().filter_map(to_review).collect(), next })
    }
}

fn to_review(r: TReview) -> Option<Review> {
    let created = time(&r.created_at)?;
    // `updatedAt` is null until the consumer edits (REFERENCE-reviews.md §4.3).
    let at = r.updated_at.as_deref().and_then(time).unwrap_or(created);
    let consumer = r.consumer.as_ref();
    let text = [r.title.as_deref(), r.text.as_deref()].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n");
    Some(Review {
        url: format!("https://www.trustpilot.com/reviews/{}", r.id),
        author: consumer.and_then(|c| c.display_name.clone()).unwrap_or_else(|| "anonymous".into()),
        author_id: consumer.and_then(|c| c.id.clone()).unwrap_or_else(|| r.id.clone()),
        text,
        lang: r.language.clone(),
        rating: r.stars.filter(|s| (1..=5).contains(s)),
        at,
        sort_at: created,
        reply_at: r.company_reply.and_then(|c| c.updated_at.or(c.created_at)).as_deref().and_then(time),
        id: r.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthesized_page_reads_with_its_company_reply() {
        let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reviews/trustpilot_private_reviews.json")).unwrap();
        let list: ListResponse = serde_json::from_slice(&body).unwrap();
        let r = to_review(list.reviews.into_iter().next().unwrap()).unwrap();
        assert_eq!(r.rating, Some(1));
        assert_eq!(r.author, "Carmen R.");
        assert_eq!(r.author_id, "5e3de1b45fb06f0001790b50");
        assert!(r.text.starts_with("Nadie contesta\nPerdieron mi maleta"));
        assert_eq!(r.reply_at, time("2026-11-20T16:10:00Z"));
        assert_eq!(r.url, "https://www.trustpilot.com/reviews/65f1c0de7a3b2c0001d4e5f6");
    }
}
