//! The conformance suite on `MemoryStorage`.

mod common;

use simply_mcp_oauth::MemoryStorage;

async fn make() -> MemoryStorage {
    MemoryStorage::new()
}

/// Everything the store holds, as its debug dump.
async fn dump(storage: &MemoryStorage) -> String {
    format!("{storage:?}")
}

conformance_suite!(make = make, dump = dump);
