#pragma once
// Triage: what turns stored alert events into aggregated alert rows and incidents, as functions
// over a transaction (so that they run inside the ingest commit and are testable on a
// temporary SQLite store). The folder-level header of triage/: other folders include this one.

#include <cstdint>
#include <span>
#include <vector>

#include "mimamori/server/ingest.h"
#include "mimamori/server/store.h"
#include "store/sql.h"
#include "triage/catalogue.h"

namespace mimamori::server {

/// Triage of a commit group's new alert events and the devices' acknowledgements, set-based:
/// the same rows as triaging event after event, in a handful of statement pipelines.
/// `inserted` holds one flag per row of the group (batch after batch, events before rejected
/// lines): only new events are triaged. Windows come from `options`.
Status triage_group(SqlTx& tx, std::span<const IngestBatch* const> group,
                    const std::vector<bool>& inserted, int64_t now, const StoreOptions& options);

/// Opens 監視停止 incidents for devices silent past their limit; returns how many.
Result<int64_t> check_heartbeats(Store& store, int64_t now);

}  // namespace mimamori::server
