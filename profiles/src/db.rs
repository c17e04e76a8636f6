//! Rule database with libseccomp's merge semantics (being written).
