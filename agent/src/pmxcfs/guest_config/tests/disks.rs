use super::super::*;
use super::qemu;

fn boot(text: &str) -> Option<(String, BootDiskSource)> {
    qemu(text)
        .boot_disk()
        .unwrap()
        .map(|boot| (boot.disk.key, boot.source))
}

fn chose(key: &str, source: BootDiskSource) -> Option<(String, BootDiskSource)> {
    Some((key.to_owned(), source))
}

#[test]
fn disks_are_listed_in_pve_drive_order_and_other_keys_are_ignored() {
    let config = qemu(
        "unused0: local:vm-1-disk-9\nscsi10: a:vm-1-disk-3,size=1G\nscsi2: a:vm-1-disk-2\n\
         net0: virtio=AA:BB:CC:DD:EE:FF\nscsihw: virtio-scsi-pci\nefidisk0: a:vm-1-disk-0,size=128K\n\
         ide2: none,media=cdrom\nvirtio0: a:vm-1-disk-1\nsata5: a:vm-1-disk-4\ntpmstate0: a:vm-1-disk-5\n\
         scsi31: a:x\nscsi01: a:y\nide4: a:z\n",
    );
    let keys: Vec<String> = config.disks().unwrap().into_iter().map(|d| d.key).collect();
    assert_eq!(
        keys,
        [
            "ide2",
            "scsi2",
            "scsi10",
            "virtio0",
            "sata5",
            "efidisk0",
            "tpmstate0",
            "unused0"
        ]
    );
    let disks = config.disks().unwrap();
    assert_eq!(disks[2].drive.size, Some(1 << 30));
    assert_eq!((disks[2].bus, disks[2].index), (DiskBus::Scsi, 10));
}

#[test]
fn container_disks_are_rootfs_mount_points_and_unused_volumes() {
    let config = super::lxc(
        "mp1: /srv/data,mp=/data\nrootfs: local-lvm:vm-101-disk-0,size=8G\nunused3: local-lvm:vm-101-disk-7\n\
         mp0: local-lvm:vm-101-disk-1,mp=/var,size=2G\nnet0: name=eth0,bridge=vmbr0\n",
    );
    let disks = config.disks().unwrap();
    let keys: Vec<&str> = disks.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["rootfs", "mp0", "mp1", "unused3"]);
    assert_eq!(disks[0].drive.size, Some(8 << 30));
    assert_eq!(disks[1].drive.option("mp"), Some("/var"));
    assert_eq!(disks[2].drive.storage_id(), None);
    let boot = config.boot_disk().unwrap().unwrap();
    assert_eq!(
        (boot.disk.key.as_str(), boot.source),
        ("rootfs", BootDiskSource::RootFs)
    );
}

#[test]
fn a_malformed_disk_value_names_its_key() {
    let err = qemu("scsi0: a:b,size=huge\n").disks().unwrap_err();
    assert_eq!(err.key, "scsi0");
    assert!(
        err.to_string().contains("disk `scsi0` has invalid value"),
        "{err}"
    );
}

#[test]
fn the_boot_order_skips_a_cdrom_listed_first() {
    let text =
        "boot: order=ide2;scsi0\nide2: local:iso/x.iso,media=cdrom\nscsi0: a:vm-1-disk-0,size=4G\n";
    assert_eq!(boot(text), chose("scsi0", BootDiskSource::BootOrder));
}

#[test]
fn the_boot_order_ignores_network_devices() {
    let text = "boot: order=net0;virtio1;scsi0\nnet0: virtio=AA:BB:CC:DD:EE:FF\n\
                virtio1: a:vm-1-disk-1\nscsi0: a:vm-1-disk-0\n";
    assert_eq!(boot(text), chose("virtio1", BootDiskSource::BootOrder));
}

#[test]
fn the_boot_order_skips_missing_drives_and_may_find_nothing() {
    let text = "boot: order=scsi1;net0\nscsi0: a:vm-1-disk-0\n";
    assert_eq!(boot(text), None);
    assert_eq!(boot("boot: order=ide2\nide2: none,media=cdrom\n"), None);
}

#[test]
fn a_blank_boot_value_means_no_boot_disk() {
    assert_eq!(boot("boot: \nscsi0: a:vm-1-disk-0\n"), None);
}

#[test]
fn efi_and_tpm_disks_never_count() {
    let text = "boot: order=efidisk0;tpmstate0;sata0\nefidisk0: a:vm-1-disk-0,size=1M\n\
                tpmstate0: a:vm-1-disk-2\nsata0: a:vm-1-disk-1\n";
    assert_eq!(boot(text), chose("sata0", BootDiskSource::BootOrder));
    let only_efi = "efidisk0: a:vm-1-disk-0\ntpmstate0: a:vm-1-disk-2\nide2: none,media=cdrom\n";
    assert_eq!(boot(only_efi), None);
    assert_eq!(boot("bootdisk: efidisk0\nefidisk0: a:vm-1-disk-0\n"), None);
}

#[test]
fn cloudinit_and_empty_drives_are_not_boot_disks() {
    let text =
        "boot: order=scsi1;ide0;scsi0\nscsi1: a:vm-1-cloudinit\nide0: none\nscsi0: a:vm-1-disk-0\n";
    assert_eq!(boot(text), chose("scsi0", BootDiskSource::BootOrder));
}

#[test]
fn the_legacy_bootdisk_key_is_used_without_a_boot_order() {
    let text = "bootdisk: virtio0\nide0: a:vm-1-disk-0\nvirtio0: a:vm-1-disk-1\n";
    assert_eq!(boot(text), chose("virtio0", BootDiskSource::LegacyBootdisk));
    let legacy = "boot: ndca\nbootdisk: virtio0\nide0: a:vm-1-disk-0\nvirtio0: a:vm-1-disk-1\n";
    assert_eq!(
        boot(legacy),
        chose("virtio0", BootDiskSource::LegacyBootdisk)
    );
}

#[test]
fn a_legacy_boot_value_wins_over_an_order_like_in_pve() {
    let text = "boot: cdn,order=scsi0\nbootdisk: scsi1\nscsi0: a:d0\nscsi1: a:d1\n";
    assert_eq!(boot(text), chose("scsi1", BootDiskSource::LegacyBootdisk));
}

#[test]
fn a_legacy_bootdisk_that_is_a_cdrom_gives_no_boot_disk() {
    let text = "bootdisk: ide2\nide2: none,media=cdrom\nscsi0: a:vm-1-disk-0\n";
    assert_eq!(boot(text), None);
}

#[test]
fn without_boot_or_bootdisk_the_default_order_picks_the_first_disk() {
    let text = "ide2: local:iso/x.iso,media=cdrom\nsata0: a:vm-1-disk-2\nvirtio3: a:vm-1-disk-1\n\
                scsi4: a:vm-1-disk-0\n";
    assert_eq!(boot(text), chose("scsi4", BootDiskSource::DefaultOrder));
    assert_eq!(
        boot("boot: cdn\nsata1: a:d\n"),
        chose("sata1", BootDiskSource::DefaultOrder)
    );
}

#[test]
fn an_invalid_boot_value_is_an_error_naming_boot() {
    for bad in [
        "boot: order=scsi0,order=ide0\n",
        "boot: first=scsi0\n",
        "boot: xyz\n",
    ] {
        let err = qemu(bad).boot_disk().unwrap_err();
        assert_eq!(err.key, "boot", "{bad}");
    }
}

#[test]
fn disk_slots_accept_only_canonical_keys_in_range() {
    assert_eq!(
        disk_slot(GuestKind::Qemu, "scsi30"),
        Some((DiskBus::Scsi, 30))
    );
    assert_eq!(disk_slot(GuestKind::Qemu, "scsi31"), None);
    assert_eq!(disk_slot(GuestKind::Qemu, "ide3"), Some((DiskBus::Ide, 3)));
    assert_eq!(disk_slot(GuestKind::Qemu, "ide4"), None);
    assert_eq!(
        disk_slot(GuestKind::Qemu, "virtio15"),
        Some((DiskBus::Virtio, 15))
    );
    assert_eq!(disk_slot(GuestKind::Qemu, "sata6"), None);
    assert_eq!(disk_slot(GuestKind::Qemu, "efidisk1"), None);
    assert_eq!(
        disk_slot(GuestKind::Qemu, "unused255"),
        Some((DiskBus::Unused, 255))
    );
    assert_eq!(disk_slot(GuestKind::Qemu, "net0"), None);
    assert_eq!(disk_slot(GuestKind::Qemu, "rootfs"), None);
    assert_eq!(disk_slot(GuestKind::Qemu, "mp0"), None);
    assert_eq!(
        disk_slot(GuestKind::Lxc, "mp255"),
        Some((DiskBus::MountPoint, 255))
    );
    assert_eq!(disk_slot(GuestKind::Lxc, "scsi0"), None);
    assert_eq!(
        disk_slot(GuestKind::Lxc, "rootfs"),
        Some((DiskBus::RootFs, 0))
    );
}
