//! Records the build's source identity for study keys (src/study): the
//! git commit of the sources and whether the tracked files differ from it.
//! Without git (a source tarball) both are empty and the binary's own hash
//! identifies the build at run time.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Rerun when the sources change (a tree that becomes dirty) and when
    // HEAD moves (a commit without any change to the files).
    for path in ["src", "grammar", "build.rs", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    if !commit.is_empty() {
        for file in ["HEAD", "index"] {
            if let Some(path) = git(&["rev-parse", "--git-path", file]) {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(path) = git(&["rev-parse", "--git-path", &head]) {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    // Tracked files that differ from the commit (untracked files are not
    // part of the build unless tracked).
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(status) => !status.is_empty(),
        None => true,
    };
    println!("cargo:rustc-env=PDEC_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=PDEC_GIT_DIRTY={}",
        if dirty { "1" } else { "0" }
    );
}
