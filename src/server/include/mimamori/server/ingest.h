#pragma once
/// The ingest parser: a device's batch (EVE JSON lines with a sequence range) split into
/// events, each validated on its own. Pure and allocation-light; fuzzed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// One accepted line of a batch: views into IngestBatch::body.
struct ParsedEvent {
  int64_t seq = 0;
  int64_t ts = 0;  ///< event time, UTC micros
  std::string_view raw, event_type;
  bool is_alert = false;  ///< carries an `alert` object, or is a host detection
  int64_t signature_id = 0;
  int suricata_severity = 3;
  std::string signature, category, src_ip, dest_ip, host;
  // For the hourly aggregates (retention/): a flow's source and bytes each way, the name a
  // dns query, tls or http record is about (a view into raw; empty when absent or escaped).
  std::string talker;
  int64_t bytes_toserver = 0, bytes_toclient = 0;
  std::string_view domain;
};

/// One rejected line.
struct RejectedEvent {
  int64_t seq = 0;
  std::string reason;
  std::string_view raw;
};

/// A parsed batch of one device.
struct IngestBatch {
  std::string device_id, customer_id, device_kind;
  int64_t first = 0, last = 0;
  std::string body;  ///< decompressed; events point into it
  std::vector<ParsedEvent> events;
  std::vector<RejectedEvent> rejected;
};

/// What the server answers after commit.
struct IngestOutcome {
  int64_t acked_through = 0, accepted = 0, duplicates = 0;
  std::vector<RejectedEvent> rejected;  ///< raw views are not valid after the answer
};

/// Splits `batch.body` into `last - first + 1` lines and parses each. An unusable batch (line
/// count, range) is an Error with code 400; bad lines land in `batch.rejected`.
core::Status parse_ingest_batch(IngestBatch& batch);

/// Decompresses `body` per Content-Encoding (`gzip`, `zstd`, empty) up to `limit` bytes.
/// Errors: 415 unknown encoding, 413 over the limit, 400 undecodable.
core::Result<std::string> decompress_body(std::string_view encoding, std::string_view body,
                                          size_t limit);

}  // namespace mimamori::server
