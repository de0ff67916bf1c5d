//! Azure Digital Twins' data-plane REST API, the little of it the simulator's `adt` mode and
//! `handler twins setup` need: patch a twin, upload models, create twins and relationships.

pub mod setup;

use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};
use json_patch::Patch;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

/// The data-plane API version every request names.
pub const API_VERSION: &str = "2023-10-31";
/// The token scope of the Azure Digital Twins data plane.
pub const SCOPE: &str = "https://digitaltwins.azure.net/.default";

/// A failed call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No token could be had (no managed identity, no Azure CLI login).
    #[error("no Azure Digital Twins token: {0}")]
    Token(String),
    /// The instance could not be reached.
    #[error("Azure Digital Twins is unreachable: {0}")]
    Transport(String),
    /// The instance answered with an error status.
    #[error("Azure Digital Twins answered {status} to {what}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The request, e.g. `PATCH /digitaltwins/GrindingStep`.
        what: String,
        /// The start of the answer's body.
        message: String,
    },
    /// `ADT_INSTANCE_URL` is not a URL.
    #[error(
        "ADT_INSTANCE_URL is not a URL such as https://myinstance.api.weu.digitaltwins.azure.net"
    )]
    BadUrl,
}

/// Where bearer tokens come from: a managed identity or the developer's login in production, a
/// fixed token in tests.
pub trait TokenSource: Send + Sync {
    /// A bearer token for the data plane.
    fn token(&self) -> BoxFuture<'_, Result<String, ApiError>>;
}

/// Tokens from an Azure credential.
pub struct CredentialTokens(pub Arc<dyn azure_core::credentials::TokenCredential>);

impl TokenSource for CredentialTokens {
    fn token(&self) -> BoxFuture<'_, Result<String, ApiError>> {
        async move {
            let token = self
                .0
                .get_token(&[SCOPE], None)
                .await
                .map_err(|e| ApiError::Token(e.to_string()))?;
            Ok(token.token.secret().to_owned())
        }
        .boxed()
    }
}

/// A fixed token (tests, or a token obtained elsewhere).
pub struct StaticToken(pub String);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<String, ApiError>> {
        let token = self.0.clone();
        async move { Ok(token) }.boxed()
    }
}

/// Whether a create-if-absent call made something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// It was created.
    Created,
    /// It already existed; nothing changed.
    Existed,
}

/// A client for one instance.
#[derive(Clone)]
pub struct DigitalTwinsClient {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<dyn TokenSource>,
}

impl DigitalTwinsClient {
    /// A client for the instance at `instance_url`.
    pub fn new(instance_url: &str, tokens: Arc<dyn TokenSource>) -> Result<Self, ApiError> {
        let base = Url::parse(instance_url.trim_end_matches('/')).map_err(|_| ApiError::BadUrl)?;
        if !matches!(base.scheme(), "https" | "http") || base.host_str().is_none() {
            return Err(ApiError::BadUrl);
        }
        Ok(DigitalTwinsClient {
            http: reqwest::Client::new(),
            base,
            tokens,
        })
    }

    /// Applies a JSON Patch to a twin (ADT raises the twin-update notification).
    #[tracing::instrument(skip(self, patch))]
    pub async fn patch_twin(&self, twin_id: &str, patch: &Patch) -> Result<(), ApiError> {
        let url = self.url(&["digitaltwins", twin_id]);
        let body = serde_json::to_string(patch).expect("a JSON Patch serialises");
        self.call(
            Method::PATCH,
            url,
            Some(body),
            "application/json-patch+json",
            false,
        )
        .await?;
        Ok(())
    }

    /// Whether a model with this id is uploaded.
    pub async fn model_exists(&self, model_id: &str) -> Result<bool, ApiError> {
        let url = self.url(&["models", model_id]);
        match self
            .call(Method::GET, url, None, "application/json", false)
            .await
        {
            Ok(_) => Ok(true),
            Err(ApiError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads models in one call (dependencies first in the list).
    pub async fn create_models(&self, models: &[Value]) -> Result<(), ApiError> {
        let url = self.url(&["models"]);
        let body = Value::Array(models.to_vec()).to_string();
        self.call(Method::POST, url, Some(body), "application/json", false)
            .await?;
        Ok(())
    }

    /// Creates a twin unless one with this id exists (`If-None-Match: *`).
    pub async fn create_twin_if_absent(
        &self,
        twin_id: &str,
        body: &Value,
    ) -> Result<Created, ApiError> {
        let url = self.url(&["digitaltwins", twin_id]);
        self.put_if_absent(url, body).await
    }

    /// Creates a relationship unless one with this id exists.
    pub async fn create_relationship_if_absent(
        &self,
        source: &str,
        relationship_id: &str,
        body: &Value,
    ) -> Result<Created, ApiError> {
        let url = self.url(&["digitaltwins", source, "relationships", relationship_id]);
        self.put_if_absent(url, body).await
    }

    /// PUTs `body` to `url` with `If-None-Match: *`: created, or already there.
    async fn put_if_absent(&self, url: Url, body: &Value) -> Result<Created, ApiError> {
        let body = Some(body.to_string());
        created(
            self.call(Method::PUT, url, body, "application/json", true)
                .await,
        )
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(segments);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    /// Sends one request; `body` is JSON text, sent with `content_type`.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<String>,
        content_type: &str,
        only_if_absent: bool,
    ) -> Result<StatusCode, ApiError> {
        let what = format!("{method} {}", url.path());
        let token = self.tokens.token().await?;
        let mut request = self.http.request(method, url).bearer_auth(&token);
        if let Some(body) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        if only_if_absent {
            request = request.header("If-None-Match", "*");
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status);
        }
        let text = response.text().await.unwrap_or_default();
        // Gateways and proxies have been known to quote the request's Authorization header in
        // their error body; the message goes into logs and answers, the token must not.
        Err(ApiError::Status {
            status: status.as_u16(),
            what,
            message: text
                .replace(&token, "<redacted>")
                .chars()
                .take(300)
                .collect(),
        })
    }
}

fn created(result: Result<StatusCode, ApiError>) -> Result<Created, ApiError> {
    match result {
        Ok(_) => Ok(Created::Created),
        Err(ApiError::Status { status: 412, .. }) => Ok(Created::Existed),
        Err(e) => Err(e),
    }
}
