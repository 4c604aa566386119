//! Google Play reviews (`[source.google_play]`): Android Publisher v3
//! `reviews.list` of each configured package, 100 a page with `token`
//! paging; a service account's RS256 JWT assertion exchanged at `token_url`
//! for an access token, cached until it expires. The API returns only the
//! last week of reviews (created or edited): `escucha check` warns when
//! `every` is longer than a day. REFERENCE-reviews.md §3.
//! A `developerComment` answers the review.

use super::http::Http;
use super::reviews::{get_authorized, token_request, Listing, Review, TokenCache};
use super::SourceError;
use crate::config::{GooglePlaySource, Secret};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The documented maximum `maxResults`.
pub const PAGE_SIZE: u32 = 100;

pub const SCOPE: &str = "https://www.googleapis.com/auth/androidpublisher";

/// Google's ceiling for an assertion's lifetime.
const ASSERTION_LIFETIME: i64 = 3600;

/// A service account's JSON key file: only what signing needs. Its Debug
/// never shows the key.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub client_email: String,
    private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceAccount({})", self.client_email)
    }
}

impl ServiceAccount {
    /// Reads the key file's JSON, or says what is wrong without quoting it.
    pub fn parse(json: &Secret) -> Result<(ServiceAccount, jsonwebtoken::EncodingKey), String> {
        let sa: ServiceAccount = serde_json::from_str(json.expose()).map_err(|e| {
            // serde's message may quote a value: only its category and place.
            format!("is not a service account JSON key ({:?} error at line {} column {})", e.classify(), e.line(), e.column())
        })?;
        if sa.client_email.trim().is_empty() {
            return Err("is not a service account JSON key (client_email is empty)".into());
        }
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(sa.private_key.as_bytes()).map_err(|e| format!("has a private_key that is not an RSA key in PEM ({e})"))?;
        Ok((sa, key))
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

pub struct Api {
    api_base: String,
    token_url: String,
    account: Result<(ServiceAccount, jsonwebtoken::EncodingKey), String>,
    token: TokenCache,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    reviews: Vec<PReview>,
    #[serde(default)]
    token_pagination: Option<TokenPagination>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenPagination {
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PReview {
    review_id: String,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    comments: Vec<Comment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    #[serde(default)]
    user_comment: Option<UserComment>,
    #[serde(default)]
    developer_comment: Option<DeveloperComment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserComment {
    #[serde(default)]
    text: String,
    last_modified: Timestamp,
    #[serde(default)]
    star_rating: Option<u8>,
    #[serde(default)]
    reviewer_language: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeveloperComment {
    last_modified: Timestamp,
}

/// `{"seconds": "1443676826", "nanos": 713000000}`: seconds is a string.
#[derive(Deserialize)]
struct Timestamp {
    seconds: serde_json::Value,
    #[serde(default)]
    nanos: u32,
}

impl Timestamp {
    fn time(&self) -> Option<DateTime<Utc>> {
        let secs = match &self.seconds {
            serde_json::Value::String(s) => s.parse().ok()?,
            serde_json::Value::Number(n) => n.as_i64()?,
            _ => return None,
        };
        Utc.timestamp_opt(secs, self.nanos.min(999_999_999)).single()
    }
}

impl Api {
    pub fn new(c: &GooglePlaySource) -> Api {
        Api {
            api_base: c.api_base.trim_end_matches('/').to_string(),
            token_url: c.token_url.clone(),
            account: ServiceAccount::parse(&c.service_account),
            token: TokenCache::default(),
        }
    }

    fn credential(&self) -> String {
        let who = self.account.as_ref().map(|(a, _)| a.client_email.as_str()).unwrap_or("?");
        format!(
            "the service account {who} (service_account_file): check that its key is not deleted and that it has the Play Console permission to reply to reviews"
        )
    }

    async fn access_token(&self, http: &Http) -> Result<String, SourceError> {
        let now = http.now();
        if let Some(t) = self.token.get(now) {
            return Ok(t);
        }
        let (account, key) = self.account.as_ref().map_err(|e| SourceError::Unauthorized(format!("google_play: service_account_file {e}")))?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = account.private_key_id.clone();
        header.typ = Some("JWT".into());
        // `aud` is the token endpoint the assertion is for: Google's own
        // (the documented constant) unless the config points elsewhere.
        let claims = Claims { iss: &account.client_email, scope: SCOPE, aud: &self.token_url, iat: now.timestamp(), exp: now.timestamp() + ASSERTION_LIFETIME };
        let assertion = jsonwebtoken::encode(&header, &claims, key)
            .map_err(|e| SourceError::Unauthorized(format!("google_play: cannot sign with the service account's key: {e}")))?;
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
        let req = http.client().post(&self.token_url).form(&form).header("accept", "application/json");
        let (token, until) = token_request(http, req, &self.credential(), now).await?;
        self.token.set(token.clone(), until);
        Ok(token)
    }

    /// One page of `package`'s reviews.
    pub async fn list(&self, http: &Http, package: &str, page_token: Option<&str>) -> Result<Listing, SourceError> {
        let url = format!("{}/androidpublisher/v3/applications/{package}/reviews", self.api_base);
        let mut params = vec![("maxResults", PAGE_SIZE.to_string())];
        if let Some(t) = page_token {
            params.push(("token", t.to_string()));
        }
        let resp = get_authorized(http, &url, &params, &self.token, || self.access_token(http), &self.credential()).await?;
        let body: ListResponse = resp.json("google_play: reviews.list")?;
        Ok(listing(package, body))
    }
}

fn listing(package: &str, body: ListResponse) -> Listing {
    let reviews = body
        .reviews
        .into_iter()
        .filter_map(|r| {
            let user = r.comments.iter().find_map(|c| c.user_comment.as_ref())?;
            // No creation time: the last submission is the review's time.
            let at = user.last_modified.time()?;
            let reply_at = r.comments.iter().find_map(|c| c.developer_comment.as_ref()).and_then(|d| d.last_modified.time());
            Some(Review {
                url: format!("https://play.google.com/store/apps/details?id={package}&reviewId={}", r.review_id),
                author: r.author_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "anonymous".into()),
                // "users can write only one review": the review is its author.
                author_id: r.review_id.clone(),
                // A title and a body are joined with a TAB.
                text: user.text.replace('\t', "\n").trim().to_string(),
                lang: user.reviewer_language.clone(),
                rating: user.star_rating.filter(|s| (1..=5).contains(s)),
                at,
                sort_at: at,
                reply_at,
                id: r.review_id,
            })
        })
        .collect();
    Listing { reviews, next: body.token_pagination.and_then(|t| t.next_page_token).filter(|t| !t.is_empty()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_list_reads_with_string_seconds_and_the_developer_reply() {
        let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reviews/google_play_reviews_list.json")).unwrap();
        let l = listing("com.example", serde_json::from_slice(&body).unwrap());
        assert_eq!(l.reviews.len(), 2);
        assert_eq!(l.reviews[0].at.timestamp(), 1_443_676_826);
        assert_eq!(l.reviews[0].reply_at, None);
        assert_eq!(l.reviews[1].reply_at.map(|t| t.timestamp()), Some(1_423_101_467));
        assert_eq!(l.reviews[1].lang.as_deref(), Some("en"));
        assert_eq!(l.next.as_deref(), Some("12334566"));
    }

    #[test]
    fn a_broken_key_file_is_refused_without_quoting_it() {
        let e = ServiceAccount::parse(&Secret::new(r#"{"client_email": "a@b", "private_key": "SECRET-MATERIAL"}"#)).err().unwrap();
        assert!(!e.contains("SECRET-MATERIAL"), "{e}");
        let e = ServiceAccount::parse(&Secret::new(r#"{"client_email": "a@b", "private_key": 7, "x": "SECRET"}"#)).err().unwrap();
        assert!(!e.contains("SECRET") && !e.contains('7'), "{e}");
    }
}
