//! `pvectl pki init | issue-agent | issue-client`: make certificates and
//! write them without ever clobbering one unasked.

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use super::{Io, absolute, config_dir};
use crate::Error;
use crate::cli::{GlobalArgs, PkiArgs, PkiCommand};
use crate::confirm::confirm;
use crate::files::{self, FileError, Overwrite};
use crate::output::{Column, OutputFormat, Tabular, render};
use crate::pki::{
    AgentRequest, CERT_MODE, CertificateAuthority, ClientRequest, Issued, KEY_MODE, PkiPaths,
    agent_paths, ca_paths, client_paths, generate_ca, rfc3339,
};

pub(super) fn run(args: PkiArgs, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let dir = match &args.dir {
        Some(dir) => absolute(dir),
        None => config_dir(io)?.join("pki"),
    };
    let now = OffsetDateTime::now_utc();
    let (paths, issued, what, force) = match args.command {
        PkiCommand::Init { days, force } => {
            let paths = ca_paths(&dir);
            check_free(&paths, force)?;
            if force && !global.dry_run && exists(&paths).is_some() {
                let action = format!(
                    "replace the CA in {} (every certificate it signed stops working)",
                    dir.display()
                );
                confirm(&action, global.yes, io.prompt)?;
            }
            (paths, generate_ca(now, days)?, "CA".to_owned(), force)
        }
        PkiCommand::IssueAgent {
            node,
            ips,
            dns_names,
            days,
            force,
        } => {
            let ca = CertificateAuthority::load(&dir)?;
            let paths = agent_paths(&dir, &node);
            check_free(&paths, force)?;
            let what = format!("agent {node}");
            let request = AgentRequest {
                node,
                ips,
                dns_names,
            };
            (paths, ca.issue_agent(&request, now, days)?, what, force)
        }
        PkiCommand::IssueClient {
            name,
            role,
            days,
            force,
        } => {
            let ca = CertificateAuthority::load(&dir)?;
            let paths = client_paths(&dir, &name);
            check_free(&paths, force)?;
            let what = format!("client {name} ({role})");
            let request = ClientRequest { name, role };
            (paths, ca.issue_client(&request, now, days)?, what, force)
        }
    };
    let rows = write(&dir, &paths, &issued, &what, force, global.dry_run)?;
    let format = global.output.unwrap_or(OutputFormat::Table);
    render(&rows, format, io.terminal_width, io.stdout)?;
    Ok(())
}

/// The first of the pair that exists already.
fn exists(paths: &PkiPaths) -> Option<&Path> {
    [&paths.cert, &paths.key]
        .into_iter()
        .map(PathBuf::as_path)
        .find(|path| path.exists())
}

/// Refuses before anything is generated or written, naming the file.
fn check_free(paths: &PkiPaths, force: bool) -> Result<(), FileError> {
    match exists(paths) {
        Some(path) if !force => Err(FileError::Exists {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// Writes the key, then the certificate (unless `dry_run`), and says so.
fn write(
    dir: &Path,
    paths: &PkiPaths,
    issued: &Issued,
    what: &str,
    force: bool,
    dry_run: bool,
) -> Result<Vec<WrittenFile>, Error> {
    let overwrite = if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let files = [
        (&paths.key, &issued.key_pem, KEY_MODE, "private key"),
        (&paths.cert, &issued.cert_pem, CERT_MODE, "certificate"),
    ];
    if !dry_run {
        files::create_private_dir(dir)?;
        for (path, contents, mode, _) in files {
            files::write_atomically(path, contents.as_bytes(), mode, overwrite)?;
        }
    }
    Ok(files
        .into_iter()
        .rev()
        .map(|(path, _, mode, kind)| WrittenFile {
            path: path.clone(),
            contents: format!("{what} {kind}"),
            mode: format!("{mode:04o}"),
            expires: rfc3339(issued.not_after),
            status: if dry_run { "would write" } else { "written" },
        })
        .collect())
}

/// A file `pvectl pki` wrote (or would write).
#[derive(Debug, Serialize)]
struct WrittenFile {
    path: PathBuf,
    contents: String,
    mode: String,
    expires: String,
    status: &'static str,
}

impl Tabular for WrittenFile {
    const KIND: &'static str = "file";
    const COLUMNS: &'static [Column] = &[
        Column::always("FILE"),
        Column::always("CONTENTS"),
        Column::always("EXPIRES"),
        Column::wide("MODE"),
        Column::always("STATUS"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.path.display().to_string(),
            self.contents.clone(),
            self.expires.clone(),
            self.mode.clone(),
            self.status.to_owned(),
        ]
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}
