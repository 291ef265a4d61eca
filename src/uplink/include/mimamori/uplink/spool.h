#pragma once
/// Spool: the durable on-disk queue between what a device saw and what the server acknowledged.
///
/// Append-only segment files hold records `[magic][length][seq][crc32][payload]`. Appended
/// records become durable (and visible to readers) only at commit(), which writes them together
/// with a commit record (carrying the sequence counter and the sources' checkpoints) and
/// fsyncs. At open, anything after the last valid commit record — a torn write, a half-written
/// batch — is cut and reported, never read. Sequence numbers start at 1 and are never reused:
/// the counter survives in commit records and in the `state` file that outlives deleted
/// segments. The spool is bounded: when it would grow past its limit, the oldest segment is
/// dropped and its unacknowledged records are counted in dropped().

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::uplink {

/// When the spool calls fsync.
enum class FsyncPolicy : uint8_t {
  kPerCommit,  ///< every commit() (a batch) is on disk before commit returns (default)
  kNever,      ///< leave it to the kernel (faster; a power cut may lose recent batches)
};

/// How a spool is laid out and bounded.
struct SpoolOptions {
  std::filesystem::path dir;            ///< created if missing (mode 0700)
  uint64_t max_bytes = 256ull << 20;    ///< bound on all segments together
  uint64_t segment_bytes = 4ull << 20;  ///< a segment is sealed once it reaches this size
  FsyncPolicy fsync = FsyncPolicy::kPerCommit;
};

/// One record read back from the spool.
struct SpoolRecord {
  uint64_t seq = 0;
  std::string payload;
};

/// Counters of a spool, for heartbeats and `--stats`.
struct SpoolStats {
  uint64_t depth = 0;              ///< committed records not yet acknowledged
  uint64_t bytes = 0;              ///< bytes in all segment files
  uint64_t segments = 0;           ///< segment files
  uint64_t dropped = 0;            ///< records lost: spool full (oldest first), or count_lost()
  uint64_t cut_bytes = 0;          ///< bytes cut at open: torn or uncommitted tails, corruption
  uint64_t next_seq = 1;           ///< the sequence number the next append gets
  uint64_t acked_through = 0;      ///< highest sequence number the server acknowledged
  uint64_t committed_through = 0;  ///< highest committed sequence number
};

/// A durable, bounded, append-only record queue. Thread-safe.
class Spool {
 public:
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Opens (or creates) the spool in `options.dir`, recovering from a crash: torn or
  /// uncommitted tails are cut and logged. An error names the file and the reason.
  static core::Result<std::unique_ptr<Spool>> open(const SpoolOptions& options);

  /// Appends one record to the pending batch and returns its sequence number. Nothing is
  /// durable or readable until commit().
  uint64_t append(std::string_view payload);

  /// Makes the pending batch durable (per the fsync policy) together with `checkpoints`
  /// (source name -> opaque position, e.g. a log file offset), so that a source's position
  /// and the events read up to it are kept or lost together.
  core::Status commit(const std::map<std::string, std::string>& checkpoints = {});

  /// The last committed checkpoint of `source`, or empty.
  std::string checkpoint(std::string_view source) const;

  /// Reads up to `max_records` committed records (and about `max_bytes`) with sequence
  /// numbers above `after_seq` (and above what was acknowledged or dropped), in order.
  core::Status read(uint64_t after_seq, std::size_t max_records, std::size_t max_bytes,
                    std::vector<SpoolRecord>& out);

  /// The server acknowledged everything up to `seq`: fully acknowledged segments are deleted.
  core::Status ack_through(uint64_t seq);

  /// Counts `n` records the device lost before they reached the spool (say, its memory
  /// buffer was full), so that dropped() and the heartbeats report every loss.
  void count_lost(uint64_t n);

  /// Current counters.
  SpoolStats stats() const;

 private:
  struct Segment {
    std::filesystem::path path;
    uint64_t first_seq = 0;  // first event seq in it (0: none yet)
    uint64_t last_seq = 0;   // last committed event seq in it
    uint64_t size = 0;       // committed bytes
    uint64_t events = 0;     // committed event records
  };

  explicit Spool(SpoolOptions options);
  core::Status recover();
  core::Status recover_files();
  core::Status scan_segment(Segment& seg, bool is_last);
  core::Status open_active();
  core::Status write_state();
  void drop_oldest_locked();
  core::Status delete_acked_locked();

  SpoolOptions options_;
  mutable std::mutex mu_;
  std::vector<Segment> segments_;  // oldest first; the last one is active
  int active_fd_ = -1;
  std::string pending_;  // encoded records not yet committed
  uint64_t pending_first_ = 0;
  uint64_t pending_count_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t committed_through_ = 0;
  uint64_t acked_through_ = 0;
  uint64_t dropped_through_ = 0;
  uint64_t dropped_ = 0;
  uint64_t cut_bytes_ = 0;
  std::map<std::string, std::string, std::less<>> checkpoints_;
  // Read cursor: where the record after `cursor_seq_` starts, to avoid rescanning.
  std::size_t cursor_segment_ = 0;
  uint64_t cursor_offset_ = 0;
  uint64_t cursor_seq_ = 0;
};

}  // namespace mimamori::uplink
