use super::*;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq admin@lab";

fn request() -> v1::CreateContainerRequest {
    v1::CreateContainerRequest {
        hostname: "dns9".into(),
        ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst".into(),
        nets: vec![
            v1::ContainerNetSpec {
                bridge: "vmbr0".into(),
                ip: "dhcp".into(),
                ..Default::default()
            },
            v1::ContainerNetSpec {
                name: "lan".into(),
                bridge: "vmbr0".into(),
                ip: "10.0.0.5/24".into(),
                gateway: "10.0.0.1".into(),
                vlan_tag: 7,
                firewall: true,
            },
        ],
        ssh_public_keys: vec![KEY.into()],
        password: "s3cret-pw".into(),
        swap_mib: Some(0),
        ..Default::default()
    }
}

fn invalid(request: v1::CreateContainerRequest) -> String {
    super::super::invalid(check(request))
}

#[test]
fn pves_defaults_fill_what_is_not_asked_for() {
    let record = check(request()).unwrap();
    assert_eq!(record.rootfs_storage, "local");
    assert_eq!(record.rootfs_size_gib, 4);
    assert!(record.unprivileged);
    assert_eq!(record.nets[0].name, "eth0");
    assert_eq!(record.nets[1].name, "lan");
    assert!(record.password_set);
}

#[test]
fn the_password_goes_to_pve_but_never_into_the_journal_or_debug_output() {
    let record = check(request()).unwrap();
    let journaled = serde_json::to_string(&record).unwrap();
    assert!(!journaled.contains("s3cret-pw"), "{journaled}");
    assert!(journaled.contains("\"password_set\":true"), "{journaled}");
    assert!(!format!("{record:?}").contains("s3cret-pw"));
    let back: ContainerRecord = serde_json::from_str(&journaled).unwrap();
    assert_eq!(back.password, None);
    let plan = record.plan();
    let pairs = plan.params.as_strs();
    assert_eq!(
        pairs,
        [
            (
                "ostemplate",
                "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
            ),
            ("hostname", "dns9"),
            ("rootfs", "local:4"),
            ("unprivileged", "1"),
            ("swap", "0"),
            ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
            (
                "net1",
                "name=lan,bridge=vmbr0,firewall=1,gw=10.0.0.1,ip=10.0.0.5/24,tag=7"
            ),
            ("ssh-public-keys", KEY),
            ("password", "s3cret-pw"),
        ]
    );
    assert_eq!(plan.disks, [("rootfs".to_string(), "local".to_string())]);
}

#[test]
fn bad_templates_addresses_keys_and_passwords_are_refused() {
    let mut ostemplate = request();
    ostemplate.ostemplate = "debian-12.tar.zst".into();
    assert!(invalid(ostemplate).starts_with("invalid OS template"));
    let mut missing = request();
    missing.ostemplate = String::new();
    assert!(invalid(missing).contains("needs an OS template"));
    let mut gateway = request();
    gateway.nets[0].gateway = "10.0.0.1".into();
    assert_eq!(
        invalid(gateway),
        "gateway 10.0.0.1 of eth0 needs a static address (ip=10.0.0.5/24)"
    );
    let mut cidr = request();
    cidr.nets[1].ip = "10.0.0.5".into();
    assert!(invalid(cidr).starts_with("invalid address '10.0.0.5' of lan"));
    let mut key = request();
    key.ssh_public_keys = vec!["not a key".into()];
    assert!(invalid(key).contains("OpenSSH public key"));
    let mut short = request();
    short.password = "abc".into();
    assert!(invalid(short).contains("too short"));
    let mut hostname = request();
    hostname.hostname = "dns_9".into();
    assert!(invalid(hostname).starts_with("invalid hostname 'dns_9'"));
}

#[test]
fn a_privileged_container_is_asked_for_explicitly() {
    let mut privileged = request();
    privileged.privileged = true;
    let record = check(privileged).unwrap();
    assert!(!record.unprivileged);
    assert!(
        record
            .plan()
            .params
            .pairs()
            .contains(&("unprivileged".to_string(), "0".to_string()))
    );
}
