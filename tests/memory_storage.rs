//! The conformance suite on `MemoryStorage`.

use simply_mcp_oauth::MemoryStorage;

async fn make() -> MemoryStorage {
    MemoryStorage::new()
}

/// Everything the store holds, as its debug dump.
async fn dump(storage: &MemoryStorage) -> String {
    format!("{storage:?}")
}

simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
