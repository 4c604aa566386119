//! Google Business Profile reviews (`[source.google_reviews]`): the v4
//! `accounts.locations.reviews.list` of each configured location, newest
//! update first, 50 a page with `pageToken`; an OAuth 2.0 user token from
//! the refresh token, cached until it expires. REFERENCE-reviews.md §1.
//! The windowing and the posts are `reviews`' work.

use super::http::Http;
use super::reviews::{get_authorized, time, token_request, Listing, Review, TokenCache};
use super::SourceError;
use crate::config::{GoogleReviewsSource, Secret};
use serde::Deserialize;

/// The documented maximum `pageSize`.
pub const PAGE_SIZE: u32 = 50;

/// Names the credential in refusals.
const CREDENTIAL: &str =
    "the OAuth client and refresh token (client_id, client_secret, refresh_token): authorize the app again for the location's owner and update refresh_token";

pub struct Api {
    api_base: String,
    token_url: String,
    client_id: Secret,
    client_secret: Secret,
    refresh_token: Secret,
    token: TokenCache,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    reviews: Vec<GReview>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GReview {
    review_id: String,
    #[serde(default)]
    reviewer: Option<Reviewer>,
    #[serde(default)]
    star_rating: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    create_time: String,
    #[serde(default)]
    update_time: Option<String>,
    #[serde(default)]
    review_reply: Option<Reply>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reviewer {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    is_anonymous: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    #[serde(default)]
    update_time: Option<String>,
}

impl Api {
    pub fn new(c: &GoogleReviewsSource) -> Api {
        Api {
            api_base: c.api_base.trim_end_matches('/').to_string(),
            token_url: c.token_url.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            refresh_token: c.refresh_token.clone(),
            token: TokenCache::default(),
        }
    }

    async fn access_token(&self, http: &Http) -> Result<String, SourceError> {
        let now = http.now();
        if let Some(t) = self.token.get(now) {
            return Ok(t);
        }
        let form = [
            ("client_id", self.client_id.expose()),
            ("client_secret", self.client_secret.expose()),
            ("refresh_token", self.refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ];
        let req = http.client().post(&self.token_url).form(&form).header("accept", "application/json");
        let (token, until) = token_request(http, req, CREDENTIAL, now).await?;
        self.token.set(token.clone(), until);
        Ok(token)
    }

    /// One page of `location`'s reviews (`accounts/{a}/locations/{l}`).
    pub async fn list(&self, http: &Http, location: &str, page_token: Option<&str>) -> Result<Listing, SourceError> {
        let url = format!("{}/v4/{location}/reviews", self.api_base);
        let mut params = vec![("pageSize", PAGE_SIZE.to_string()), ("orderBy", "updateTime desc".to_string())];
        if let Some(t) = page_token {
            params.push(("pageToken", t.to_string()));
        }
        let resp = get_authorized(http, &url, &params, &self.token, || self.access_token(http), CREDENTIAL).await?;
        let body: ListResponse = resp.json("google_reviews: reviews.list")?;
        Ok(Listing { reviews: body.reviews.into_iter().filter_map(|r| to_review(location, r)).collect(), next: body.next_page_token.filter(|t| !t.is_empty()) })
    }
}

fn stars(s: &str) -> Option<u8> {
    match s {
        "ONE" => Some(1),
        "TWO" => Some(2),
        "THREE" => Some(3),
        "FOUR" => Some(4),
        "FIVE" => Some(5),
        _ => None,
    }
}

fn to_review(location: &str, r: GReview) -> Option<Review> {
    let created = time(&r.create_time)?;
    let updated = r.update_time.as_deref().and_then(time).unwrap_or(created);
    let author = r
        .reviewer
        .as_ref()
        .filter(|v| !v.is_anonymous)
        .and_then(|v| v.display_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "anonymous".into());
    Some(Review {
        // The API gives no public link to one review: the location's reviews
        // in the Business Profile manager, where the owner answers.
        url: format!("https://business.google.com/reviews?location={}", location.rsplit('/').next().unwrap_or(location)),
        author,
        // No reviewer id: each review counts as its own author.
        author_id: r.review_id.clone(),
        text: r.comment.unwrap_or_default(),
        lang: None,
        rating: r.star_rating.as_deref().and_then(stars),
        at: updated,
        sort_at: updated,
        reply_at: r.review_reply.and_then(|x| x.update_time).as_deref().and_then(time),
        id: r.review_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_list_reads_as_reviews_with_stars_and_replies() {
        let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reviews/google_reviews_list.json")).unwrap();
        let list: ListResponse = serde_json::from_slice(&body).unwrap();
        let reviews: Vec<Review> = list.reviews.into_iter().filter_map(|r| to_review("accounts/1234/locations/5678", r)).collect();
        assert_eq!(reviews.len(), 2);
        assert_eq!(reviews[0].rating, Some(1));
        assert_eq!(reviews[0].author, "Lucía Pérez");
        assert!(reviews[0].reply_at.is_none());
        assert_eq!(reviews[1].rating, Some(5));
        assert_eq!(reviews[1].reply_at, time("2026-11-19T10:02:01Z"));
        assert_eq!(list.next_page_token.as_deref(), Some("ChIJd8BlQ2BZwokRAFUEcm_qrcA"));
    }
}
