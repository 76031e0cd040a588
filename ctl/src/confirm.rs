//! Asking the person at the terminal: before a destructive step (a
//! question, `--yes` to skip it, and a refusal when there is no terminal to
//! ask on), and for a secret typed without echo.

use std::io::{BufRead, IsTerminal, Write};

use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};

/// Asks the person at the terminal.
pub trait Prompt {
    /// `Some(answer)` when someone could be asked, `None` when no one can
    /// (no terminal).
    fn ask(&mut self, question: &str) -> std::io::Result<Option<bool>>;

    /// A secret typed without echo; `None` when no one can be asked.
    fn secret(&mut self, question: &str) -> std::io::Result<Option<String>> {
        let _ = question;
        Ok(None)
    }
}

/// Asks on standard error and reads the answer from standard input, only when
/// both are terminals.
#[derive(Debug, Default)]
pub struct TerminalPrompt;

impl Prompt for TerminalPrompt {
    fn ask(&mut self, question: &str) -> std::io::Result<Option<bool>> {
        let stdin = std::io::stdin();
        let mut stderr = std::io::stderr();
        if !stdin.is_terminal() || !stderr.is_terminal() {
            return Ok(None);
        }
        write!(stderr, "{question} [y/N] ")?;
        stderr.flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        Ok(Some(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        )))
    }

    fn secret(&mut self, question: &str) -> std::io::Result<Option<String>> {
        let stdin = std::io::stdin();
        let mut stderr = std::io::stderr();
        if !stdin.is_terminal() || !stderr.is_terminal() {
            return Ok(None);
        }
        write!(stderr, "{question}: ")?;
        stderr.flush()?;
        let saved = tcgetattr(&stdin).map_err(std::io::Error::from)?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(std::io::Error::from)?;
        let mut answer = String::new();
        let read = stdin.lock().read_line(&mut answer);
        tcsetattr(&stdin, SetArg::TCSANOW, &saved).map_err(std::io::Error::from)?;
        read?;
        Ok(Some(answer.trim_end_matches(['\n', '\r']).to_owned()))
    }
}

/// Why a destructive step did not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("{action}: not confirmed")]
    Declined { action: String },
    #[error("refusing to {action} without --yes (no terminal to ask on)")]
    NoTerminal { action: String },
    #[error("cannot ask for confirmation: {0}")]
    Io(#[from] std::io::Error),
}

/// Goes ahead when `yes` is set or the person answers yes; `action` says what
/// would happen ("replace the CA in /etc/pvectl/pki").
pub fn confirm(action: &str, yes: bool, prompt: &mut dyn Prompt) -> Result<(), ConfirmError> {
    if yes {
        return Ok(());
    }
    match prompt.ask(&format!("{action}?"))? {
        Some(true) => Ok(()),
        Some(false) => Err(ConfirmError::Declined {
            action: action.to_owned(),
        }),
        None => Err(ConfirmError::NoTerminal {
            action: action.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{ConfirmError, Prompt, confirm};

    struct Answers {
        answer: Option<bool>,
        asked: Vec<String>,
    }

    impl Prompt for Answers {
        fn ask(&mut self, question: &str) -> std::io::Result<Option<bool>> {
            self.asked.push(question.to_owned());
            Ok(self.answer)
        }
    }

    fn answering(answer: Option<bool>) -> Answers {
        Answers {
            answer,
            asked: Vec::new(),
        }
    }

    #[test]
    fn yes_flag_goes_ahead_without_asking() {
        let mut prompt = answering(Some(false));
        confirm("replace the CA", true, &mut prompt).unwrap();
        assert!(prompt.asked.is_empty());
    }

    #[test]
    fn a_yes_answer_goes_ahead_after_asking_the_action() {
        let mut prompt = answering(Some(true));
        confirm("replace the CA", false, &mut prompt).unwrap();
        assert_eq!(prompt.asked, ["replace the CA?"]);
    }

    #[test]
    fn a_no_answer_is_declined() {
        let error = confirm("replace the CA", false, &mut answering(Some(false))).unwrap_err();
        assert!(matches!(error, ConfirmError::Declined { .. }));
    }

    #[test]
    fn no_terminal_refuses_and_points_at_yes() {
        let error = confirm("replace the CA", false, &mut answering(None)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "refusing to replace the CA without --yes (no terminal to ask on)"
        );
    }
}
