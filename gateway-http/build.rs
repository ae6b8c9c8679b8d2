//! Compiles `proto/` into a descriptor set that keeps extension options.
//!
//! Why not `staymesh_proto::FILE_DESCRIPTOR_SET`: that set is encoded from a
//! `prost_types::FileDescriptorSet`, which drops extension options, so the
//! `google.api.http` rules the routes come from are not in it. protox's
//! `encode_file_descriptor_set` keeps them. Once the proto crate encodes its set
//! the same way, this script can go and `lib.rs` can use that set instead.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut files = Vec::new();
    collect_protos(&root.join("staymesh"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = protox::Compiler::new([&root])?
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?
        .encode_file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("gateway_descriptor.bin"), descriptors)?;
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
