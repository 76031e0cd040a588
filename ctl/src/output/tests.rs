use serde::Serialize;

use super::{Column, OutputFormat, Tabular, render};

#[derive(Serialize)]
struct Guest {
    vmid: u32,
    name: String,
    status: &'static str,
    node: &'static str,
    memory_mib: u64,
}

impl Tabular for Guest {
    const KIND: &'static str = "vm";
    const COLUMNS: &'static [Column] = &[
        Column::always("VMID"),
        Column::always("NAME"),
        Column::always("STATUS"),
        Column::wide("MEMORY"),
        Column::always("NODE"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.vmid.to_string(),
            self.name.clone(),
            self.status.to_owned(),
            format!("{} MiB", self.memory_mib),
            self.node.to_owned(),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }
}

fn guests() -> Vec<Guest> {
    vec![
        Guest {
            vmid: 101,
            name: "web1".to_owned(),
            status: "running",
            node: "pve1",
            memory_mib: 2048,
        },
        Guest {
            vmid: 9200,
            name: "ubuntu-24.04-cloud-template".to_owned(),
            status: "stopped",
            node: "pve2",
            memory_mib: 512,
        },
    ]
}

fn rendered(format: OutputFormat, width: Option<usize>) -> String {
    let mut out = Vec::new();
    render(&guests(), format, width, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn table_aligns_columns_three_spaces_apart_without_trailing_blanks() {
    assert_eq!(
        rendered(OutputFormat::Table, None),
        "\
VMID   NAME                          STATUS    NODE
101    web1                          running   pve1
9200   ubuntu-24.04-cloud-template   stopped   pve2
"
    );
}

#[test]
fn wide_table_adds_the_wide_only_columns_in_place() {
    assert_eq!(
        rendered(OutputFormat::Wide, None),
        "\
VMID   NAME                          STATUS    MEMORY     NODE
101    web1                          running   2048 MiB   pve1
9200   ubuntu-24.04-cloud-template   stopped   512 MiB    pve2
"
    );
}

#[test]
fn table_on_a_narrow_terminal_cuts_the_widest_column_with_an_ellipsis() {
    let table = rendered(OutputFormat::Table, Some(40));
    assert_eq!(
        table,
        "\
VMID   NAME               STATUS    NODE
101    web1               running   pve1
9200   ubuntu-24.04-cl…   stopped   pve2
"
    );
    assert!(table.lines().all(|line| line.chars().count() <= 40));
}

#[test]
fn table_on_a_terminal_too_narrow_for_every_column_keeps_each_column_readable() {
    let table = rendered(OutputFormat::Table, Some(10));
    assert_eq!(
        table,
        "\
VMID   NAME   STA…   NODE
101    web1   run…   pve1
9200   ubu…   sto…   pve2
"
    );
}

#[test]
fn table_of_nothing_prints_only_the_header() {
    let mut out = Vec::new();
    render::<Guest>(&[], OutputFormat::Table, None, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "VMID   NAME   STATUS   NODE\n"
    );
}

#[test]
fn json_is_a_pretty_array_of_the_items() {
    assert_eq!(
        rendered(OutputFormat::Json, None),
        r#"[
  {
    "vmid": 101,
    "name": "web1",
    "status": "running",
    "node": "pve1",
    "memory_mib": 2048
  },
  {
    "vmid": 9200,
    "name": "ubuntu-24.04-cloud-template",
    "status": "stopped",
    "node": "pve2",
    "memory_mib": 512
  }
]
"#
    );
}

#[test]
fn yaml_is_a_sequence_of_the_items() {
    assert_eq!(
        rendered(OutputFormat::Yaml, None),
        "\
- vmid: 101
  name: web1
  status: running
  node: pve1
  memory_mib: 2048
- vmid: 9200
  name: ubuntu-24.04-cloud-template
  status: stopped
  node: pve2
  memory_mib: 512
"
    );
}

#[test]
fn name_prints_kind_slash_name_per_item() {
    assert_eq!(rendered(OutputFormat::Name, None), "vm/101\nvm/9200\n");
}
