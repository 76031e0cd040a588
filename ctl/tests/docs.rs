//! `pvectl completion` and `pvectl man --dir DIR`: the scripts and pages are generated
//! from the real parser, so these check that they are complete and usable —
//! the bash script by completing words in a real bash.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn pvectl(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl"))
        .args(args)
        .env_remove("PVECTL_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pvectl {args:?} exited {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn completion(shell: &str) -> String {
    String::from_utf8(pvectl(&["completion", shell]).stdout).unwrap()
}

/// What bash offers after `words` with the cursor on the last one, using the
/// script `pvectl completion bash` printed.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let program = format!(
        "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n_pvectl pvectl \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = words
            .iter()
            .map(|word| format!("'{word}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
    );
    let output = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(program)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_completes_resources_verbs_and_flags_in_a_real_bash() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pvectl.bash");
    std::fs::write(&script, completion("bash")).unwrap();

    let resources = bash_completes(&script, &["pvectl", ""]);
    for resource in [
        "vm",
        "ct",
        "node",
        "template",
        "task",
        "audit",
        "completion",
        "man",
    ] {
        assert!(
            resources.iter().any(|word| word == resource),
            "{resource} not in {resources:?}"
        );
    }

    assert_eq!(
        bash_completes(&script, &["pvectl", "vm", "cre"]),
        ["create"]
    );
    let flags = bash_completes(&script, &["pvectl", "vm", "create", "--te"]);
    assert!(flags.iter().any(|word| word == "--template"), "{flags:?}");
    let shells = bash_completes(&script, &["pvectl", "completion", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            shells.iter().any(|word| word == shell),
            "{shell} not in {shells:?}"
        );
    }
}

#[test]
fn zsh_and_fish_completions_name_every_resource_and_verb() {
    let zsh = completion("zsh");
    assert!(
        zsh.starts_with("#compdef pvectl"),
        "{}",
        &zsh[..zsh.len().min(80)]
    );
    let fish = completion("fish");
    for verb in [
        "create", "promote", "shutdown", "validate", "verify", "logs",
    ] {
        assert!(zsh.contains(&format!("'{verb}:")), "zsh lacks {verb}");
        assert!(
            fish.lines()
                .any(|line| line.starts_with("complete -c pvectl")
                    && line.contains(&format!("-a \"{verb}\""))),
            "fish lacks {verb}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_choices() {
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl"))
        .args(["completion", "tcsh"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid value 'tcsh'") && stderr.contains("bash"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn man_writes_a_page_for_the_command_and_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let output = pvectl(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        pages.to_str().unwrap()
    );
    for page in [
        "pvectl.1",
        "pvectl-vm.1",
        "pvectl-vm-create.1",
        "pvectl-ct-update.1",
        "pvectl-task-logs.1",
        "pvectl-completion.1",
    ] {
        let text = std::fs::read_to_string(pages.join(page))
            .unwrap_or_else(|error| panic!("{page}: {error}"));
        assert!(
            text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH "),
            "{page} is not roff"
        );
    }
    let create = std::fs::read_to_string(pages.join("pvectl-vm-create.1")).unwrap();
    assert!(create.contains(".TH pvectl-vm-create 1"), "{create}");
    assert!(create.contains("\\-\\-template"), "{create}");
    let names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names.iter().any(|name| name.contains("-help")),
        "{names:?}"
    );
}
