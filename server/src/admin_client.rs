//! The management commands' way in while the server runs: the admin API
//! (`/v1/admin/...`) with an admin device's token (`RAPPORT_ADMIN_TOKEN`),
//! at `--server URL` or at the address the running server wrote into its
//! data directory ([`crate::config::URL_FILE`]).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::db::audit::{AdminActionEntry, AuditEntry};
use crate::db::users::{DeviceInfo, NewDevice, UserChange, UserInfo};
use crate::manage::ManageError;

/// How long one admin call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A running server's admin API.
#[derive(Debug)]
pub struct AdminApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminApi {
    /// The admin API at `server` (`http://` or `https://`, certificates
    /// checked against the system's trust store) with an admin device's token.
    pub fn new(server: &str, token: &str) -> Result<AdminApi, ManageError> {
        let base = server.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || reqwest::Url::parse(&base).is_err() {
            return Err(ManageError::InvalidServer(base));
        }
        if !crate::auth::valid_token(token.trim()) {
            return Err(ManageError::InvalidToken);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let verifier = rustls_platform_verifier::Verifier::new(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|e| ManageError::Tls(e.to_string()))?;
        let tls = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(TIMEOUT)
            .user_agent(concat!("rapport-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ManageError::Tls(e.to_string()))?;
        Ok(AdminApi { base, token: token.trim().to_owned(), http })
    }

    /// The server's address, as given.
    pub fn server(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ManageError> {
        let mut request = self.http.request(method, format!("{}/v1/admin{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let unreachable = |e: reqwest::Error| ManageError::Unreachable { server: self.base.clone(), reason: root(&e) };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        let bad_answer = || ManageError::BadAnswer { server: self.base.clone(), status: status.as_u16() };
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|_| bad_answer());
        }
        let error: Value = serde_json::from_slice(&bytes).map_err(|_| bad_answer())?;
        let message = error["error"]["message"].as_str().ok_or_else(bad_answer)?.to_owned();
        Err(match status {
            StatusCode::UNAUTHORIZED => ManageError::TokenRefused { server: self.base.clone(), message },
            _ => ManageError::Refused { status: status.as_u16(), message },
        })
    }

    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        change: &UserChange,
        device: &str,
    ) -> Result<NewDevice, ManageError> {
        let body = json!({
            "name": name, "role": role, "device": device,
            "teams": change.teams.clone().unwrap_or_default(),
            "territories": change.territories.clone().unwrap_or_default(),
        });
        self.call(Method::POST, "/users", Some(body)).await
    }

    pub async fn set_user(&self, name: &str, change: &UserChange) -> Result<(), ManageError> {
        let mut body = serde_json::Map::new();
        if let Some(role) = &change.role {
            body.insert("role".into(), role.as_str().into());
        }
        if let Some(teams) = &change.teams {
            body.insert("teams".into(), json!(teams));
        }
        if let Some(territories) = &change.territories {
            body.insert("territories".into(), json!(territories));
        }
        self.call::<Value>(Method::PATCH, &format!("/users/{}", segment(name)), Some(body.into())).await.map(drop)
    }

    pub async fn delete_user(&self, name: &str) -> Result<(), ManageError> {
        self.call::<Value>(Method::DELETE, &format!("/users/{}", segment(name)), None).await.map(drop)
    }

    pub async fn list_users(&self) -> Result<Vec<UserInfo>, ManageError> {
        Ok(self.call::<Lists>(Method::GET, "/users", None).await?.users.unwrap_or_default())
    }

    pub async fn add_team(&self, name: &str) -> Result<(), ManageError> {
        self.call::<Value>(Method::POST, "/teams", Some(json!({ "name": name }))).await.map(drop)
    }

    pub async fn list_teams(&self) -> Result<Vec<String>, ManageError> {
        Ok(self.call::<Lists>(Method::GET, "/teams", None).await?.teams.unwrap_or_default())
    }

    pub async fn add_device(&self, user: &str, name: &str) -> Result<NewDevice, ManageError> {
        self.call(Method::POST, &format!("/users/{}/devices", segment(user)), Some(json!({ "name": name }))).await
    }

    pub async fn list_devices(&self) -> Result<Vec<DeviceInfo>, ManageError> {
        Ok(self.call::<Lists>(Method::GET, "/devices", None).await?.devices.unwrap_or_default())
    }

    pub async fn revoke_device(&self, id: i64, wipe: bool) -> Result<(), ManageError> {
        self.call::<Value>(Method::POST, &format!("/devices/{id}/revoke"), Some(json!({ "wipe": wipe })))
            .await
            .map(drop)
    }

    pub async fn audit(&self, account: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, ManageError> {
        let path = match account {
            Some(account) => format!("/audit?limit={limit}&account={}", segment(account)),
            None => format!("/audit?limit={limit}"),
        };
        Ok(self.call::<Lists>(Method::GET, &path, None).await?.audit.unwrap_or_default())
    }

    pub async fn actions(&self, limit: u32) -> Result<Vec<AdminActionEntry>, ManageError> {
        Ok(self.call::<Lists>(Method::GET, &format!("/actions?limit={limit}"), None).await?.actions.unwrap_or_default())
    }
}

/// The admin API's list answers (each holds one of these).
#[derive(Debug, serde::Deserialize)]
struct Lists {
    users: Option<Vec<UserInfo>>,
    teams: Option<Vec<String>>,
    devices: Option<Vec<DeviceInfo>>,
    audit: Option<Vec<AuditEntry>>,
    actions: Option<Vec<AdminActionEntry>>,
}

/// `text` as one URL path segment (or query value).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The innermost cause of a transport error (e.g. "Connection refused").
fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_as_one_path_segment() {
        assert_eq!(segment("ray"), "ray");
        assert_eq!(segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(segment("ä"), "%C3%A4");
    }

    #[test]
    fn a_server_must_be_an_http_url_and_the_token_valid() {
        let token = "0123456789abcdef0123";
        assert!(matches!(AdminApi::new("localhost:8080", token), Err(ManageError::InvalidServer(_))));
        assert!(matches!(AdminApi::new("http://127.0.0.1:1", "short"), Err(ManageError::InvalidToken)));
    }
}
