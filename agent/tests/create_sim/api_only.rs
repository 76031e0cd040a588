//! API-only mode: no pmxcfs tree, so members, guests, configs and task
//! logs come from the API and waiting is polling; the same behaviour.
use pvectl_agent::cluster::Source;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{ErrorKind, GetGuestRequest, ListTemplatesRequest};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn without_a_pmxcfs_tree_creates_templates_and_guests_work_through_the_api() {
    let h = harness_with(sim(), |config| {
        config.pmxcfs_root = std::path::PathBuf::from("/nonexistent/pvectl-test/pve");
    })
    .await;
    assert!(matches!(h.ctx.source, Source::ApiOnly));
    let templates = h
        .service
        .list_templates(as_admin(ListTemplatesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(templates.templates.len(), 2);

    let mut request = create_request("apionly1");
    request.tags = vec!["ci".into()];
    let events = h.create(request).await.unwrap();
    let result = result(&events);
    let text = h.config_text(result.vmid).unwrap();
    assert_eq!(config_value(&text, "tags").as_deref(), Some("ci"));
    assert_eq!(
        result.config_digest,
        pvectl_agent::pmxcfs::guest_config::digest(text.as_bytes())
    );
    assert!(events.iter().any(|e| e.percent == Some(100)));

    let guest = h
        .service
        .get_guest(as_admin(GetGuestRequest { vmid: result.vmid }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(guest.name, "apionly1");

    let mut unknown = create_request("apionly2");
    unknown.template = by_name("centos-7");
    let error = error(&h.create(unknown).await.unwrap());
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(
        error.message.contains("ubuntu-24.04 (9100)"),
        "{}",
        error.message
    );
}
