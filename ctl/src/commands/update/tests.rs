use clap::Parser;
use pvectl_proto::v1::{ConfigEntry, PendingDelete};

use super::*;
use crate::cli::{Cli, Command, CtCommand, VmCommand};
use crate::commands::guest::VM;
use crate::confirm::Prompt;

fn vm_args(line: &[&str]) -> GuestUpdateArgs {
    let mut argv = vec!["pvectl", "vm", "update"];
    argv.extend_from_slice(line);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Vm(VmCommand::Update(args)) => args,
        other => panic!("not vm update: {other:?}"),
    }
}

fn ct_args(line: &[&str]) -> GuestUpdateArgs {
    let mut argv = vec!["pvectl", "ct", "update"];
    argv.extend_from_slice(line);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Ct(CtCommand::Update(args)) => args,
        other => panic!("not ct update: {other:?}"),
    }
}

fn pairs(changes: &[ConfigChange]) -> Vec<(&str, &str)> {
    changes
        .iter()
        .map(|c| (c.key.as_str(), c.value.as_str()))
        .collect()
}

#[test]
fn named_flags_become_pve_keys_and_a_containers_name_is_its_hostname() {
    let (changes, deletes) = request(
        VM,
        vm_args(&[
            "101",
            "--cores",
            "8",
            "--memory",
            "16384",
            "--name",
            "db2",
            "--tag",
            "DB",
            "--tag",
            "prod",
            "--description",
            "two\nlines",
            "--set",
            "onboot=1",
            "--delete",
            "tags",
        ]),
    );
    assert_eq!(
        pairs(&changes),
        [
            ("cores", "8"),
            ("memory", "16384"),
            ("name", "db2"),
            ("tags", "db;prod"),
            ("description", "two\nlines"),
            ("onboot", "1"),
        ]
    );
    assert_eq!(deletes, ["tags"]);
    let (changes, _) = request(CT, ct_args(&["112", "--name", "dns9"]));
    assert_eq!(pairs(&changes), [("hostname", "dns9")]);
}

#[test]
fn the_command_line_refuses_bad_names_tags_and_sizes() {
    for bad in [
        &["101", "--cores", "0"][..],
        &["101", "--memory", "8"],
        &["101", "--name", "web_1"],
        &["101", "--tag", "-x"],
        &["101", "--set", "cores"],
    ] {
        let mut argv = vec!["pvectl", "vm", "update"];
        argv.extend_from_slice(bad);
        assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
    }
}

#[test]
fn only_deletes_of_disk_keys_count_as_removing_disks() {
    let deletes: Vec<String> = ["scsi1", "unused0", "net1", "tags", "efidisk0", "scsihw"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        removed_disks(VM, &deletes),
        ["scsi1", "unused0", "efidisk0"]
    );
    let deletes: Vec<String> = ["mp0", "rootfs", "net0", "mp"].map(String::from).to_vec();
    assert_eq!(removed_disks(CT, &deletes), ["mp0", "rootfs"]);
}

struct Answer(Option<bool>, Vec<String>);

impl Prompt for Answer {
    fn ask(&mut self, question: &str) -> std::io::Result<Option<bool>> {
        self.1.push(question.to_owned());
        Ok(self.0)
    }
}

fn asked(answer: Option<bool>, disks: &[&str], yes: bool) -> (Result<(), Error>, Vec<String>) {
    let mut prompt = Answer(answer, Vec::new());
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        terminal_width: None,
        prompt: &mut prompt,
        config_dir: None,
        state_dir: None,
        stderr_is_terminal: false,
    };
    let disks: Vec<String> = disks.iter().map(|d| d.to_string()).collect();
    let result = ask(VM, 101, &disks, yes, &mut io);
    (result, prompt.1)
}

#[test]
fn a_terminal_is_asked_and_no_terminal_goes_ahead_unless_a_disk_is_removed() {
    let (result, questions) = asked(Some(true), &[], false);
    assert!(result.is_ok());
    assert_eq!(questions, ["apply these changes to VM 101?"]);
    let (result, _) = asked(Some(false), &[], false);
    assert_eq!(
        result.unwrap_err().exit_status(),
        crate::ExitStatus::Refused
    );
    let (result, _) = asked(None, &[], false);
    assert!(result.is_ok(), "off a terminal an update goes ahead");
    let (result, questions) = asked(Some(true), &[], true);
    assert!(result.is_ok() && questions.is_empty(), "--yes asks nothing");

    let (result, _) = asked(None, &["unused0"], false);
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), crate::ExitStatus::Refused);
    assert_eq!(
        error.to_string(),
        "refusing to remove unused0 from VM 101 without --yes (no terminal to ask on)"
    );
    assert!(asked(None, &["unused0"], true).0.is_ok());
}

fn config(entries: &[(&str, Option<&str>, Option<&str>)], deletes: &[&str]) -> GuestConfig {
    GuestConfig {
        vmid: 101,
        node: "pve1".into(),
        entries: entries
            .iter()
            .map(|(key, value, pending)| ConfigEntry {
                key: key.to_string(),
                value: value.map(str::to_string),
                pending_value: pending.map(str::to_string),
            })
            .collect(),
        pending_deletes: deletes
            .iter()
            .map(|key| PendingDelete {
                key: key.to_string(),
                force: false,
            })
            .collect(),
        ..GuestConfig::default()
    }
}

#[test]
fn a_conflict_names_every_key_that_changed_meanwhile_pending_included() {
    let before = config(
        &[
            ("cores", Some("2"), None),
            ("memory", Some("4096"), None),
            ("onboot", Some("1"), None),
            ("cipassword", Some("$5$a"), None),
        ],
        &[],
    );
    let after = config(
        &[
            ("cores", Some("2"), Some("6")),
            ("memory", Some("4096"), None),
            ("onboot", Some("1"), None),
            ("cipassword", Some("$5$b"), None),
            ("tags", Some("db"), None),
        ],
        &["onboot"],
    );
    assert_eq!(
        differences(&before, &after),
        [
            "cipassword: (hidden) → (hidden)",
            "cores: 2 → 6",
            "onboot: 1 → (removed)",
            "tags: (unset) → db",
        ]
    );
    assert!(differences(&before, &before).is_empty());
}

#[test]
fn the_refusal_says_nothing_changed_and_to_re_run_with_exit_5() {
    let error: Error = CommandError::ConfigChanged {
        guest: "VM 101".into(),
        changes: vec!["cores: 2 → 6".into()],
    }
    .into();
    assert_eq!(error.exit_status(), crate::ExitStatus::Refused);
    assert_eq!(
        error.to_string(),
        "the config of VM 101 changed after it was read (cores: 2 → 6); nothing was changed: \
         re-run the command to update the config as it is now"
    );
}
