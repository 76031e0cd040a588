//! `pvectl task stop ID`: PVE stops the task (SIGTERM, then SIGKILL); an
//! operation id also cancels the operation, which then reports its failure.

use pvectl_proto::v1::StopTaskRequest;

use super::on_task_node;
use super::views::StopView;
use crate::Error;
use crate::cluster::routing::TaskId;
use crate::commands::Io;
use crate::commands::remote::Session;
use crate::output::{OutputError, OutputFormat, render_one};

pub(super) async fn stop(session: &Session, task: &TaskId, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let request = StopTaskRequest {
        task: Some(task.to_ref()),
    };
    let (node, response) = on_task_node(&cluster, task, "StopTask", io, |mut agent| {
        let request = request.clone();
        async move { agent.stop_task(request).await }
    })
    .await?;
    let view = StopView {
        node,
        upid: response.upid,
        operation_id: match task {
            TaskId::Operation(id) => id.clone(),
            TaskId::Upid(_) => String::new(),
        },
        was_running: response.was_running,
    };
    match session.format {
        OutputFormat::Table | OutputFormat::Wide => {
            writeln!(io.stdout, "{}", view.sentence()).map_err(OutputError::from)?;
        }
        format => render_one(&view, format, io.terminal_width, io.stdout)?,
    }
    Ok(())
}
