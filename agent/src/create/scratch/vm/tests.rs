use super::*;

fn request() -> v1::CreateVmRequest {
    v1::CreateVmRequest {
        name: "web1".into(),
        cores: 2,
        memory_mib: 2048,
        disks: vec![
            v1::DiskSpec {
                key: String::new(),
                storage: "local-lvm".into(),
                size_gib: 32,
            },
            v1::DiskSpec {
                key: "virtio0".into(),
                storage: "local".into(),
                size_gib: 8,
            },
            v1::DiskSpec {
                key: String::new(),
                storage: "local-lvm".into(),
                size_gib: 4,
            },
        ],
        nets: vec![v1::NetSpec {
            bridge: "vmbr0".into(),
            model: String::new(),
            vlan_tag: 5,
            firewall: true,
        }],
        iso: "local:iso/debian-12.iso".into(),
        os_type: "l26".into(),
        tags: vec!["Web".into(), "prod".into()],
        ..Default::default()
    }
}

fn invalid(request: v1::CreateVmRequest) -> String {
    super::super::invalid(check(request))
}

#[test]
fn disks_without_a_key_take_the_next_free_scsi_slot() {
    let record = check(request()).unwrap();
    let keys: Vec<&str> = record.disks.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["scsi0", "virtio0", "scsi1"]);
    assert_eq!(record.nets[0].model, "virtio");
    assert_eq!(record.basics.tags, ["prod", "web"]);
}

#[test]
fn the_plan_has_pves_parameters_and_the_disks_to_verify() {
    let plan = check(request()).unwrap().plan();
    let pairs = plan.params.as_strs();
    assert_eq!(
        pairs,
        [
            ("name", "web1"),
            ("ostype", "l26"),
            ("scsihw", "virtio-scsi-single"),
            ("scsi0", "local-lvm:32"),
            ("virtio0", "local:8"),
            ("scsi1", "local-lvm:4"),
            ("ide2", "local:iso/debian-12.iso,media=cdrom"),
            ("net0", "virtio,bridge=vmbr0,firewall=1,tag=5"),
            ("cores", "2"),
            ("memory", "2048"),
            ("tags", "prod;web"),
        ]
    );
    assert_eq!(plan.disks[1], ("virtio0".to_string(), "local".to_string()));
    let needs = check(request()).unwrap().needs();
    assert_eq!(needs.bridges, ["vmbr0"]);
    assert_eq!(
        needs.volumes,
        [("local:iso/debian-12.iso".to_string(), "iso")]
    );
    assert_eq!(needs.disks[0].bytes, 32 << 30);
}

#[test]
fn bad_disks_are_refused_before_anything_happens() {
    let mut twice = request();
    twice.disks[2].key = "virtio0".into();
    assert_eq!(
        invalid(twice),
        "disk virtio0 cannot be used: it is given twice"
    );
    let mut iso_slot = request();
    iso_slot.disks[0].key = "ide2".into();
    assert_eq!(
        invalid(iso_slot),
        "disk ide2 cannot be used: it holds the ISO"
    );
    let mut bus = request();
    bus.disks[0].key = "scsi31".into();
    assert!(invalid(bus).starts_with("invalid disk key 'scsi31'"));
    let mut zero = request();
    zero.disks[0].size_gib = 0;
    assert_eq!(invalid(zero), "disk scsi0 needs a size of at least 1 GiB");
    let mut storage = request();
    storage.disks[0].storage = "no storage".into();
    assert_eq!(invalid(storage), "invalid storage id 'no storage'");
}

#[test]
fn bad_names_nics_isos_and_os_types_are_refused() {
    let mut name = request();
    name.name = "web_1".into();
    assert!(invalid(name).starts_with("invalid VM name 'web_1'"));
    let mut model = request();
    model.nets[0].model = "virtio2".into();
    assert!(invalid(model).starts_with("unknown NIC model 'virtio2'"));
    let mut bridge = request();
    bridge.nets[0].bridge = "vmbr0,tag=4".into();
    assert!(invalid(bridge).starts_with("invalid bridge name"));
    let mut tag = request();
    tag.nets[0].vlan_tag = 5000;
    assert!(invalid(tag).contains("out of range"));
    let mut iso = request();
    iso.iso = "local:vztmpl/debian.tar.zst".into();
    assert!(invalid(iso).starts_with("invalid ISO"));
    let mut os = request();
    os.os_type = "linux".into();
    assert!(invalid(os).starts_with("unknown OS type 'linux'"));
    let mut memory = request();
    memory.memory_mib = 8;
    assert_eq!(invalid(memory), "memory must be at least 16 MiB");
}

#[test]
fn the_record_round_trips_through_the_journal() {
    let record = check(request()).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(serde_json::from_str::<VmRecord>(&json).unwrap(), record);
}
