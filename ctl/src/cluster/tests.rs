use std::time::Duration;

use pvectl_proto::Vmid;
use pvectl_proto::v1::{ErrorDetail, ErrorKind, Member, NodeInfo};

use super::routing::{
    Candidate, RouteError, TaskId, TaskIdError, TemplateArg, TemplateRoute, most_free_memory,
    operation_node, route_template,
};
use super::{Cluster, Target, wrong_node_hint};
use crate::channel::{ClientIdentity, Connector};
use crate::remote::RemoteError;

fn member(name: &str, node_id: u32, agent_address: &str) -> Member {
    Member {
        name: name.to_owned(),
        node_id,
        agent_address: agent_address.to_owned(),
        ..Member::default()
    }
}

fn members() -> Vec<Member> {
    vec![
        member("pve1", 1, "10.0.0.1:7443"),
        member("pve2", 2, "10.0.0.2:7443"),
        member("pve5", 5, ""),
    ]
}

fn vmid(id: u32) -> TemplateArg {
    TemplateArg::Vmid(Vmid::new(id).unwrap())
}

fn name(text: &str) -> TemplateArg {
    TemplateArg::Name(text.to_owned())
}

#[test]
fn template_args_of_digits_are_vmids_and_the_rest_names() {
    assert_eq!("9100".parse::<TemplateArg>().unwrap(), vmid(9100));
    assert_eq!(
        "ubuntu-24.04".parse::<TemplateArg>().unwrap(),
        name("ubuntu-24.04")
    );
    assert!("42".parse::<TemplateArg>().is_err());
    assert!("".parse::<TemplateArg>().is_err());
}

#[test]
fn a_template_vmid_routes_to_the_node_owning_its_range() {
    assert_eq!(
        route_template(&vmid(9205), None, &members()).unwrap(),
        TemplateRoute::Node("pve2".to_owned())
    );
    assert_eq!(
        route_template(&vmid(9599), Some("pve5"), &members()).unwrap(),
        TemplateRoute::Node("pve5".to_owned())
    );
}

#[test]
fn a_template_vmid_with_another_node_is_refused_naming_the_owner() {
    let error = route_template(&vmid(9205), Some("pve1"), &members()).unwrap_err();
    assert_eq!(
        error,
        RouteError::NotOwner {
            vmid: Vmid::new(9205).unwrap(),
            owner: "pve2".to_owned(),
            node: "pve1".to_owned(),
        }
    );
    assert!(error.to_string().contains("use --node pve2"));
}

#[test]
fn a_vmid_in_no_members_range_goes_to_the_node_given_or_the_seed() {
    assert_eq!(
        route_template(&vmid(9300), None, &members()).unwrap(),
        TemplateRoute::Seed
    );
    assert_eq!(
        route_template(&vmid(120), Some("pve1"), &members()).unwrap(),
        TemplateRoute::Node("pve1".to_owned())
    );
}

#[test]
fn a_template_name_goes_to_the_node_given_or_is_searched_for() {
    assert_eq!(
        route_template(&name("ubuntu"), Some("pve2"), &members()).unwrap(),
        TemplateRoute::Node("pve2".to_owned())
    );
    assert_eq!(
        route_template(&name("ubuntu"), None, &members()).unwrap(),
        TemplateRoute::Search
    );
}

fn candidate(node: &str, node_id: u32, free: Option<u64>) -> Candidate {
    Candidate {
        node: node.to_owned(),
        node_id,
        free_memory_bytes: free,
    }
}

#[test]
fn placement_picks_the_node_with_most_free_memory() {
    let candidates = [
        candidate("pve1", 1, Some(4 << 30)),
        candidate("pve2", 2, Some(12 << 30)),
        candidate("pve3", 3, None),
    ];
    assert_eq!(most_free_memory(&candidates).unwrap().node, "pve2");
}

#[test]
fn placement_ties_go_to_the_lowest_node_id_and_unknown_memory_comes_last() {
    let tied = [
        candidate("pve3", 3, Some(8 << 30)),
        candidate("pve1", 1, Some(8 << 30)),
    ];
    assert_eq!(most_free_memory(&tied).unwrap().node, "pve1");
    let unknown = [candidate("pve2", 2, None), candidate("pve4", 4, Some(1))];
    assert_eq!(most_free_memory(&unknown).unwrap().node, "pve4");
    assert!(most_free_memory(&[]).is_none());
}

#[test]
fn an_operation_id_names_the_longest_member_it_starts_with() {
    let members = vec![member("pve", 1, ""), member("pve-2", 2, "")];
    assert_eq!(
        operation_node("pve-2-01J9", &members).unwrap().name,
        "pve-2"
    );
    assert_eq!(operation_node("pve:17", &members).unwrap().name, "pve");
    assert!(operation_node("pve2-17", &members).is_none());
    assert!(operation_node("pve", &members).is_none());
    assert!(operation_node("01J9", &members).is_none());
}

fn cluster() -> Cluster {
    let pki = crate::pki::generate_ca(time::OffsetDateTime::now_utc(), 1).unwrap();
    let identity = ClientIdentity::from_pem(&pki.cert_pem, &pki.cert_pem, &pki.key_pem);
    let connector = Connector::new(identity, Duration::from_secs(1));
    let seed = Target {
        node: "pve1".to_owned(),
        address: "seed.lab:7443".parse().unwrap(),
        server_name: Some("seed.lab".to_owned()),
    };
    let info = NodeInfo {
        cluster_name: "lab".to_owned(),
        members: members(),
        ..NodeInfo::default()
    };
    Cluster::from_parts(connector, seed, info, Duration::from_secs(1))
}

#[test]
fn the_seeds_node_is_dialled_as_configured_and_others_by_name_at_their_address() {
    let cluster = cluster();
    assert_eq!(
        cluster.target("pve1").unwrap().address.to_string(),
        "seed.lab:7443"
    );
    let pve2 = cluster.target("pve2").unwrap();
    assert_eq!(pve2.address.to_string(), "10.0.0.2:7443");
    assert_eq!(pve2.server_name.as_deref(), Some("pve2"));
    assert!(matches!(
        cluster.target("pve5").unwrap_err(),
        RemoteError::NoAddress { .. }
    ));
    assert!(matches!(
        cluster.target("pve9").unwrap_err(),
        RemoteError::UnknownNode { .. }
    ));
}

#[test]
fn an_owner_hint_is_followed_to_its_address_or_the_members() {
    let cluster = cluster();
    let hint = ErrorDetail {
        kind: ErrorKind::WrongNode as i32,
        owner_node: "pve2".to_owned(),
        owner_address: "192.0.2.7:7443".to_owned(),
        ..ErrorDetail::default()
    };
    let owner = cluster.owner_target(&hint).unwrap();
    assert_eq!(owner.node, "pve2");
    assert_eq!(owner.address.to_string(), "192.0.2.7:7443");
    let without_address = ErrorDetail {
        owner_address: String::new(),
        ..hint.clone()
    };
    assert_eq!(
        cluster
            .owner_target(&without_address)
            .unwrap()
            .address
            .to_string(),
        "10.0.0.2:7443"
    );
    let error = RemoteError::from_status("pve1", "GetGuest", &hint.into_status());
    assert_eq!(wrong_node_hint(&error).unwrap().owner_node, "pve2");
    let other = RemoteError::from_status("pve1", "GetGuest", &tonic::Status::not_found("x"));
    assert!(wrong_node_hint(&other).is_none());
}

#[test]
fn template_owners_come_from_member_ranges() {
    let cluster = cluster();
    assert_eq!(
        cluster
            .template_owner(Vmid::new(9150).unwrap())
            .unwrap()
            .name,
        "pve1"
    );
    assert!(cluster.template_owner(Vmid::new(9350).unwrap()).is_none());
}

#[test]
fn a_task_id_is_a_upid_when_it_says_so_and_an_operation_id_otherwise() {
    let upid = "UPID:pve2:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9200:root@pam:";
    match upid.parse::<TaskId>().unwrap() {
        TaskId::Upid(parsed) => {
            assert_eq!(parsed.node, "pve2");
            assert_eq!(parsed.to_string(), upid);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        "pve1-1735689599500-3".parse::<TaskId>().unwrap(),
        TaskId::Operation("pve1-1735689599500-3".to_owned())
    );
    assert!(matches!(
        "UPID:pve2:bad:".parse::<TaskId>(),
        Err(TaskIdError::Upid(_))
    ));
    assert!(matches!(
        "two words".parse::<TaskId>(),
        Err(TaskIdError::Operation(_))
    ));
    assert!("".parse::<TaskId>().is_err());
}
