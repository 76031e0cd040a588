//! `pvectl task logs ID [-f]`: a task's log from its node's agent, printed
//! line by line as it arrives; with `-f` until the task ends, failing (exit
//! 1) when the task did.

use pvectl_proto::v1::{StreamTaskLogRequest, Task, TaskState};

use super::on_task_node;
use crate::Error;
use crate::cluster::routing::TaskId;
use crate::commands::Io;
use crate::commands::remote::Session;
use crate::error::CommandError;
use crate::output::OutputError;
use crate::remote::RemoteError;

pub(super) async fn logs(
    session: &Session,
    task: &TaskId,
    follow: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let request = StreamTaskLogRequest {
        task: Some(task.to_ref()),
        start_line: 0,
        follow,
    };
    let (node, mut stream) = on_task_node(&cluster, task, "StreamTaskLog", io, |mut agent| {
        let request = request.clone();
        async move { agent.stream_task_log(request).await }
    })
    .await?;
    let mut ended: Option<Task> = None;
    loop {
        let chunk = match stream.message().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(status) => {
                return Err(RemoteError::from_status(&node, "StreamTaskLog", &status).into());
            }
        };
        for line in &chunk.lines {
            writeln!(io.stdout, "{}", line.text).map_err(OutputError::from)?;
        }
        io.stdout.flush().map_err(OutputError::from)?;
        if chunk.task.is_some() {
            ended = chunk.task;
        }
    }
    if !follow {
        return Ok(());
    }
    match ended {
        Some(task) if task.state() == TaskState::Error => Err(CommandError::TaskFailed {
            node,
            upid: task.upid,
            status: task.exit_status,
        }
        .into()),
        Some(_) => Ok(()),
        None => Err(CommandError::LogEnded {
            node,
            task: task.to_string(),
            reason: "the agent closed the stream".to_owned(),
        }
        .into()),
    }
}
