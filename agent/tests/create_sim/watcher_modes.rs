//! The create waits the same way whichever watcher backend serves it.
use pvectl_agent::config::WatcherMode;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn with_the_polling_watcher_creates_still_see_progress_and_the_end() {
    let h = harness_with(sim(), |config| config.watcher = WatcherMode::Poll).await;
    let mut request = create_request("polled1");
    request.start = true;
    let events = h.create(request).await.unwrap();
    let result = result(&events);
    assert!(result.started);
    assert!(events.iter().any(|e| e.percent == Some(100)));
    assert!(h.config_text(result.vmid).is_some());
}
