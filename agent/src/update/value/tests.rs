use super::*;
use crate::pmxcfs::GuestKind;
use crate::update::keys::format;

fn qemu(key: &str, value: &str) -> Result<String, String> {
    check(key, format(GuestKind::Qemu, key)?, value)
}

fn lxc(key: &str, value: &str) -> Result<String, String> {
    check(key, format(GuestKind::Lxc, key)?, value)
}

#[test]
fn booleans_integers_and_tags_are_stored_as_pve_stores_them() {
    assert_eq!(qemu("onboot", "yes").unwrap(), "1");
    assert_eq!(qemu("protection", "False").unwrap(), "0");
    assert_eq!(qemu("cores", "8").unwrap(), "8");
    assert_eq!(qemu("tags", "Web;prod,web db").unwrap(), "db;prod;web");
    assert_eq!(qemu("memory", "16384").unwrap(), "16384");
    assert_eq!(
        qemu("description", "line one\nline two\n").unwrap(),
        "line one\nline two"
    );
}

#[test]
fn bad_values_name_the_key_the_value_and_what_is_expected() {
    assert_eq!(
        qemu("cores", "many").unwrap_err(),
        "invalid value 'many' for cores: expected an integer"
    );
    assert_eq!(
        qemu("cores", "0").unwrap_err(),
        "invalid value '0' for cores: expected an integer of at least 1"
    );
    assert_eq!(
        lxc("cores", "9000").unwrap_err(),
        "invalid value '9000' for cores: expected an integer from 1 to 8192"
    );
    assert_eq!(
        qemu("onboot", "sometimes").unwrap_err(),
        "invalid value 'sometimes' for onboot: expected 1 or 0"
    );
    assert!(
        qemu("name", "web_1")
            .unwrap_err()
            .contains("expected a DNS name")
    );
    assert!(
        qemu("tags", "-bad")
            .unwrap_err()
            .contains("invalid tag '-bad'")
    );
    assert!(
        qemu("ostype", "beos")
            .unwrap_err()
            .contains("expected one of other, wxp")
    );
    assert_eq!(
        qemu("memory", "8").unwrap_err(),
        "invalid value '8' for memory current: expected an integer of at least 16"
    );
    assert_eq!(
        qemu("cpu", "").unwrap_err(),
        "cpu cannot be empty: remove it with --delete cpu"
    );
    assert_eq!(qemu("args", "a\nb").unwrap_err(), "args cannot span lines");
    assert_eq!(
        qemu("description", "").unwrap_err(),
        "description cannot be empty: remove it with --delete description"
    );
    assert!(qemu("description", &"x".repeat(8193)).is_err());
}

#[test]
fn qemu_nics_take_the_model_mac_shorthand_and_known_keys_only() {
    let nic = "virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1,tag=20";
    assert_eq!(qemu("net0", nic).unwrap(), nic);
    assert!(qemu("net1", "e1000,bridge=vmbr0").is_ok());
    assert!(qemu("net0", "model=virtio,macaddr=BC:24:11:00:00:01").is_ok());
    assert!(
        qemu("net0", "virtio=BC:24:11:00:00:01,bogus=1")
            .unwrap_err()
            .starts_with("unknown property 'bogus' in net0; known: model, macaddr, bridge")
    );
    assert_eq!(
        qemu("net0", "virtio=nope,bridge=vmbr0").unwrap_err(),
        "invalid value 'nope' for net0 macaddr: expected a MAC address XX:XX:XX:XX:XX:XX"
    );
    assert_eq!(
        qemu("net0", "bridge=vmbr0").unwrap_err(),
        "invalid value 'bridge=vmbr0' for net0: 'model' is required"
    );
    assert!(
        qemu("net0", "token,bridge=vmbr0")
            .unwrap_err()
            .contains("expected one of e1000")
    );
    assert!(
        qemu("net0", "virtio=BC:24:11:00:00:01,model=e1000")
            .unwrap_err()
            .contains("'model' is given twice")
    );
    assert!(
        qemu("net0", "virtio,tag=5000")
            .unwrap_err()
            .contains("net0 tag")
    );
}

#[test]
fn container_nics_need_a_name_and_valid_addresses() {
    let nic = "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,type=veth";
    assert_eq!(lxc("net0", nic).unwrap(), nic);
    assert!(lxc("net1", "name=eth1,bridge=vmbr0,ip=dhcp").is_ok());
    assert_eq!(
        lxc("net0", "bridge=vmbr0").unwrap_err(),
        "invalid value 'bridge=vmbr0' for net0: 'name' is required"
    );
    assert!(
        lxc("net0", "name=eth0,ip=10.0.0.5")
            .unwrap_err()
            .contains("net0 ip")
    );
    assert!(
        lxc("net0", "name=eth0,gw=10.0.0")
            .unwrap_err()
            .contains("IPv4 address")
    );
    assert!(lxc("net0", "name=eth0,ip6=fe80::1/129").is_err());
    assert!(lxc("net0", "name=eth0,trunks=10;20-30").is_ok());
    assert!(lxc("net0", "eth0").unwrap_err().contains("no default key"));
}
