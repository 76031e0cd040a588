use super::*;

fn qemu(text: &str) -> GuestConfig {
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    assert_eq!(parsed.issues, vec![], "unexpected issues");
    parsed.config
}

fn lxc(text: &str) -> GuestConfig {
    let parsed = GuestConfig::parse(GuestKind::Lxc, text.as_bytes()).unwrap();
    assert_eq!(parsed.issues, vec![], "unexpected issues");
    parsed.config
}

fn reparsed(config: &GuestConfig) -> GuestConfig {
    let text = config.render().unwrap();
    GuestConfig::parse_strict(config.kind, text.as_bytes()).unwrap()
}

#[test]
fn description_lines_are_unescaped_and_written_back_as_pve_writes_them() {
    let text = "#TEST%3A a\n#Gr%C3%BC%C3%9Fe\n#\n#100%25 of 100%\nname: vm\n";
    let config = qemu(text);
    assert_eq!(
        config.main.description.as_deref(),
        Some("TEST: a\nGrüße\n\n100% of 100%")
    );
    assert_eq!(
        config.render().unwrap(),
        "#TEST%3A a\n#Gr%C3%BC%C3%9Fe\n#\n#100% of 100%\nname: vm\n"
    );
}

#[test]
fn a_description_key_is_accepted_and_written_as_comment_lines() {
    let config = qemu("description: first%3A line\nname: vm\n");
    assert_eq!(config.main.description.as_deref(), Some("first: line"));
    assert_eq!(config.render().unwrap(), "#first%3A line\nname: vm\n");
}

#[test]
fn comment_lines_anywhere_in_a_section_belong_to_its_description() {
    let config = qemu("name: vm\n#late\ncores: 2\n\n[snap]\n#snapshot note\nsnaptime: 5\n");
    assert_eq!(config.main.description.as_deref(), Some("late"));
    assert_eq!(
        config.snapshots["snap"].description.as_deref(),
        Some("snapshot note")
    );
}

#[test]
fn qemu_trims_trailing_whitespace_of_descriptions_but_lxc_keeps_spaces() {
    assert_eq!(qemu("#a \n#\n").main.description.as_deref(), Some("a"));
    assert_eq!(lxc("#a \n#\n").main.description.as_deref(), Some("a "));
    assert_eq!(qemu("#  \n").main.description, None);
}

#[test]
fn an_empty_pending_description_survives_for_qemu() {
    let config = qemu("name: vm\n\n[PENDING]\n#\n");
    assert_eq!(config.pending.values.description.as_deref(), Some(""));
    assert_eq!(config.render().unwrap(), "name: vm\n\n[PENDING]\n#\n");
}

#[test]
fn pending_deletes_are_split_sorted_and_keep_the_force_mark() {
    let config =
        qemu("memory: 1024\n\n[PENDING]\ndelete: net1,!scsi1;ide2 virtio0,net1\nmemory: 2048\n");
    let keys: Vec<(&str, bool)> = config
        .pending
        .delete
        .iter()
        .map(|d| (d.key.as_str(), d.force))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("ide2", false),
            ("net1", false),
            ("scsi1", true),
            ("virtio0", false)
        ]
    );
    assert!(config.pending.deletes("scsi1") && !config.pending.deletes("memory"));
    assert_eq!(config.pending.values.get("memory"), Some("2048"));
    assert!(config.has_pending());
    assert_eq!(
        config.render().unwrap(),
        "memory: 1024\n\n[PENDING]\ndelete: ide2,net1,!scsi1,virtio0\nmemory: 2048\n"
    );
}

#[test]
fn delete_outside_pending_is_skipped_and_rejected_in_strict_mode() {
    let text = "name: vm\ndelete: cores\n";
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    assert_eq!(
        parsed.issues,
        vec![ConfigError::DeleteOutsidePending { line: 2 }]
    );
    assert_eq!(parsed.config.main.options.len(), 1);
    assert_eq!(
        GuestConfig::parse_strict(GuestKind::Qemu, text.as_bytes()),
        Err(ConfigError::DeleteOutsidePending { line: 2 })
    );
}

#[test]
fn container_pending_uses_its_own_header() {
    let config = lxc("hostname: ct\n\n[pve:pending]\ndelete: !mp0\ncores: 4\n");
    assert_eq!(config.pending.values.get("cores"), Some("4"));
    assert!(config.pending.delete[0].force);
    assert_eq!(
        config.render().unwrap(),
        "hostname: ct\n\n[pve:pending]\ncores: 4\ndelete: !mp0\n"
    );
}

#[test]
fn special_sections_and_snapshots_are_separate_even_with_the_same_name() {
    let config = qemu(
        "parent: cloudinit\n\n[special:cloudinit]\nname: ci\n\n[special:fleecing]\n\
         fleecing-images: zfs:vm-1-fleece-0\n\n[cloudinit]\nname: snap\nsnaptime: 1737549549\n\
         vmstate: local:state-1\nparent: older\n",
    );
    assert_eq!(config.special["cloudinit"].get("name"), Some("ci"));
    assert_eq!(
        config.special["fleecing"].get("fleecing-images"),
        Some("zfs:vm-1-fleece-0")
    );
    let snapshot = &config.snapshots["cloudinit"];
    assert_eq!(snapshot.get("name"), Some("snap"));
    assert_eq!(snapshot.snaptime(), Ok(Some(1_737_549_549)));
    assert_eq!(snapshot.vmstate(), Some("local:state-1"));
    assert_eq!(snapshot.get("parent"), Some("older"));
    assert_eq!(config.parent(), Some("cloudinit"));
}

#[test]
fn unknown_sections_are_skipped_with_their_lines() {
    let text = "name: vm\n\n[special:other]\nname: x\n\n[:3]\n#c\nname: y\n\n[snap]\nname: s\n";
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    assert_eq!(
        parsed.issues,
        vec![
            ConfigError::UnknownSection {
                line: 3,
                name: "special:other".into()
            },
            ConfigError::UnknownSection {
                line: 6,
                name: ":3".into()
            },
        ]
    );
    assert_eq!(parsed.config.get("name"), Some("vm"));
    assert!(parsed.config.special.is_empty());
    assert_eq!(parsed.config.snapshots["snap"].get("name"), Some("s"));
}

#[test]
fn a_duplicate_section_replaces_the_earlier_one() {
    let text = "[PENDING]\nbios: ovmf\n\n[PENDING]\nvga: qxl\n\n[s1]\ncores: 2\n\n[s1]\ncores: 4\n";
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    assert_eq!(
        parsed.issues,
        vec![
            ConfigError::DuplicateSection {
                line: 4,
                name: "PENDING".into()
            },
            ConfigError::DuplicateSection {
                line: 10,
                name: "s1".into()
            },
        ]
    );
    assert_eq!(parsed.config.pending.values.get("bios"), None);
    assert_eq!(parsed.config.pending.values.get("vga"), Some("qxl"));
    assert_eq!(parsed.config.snapshots["s1"].get("cores"), Some("4"));
}

#[test]
fn container_lxc_keys_may_repeat_and_keep_their_order() {
    let text = "lxc.cgroup2.devices.allow: c 10:200 rwm\nhostname: ct\n\
                lxc.mount.entry = /dev/net dev/net none bind,create=dir\n\
                lxc.cgroup2.devices.allow: c 1:1 rwm\nlxc.apparmor.profile:\n";
    let config = lxc(text);
    let keys: Vec<(&str, &str)> = config
        .main
        .lxc
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("lxc.cgroup2.devices.allow", "c 10:200 rwm"),
            ("lxc.mount.entry", "/dev/net dev/net none bind,create=dir"),
            ("lxc.cgroup2.devices.allow", "c 1:1 rwm"),
            ("lxc.apparmor.profile", ""),
        ]
    );
    assert_eq!(
        config.render().unwrap(),
        "hostname: ct\nlxc.cgroup2.devices.allow: c 10:200 rwm\n\
         lxc.mount.entry: /dev/net dev/net none bind,create=dir\n\
         lxc.cgroup2.devices.allow: c 1:1 rwm\nlxc.apparmor.profile: \n"
    );
    assert_eq!(reparsed(&config), config);
}

#[test]
fn lxc_keys_in_a_vm_config_and_brackets_in_a_container_config_are_malformed_lines() {
    let parsed = GuestConfig::parse(GuestKind::Qemu, b"lxc.foo: bar\n").unwrap();
    assert!(matches!(
        parsed.issues[..],
        [ConfigError::MalformedLine { line: 1, .. }]
    ));
    let parsed =
        GuestConfig::parse(GuestKind::Lxc, b"[special:cloudinit]\nhostname: ct\n").unwrap();
    assert!(matches!(
        parsed.issues[..],
        [ConfigError::MalformedLine { line: 1, .. }]
    ));
    assert_eq!(parsed.config.get("hostname"), Some("ct"));
}

#[test]
fn keys_follow_the_pattern_of_each_guest_kind() {
    let parsed = GuestConfig::parse(GuestKind::Lxc, b"ssh-keys: x\nmp0: a:b\n").unwrap();
    assert_eq!(parsed.issues.len(), 1);
    assert_eq!(parsed.config.get("mp0"), Some("a:b"));
    let config = qemu("amd-sev: type=std\nhostpci0: 0000:01:00\n");
    assert_eq!(config.get("amd-sev"), Some("type=std"));
    for bad in ["Name: x\n", "a1b: x\n", "name:\n", "just words\n"] {
        let parsed = GuestConfig::parse(GuestKind::Qemu, bad.as_bytes()).unwrap();
        assert!(
            matches!(
                parsed.issues[..],
                [ConfigError::MalformedLine { line: 1, .. }]
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn values_are_trimmed_but_a_blank_value_keeps_one_character_like_pve() {
    let config = qemu("name:   vm  \r\nboot: \n");
    assert_eq!(config.get("name"), Some("vm"));
    assert_eq!(config.get("boot"), Some(" "));
    assert_eq!(reparsed(&config), config);
}

#[test]
fn snapstate_is_dropped_from_the_main_section_only() {
    let config = qemu("snapstate: prepare\nname: vm\n\n[s1]\nsnapstate: delete\n");
    assert_eq!(config.get("snapstate"), None);
    assert_eq!(config.snapshots["s1"].get("snapstate"), Some("delete"));
}

#[test]
fn bytes_that_are_not_utf8_name_their_line() {
    let err = GuestConfig::parse(GuestKind::Qemu, b"name: a\nargs: \xff\n").unwrap_err();
    assert_eq!(err, ConfigError::NotUtf8 { line: 2 });
}

#[test]
fn the_digest_is_the_sha1_of_the_whole_file() {
    let parsed = GuestConfig::parse(GuestKind::Qemu, b"name: vm\n").unwrap();
    assert_eq!(parsed.digest, "ff04049181420d11f17041c8573c164a2625699b");
    assert_eq!(digest(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

#[test]
fn the_facade_reads_names_sizes_tags_and_flags() {
    let vm = qemu(
        "name: web\nmemory: current=4096\ncores: 2\ntags: a;b,c d\ntemplate: 1\nlock: clone\nprotection: yes\n",
    );
    assert_eq!(vm.name(), Some("web"));
    assert_eq!(vm.memory_mib(), Ok(Some(4096)));
    assert_eq!(vm.cores(), Ok(Some(2)));
    assert_eq!(vm.tags(), vec!["a", "b", "c", "d"]);
    assert_eq!(vm.is_template(), Ok(true));
    assert_eq!(vm.lock(), Some("clone"));
    assert_eq!(vm.is_protected(), Ok(true));
    assert!(!vm.has_pending());

    let ct = lxc("hostname: db\nmemory: 512\n");
    assert_eq!((ct.name(), ct.memory_mib()), (Some("db"), Ok(Some(512))));
    assert_eq!(
        (ct.cores(), ct.is_template(), ct.lock()),
        (Ok(None), Ok(false), None)
    );
    assert!(ct.tags().is_empty());
}

#[test]
fn the_facade_names_the_key_of_a_bad_value() {
    let vm = qemu("memory: lots\ntemplate: maybe\ncores: -1\n");
    assert_eq!(vm.memory_mib().unwrap_err().key, "memory");
    let err = vm.is_template().unwrap_err();
    assert_eq!(
        err.to_string(),
        "option `template` has invalid value `maybe`: expected a boolean (1 or 0)"
    );
    assert_eq!(vm.cores().unwrap_err().value, "-1");
}

#[test]
fn render_refuses_what_would_not_read_back() {
    let mut config = GuestConfig::new(GuestKind::Qemu);
    config.main.options.insert("Bad Key".into(), "x".into());
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidKey { .. })
    ));

    let mut config = GuestConfig::new(GuestKind::Qemu);
    config
        .main
        .options
        .insert("name".into(), "two\nlines".into());
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidValue { .. })
    ));
    config.main.options.insert("name".into(), " padded".into());
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidValue { .. })
    ));

    let mut config = GuestConfig::new(GuestKind::Qemu);
    config
        .snapshots
        .insert("pending".into(), Section::default());
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidSectionName { .. })
    ));

    let mut config = GuestConfig::new(GuestKind::Lxc);
    config
        .special
        .insert("cloudinit".into(), Section::default());
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidSectionName { .. })
    ));

    let mut config = GuestConfig::new(GuestKind::Qemu);
    config.main.lxc.push(("lxc.foo".into(), "x".into()));
    assert!(matches!(
        config.render(),
        Err(RenderError::InvalidKey { .. })
    ));
}

mod disks;
