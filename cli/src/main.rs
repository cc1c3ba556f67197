//! `rapport`: the Rapport CRM command line for office staff.
//!
//! Every record command works on the local replica and needs no network;
//! `sync` and `watch` exchange changes with the server. See `rapport --help`.

#[macro_use]
mod output;
mod args;
mod config;
mod csv_io;
mod encryption;
mod error;
mod line_items;
mod records;
mod refused;
mod remote;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::config::Workspace;
use crate::error::{CliError, Result};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::OutputClosed) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let dir = config::replica_dir(cli.replica)?;
    if let Command::Init(args) = cli.command {
        return remote::init(&dir, args);
    }
    let ws = Workspace::load(&dir)?;
    match cli.command {
        Command::Init(_) => Ok(()),
        Command::Sync(args) => remote::sync(&ws, args),
        Command::Watch(args) => remote::watch(&ws, args),
        Command::Encrypt(args) => remote::encrypt(&ws, args),
        Command::Status(f) => remote::status(&ws, f.json),
        Command::Account(c) => records::account(&mut ws.open()?, c),
        Command::Contact(c) => records::contact(&mut ws.open()?, c),
        Command::Consent(c) => records::consent(&mut ws.open()?, c),
        Command::Interaction(c) => records::interaction(&mut ws.open()?, c),
        Command::Deal(c) => records::deal(&mut ws.open()?, c),
        Command::Task(c) => records::task(&mut ws.open()?, c),
        Command::Tie(c) => records::tie(&mut ws.open()?, c),
        Command::Role(c) => records::role(&mut ws.open()?, c),
        Command::Ladder(c) => records::ladder(&mut ws.open()?, c),
        Command::Lifecycle(c) => records::lifecycle(&mut ws.open()?, c),
        Command::Notes(c) => records::notes(&mut ws.open()?, c),
        Command::Tag(c) => records::tag(&mut ws.open()?, c),
        Command::Settings(c) => records::settings(&mut ws.open()?, c),
        Command::Conflicts(f) => records::conflicts(&ws.open()?, f.json),
        Command::Resolve { id, field, value } => records::resolve(&mut ws.open()?, &id, &field, &value),
        Command::Import(args) => {
            let report = csv_io::import(&mut ws.open()?, &args.file)?;
            outln!(
                "imported {}: {} created, {} updated, {} unchanged",
                args.file.display(),
                report.created,
                report.updated,
                report.unchanged
            );
            Ok(())
        }
        Command::Refused(c) => refused::run(&mut ws.open()?, c),
        Command::Export(args) => {
            let n = csv_io::export(&ws.open()?, &args.file, args.include_deleted)?;
            outln!("exported {n} accounts to {}", args.file.display());
            Ok(())
        }
    }
}
