//! `pvectl ct create NAME --ostemplate local:vztmpl/…`: a container on
//! `--node`, or on the node with most free memory. Root's SSH keys come
//! from a file; root's password only from `--password-file` or a prompt on
//! a terminal, never from the command line, and it is never printed.

use std::path::Path;

use pvectl_proto::v1::{ContainerNetSpec, CreateContainerRequest};

use super::super::Io;
use super::super::placement::creation_node;
use super::super::remote::Session;
use super::super::submit::{Submit, submit};
use super::super::vm::timeout_seconds;
use crate::Error;
use crate::cli::CtCreateArgs;
use crate::error::CommandError;
use crate::files::FileError;
use crate::guest_specs;
use crate::output::OutputError;

/// PVE's shortest root password.
const PASSWORD_MIN: usize = 5;

pub(super) async fn create(
    session: &Session,
    args: CtCreateArgs,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    // local input first: a bad file or a missing terminal changes nothing
    let ssh_public_keys = match &args.ssh_public_keys {
        Some(path) => read_keys(path)?,
        None => Vec::new(),
    };
    let password = root_password(&args, io)?;
    let cluster = session.discover().await?;
    let what = format!("ct {}", args.name);
    let node = creation_node(&cluster, args.node.as_deref(), &what, io).await?;
    let rootfs = args.rootfs.clone();
    let request = CreateContainerRequest {
        hostname: args.name.clone(),
        node: node.clone(),
        vmid: args.vmid.map(|vmid| vmid.get()),
        ostemplate: args.ostemplate.clone(),
        rootfs_storage: rootfs
            .as_ref()
            .map(|d| d.storage.clone())
            .unwrap_or_default(),
        rootfs_size_gib: rootfs.as_ref().map_or(0, |d| d.size_gib),
        nets: args
            .nets
            .iter()
            .map(|net| ContainerNetSpec {
                name: net.name.clone(),
                bridge: net.nic.bridge.clone(),
                ip: net.ip.clone(),
                gateway: net.gateway.clone(),
                vlan_tag: net.nic.tag,
                firewall: net.nic.firewall,
            })
            .collect(),
        privileged: args.privileged,
        ssh_public_keys,
        password: password.unwrap_or_default(),
        cores: args.cores.unwrap_or(0),
        memory_mib: args.memory.unwrap_or(0),
        swap_mib: args.swap,
        tags: args.tags.clone(),
        start: args.start,
        timeout_seconds: timeout_seconds(args.timeout),
    };
    let kind = if args.privileged {
        "privileged"
    } else {
        "unprivileged"
    };
    let would = format!(
        "create {kind} ct {} from {} on {node}",
        args.name, args.ostemplate
    );
    let how = Submit {
        cluster: &cluster,
        target: cluster.target(&node)?,
        call: "CreateContainer",
        no_wait: args.no_wait,
        timeout: args.timeout,
        format: session.format,
        dry_run: dry_run.then_some(would),
    };
    submit(
        how,
        request,
        |mut agent, request| async move { agent.create_container(request).await },
        io,
    )
    .await
}

fn read_file(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| {
        FileError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

/// The keys of an `authorized_keys`-style file.
fn read_keys(path: &Path) -> Result<Vec<String>, Error> {
    let text = read_file(path)?;
    guest_specs::ssh_public_keys(&path.display().to_string(), &text).map_err(|error| {
        CommandError::Usage {
            message: error.to_string(),
        }
        .into()
    })
}

/// Root's password: the first line of `--password-file`, or asked twice
/// on the terminal with `--password`; `None` without either.
fn root_password(args: &CtCreateArgs, io: &mut Io<'_>) -> Result<Option<String>, Error> {
    let usage = |message: String| Error::from(CommandError::Usage { message });
    let password = if let Some(path) = &args.password_file {
        let text = read_file(path)?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        if line.is_empty() {
            return Err(usage(format!(
                "the password file {} starts with an empty line",
                path.display()
            )));
        }
        line
    } else if args.password {
        let question = format!("root password for {}", args.name);
        let no_terminal = || {
            usage(
                "--password asks on a terminal and there is none: give the password in a file with \
                 --password-file FILE"
                    .to_owned(),
            )
        };
        let first = io
            .prompt
            .secret(&question)
            .map_err(OutputError::from)?
            .ok_or_else(no_terminal)?;
        let again = io
            .prompt
            .secret(&format!("{question} (again)"))
            .map_err(OutputError::from)?
            .ok_or_else(no_terminal)?;
        if first != again {
            return Err(usage(
                "the two passwords differ; nothing was created".to_owned(),
            ));
        }
        first
    } else {
        return Ok(None);
    };
    if password.chars().count() < PASSWORD_MIN {
        return Err(usage(format!(
            "the root password is too short: PVE wants at least {PASSWORD_MIN} characters"
        )));
    }
    Ok(Some(password))
}
