use http::Method;

use super::Schema;

/// A concrete path for a template: every `{param}` replaced by a sample value.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|component| {
            if component.starts_with('{') {
                format!("x{}", component.len())
            } else {
                component.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_schema_template_resolves_to_itself() {
    let schema = Schema::get();
    assert_eq!(schema.endpoints().len(), 649);
    for endpoint in schema.endpoints() {
        let path = concrete(&endpoint.template);
        let matched = schema
            .resolve(&path)
            .unwrap_or_else(|| panic!("{path} does not resolve"));
        assert_eq!(matched.template, endpoint.template, "for {path}");
        let found = matched
            .endpoint(&endpoint.method)
            .unwrap_or_else(|| panic!("{} {path} has no endpoint", endpoint.method));
        assert_eq!(found.template, endpoint.template);
        for (name, value) in &matched.params {
            assert!(endpoint.template.contains(&format!("{{{name}}}")));
            assert!(path.split('/').any(|c| c == value));
        }
    }
}

#[test]
fn upids_with_colons_match_one_component() {
    let upid = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:";
    let matched = Schema::get()
        .resolve(&format!("/nodes/pve1/tasks/{upid}/status"))
        .expect("task status path resolves");
    assert_eq!(matched.template, "/nodes/{node}/tasks/{upid}/status");
    assert_eq!(matched.params["upid"], upid);
    assert_eq!(matched.params["node"], "pve1");
}

#[test]
fn volume_ids_keep_their_slash_below_storage_content() {
    let matched = Schema::get()
        .resolve("/nodes/pve1/storage/local/content/local:iso/debian-12.iso")
        .expect("content path resolves");
    assert_eq!(
        matched.template,
        "/nodes/{node}/storage/{storage}/content/{volume}"
    );
    assert_eq!(matched.params["volume"], "local:iso/debian-12.iso");
}

#[test]
fn empty_components_are_skipped_and_unknown_paths_do_not_resolve() {
    let schema = Schema::get();
    let matched = schema.resolve("//nodes//pve1/qemu/").expect("resolves");
    assert_eq!(matched.template, "/nodes/{node}/qemu");
    assert!(schema.resolve("/nodes/pve1/no-such-thing").is_none());
    assert!(schema.resolve("/nodes/pve 1/qemu").is_none());
}

#[test]
fn only_the_login_endpoints_are_open_to_the_world() {
    let mut world: Vec<String> = Schema::get()
        .endpoints()
        .iter()
        .filter(|e| e.world)
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    world.sort();
    assert_eq!(
        world,
        [
            "GET /access/domains",
            "GET /access/ticket",
            "POST /access/openid/auth-url",
            "POST /access/openid/login",
            "POST /access/ticket",
            "POST /access/vncticket",
        ]
    );
}

#[test]
fn token_permission_comes_from_allowtoken() {
    let schema = Schema::get();
    let ticket = schema
        .endpoint(&Method::POST, "/access/ticket")
        .expect("ticket endpoint");
    assert!(!ticket.allow_token);
    let clone = schema
        .endpoint(&Method::POST, "/nodes/{node}/qemu/{vmid}/clone")
        .expect("clone endpoint");
    assert!(clone.allow_token);
}

#[test]
fn guest_endpoints_take_a_description_although_the_dump_lost_it() {
    let schema = Schema::get();
    let put = schema
        .endpoint(&Method::PUT, "/nodes/{node}/qemu/{vmid}/config")
        .expect("qemu config PUT");
    assert_eq!(
        put.parameters["properties"]["description"]["maxLength"],
        8192
    );
    let clone = schema
        .endpoint(&Method::POST, "/nodes/{node}/lxc/{vmid}/clone")
        .expect("lxc clone");
    assert_eq!(
        clone.parameters["properties"]["description"]["type"],
        "string"
    );
}
