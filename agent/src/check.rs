//! `pvectl-agent check`: every dependency of a running agent, checked one by
//! one, each failure with what to do about it. Nothing is changed.
use std::fmt;
use std::path::Path;

use crate::cluster::Source;
use crate::config::AgentConfig;
use crate::pve_api::PveClient;

/// One checked dependency.
#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    pub result: Result<String, (String, String)>,
}

/// All checks, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, what: &str, detail: impl Into<String>) {
        self.checks.push(Check {
            what: what.into(),
            result: Ok(detail.into()),
        });
    }

    fn fail(&mut self, what: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.checks.push(Check {
            what: what.into(),
            result: Err((problem.into(), fix.into())),
        });
    }

    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| c.result.is_err()).count()
    }

    pub fn all_passed(&self) -> bool {
        self.failures() == 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            match &check.result {
                Ok(detail) => writeln!(f, "ok    {}: {detail}", check.what)?,
                Err((problem, fix)) => {
                    writeln!(f, "FAIL  {}: {problem}", check.what)?;
                    writeln!(f, "      fix: {fix}")?;
                }
            }
        }
        Ok(())
    }
}

fn readable(report: &mut Report, what: &str, path: &Path, fix: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            report.pass(what, path.display().to_string());
            Some(bytes)
        }
        Err(err) => {
            report.fail(what, format!("cannot read {}: {err}", path.display()), fix);
            None
        }
    }
}

/// Runs every check against the config at `path`.
pub async fn run(path: &Path) -> Report {
    let mut report = Report::default();
    let config = match AgentConfig::load(path) {
        Ok(config) => {
            report.pass("config", path.display().to_string());
            config
        }
        Err(err) => {
            report.fail(
                "config",
                err.to_string(),
                "correct the key named above; packaging/agent.toml documents every key",
            );
            return report;
        }
    };
    match Source::detect(&config.pmxcfs_root) {
        Source::Pmxcfs(root) => {
            report.pass("pmxcfs", format!("{} (.members readable)", root.display()))
        }
        Source::ApiOnly => report.pass(
            "pmxcfs",
            format!(
                "no .members under {}: API-only mode (slower, polling)",
                config.pmxcfs_root.display()
            ),
        ),
    }
    if std::fs::read_dir(&config.task_log_root).is_ok() {
        report.pass("task logs", config.task_log_root.display().to_string());
    } else {
        report.fail(
            "task logs",
            format!("cannot read {}", config.task_log_root.display()),
            "run the agent as a member of group www-data, or set task_log_root",
        );
    }
    check_tls(&mut report, &config);
    check_journal(&mut report, &config);
    match PveClient::from_config(&config) {
        Ok(pve) => match pve.version().await {
            Ok(version) => report.pass("PVE API", format!("{} answers, PVE {}", config.pve_api.url, version.version)),
            Err(err) => report.fail(
                "PVE API",
                format!("{}: {err}", config.pve_api.url),
                "check that pveproxy runs and that the token in pve_api.token_file is valid (pveum user token list)",
            ),
        },
        Err(err) => report.fail("PVE API client", err.to_string(), "fix pve_api.token_file / pve_api.ca"),
    }
    report
}

fn check_tls(report: &mut Report, config: &AgentConfig) {
    let tls = &config.tls;
    let issue = "issue it with `pvectl pki issue-agent --node <node> --ip <address>`";
    let cert = readable(report, "agent certificate", &tls.cert, issue);
    let key = readable(report, "agent key", &tls.key, issue);
    readable(
        report,
        "client CA",
        &tls.client_ca,
        "copy ca.pem from `pvectl pki init`",
    );
    let (Some(cert), Some(key)) = (cert, key) else {
        return;
    };
    match x509_parser::pem::parse_x509_pem(&cert) {
        Ok((_, pem)) => match pem.parse_x509() {
            Ok(parsed) if !parsed.validity().is_valid() => {
                report.fail(
                    "agent certificate validity",
                    format!("not valid now (until {})", parsed.validity().not_after),
                    issue,
                );
            }
            Ok(parsed) => report.pass(
                "agent certificate validity",
                format!("valid until {}", parsed.validity().not_after),
            ),
            Err(err) => report.fail(
                "agent certificate",
                format!("not a certificate: {err}"),
                issue,
            ),
        },
        Err(err) => report.fail("agent certificate", format!("not PEM: {err}"), issue),
    }
    match crate::tls_pair::matches(&cert, &key) {
        Ok(()) => report.pass("certificate and key", "they belong together"),
        Err(err) => report.fail(
            "certificate and key",
            err,
            "use the key that was issued with this certificate",
        ),
    }
}

fn check_journal(report: &mut Report, config: &AgentConfig) {
    let path = &config.journal_path;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let writable = nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok();
    if !writable {
        report.fail(
            "journal",
            format!("cannot write to {}", dir.display()),
            "create the directory, owned by the agent's user",
        );
        return;
    }
    if path.exists() {
        match crate::journal::verify(path) {
            Ok(head) => report.pass(
                "journal",
                format!("{} verifies, {} entries", path.display(), head.seq),
            ),
            Err(err) => report.fail(
                "journal",
                format!("{}: {err}", path.display()),
                "keep the file for inspection and move it away; the agent starts a new one",
            ),
        }
    } else {
        report.pass("journal", format!("{} will be created", path.display()));
    }
}
