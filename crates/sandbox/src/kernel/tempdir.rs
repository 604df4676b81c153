//! A private directory under the system temp dir, removed when dropped.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct PrivateTempDir {
    path: PathBuf,
}

impl PrivateTempDir {
    /// Creates `<tmp>/<prefix>-<uuid>`, readable by the owner only (it holds private keys).
    pub fn create(prefix: &str) -> io::Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_and_removed() -> io::Result<()> {
        let dir = PrivateTempDir::create("obconform-test")?;
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("f"), b"x")?;
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
        Ok(())
    }
}
