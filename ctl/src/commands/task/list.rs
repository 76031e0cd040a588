//! `pvectl task list`: every node's tasks at once, merged newest first; a
//! node that does not answer is named on stderr and makes it exit 3.

use std::cmp::Reverse;
use std::time::SystemTime;

use pvectl_proto::v1::{ListTasksRequest, Task, TaskSource};

use super::views::TaskView;
use crate::Error;
use crate::cli::TaskListArgs;
use crate::commands::Io;
use crate::commands::remote::{Session, answers, complete};
use crate::output::render;
use crate::remote::RemoteError;

/// Tasks listed when `--limit` is not given (PVE's own default).
const DEFAULT_LIMIT: u32 = 50;

pub(super) async fn list(
    session: &Session,
    args: TaskListArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let nodes = match &args.node {
        Some(node) => {
            cluster.member(node)?;
            vec![node.clone()]
        }
        None => cluster.member_names(),
    };
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    let source = if args.running {
        TaskSource::Active
    } else {
        TaskSource::Unspecified
    };
    let request = ListTasksRequest {
        source: source as i32,
        limit,
        vmid: args.vmid.map(|vmid| vmid.get()),
        task_type: args.task_type.unwrap_or_default(),
        errors_only: args.errors,
        since_unix_ms: args
            .since
            .map_or(0, |since| since.unix_ms(SystemTime::now())),
    };
    let results = cluster
        .fan_out(&nodes, "ListTasks", |target, mut agent| {
            let request = request.clone();
            async move {
                agent
                    .list_tasks(request)
                    .await
                    .map(|response| response.into_inner().tasks)
                    .map_err(|status| RemoteError::from_status(&target.node, "ListTasks", &status))
            }
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let mut tasks: Vec<Task> = answered.into_iter().flat_map(|(_, tasks)| tasks).collect();
    tasks.sort_by_key(|task| Reverse((task.start_unix_ms, task.upid.clone())));
    tasks.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let rows: Vec<TaskView> = tasks.iter().map(TaskView::new).collect();
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    complete(failed)
}
