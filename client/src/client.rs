//! The HTTP side: one `reqwest` client, the server's endpoints, error mapping.

use std::time::Duration;

use rapport_core::rules::{Principal, Role};
use rapport_core::sync::{Message, SyncRequest, SyncResponse};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::endpoint::Endpoint;
use crate::error::ClientError;
use crate::retry::{RetryPolicy, retrying};

/// The `User-Agent` of every request: the server judges a minimum client
/// version by it (every release since 0.1.0 sends it on HTTP).
pub(crate) const USER_AGENT_VALUE: &str = concat!("rapport-client/", env!("CARGO_PKG_VERSION"));

/// Timeouts and retries of a [`Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Giving up on opening a connection.
    pub connect_timeout: Duration,
    /// Giving up on one whole exchange (request sent, response read).
    pub request_timeout: Duration,
    /// How each sync exchange is retried (429, 503, 507, no answer).
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
        }
    }
}

/// The response's `Retry-After` header, if readable.
pub(crate) fn retry_after(response: &reqwest::Response) -> Option<String> {
    response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A connection profile for one Rapport server and one device token.
///
/// Cheap to clone (the connection pool is shared). Holds no replica: every
/// call that syncs takes the replica it works on.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) endpoint: Endpoint,
    pub(crate) auth: HeaderValue,
    pub(crate) http: reqwest::Client,
    pub(crate) tls: std::sync::Arc<rustls::ClientConfig>,
    pub(crate) options: ClientOptions,
    /// The server answered a version-2 request with `unsupported_version`
    /// (a 0.1.0 server): it is sent version-1 requests from then on.
    pub(crate) v1_only: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Client {
    /// A client for `server_url` (e.g. `https://rapport.example.com`) sending
    /// `token` as `Authorization: Bearer <token>`. Validates both; connects nothing.
    pub fn new(server_url: &str, token: &str) -> Result<Client, ClientError> {
        Client::with_options(server_url, token, ClientOptions::default())
    }

    pub fn with_options(server_url: &str, token: &str, options: ClientOptions) -> Result<Client, ClientError> {
        Client::with_ca_cert(server_url, token, options, None)
    }

    /// A client that also trusts `ca_cert_pem` (PEM: one or more CA
    /// certificates, e.g. a self-hosted server's company CA) besides the
    /// platform's trust store, for HTTPS and the live WebSocket.
    pub fn with_ca_cert(
        server_url: &str,
        token: &str,
        options: ClientOptions,
        ca_cert_pem: Option<&str>,
    ) -> Result<Client, ClientError> {
        let endpoint = Endpoint::parse(server_url)?;
        let token = token.trim();
        if token.is_empty() {
            return Err(ClientError::InvalidToken { reason: "the token is empty".into() });
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ClientError::InvalidToken {
            reason:
                "the token contains characters that cannot be sent in an HTTP header (spaces, line breaks or non-ASCII)"
                    .into(),
        })?;
        auth.set_sensitive(true);
        let tls = crate::tls::config(ca_cert_pem)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|e| ClientError::Tls(crate::error::root_cause(&e)))?;
        Ok(Client { endpoint, auth, http, tls, options, v1_only: Default::default() })
    }

    /// The server's base URL, normalized (no trailing slash).
    pub fn server_url(&self) -> &str {
        self.endpoint.base()
    }

    /// Checks that the server answers `GET /healthz` with a success status.
    /// Needs no token; use a no-op sync to check the token.
    pub async fn health(&self) -> Result<(), ClientError> {
        let url = self.endpoint.http("healthz");
        let response = self.http.get(url.clone()).send().await.map_err(|e| self.network_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(&response);
        let body = response.bytes().await.unwrap_or_default();
        Err(ClientError::from_status(self.endpoint.base(), status.as_u16(), retry_after.as_deref(), &body))
    }

    /// Who this device's user is to the permission rules (`GET /v1/whoami`),
    /// or `None` from a server too old to say (the device then does not
    /// pre-check its edits).
    pub async fn rules(&self) -> Result<Option<Principal>, ClientError> {
        let owner = match self.whoami().await {
            Ok(owner) => owner,
            Err(ClientError::Server { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let role = Role::parse(&owner.role)
            .ok_or_else(|| self.protocol_error(format!("unknown role {:?}; upgrade Rapport", owner.role)))?;
        Ok(Some(Principal {
            user: owner.user,
            role,
            teams: owner.teams.into_iter().collect(),
            territories: owner.territories.into_iter().collect(),
        }))
    }

    /// Sends one request and returns the server's response, without touching a
    /// replica: for tools and load tests that build requests themselves.
    /// Retried under the client's [`RetryPolicy`].
    pub async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, ClientError> {
        let bytes = Message::Request(request).encode();
        Ok(self.post_sync_retrying(bytes).await?.0)
    }

    /// [`Client::post_sync`] under the client's [`RetryPolicy`] (the same
    /// bytes again: the server stores each change once).
    pub(crate) async fn post_sync_retrying(&self, request: Vec<u8>) -> Result<(SyncResponse, usize), ClientError> {
        retrying(
            &self.options.retry,
            || self.post_sync(request.clone()),
            |e, wait| tracing::info!(error = %e, wait_ms = wait.as_millis() as u64, "sync exchange failed; retrying"),
        )
        .await
    }

    /// One `POST /v1/sync` exchange of encoded message bytes.
    pub(crate) async fn post_sync(&self, request: Vec<u8>) -> Result<(SyncResponse, usize), ClientError> {
        let response = self
            .http
            .post(self.endpoint.http("v1/sync"))
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(request)
            .send()
            .await
            .map_err(|e| self.network_error(&e))?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = response.bytes().await.map_err(|e| self.network_error(&e))?;
        if !status.is_success() {
            return Err(ClientError::from_status(self.endpoint.base(), status.as_u16(), retry_after.as_deref(), &body));
        }
        Ok((self.decode_response(&body)?, body.len()))
    }

    pub(crate) fn decode_response(&self, bytes: &[u8]) -> Result<SyncResponse, ClientError> {
        match Message::decode(bytes) {
            Ok(Message::Response(r)) => Ok(r),
            Ok(Message::Request(_)) => Err(self.protocol_error("a request where a response was expected".into())),
            Err(e) => Err(self.protocol_error(e.to_string())),
        }
    }

    /// Whether requests go out in protocol version 1 (the server speaks no later one).
    pub(crate) fn v1_only(&self) -> bool {
        self.v1_only.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notes a server that refused protocol version 2; returns whether `e` is that refusal.
    pub(crate) fn refused_v2(&self, e: &ClientError) -> bool {
        let refused = matches!(e, ClientError::Server { code, .. } if code == "unsupported_version");
        if refused && !self.v1_only() {
            tracing::info!(server = self.endpoint.base(), "the server speaks sync protocol version 1 only");
            self.v1_only.store(true, std::sync::atomic::Ordering::Relaxed);
            return true;
        }
        false
    }

    /// `GET path` with this client's token, decoded from JSON; a refusal is
    /// the typed error its status and body describe.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self
            .http
            .get(self.endpoint.http(path))
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .send()
            .await
            .map_err(|e| self.network_error(&e))?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = response.bytes().await.map_err(|e| self.network_error(&e))?;
        if !status.is_success() {
            return Err(ClientError::from_status(self.endpoint.base(), status.as_u16(), retry_after.as_deref(), &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| self.protocol_error(format!("the answer to /{path} is not the expected JSON ({e})")))
    }

    pub(crate) fn protocol_error(&self, reason: String) -> ClientError {
        ClientError::Protocol { url: self.endpoint.base().to_owned(), reason }
    }

    pub(crate) fn network_error(&self, e: &reqwest::Error) -> ClientError {
        let timeout = if e.is_connect() { self.options.connect_timeout } else { self.options.request_timeout };
        ClientError::network(self.endpoint.base(), e, timeout)
    }
}
