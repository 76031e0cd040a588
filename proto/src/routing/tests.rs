//! Unit tests of the routing rule: VMID limits, template ranges, ownership and
//! allocation around the ranges.

use std::collections::BTreeSet;

use super::*;

fn vmid(id: u32) -> Vmid {
    Vmid::new(id).unwrap()
}

fn range(node_id: u32) -> (u32, u32) {
    let r = template_range(node_id).unwrap();
    (r.first().get(), r.last().get())
}

fn taken_by(ids: &[u32]) -> impl Fn(Vmid) -> bool {
    let set: BTreeSet<u32> = ids.iter().copied().collect();
    move |id| set.contains(&id.get())
}

#[test]
fn vmid_accepts_exactly_100_through_999999999() {
    assert_eq!(Vmid::new(100).unwrap().get(), 100);
    assert_eq!(Vmid::new(999_999_999).unwrap().get(), 999_999_999);
    assert_eq!(Vmid::MIN, vmid(VMID_MIN));
    assert_eq!(Vmid::MAX, vmid(VMID_MAX));
    for bad in [0, 1, 99, 1_000_000_000, u32::MAX] {
        assert_eq!(
            Vmid::new(bad),
            Err(VmidError::OutOfRange(bad.to_string())),
            "{bad}"
        );
    }
}

#[test]
fn vmid_out_of_range_error_names_the_id_and_the_limits() {
    let err = Vmid::new(99).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vmid 99 is out of range: guest ids are 100..=999999999"
    );
}

#[test]
fn vmid_try_from_and_into_u32_round_trip() {
    let id = Vmid::try_from(4242).unwrap();
    assert_eq!(u32::from(id), 4242);
    assert!(Vmid::try_from(42).is_err());
}

#[test]
fn vmid_parses_decimal_text_including_leading_zeros() {
    assert_eq!("100".parse::<Vmid>().unwrap(), vmid(100));
    assert_eq!("00101".parse::<Vmid>().unwrap(), vmid(101));
    assert_eq!("999999999".parse::<Vmid>().unwrap(), vmid(999_999_999));
}

#[test]
fn vmid_parse_calls_small_negative_and_huge_numbers_out_of_range() {
    for text in ["0", "99", "-5", "1000000000", "99999999999999999999999"] {
        assert_eq!(
            text.parse::<Vmid>(),
            Err(VmidError::OutOfRange(text.to_owned())),
            "{text}"
        );
    }
}

#[test]
fn vmid_parse_rejects_text_that_is_not_a_number() {
    for text in [
        "",
        "-",
        "abc",
        "10a",
        " 100",
        "100 ",
        "+100",
        "1e3",
        "１００",
    ] {
        assert_eq!(
            text.parse::<Vmid>(),
            Err(VmidError::NotANumber(text.to_owned())),
            "{text:?}"
        );
    }
    assert_eq!(
        "web1".parse::<Vmid>().unwrap_err().to_string(),
        "vmid 'web1' is not a number"
    );
}

#[test]
fn vmid_displays_as_its_number() {
    assert_eq!(vmid(9105).to_string(), "9105");
}

#[test]
fn first_nodes_own_9100_9199_and_9200_9299() {
    assert_eq!(range(1), (9100, 9199));
    assert_eq!(range(2), (9200, 9299));
    assert_eq!(range(9), (9900, 9999));
}

#[test]
fn node_ids_from_10_continue_above_9999() {
    assert_eq!(range(10), (10_000, 10_099));
    assert_eq!(range(11), (10_100, 10_199));
    assert_eq!(range(100), (19_000, 19_099));
    assert_eq!(range(1000), (109_000, 109_099));
}

#[test]
fn node_id_zero_has_no_range() {
    assert_eq!(template_range(0), Err(TemplateRangeError::NodeIdZero));
    assert_eq!(
        TemplateRangeError::NodeIdZero.to_string(),
        "node id 0 has no template range: corosync node ids start at 1"
    );
}

#[test]
fn the_last_node_id_with_a_range_ends_exactly_at_the_vmid_limit() {
    assert_eq!(MAX_NODE_ID_WITH_RANGE, 9_999_909);
    assert_eq!(range(MAX_NODE_ID_WITH_RANGE), (999_999_900, 999_999_999));
}

#[test]
fn node_ids_whose_range_would_pass_the_vmid_limit_have_none() {
    for node_id in [MAX_NODE_ID_WITH_RANGE + 1, 10_000_000, u32::MAX] {
        assert_eq!(
            template_range(node_id),
            Err(TemplateRangeError::NodeIdTooLarge(node_id))
        );
    }
    assert!(
        TemplateRangeError::NodeIdTooLarge(9_999_910)
            .to_string()
            .starts_with("node id 9999910 has no template range")
    );
}

#[test]
fn template_range_contains_its_ends_and_nothing_beyond() {
    let r = template_range(3).unwrap();
    assert_eq!(r.node_id(), 3);
    assert!(r.contains(vmid(9300)));
    assert!(r.contains(vmid(9399)));
    assert!(!r.contains(vmid(9299)));
    assert!(!r.contains(vmid(9400)));
    assert_eq!(r.to_string(), "9300-9399");
}

#[test]
fn template_range_converts_to_the_wire_message() {
    let wire: crate::v1::TemplateRange = template_range(12).unwrap().into();
    assert_eq!(wire.first, 10_200);
    assert_eq!(wire.last, 10_299);
}

#[test]
fn range_node_id_maps_every_id_from_9100_to_its_node() {
    assert_eq!(range_node_id(vmid(9099)), None);
    assert_eq!(range_node_id(vmid(9100)), Some(1));
    assert_eq!(range_node_id(vmid(9199)), Some(1));
    assert_eq!(range_node_id(vmid(9200)), Some(2));
    assert_eq!(range_node_id(vmid(10_099)), Some(10));
    assert_eq!(range_node_id(vmid(10_100)), Some(11));
    assert_eq!(
        range_node_id(vmid(999_999_999)),
        Some(MAX_NODE_ID_WITH_RANGE)
    );
}

#[test]
fn template_owner_is_the_member_whose_range_holds_the_id() {
    let members = [1, 2, 3];
    assert_eq!(template_owner(vmid(9100), &members), Some(1));
    assert_eq!(template_owner(vmid(9250), &members), Some(2));
    assert_eq!(template_owner(vmid(9399), &members), Some(3));
}

#[test]
fn ids_below_9100_belong_to_no_range() {
    let members = [1, 2, 3];
    for id in [100, 101, 8999, 9000, 9050, 9099] {
        assert_eq!(template_owner(vmid(id), &members), None, "{id}");
        assert!(!in_any_template_range(vmid(id), &members), "{id}");
    }
}

#[test]
fn ids_in_the_range_of_a_non_member_have_no_owner() {
    let members = [1, 2, 3];
    assert_eq!(template_owner(vmid(9400), &members), None);
    assert_eq!(template_owner(vmid(10_005), &members), None);
    assert_eq!(template_owner(vmid(500_000), &members), None);
    assert!(!in_any_template_range(vmid(9400), &members));
}

#[test]
fn owners_work_for_non_contiguous_node_ids() {
    let members = [1, 3, 7];
    assert_eq!(template_owner(vmid(9150), &members), Some(1));
    assert_eq!(template_owner(vmid(9250), &members), None);
    assert_eq!(template_owner(vmid(9301), &members), Some(3));
    assert_eq!(template_owner(vmid(9500), &members), None);
    assert_eq!(template_owner(vmid(9799), &members), Some(7));
    assert_eq!(template_owner(vmid(9800), &members), None);
}

#[test]
fn owners_work_for_node_ids_of_10_and_more() {
    let members = [2, 10, 11, 250];
    assert_eq!(template_owner(vmid(9999), &members), None);
    assert_eq!(template_owner(vmid(10_000), &members), Some(10));
    assert_eq!(template_owner(vmid(10_099), &members), Some(10));
    assert_eq!(template_owner(vmid(10_100), &members), Some(11));
    assert_eq!(template_owner(vmid(34_000), &members), Some(250));
    assert_eq!(template_owner(vmid(34_100), &members), None);
}

#[test]
fn members_without_a_range_own_nothing() {
    let members = [0, u32::MAX];
    assert_eq!(template_owner(vmid(9000), &members), None);
    assert_eq!(template_owner(vmid(999_999_999), &members), None);
}

#[test]
fn lowest_free_template_vmid_skips_taken_ids_in_the_range() {
    let r = template_range(2).unwrap();
    assert_eq!(r.lowest_free(taken_by(&[])).unwrap(), vmid(9200));
    assert_eq!(
        r.lowest_free(taken_by(&[9200, 9201, 9203])).unwrap(),
        vmid(9202)
    );
}

#[test]
fn a_full_template_range_is_an_error_naming_node_and_range() {
    let r = template_range(2).unwrap();
    let err = r.lowest_free(|_| true).unwrap_err();
    assert_eq!(
        err,
        TemplateRangeError::Full {
            node_id: 2,
            range: "9200-9299".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "no free vmid in the template range 9200-9299 of node 2"
    );
}

#[test]
fn next_id_bounds_default_to_pve_defaults() {
    let bounds = NextIdBounds::default();
    assert_eq!((bounds.lower(), bounds.upper()), (100, 1_000_000));
}

#[test]
fn next_id_bounds_follow_pve_schema_limits() {
    assert!(NextIdBounds::new(100, 100).is_ok());
    assert!(NextIdBounds::new(999_999_999, 1_000_000_000).is_ok());
    assert_eq!(
        NextIdBounds::new(99, 1000),
        Err(NextIdError::LowerOutOfRange(99))
    );
    assert_eq!(
        NextIdBounds::new(1_000_000_000, 1_000_000_000),
        Err(NextIdError::LowerOutOfRange(1_000_000_000))
    );
    assert_eq!(
        NextIdBounds::new(100, 99),
        Err(NextIdError::UpperOutOfRange(99))
    );
    assert_eq!(
        NextIdBounds::new(100, 1_000_000_001),
        Err(NextIdError::UpperOutOfRange(1_000_000_001))
    );
    assert_eq!(
        NextIdError::LowerOutOfRange(99).to_string(),
        "next-id lower bound 99 is invalid: it must be 100..=999999999"
    );
}

#[test]
fn allocation_takes_the_lowest_free_id_from_the_lower_bound() {
    let bounds = NextIdBounds::default();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[]), &[1, 2]).unwrap(),
        vmid(100)
    );
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[100, 101, 103]), &[1, 2]).unwrap(),
        vmid(102)
    );
    let bounds = NextIdBounds::new(1000, 2000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[100, 1000]), &[1]).unwrap(),
        vmid(1001)
    );
}

#[test]
fn allocation_skips_every_member_template_range() {
    let bounds = NextIdBounds::new(9100, 1_000_000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[]), &[1, 2]).unwrap(),
        vmid(9300)
    );
    let bounds = NextIdBounds::new(9150, 1_000_000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[9300]), &[1, 2, 3]).unwrap(),
        vmid(9400)
    );
}

#[test]
fn allocation_uses_ranges_of_non_members() {
    let bounds = NextIdBounds::new(9100, 1_000_000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[]), &[1, 3, 7]).unwrap(),
        vmid(9200)
    );
    let taken: Vec<u32> = (9200..9300).collect();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&taken), &[1, 3, 7]).unwrap(),
        vmid(9400)
    );
}

#[test]
fn allocation_skips_ranges_of_node_ids_from_10() {
    let bounds = NextIdBounds::new(9950, 1_000_000).unwrap();
    let taken: Vec<u32> = (9950..10_000).collect();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&taken), &[10, 11, 13]).unwrap(),
        vmid(10_200)
    );
}

#[test]
fn allocation_never_returns_an_id_in_a_member_range() {
    let members = [1, 2, 3, 5, 10];
    let mut taken = BTreeSet::new();
    let bounds = NextIdBounds::new(9000, 10_200).unwrap();
    while let Ok(id) = lowest_free_vmid(bounds, |v| taken.contains(&v.get()), &members) {
        assert!(!in_any_template_range(id, &members), "{id}");
        assert!(taken.insert(id.get()), "{id} allocated twice");
    }
    // 1200 ids in the bounds, five member ranges of 100 inside them.
    assert_eq!(taken.len(), 1200 - 5 * 100);
}

#[test]
fn exhausted_bounds_fail_with_pves_wording() {
    let bounds = NextIdBounds::new(100, 105).unwrap();
    let err = lowest_free_vmid(bounds, taken_by(&[100, 101, 102, 103, 104]), &[1]).unwrap_err();
    assert_eq!(
        err,
        NextIdError::Exhausted {
            lower: 100,
            upper: 105
        }
    );
    assert_eq!(
        err.to_string(),
        "unable to get any free VMID in range [100, 105]"
    );
}

#[test]
fn bounds_covered_only_by_member_ranges_are_exhausted() {
    let bounds = NextIdBounds::new(9100, 9300).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[]), &[1, 2]),
        Err(NextIdError::Exhausted {
            lower: 9100,
            upper: 9300
        })
    );
}

#[test]
fn empty_bounds_yield_no_id_as_in_pve() {
    let bounds = NextIdBounds::new(500, 500).unwrap();
    assert!(matches!(
        lowest_free_vmid(bounds, taken_by(&[]), &[]),
        Err(NextIdError::Exhausted { .. })
    ));
    let bounds = NextIdBounds::new(600, 500).unwrap();
    assert!(lowest_free_vmid(bounds, taken_by(&[]), &[]).is_err());
}

#[test]
fn upper_bound_is_exclusive_up_to_the_vmid_limit() {
    let bounds = NextIdBounds::new(999_999_998, 1_000_000_000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[999_999_998]), &[]).unwrap(),
        vmid(999_999_999)
    );
    let bounds = NextIdBounds::new(999_999_998, 999_999_999).unwrap();
    assert!(lowest_free_vmid(bounds, taken_by(&[999_999_998]), &[]).is_err());
}

#[test]
fn skipping_the_last_member_range_ends_the_search_without_overflow() {
    let last_node = MAX_NODE_ID_WITH_RANGE;
    let bounds = NextIdBounds::new(999_999_900, 1_000_000_000).unwrap();
    assert_eq!(
        lowest_free_vmid(bounds, taken_by(&[]), &[last_node]),
        Err(NextIdError::Exhausted {
            lower: 999_999_900,
            upper: 1_000_000_000
        })
    );
}
