//! `pvectl template promote VMID [--node N]`: asks the agent of the node the
//! VM lives on (the seed names it) to copy it into N's template range and
//! convert the copy to a template.

use pvectl_proto::v1::PromoteTemplateRequest;

use super::super::Io;
use super::super::remote::Session;
use super::super::submit::{Submit, submit};
use crate::Error;
use crate::cli::PromoteArgs;

pub(super) async fn promote(
    session: &Session,
    args: PromoteArgs,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    if let Some(node) = &args.node {
        cluster.member(node)?;
    }
    let request = PromoteTemplateRequest {
        source_vmid: args.source.get(),
        node: args.node.clone().unwrap_or_default(),
        vmid: args.vmid.map(|vmid| vmid.get()),
        name: args.name.clone().unwrap_or_default(),
        storage: args.storage.clone().unwrap_or_default(),
    };
    let how = Submit {
        cluster: &cluster,
        target: cluster.seed().clone(),
        call: "PromoteTemplate",
        no_wait: args.no_wait,
        timeout: None,
        format: session.format,
        dry_run: dry_run.then(|| {
            let into = args.node.as_deref().unwrap_or("its own node");
            format!(
                "copy VM {} into the template range of {into} and convert the copy",
                args.source
            )
        }),
    };
    submit(
        how,
        request,
        |mut agent, request| async move { agent.promote_template(request).await },
        io,
    )
    .await
}
