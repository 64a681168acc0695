//! `conformance_suite!` and the lists of checks it generates tests for. The
//! lists are checked against the functions of each module (`tests.rs`).

/// Generates one test per conformance check for a backend.
///
/// - `make = make, dump = dump`: `make` is an `async fn() -> S` returning a
///   fresh, empty [`Storage`](crate::Storage) (a shared server: a fresh key
///   prefix); `dump` is an `async fn(&S) -> String` returning everything the
///   store holds, as text, for the no-secrets check.
/// - `kv_host = make`: `make` is an `async fn() -> H` returning a fresh, empty
///   [`KvHost`](crate::storage::KvHost); the suite runs on
///   `KvStorage::with_default_prefix(host)` and dumps the host through `list`
///   and `get` ([`dump_kv_storage`](crate::testing::secrets::dump_kv_storage)).
/// - `atomic = false` after either (default `true`) is for stores without
///   atomic operations (Workers KV): the two exactly-once concurrency checks
///   are replaced by the best-effort checks of
///   [`best_effort`](crate::testing::best_effort); every other check is the same.
/// - `flows = make, except = [flow_a, ..]`: only the provider flows
///   ([`flows`](crate::testing::flows)), every one but those named (a name
///   that is not a flow does not compile). For a store that cannot keep some
///   flow's promise: a new flow still runs on it. Once per module.
///
/// ```
/// use simply_mcp_oauth::MemoryStorage;
///
/// async fn make() -> MemoryStorage {
///     MemoryStorage::new()
/// }
///
/// async fn dump(storage: &MemoryStorage) -> String {
///     format!("{storage:?}")
/// }
///
/// simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_suite {
    (make = $make:path, dump = $dump:path $(,)?) => {
        $crate::conformance_suite!(@suite true [$make()] [$dump]);
    };
    (make = $make:path, dump = $dump:path, atomic = $atomic:tt $(,)?) => {
        $crate::conformance_suite!(@suite $atomic [$make()] [$dump]);
    };
    (kv_host = $make:path $(,)?) => {
        $crate::conformance_suite!(kv_host = $make, atomic = true);
    };
    (kv_host = $make:path, atomic = $atomic:tt $(,)?) => {
        $crate::conformance_suite!(@suite $atomic
            [async { $crate::storage::KvStorage::with_default_prefix($make().await) }]
            [$crate::testing::secrets::dump_kv_storage]
        );
    };
    (flows = $make:path, except = [$($skip:ident),* $(,)?]) => {
        $crate::conformance_suite!(@flows_except ($) [$make()] [$($skip),*]);
    };

    // What the forms above expand to. `[make]` is an expression giving a
    // future of a fresh store, `[dump]` a function of the no-secrets check.
    (@suite true [$($make:tt)*] [$($dump:tt)*]) => {
        $crate::__conformance_checks!(atomic [$crate::conformance_suite] [@each conformance [$($make)*]]);
        $crate::__conformance_checks!(atomic_grace [$crate::conformance_suite] [@each refresh_grace [$($make)*]]);
        $crate::conformance_suite!(@common [$($make)*] [$($dump)*]);
    };
    (@suite false [$($make:tt)*] [$($dump:tt)*]) => {
        $crate::__conformance_checks!(best_effort [$crate::conformance_suite] [@each best_effort [$($make)*]]);
        $crate::conformance_suite!(@common [$($make)*] [$($dump)*]);
    };
    (@common [$($make:tt)*] [$($dump:tt)*]) => {
        $crate::__conformance_checks!(storage [$crate::conformance_suite] [@each conformance [$($make)*]]);
        $crate::__conformance_checks!(grace [$crate::conformance_suite] [@each refresh_grace [$($make)*]]);
        $crate::__conformance_checks!(flows [$crate::conformance_suite] [@each flows [$($make)*]]);
        $crate::conformance_suite!(@test secrets_never_stored_in_clear {
            $crate::testing::secrets::secrets_never_stored_in_clear($($make)*.await, $($dump)*).await
        });
    };
    // `$d` is a `$`, for the metavariable of the filter macro written here.
    (@flows_except ($d:tt) [$($make:tt)*] [$($skip:ident),*]) => {
        macro_rules! __conformance_flow_unless_excepted {
            $( ($skip) => {}; )*
            ($d flow:ident) => {
                $crate::conformance_suite!(@each flows [$($make)*] $d flow);
            };
        }
        $crate::__conformance_checks!(flows [__conformance_flow_unless_excepted] []);
        // Each excepted name must be a flow.
        $( const _: () = { let _ = $crate::testing::flows::$skip::<$crate::MemoryStorage>; }; )*
    };
    (@each $module:ident [$($make:tt)*] $name:ident) => {
        $crate::conformance_suite!(@test $name {
            $crate::testing::$module::$name($($make)*.await).await
        });
    };
    (@test $name:ident { $($check:tt)* }) => {
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            $crate::testing::__private::block_on(async { $($check)* })
        }

        #[cfg(target_arch = "wasm32")]
        #[$crate::testing::__private::wasm_bindgen_test::wasm_bindgen_test(
            crate = $crate::testing::__private::wasm_bindgen_test
        )]
        async fn $name() {
            $($check)*
        }
    };
}

/// The one list of the suite's checks, by group: calls `callback! { args name }`
/// once per check of the group. New checks are added here (a unit test finds
/// any function of the modules that is missing).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($group:ident [$($callback:tt)*] [$($args:tt)*]) => {
        $crate::__conformance_checks!(@names $group [$($callback)*] [$($args)*]);
    };
    (@names atomic $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            one_winner_among_100_concurrent_code_exchanges,
            one_rotation_among_100_concurrent_refreshes
        );
    };
    (@names atomic_grace $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            concurrent_retries_within_the_grace_share_one_successor
        );
    };
    (@names best_effort $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            some_winner_among_100_concurrent_code_exchanges,
            some_rotation_among_100_concurrent_refreshes
        );
    };
    (@names storage $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            clients_round_trip_without_aliasing,
            configured_clients_survive_a_restart,
            delete_client_cascades_to_grants,
            grant_ids_never_collide,
            code_is_redeemed_once_with_its_tokens,
            code_mismatch_changes_nothing,
            code_replay_revokes_the_grant,
            code_and_grant_expire_lazily,
            code_bound_to_its_resource,
            refresh_rotates_retries_and_detects_reuse,
            refresh_refuses_other_clients_and_wider_scopes,
            access_tokens_expire_lazily,
            revoke_grant_cascades,
            revoke_token_checks_what_the_token_is,
            revoke_token_by_access_token,
            grants_listed_per_subject,
            stats_count_live_records,
            sweep_drops_only_the_expired,
            registrations_expire_unless_kept,
            lifetimes_of_years_do_not_overflow,
            health_reports_a_healthy_store
        );
    };
    (@names grace $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            previous_refresh_token_retries_within_its_grace,
            previous_refresh_token_after_its_grace_revokes_the_grant,
            refresh_grace_zero_makes_the_previous_token_reuse,
            flow_refresh_reuse_is_caught_after_the_grace
        );
    };
    (@names flows $($rest:tt)*) => {
        $crate::__conformance_checks!(@call $($rest)*
            flow_full_authorization_code_cycle,
            flow_restart_safe_initialization,
            flow_refresh_outlives_the_access_token,
            flow_refresh_retry_and_reuse,
            flow_downscoping_and_upscoping,
            flow_code_replay_revokes_tokens,
            flow_pkce_and_redirect_checks,
            flow_expired_code_and_tokens,
            flow_resource_indicators,
            flow_client_credentials,
            flow_revocation_and_introspection,
            flow_dynamic_registration_rules,
            flow_authorization_request_errors,
            flow_user_grants_and_client_deletion,
            flow_audit_events_hold_no_secrets,
            flow_stats_in_the_seed_shape,
            flow_client_cache_bounds_staleness,
            flow_metadata_document_client
        );
    };
    (@call [$($callback:tt)*] [$($args:tt)*] $name:ident $(, $rest:ident)*) => {
        $($callback)*! { $($args)* $name }
        $crate::__conformance_checks!(@call [$($callback)*] [$($args)*] $($rest),*);
    };
    (@call [$($callback:tt)*] [$($args:tt)*]) => {};
}
