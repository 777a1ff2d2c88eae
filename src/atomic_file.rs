//! Writing a file so that a crash at any moment leaves either the old file or the new one, never
//! a mix: saved plans and the emulator's state file both go through [`write`].

use std::io::{self, Write};
use std::path::Path;

/// Where the temporaries of a write to `path` start: `.{file name}.livehook-`, so that the
/// temporaries a killed process left behind are recognisable as that file's own.
pub fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.livehook-")
}

/// Where the temporaries of every write end.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes` atomically and durably: the bytes go to a temporary file in the
/// same directory (a rename is only atomic within one file system), which is flushed to disk
/// before it is renamed over `path`; the directory is then flushed so that the rename itself
/// survives a power cut.
///
/// The temporary file is created readable by its owner only and the rename keeps that mode, so
/// a file holding secrets is never readable by others, not even for a moment.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let mut file = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    pause_for_tests();
    // On failure the temporary file is dropped with the error, which deletes it.
    file.persist(path).map_err(|e| e.error)?;
    pause_for_tests();
    #[cfg(unix)]
    {
        // Flushing a directory is a Unix notion; elsewhere the rename is as durable as it gets.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Test-only: in debug builds, `LIVEHOOK_TEST_PAUSE_WRITES_MS` holds every write before and
/// after its rename, so that a test killing the process lands inside a write (before the rename:
/// the old file stays; after it: the new one is in place but not yet acknowledged) instead of
/// hoping to hit a window of microseconds. Release builds never read it.
fn pause_for_tests() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("LIVEHOOK_TEST_PAUSE_WRITES_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.json");
        write(&path, b"first").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["file.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        write(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_directory_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/file.json");
        assert!(write(&path, b"x").is_err());
        assert!(!path.exists());
    }

    #[test]
    fn temporaries_carry_the_file_name() {
        assert_eq!(
            temp_prefix(Path::new("/x/state.json")),
            ".state.json.livehook-"
        );
        assert_eq!(temp_prefix(Path::new("plan.json")), ".plan.json.livehook-");
    }
}
