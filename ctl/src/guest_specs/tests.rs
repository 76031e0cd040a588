use super::*;

#[test]
fn disks_are_a_storage_and_whole_gibibytes() {
    assert_eq!(
        disk("local-lvm:32").unwrap(),
        DiskArg {
            storage: "local-lvm".into(),
            size_gib: 32
        }
    );
    for bad in [
        "local-lvm",
        "local-lvm:0",
        "local-lvm:1.5",
        "9x:4",
        ":4",
        "local:-1",
    ] {
        let error = disk(bad).unwrap_err().to_string();
        assert!(error.starts_with("invalid disk"), "{bad}: {error}");
    }
}

#[test]
fn vm_nets_need_a_bridge_and_know_pves_keys() {
    assert_eq!(
        vm_net("bridge=vmbr0,model=e1000,tag=5,firewall=1").unwrap(),
        VmNetArg {
            nic: NicArg {
                bridge: "vmbr0".into(),
                tag: 5,
                firewall: true
            },
            model: "e1000".into(),
        }
    );
    assert_eq!(vm_net("bridge=vmbr1").unwrap().model, "");
    for (bad, reason) in [
        ("model=virtio", "needs bridge"),
        ("bridge=vmbr0,model=virtio9", "model is one of"),
        ("bridge=vmbr0,tag=0", "VLAN id"),
        ("bridge=vmbr0,firewall=yes", "1 or 0"),
        ("bridge=vmbr0,mtu=1500", "unknown key 'mtu'"),
        ("bridge=vmbr0,bridge=vmbr1", "given twice"),
        ("vmbr0", "not key=value"),
    ] {
        let error = vm_net(bad).unwrap_err().to_string();
        assert!(error.contains(reason), "{bad}: {error}");
    }
}

#[test]
fn ct_nets_take_dhcp_or_a_cidr_and_a_gateway_only_with_a_static_address() {
    let net = ct_net("name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1").unwrap();
    assert_eq!(
        (net.ip.as_str(), net.gateway.as_str()),
        ("10.0.0.5/24", "10.0.0.1")
    );
    assert_eq!(ct_net("bridge=vmbr0,ip=dhcp").unwrap().name, "");
    for (bad, reason) in [
        ("bridge=vmbr0,ip=10.0.0.5", "IPv4/prefix"),
        ("bridge=vmbr0,ip=dhcp,gw=10.0.0.1", "static ip"),
        ("bridge=vmbr0,gw=10.0.0", "IPv4 address"),
        ("name=eth 0,bridge=vmbr0", "name is an interface name"),
        ("bridge=vmbr0,mtu=1500", "unknown key 'mtu' (name, bridge"),
    ] {
        let error = ct_net(bad).unwrap_err().to_string();
        assert!(error.contains(reason), "{bad}: {error}");
    }
}

#[test]
fn volumes_are_named_by_storage_content_and_file() {
    assert!(iso("local:iso/debian-12.iso").is_ok());
    assert!(ostemplate("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst").is_ok());
    assert_eq!(
        ostemplate("local:iso/debian-12.iso")
            .unwrap_err()
            .to_string(),
        "invalid OS template \"local:iso/debian-12.iso\": use STORAGE:vztmpl/FILE"
    );
}

#[test]
fn key_files_skip_blank_lines_and_comments_and_name_a_bad_line() {
    let text = "# admins\nssh-ed25519 AAAAC3Nz a@lab\n\nssh-rsa AAAAB3Nz b@lab\n";
    assert_eq!(
        ssh_public_keys("keys.pub", text).unwrap(),
        ["ssh-ed25519 AAAAC3Nz a@lab", "ssh-rsa AAAAB3Nz b@lab"]
    );
    let error = ssh_public_keys("keys.pub", "ssh-ed25519 AAAAC3Nz a\nhello\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid ssh public key file \"keys.pub\": line 2 is no OpenSSH public key"
    );
    assert!(ssh_public_keys("keys.pub", "# none\n").is_err());
}
