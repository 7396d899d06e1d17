//! Output directories: checked before any work, written atomically after.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates `dir` if missing and checks that a file can be written in it, so
/// that an unusable `--out` is an input error reported before training.
pub fn prepare_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "cannot write into {}: it is not a directory",
            dir.display()
        ));
    }
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create directory {}: {}", dir.display(), reason(&e)))?;
    let probe = dir.join(format!(".pdec-probe-{}", std::process::id()));
    let written = fs::File::create(&probe).and_then(|mut f| f.write_all(b"probe"));
    let _ = fs::remove_file(&probe);
    written.map_err(|e| format!("cannot write into {}: {}", dir.display(), reason(&e)))
}

/// Writes every (name, contents) into `dir`: each to a temporary file first,
/// then all renamed into place, so that no reader ever sees a partly written
/// file. On failure the temporary files are removed.
pub fn write_atomically(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    let mut temporary: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (name, contents) in files {
            let target = dir.join(name);
            let staging = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            temporary.push((staging.clone(), target.clone()));
            let mut file = fs::File::create(&staging)
                .map_err(|e| format!("cannot write {}: {}", target.display(), reason(&e)))?;
            file.write_all(contents.as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| format!("cannot write {}: {}", target.display(), reason(&e)))?;
        }
        for (staging, target) in &temporary {
            fs::rename(staging, target)
                .map_err(|e| format!("cannot write {}: {}", target.display(), reason(&e)))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (staging, _) in &temporary {
            let _ = fs::remove_file(staging);
        }
    }
    result
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// Writes the files of a run's report into `dir` (see [`write_atomically`]);
/// `files` is the report's file list, which fails only if a plot could not
/// be drawn.
pub fn write_drawn(
    dir: &Path,
    files: Result<Vec<(String, String)>, crate::report::plot::PlotError>,
) -> Result<(), String> {
    let files = files.map_err(|e| format!("cannot draw the plots: {e}"))?;
    write_atomically(dir, &files)
}
