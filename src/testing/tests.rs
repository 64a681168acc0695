//! The macro's lists of checks are the functions of the check modules: a
//! check written without a line in `suite.rs` would run on no backend.

/// The callback of `names!`: one name onto the list.
macro_rules! push {
    ($list:ident $name:ident) => {
        $list.extend([stringify!($name)]);
    };
}

/// The names of some groups of `__conformance_checks!`, sorted.
macro_rules! names {
    ($($group:ident),+) => {{
        let mut names: Vec<&'static str> = Vec::new();
        $(crate::__conformance_checks!($group [push] [names]);)+
        names.sort_unstable();
        names
    }};
}

/// The `pub async fn`s of a source file whose names start with `prefix`.
fn checks_in(source: &'static str, prefix: &str) -> Vec<&'static str> {
    let mut names: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .filter_map(|rest| rest.split(['<', '(']).next())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn every_storage_check_is_in_the_suite() {
    assert_eq!(names!(atomic, storage), checks_in(include_str!("conformance.rs"), ""));
}

#[test]
fn every_grace_check_is_in_the_suite() {
    assert_eq!(names!(atomic_grace, grace), checks_in(include_str!("refresh_grace.rs"), ""));
}

#[test]
fn every_best_effort_check_is_in_the_suite() {
    assert_eq!(names!(best_effort), checks_in(include_str!("best_effort.rs"), ""));
}

#[test]
fn every_flow_is_in_the_suite() {
    let mut flows = checks_in(include_str!("flows.rs"), "flow_");
    flows.extend(checks_in(include_str!("cimd_flow.rs"), "flow_"));
    flows.sort_unstable();
    assert_eq!(names!(flows), flows);
    assert_eq!(flows.len(), 18);
}
