//! Remote wipe: the device's half. When the server answers `410
//! device_wiped` (the administrator revoked this device as lost), the app
//! erases its replica ([`Client::wipe`]) and tells the server it did, with
//! the work the server never received, which the server records as lost.

use rapport_core::{Replica, Unsynced};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::client::Client;
use crate::error::ClientError;
use crate::retry::retrying;

/// What [`Client::wipe`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiped {
    /// The work the server never received, erased with the replica.
    pub lost: Unsynced,
    /// Whether the server recorded the report (it may be unreachable; the
    /// data is erased either way).
    pub reported: bool,
}

impl Client {
    /// Erases `replica` (its file, write-ahead log and shared memory) and
    /// reports to the server that it was erased and what unsynced work was
    /// lost. Call it when a request failed with [`ClientError::DeviceWiped`];
    /// the app then deletes what else it keeps for this server (its token,
    /// its settings).
    ///
    /// Fails only if the replica could not be erased; a report the server
    /// did not receive (after the client's retries) is `reported: false`.
    pub async fn wipe(&self, replica: Replica) -> Result<Wiped, ClientError> {
        let lost = replica.erase()?;
        let reported = match self.report_wiped(lost).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the replica was erased but the server could not be told");
                false
            }
        };
        Ok(Wiped { lost, reported })
    }

    /// `POST /v1/device/wiped`: tells the server this device erased its data
    /// and what it had not synced. Accepted only for a device revoked as lost.
    pub async fn report_wiped(&self, lost: Unsynced) -> Result<(), ClientError> {
        let body = serde_json::json!({ "lost_documents": lost.documents, "lost_changes": lost.changes }).to_string();
        retrying(
            &self.options.retry,
            || async {
                let response = self
                    .http
                    .post(self.endpoint.http("v1/device/wiped"))
                    .header(AUTHORIZATION, self.auth.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| self.network_error(&e))?;
                let status = response.status();
                let retry_after = crate::client::retry_after(&response);
                let bytes = response.bytes().await.map_err(|e| self.network_error(&e))?;
                if !status.is_success() {
                    return Err(ClientError::from_status(
                        self.endpoint.base(),
                        status.as_u16(),
                        retry_after.as_deref(),
                        &bytes,
                    ));
                }
                Ok(())
            },
            |e, wait| tracing::info!(error = %e, wait_ms = wait.as_millis() as u64, "wipe report failed; retrying"),
        )
        .await
    }
}
