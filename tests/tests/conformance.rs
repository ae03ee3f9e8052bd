//! The conformance suite, once per backend: `cargo test -p remote-tests local::` runs one backend.

use remote_tests::backend_suite;

remote_host::conformance_cases!(backend_suite!(local, remote_tests::backends::local));
remote_host::conformance_cases!(backend_suite!(
    local_path_rewrite,
    remote_tests::backends::local_path_rewrite
));
remote_host::conformance_cases!(backend_suite!(
    local_policy,
    remote_tests::backends::local_policy
));
remote_host::conformance_cases!(backend_suite!(
    local_guest_stack,
    remote_tests::backends::local_guest_stack
));
