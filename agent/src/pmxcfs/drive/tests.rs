use super::*;

#[test]
fn a_disk_has_volume_size_storage_and_other_options() {
    let drive = Drive::parse("local-lvm:vm-100-disk-0,iothread=1,size=32G").unwrap();
    assert_eq!(drive.volume, "local-lvm:vm-100-disk-0");
    assert_eq!(drive.size, Some(32 << 30));
    assert_eq!(drive.media, None);
    assert_eq!(drive.storage_id(), Some("local-lvm"));
    assert_eq!(drive.option("iothread"), Some("1"));
    assert!(!drive.is_cdrom() && !drive.is_cloudinit());
}

#[test]
fn the_volume_may_be_named_file_or_volume() {
    assert_eq!(Drive::parse("file=a:b,size=1K").unwrap().volume, "a:b");
    let mount = Drive::parse("volume=local:101/vm-101-disk-1.raw,mp=/data,backup=1").unwrap();
    assert_eq!(mount.volume, "local:101/vm-101-disk-1.raw");
    assert_eq!(mount.option("mp"), Some("/data"));
}

#[test]
fn cdroms_are_media_cdrom_or_the_none_and_cdrom_pseudo_volumes() {
    for value in [
        "local:iso/debian.iso,media=cdrom",
        "none,media=cdrom",
        "cdrom,media=cdrom",
        "none",
        "cdrom",
    ] {
        assert!(Drive::parse(value).unwrap().is_cdrom(), "{value}");
    }
    assert!(
        !Drive::parse("local:iso/x.iso,media=disk")
            .unwrap()
            .is_cdrom()
    );
}

#[test]
fn cloudinit_drives_are_recognised_by_volume_name() {
    for volume in [
        "local-lvm:vm-100-cloudinit",
        "lvm:vm-120-cloudinit",
        "local:100/vm-100-cloudinit.qcow2",
        "local:100/vm-100-cloudinit.raw",
        "rbd:cloudinit",
        "/dev/pve/vm-100-cloudinit",
    ] {
        assert!(is_cloudinit_volume(volume), "{volume}");
    }
    for volume in [
        "local-lvm:vm-100-disk-0",
        "local:mycloudinit",
        "local:vm-x-cloudinit",
        "local:vm-100-cloudinit.iso",
        "local:xvm-100-cloudinit",
        "local:vm-100-cloudinit-2",
        "cloudinit",
    ] {
        assert!(!is_cloudinit_volume(volume), "{volume}");
    }
    let drive = Drive::parse("local-lvm:vm-100-cloudinit,media=cdrom").unwrap();
    assert!(drive.is_cloudinit() && drive.is_cdrom());
}

#[test]
fn sizes_use_binary_units_and_round_fractions_down() {
    assert_eq!(parse_size("512"), Some(512));
    assert_eq!(parse_size("128K"), Some(128 * 1024));
    assert_eq!(parse_size("104858K"), Some(104_858 * 1024));
    assert_eq!(parse_size("4M"), Some(4 << 20));
    assert_eq!(parse_size("32G"), Some(32 << 30));
    assert_eq!(parse_size("2T"), Some(2 << 40));
    assert_eq!(parse_size("1.5G"), Some(3 << 29));
    assert_eq!(parse_size("1.1K"), Some(1126));
    assert_eq!(parse_size("0.50M"), Some(1 << 19));
}

#[test]
fn sizes_reject_other_shapes() {
    for text in [
        "",
        "G",
        "4g",
        "4GB",
        "4 G",
        "-1G",
        ".5G",
        "1.G",
        "1.5.1G",
        "99999999999T",
    ] {
        assert_eq!(parse_size(text), None, "{text}");
    }
    assert_eq!(
        Drive::parse("local:vm-1-disk-0,size=4GB"),
        Err(DriveError::InvalidSize {
            value: "4GB".into()
        })
    );
}

#[test]
fn storage_ids_come_only_from_volume_ids() {
    assert_eq!(storage_id("local:iso/x.iso"), Some("local"));
    assert_eq!(storage_id("My_Store-2:vm-1"), Some("My_Store-2"));
    assert_eq!(storage_id("/dev/sdb"), None);
    assert_eq!(storage_id("none"), None);
    assert_eq!(storage_id("a:b"), None);
    assert_eq!(storage_id("1abc:b"), None);
    assert_eq!(storage_id("local:"), None);
}

#[test]
fn a_drive_without_volume_or_with_bad_syntax_is_an_error() {
    assert_eq!(Drive::parse("size=4G"), Err(DriveError::MissingVolume));
    assert!(matches!(
        Drive::parse("a:b,size=4G,size=8G"),
        Err(DriveError::Syntax(PropertyStringError::DuplicateKey { .. }))
    ));
}
