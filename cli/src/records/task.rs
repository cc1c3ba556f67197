//! `rapport task …`: an account's tasks.

use rapport_core::{NewTask, Replica, TaskStatus};

use super::{account_id, parse_date, task_id};
use crate::args::TaskCommand;
use crate::error::Result;
use crate::output;

pub fn task(replica: &mut Replica, command: TaskCommand) -> Result<()> {
    match command {
        TaskCommand::Add { id, title, due, assignee } => {
            let account = account_id(replica, &id)?;
            let new = NewTask { title, due: due.as_deref().map(|d| parse_date("due", d)).transpose()?, assignee };
            let task = replica.edit(account, |e| e.add_task(&new))?;
            outln!("added task {:?} to {account}", new.title.trim());
            outln!("{task}");
        }
        TaskCommand::Done { id, task } => {
            let account = account_id(replica, &id)?;
            let task = task_id(replica, account, &task)?;
            replica.edit(account, |e| e.complete_task(task))?;
            outln!("task {task} done");
        }
        TaskCommand::List { id, open, json } => {
            let account = replica.account(account_id(replica, &id)?)?;
            let tasks: Vec<&rapport_core::Task> =
                account.tasks.iter().filter(|t| !open || t.status != TaskStatus::Done).collect();
            if json {
                return output::json(&tasks);
            }
            if tasks.is_empty() {
                eprintln!("no tasks");
            }
            for t in tasks {
                outln!("{}", output::task_line(t));
            }
        }
    }
    Ok(())
}
