//! Generates the Rust code for `pvectl.v1` with a vendored protoc (no apt step);
//! `PROTOC` in the environment overrides it.
/// Every file of the contract; `agent.proto` holds the service, the rest its messages.
const PROTOS: &[&str] = &[
    "proto/pvectl/v1/common.proto",
    "proto/pvectl/v1/nodes.proto",
    "proto/pvectl/v1/guests.proto",
    "proto/pvectl/v1/templates.proto",
    "proto/pvectl/v1/create.proto",
    "proto/pvectl/v1/tasks.proto",
    "proto/pvectl/v1/journal.proto",
    "proto/pvectl/v1/desired.proto",
    "proto/pvectl/v1/agent.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    println!("cargo:rerun-if-changed=proto");
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => path.into(),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Unimplemented RPCs answer UNIMPLEMENTED, so the agent can grow one
        // issue at a time and tests can mount fakes that serve a few RPCs.
        .generate_default_stubs(true)
        .compile_with_config(config, PROTOS, &["proto"])?;
    Ok(())
}
