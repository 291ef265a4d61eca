#pragma once
/// The hunt engine: Sigma rules over Windows event logs (.evtx, read natively) and JSON-lines
/// exports, on a pool of threads; big logs are split into ranges of chunks. Detections come
/// back as rows sorted by time; correlations are evaluated after the scan.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/evtx/evtx.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::hunt {

/// One detection row of the timeline.
struct Detection {
  core::Timestamp time;
  std::string computer;
  std::string channel;
  std::string event_id;
  uint64_t record_id = 0;
  uint32_t rule = 0;
  std::string details;
  uint32_t source = 0;  ///< index into the input file list
};

/// What was read.
struct ScanTotals {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
  uint64_t bad_records = 0;
  uint64_t bad_chunks = 0;
  uint64_t crc_errors = 0;
  uint64_t problems = 0;
  uint64_t unreadable = 0;
  double seconds = 0;       ///< scanning and matching
  double rule_seconds = 0;  ///< loading and compiling the rules
  double cpu_seconds = 0;   ///< CPU time of scanning and matching, all threads
};

/// Receives one line of a problem report (a damaged record, an unreadable file), already
/// formatted with file and offset; called under a lock, one line at a time.
using ReportFn = std::function<void(const std::string& line)>;

/// One input: an opened .evtx file, or a JSON-lines file read when its job runs.
struct Input {
  std::string path;
  bool evtx = true;
  std::optional<evtx::EvtxFile> file;
  uint64_t size = 0;
};

/// The inputs of `paths` (files, and directories walked in name order): .evtx, .json, .jsonl,
/// .ndjson; a file named explicitly is sniffed for the EVTX magic. What cannot be opened is
/// reported and counted in `unreadable`.
std::vector<Input> collect_inputs(const std::vector<std::string>& paths, uint64_t& unreadable,
                                  const ReportFn& report);

/// `2026-04-17 14:24:53.088 +09:00`: JST with milliseconds, as Hayabusa shows it.
std::string jst_time(core::Timestamp ts);

/// The scan of a set of inputs with a compiled rule set.
class Hunt {
 public:
  /// `rules` and `inputs` must outlive the Hunt. Rows below `min_level` are left out.
  Hunt(const sigma::RuleSet& rules, const std::vector<Input>& inputs, sigma::Level min_level,
       ReportFn report);
  ~Hunt();
  Hunt(const Hunt&) = delete;
  Hunt& operator=(const Hunt&) = delete;

  /// Scans every input on `threads` threads; returns when all are done.
  void run(unsigned threads);
  /// Bytes scanned so far (for a progress display; safe to read while run() works).
  uint64_t bytes_done() const { return bytes_done_.load(); }
  /// Merges the threads' results into `totals`: rows sorted by time, correlations evaluated.
  std::vector<Detection> merge(ScanTotals& totals);

 private:
  struct Job;
  struct WorkerOut;
  void work(WorkerOut& out);
  void process(WorkerOut& out, sigma::Matcher& matcher, std::span<const sigma::FieldView> view,
               std::vector<uint32_t>& hits, uint64_t record_id, core::Timestamp fallback,
               uint32_t source);
  void report(const std::string& line);

  const sigma::RuleSet& rules_;
  const std::vector<Input>& inputs_;
  sigma::Level min_level_;
  ReportFn report_;
  bool has_correlations_ = false;
  std::vector<std::string> corr_fields_;
  std::vector<Job> jobs_;
  std::atomic<std::size_t> next_{0};
  std::atomic<uint64_t> bytes_done_{0};
  std::vector<WorkerOut> outs_;
  std::mutex report_mu_;
};

/// How `dump_records` writes each record.
enum class DumpMode { kJson, kXml, kFields, kNone };

/// Decoded records instead of detections: every record of the .evtx inputs written to `out`
/// (kNone: parsed only, on `threads` threads, for measuring). Fills records and bad_records.
void dump_records(const std::vector<Input>& inputs, DumpMode mode, unsigned threads, std::FILE* out,
                  ScanTotals& totals, const ReportFn& report);

}  // namespace mimamori::hunt
