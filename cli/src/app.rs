//! `rapport app`: the desktop app (crate `rapport-desktop`) on this replica.

use rapport_client::{Client, ClientOptions};
use rapport_desktop::AppOptions;

use crate::args::AppArgs;
use crate::config::Workspace;
use crate::error::{CliError, Result};

pub fn run(ws: &Workspace, args: AppArgs) -> Result<()> {
    let (server, token, ca) = (&ws.config.server, &ws.config.token, ws.config.ca_cert_pem.as_deref());
    let client = Client::with_ca_cert(server, token, ClientOptions::default(), ca)?;
    let options = AppOptions { port: args.port, open_browser: !args.no_open, ..AppOptions::default() };
    rapport_desktop::run(ws.open()?, client, &options).map_err(|e| CliError::App(Box::new(e)))
}
