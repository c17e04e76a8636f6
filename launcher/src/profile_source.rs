//! Where a profile comes from: a file, or one of the words `docker run --security-opt
//! seccomp=...` also understands.

use std::ffi::OsString;
use std::path::PathBuf;

use profiles::{Built, Options, DEFAULT_PROFILE};

use crate::error::Error;

/// A PROFILE argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileSource {
    /// `default`: the embedded profile, which decides as Docker's default does.
    Default,
    /// `unconfined`: no filter at all.
    Unconfined,
    /// Anything else: a file. `./default` names a file called `default`.
    File(PathBuf),
}

impl ProfileSource {
    /// The name errors and summaries use for the profile.
    pub fn name(&self) -> String {
        match self {
            ProfileSource::Default => "default".to_string(),
            ProfileSource::Unconfined => "unconfined".to_string(),
            ProfileSource::File(path) => path.display().to_string(),
        }
    }

    /// Reads and builds the profile.
    pub fn build(&self, options: &Options) -> Result<Built, Error> {
        let bytes = match self {
            ProfileSource::Default => DEFAULT_PROFILE.as_bytes().to_vec(),
            // Docker treats `seccomp=unconfined` as it treats an empty profile: no
            // filter. Building `{}` gives that outcome through the same path as a file.
            ProfileSource::Unconfined => b"{}".to_vec(),
            ProfileSource::File(path) => {
                std::fs::read(path).map_err(|source| Error::ReadProfile {
                    path: path.clone(),
                    source,
                })?
            }
        };
        Ok(profiles::build(&bytes, &self.name(), options)?)
    }
}

/// How clap reads a PROFILE argument: any word that is not one of the two names is a
/// path, so reading never fails.
impl From<OsString> for ProfileSource {
    fn from(arg: OsString) -> ProfileSource {
        match arg.to_str() {
            Some("default") => ProfileSource::Default,
            Some("unconfined") => ProfileSource::Unconfined,
            _ => ProfileSource::File(PathBuf::from(arg)),
        }
    }
}
