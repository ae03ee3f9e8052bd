//! The conformance suite, once per backend: `cargo test -p remote-tests local::` runs one backend.

use remote_tests::backend_suite;

remote_host::conformance_cases!(backend_suite!(local, remote_tests::backends::local));
remote_host::conformance_cases!(backend_suite!(
    sftp_server,
    remote_tests::backends::openssh_sftp_server
));
remote_host::conformance_cases!(backend_suite!(
    docker_busybox,
    remote_tests::backends::docker_busybox
));
remote_host::conformance_cases!(backend_suite!(
    docker_scratch,
    remote_tests::backends::docker_scratch,
    allow = remote_tests::docker::SCRATCH_LACKS,
    options = remote_tests::docker::scratch_options
));
remote_host::conformance_cases!(backend_suite!(
    podman_busybox,
    remote_tests::backends::podman_busybox
));
remote_host::conformance_cases!(backend_suite!(
    podman_scratch,
    remote_tests::backends::podman_scratch,
    allow = remote_tests::docker::SCRATCH_LACKS,
    options = remote_tests::docker::scratch_options
));
remote_host::conformance_cases!(backend_suite!(compose, remote_tests::backends::compose));
remote_host::conformance_cases!(backend_suite!(ssh, remote_tests::backends::ssh));
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
remote_host::conformance_cases!(backend_suite!(
    ssh_path_rewrite,
    remote_tests::backends::ssh_path_rewrite
));
remote_host::conformance_cases!(backend_suite!(
    ssh_policy,
    remote_tests::backends::ssh_policy
));
remote_host::conformance_cases!(backend_suite!(
    docker_path_rewrite,
    remote_tests::backends::docker_path_rewrite
));
remote_host::conformance_cases!(backend_suite!(
    docker_policy,
    remote_tests::backends::docker_policy
));
remote_host::conformance_cases!(backend_suite!(
    local_guest_py,
    remote_tests::backends::local_guest_py
));
remote_host::conformance_cases!(backend_suite!(
    ssh_guest_py,
    remote_tests::backends::ssh_guest_py
));
remote_host::conformance_cases!(backend_suite!(
    local_guest_js,
    remote_tests::backends::local_guest_js
));
remote_host::conformance_cases!(backend_suite!(
    ssh_guest_js,
    remote_tests::backends::ssh_guest_js
));
