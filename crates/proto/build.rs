//! Compiles every `.proto` under `proto/` with protox (pure Rust, no system protoc)
//! and generates tonic clients and servers plus one descriptor set for reflection
//! and the HTTP edge.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    collect_protos(&root.join("staymesh"), &mut files)?;
    files.sort();
    // Error details staymesh puts in statuses; in the set so reflection
    // clients (grpcurl) can decode them.
    files.push(root.join("google/rpc/error_details.proto"));
    println!("cargo:rerun-if-changed={}", root.display());

    let mut compiler = protox::Compiler::new([&root])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    // protox's own encoding keeps extension options (the `google.api.http`
    // rules the HTTP edge routes by) and comments, which re-encoding a
    // `prost_types::FileDescriptorSet` would drop.
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("staymesh_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    // Type names (`prost::Name`) let Kafka envelopes carry each payload's full name.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    // Written by hand so a server can answer with a property encoded once
    // (src/property_answer.rs); the same message on the wire.
    config.extern_path(
        ".staymesh.accommodation.v1.GetPropertyResponse",
        "crate::property_answer::GetPropertyResponse",
    );
    // Likewise, so a search answers with results assembled from parts encoded
    // once (src/search_answer.rs).
    config.extern_path(
        ".staymesh.accommodation.v1.SearchAvailabilityResponse",
        "crate::search_answer::SearchAvailabilityResponse",
    );
    // Every generated server decodes through the codec that checks the
    // contracts' `buf.validate` rules (src/validation.rs).
    tonic_prost_build::configure()
        .codec_path("crate::validation::ValidatingCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(compiler.file_descriptor_set(), config)?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
    Ok(())
}
