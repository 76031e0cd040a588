//! Shows a create operation's progress events: a progress bar (phase,
//! percent, elapsed, message) when stderr is a terminal, one plain line per
//! event (`phase percent message`) otherwise. Results go to stdout, progress
//! never does.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pvectl_proto::v1::{CreateEvent, CreatePhase};

/// The phase as users read it.
pub fn phase_name(phase: CreatePhase) -> &'static str {
    match phase {
        CreatePhase::Unspecified => "unknown",
        CreatePhase::Resolving => "resolving",
        CreatePhase::Validating => "validating",
        CreatePhase::Allocating => "allocating",
        CreatePhase::Queued => "queued",
        CreatePhase::Cloning => "cloning",
        CreatePhase::Waiting => "waiting",
        CreatePhase::Configuring => "configuring",
        CreatePhase::Starting => "starting",
        CreatePhase::Done => "done",
        CreatePhase::Failed => "failed",
    }
}

/// One event as a plain line: `cloning 42% cloning 9100 to 104 on local-lvm`;
/// `-` stands for a phase without a percent.
pub fn plain_line(event: &CreateEvent) -> String {
    let percent = event
        .percent
        .map_or_else(|| "-".to_owned(), |percent| format!("{percent}%"));
    let line = format!("{} {percent} {}", phase_name(event.phase()), event.message);
    line.trim_end().to_owned()
}

/// Minutes and seconds (`1m05s`), or seconds with a tenth below a minute.
pub fn elapsed(elapsed_ms: u64) -> String {
    let elapsed = Duration::from_millis(elapsed_ms);
    let seconds = elapsed.as_secs();
    if seconds < 60 {
        format!("{:.1}s", elapsed.as_secs_f64())
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// Where progress goes.
pub enum Progress {
    /// Plain lines to the writer given with each event.
    Lines,
    /// A bar drawn on the terminal's stderr.
    Bar(ProgressBar),
}

impl Progress {
    /// A bar when `terminal`, else plain lines.
    pub fn new(terminal: bool) -> Progress {
        if !terminal {
            return Progress::Lines;
        }
        let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} {prefix:<11} [{bar:30}] {pos:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress::Bar(bar)
    }

    /// Shows one event.
    pub fn event(&mut self, event: &CreateEvent, lines: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Progress::Lines => writeln!(lines, "{}", plain_line(event)),
            Progress::Bar(bar) => {
                bar.set_prefix(phase_name(event.phase()));
                if let Some(percent) = event.percent {
                    bar.set_position(u64::from(percent.min(100)));
                }
                bar.set_message(format!("{} {}", elapsed(event.elapsed_ms), event.message));
                Ok(())
            }
        }
    }

    /// Removes the bar before results or errors are printed.
    pub fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use pvectl_proto::v1::{CreateEvent, CreatePhase};

    use super::{Progress, elapsed, plain_line};

    fn event(phase: CreatePhase, percent: Option<u32>, message: &str) -> CreateEvent {
        CreateEvent {
            operation_id: "pve1-1".to_owned(),
            phase: phase as i32,
            percent,
            elapsed_ms: 1500,
            message: message.to_owned(),
            ..CreateEvent::default()
        }
    }

    #[test]
    fn a_plain_line_is_phase_percent_and_message() {
        assert_eq!(
            plain_line(&event(
                CreatePhase::Cloning,
                Some(42),
                "cloning 9100 to 104 on local-lvm"
            )),
            "cloning 42% cloning 9100 to 104 on local-lvm"
        );
    }

    #[test]
    fn a_phase_without_percent_shows_a_dash_and_no_trailing_space() {
        assert_eq!(
            plain_line(&event(CreatePhase::Allocating, None, "")),
            "allocating -"
        );
        assert_eq!(
            plain_line(&event(CreatePhase::Done, Some(100), "created web1 (104)")),
            "done 100% created web1 (104)"
        );
    }

    #[test]
    fn lines_progress_writes_one_line_per_event() {
        let mut out = Vec::new();
        let mut progress = Progress::new(false);
        progress
            .event(
                &event(CreatePhase::Queued, None, "waiting for local-lvm"),
                &mut out,
            )
            .unwrap();
        progress
            .event(&event(CreatePhase::Cloning, Some(7), "copying"), &mut out)
            .unwrap();
        progress.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "queued - waiting for local-lvm\ncloning 7% copying\n"
        );
    }

    #[test]
    fn elapsed_time_reads_in_seconds_then_minutes() {
        assert_eq!(elapsed(1500), "1.5s");
        assert_eq!(elapsed(65_000), "1m05s");
    }
}
