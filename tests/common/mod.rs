//! Shared test support: the backend conformance suite, written once and
//! invoked by every backend's test file through [`conformance_suite!`].
#![allow(dead_code)]

pub mod best_effort;
pub mod cimd_flow;
pub mod conformance;
pub mod eventual_host;
pub mod fixtures;
pub mod flows;
pub mod kv_hosts;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
pub mod redis_server;
pub mod refresh_grace;

/// Generates one test per conformance check for a backend.
///
/// `make` is an `async fn() -> S` returning a fresh, empty store (a Redis
/// backend uses a fresh key prefix); `dump` is an `async fn(&S) -> String`
/// returning everything the store holds, as text, for the no-secrets check.
///
/// `atomic = false` (default `true`) is for stores without atomic operations
/// (Workers KV): the two exactly-once concurrency checks are replaced by the
/// best-effort checks of `best_effort.rs`; every other check is the same.
#[macro_export]
macro_rules! conformance_suite {
    (make = $make:path, dump = $dump:path) => {
        $crate::conformance_suite!(make = $make, dump = $dump, atomic = true);
    };
    (make = $make:path, dump = $dump:path, atomic = true) => {
        $crate::conformance_suite!(@each $make;
            one_winner_among_100_concurrent_code_exchanges,
            one_rotation_among_100_concurrent_refreshes
        );
        $crate::conformance_suite!(@grace $make; concurrent_retries_within_the_grace_share_one_successor);
        $crate::conformance_suite!(@common $make, $dump);
    };
    (make = $make:path, dump = $dump:path, atomic = false) => {
        $crate::conformance_suite!(@best_effort $make;
            some_winner_among_100_concurrent_code_exchanges,
            some_rotation_among_100_concurrent_refreshes
        );
        $crate::conformance_suite!(@common $make, $dump);
    };
    (@common $make:path, $dump:path) => {
        $crate::conformance_suite!(@each $make;
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
        $crate::conformance_suite!(@grace $make;
            previous_refresh_token_retries_within_its_grace,
            previous_refresh_token_after_its_grace_revokes_the_grant,
            refresh_grace_zero_makes_the_previous_token_reuse,
            flow_refresh_reuse_is_caught_after_the_grace
        );
        $crate::conformance_suite!(@flows $make;
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

        #[cfg_attr(not(target_arch = "wasm32"), tokio::test(flavor = "multi_thread", worker_threads = 2))]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        async fn secrets_never_stored_in_clear() {
            let (provider, secrets) = common::flows::full_flow_collecting_secrets($make().await).await;
            let dump = $dump(provider.storage()).await;
            assert!(!dump.is_empty(), "the dump shows the stored records");
            for secret in &secrets {
                assert!(!dump.contains(secret.as_str()), "a secret is stored in clear");
                let (_, tail) = secret.split_once('.').unwrap_or(("", secret));
                assert!(!dump.contains(tail), "the secret part of a token is stored in clear");
            }
        }
    };
    (@each $make:path; $($name:ident),*) => {
        $(
            #[cfg_attr(not(target_arch = "wasm32"), tokio::test(flavor = "multi_thread", worker_threads = 2))]
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            async fn $name() {
                common::conformance::$name($make().await).await;
            }
        )*
    };
    (@best_effort $make:path; $($name:ident),*) => {
        $(
            #[cfg_attr(not(target_arch = "wasm32"), tokio::test(flavor = "multi_thread", worker_threads = 2))]
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            async fn $name() {
                common::best_effort::$name($make().await).await;
            }
        )*
    };
    (@grace $make:path; $($name:ident),*) => {
        $(
            #[cfg_attr(not(target_arch = "wasm32"), tokio::test(flavor = "multi_thread", worker_threads = 2))]
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            async fn $name() {
                common::refresh_grace::$name($make().await).await;
            }
        )*
    };
    (@flows $make:path; $($name:ident),*) => {
        $(
            #[cfg_attr(not(target_arch = "wasm32"), tokio::test(flavor = "multi_thread", worker_threads = 2))]
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            async fn $name() {
                common::flows::$name($make().await).await;
            }
        )*
    };
}
