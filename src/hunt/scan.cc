// The hunt engine: jobs (chunk ranges of .evtx files, whole JSON files) taken by a pool of
// threads, each with its own matcher and decoder; results merged and sorted after the scan.

#include "mimamori/hunt/scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"
#include "mimamori/hunt/json_flattener.h"

namespace mimamori::hunt {

namespace fs = std::filesystem;

// A piece of work: chunk slots [first, last) of an EVTX file, or a whole JSON file.
struct Hunt::Job {
  uint32_t input = 0;
  uint32_t first = 0, last = 0;
};

// Per-thread results, merged after the scan.
struct Hunt::WorkerOut {
  std::vector<Detection> rows;
  std::vector<sigma::CorrelationInput> corr;
  std::vector<Detection> briefs;  // one per correlation input: where the event came from
  ScanTotals totals;
};

namespace {

// Fields that tell an analyst what happened, in the order shown when a rule lists none.
constexpr std::string_view kDetailFields[] = {"CommandLine",
                                              "Image",
                                              "ParentImage",
                                              "ParentCommandLine",
                                              "NewProcessName",
                                              "ParentProcessName",
                                              "TargetFilename",
                                              "TargetObject",
                                              "Details",
                                              "ImageLoaded",
                                              "PipeName",
                                              "SourceImage",
                                              "TargetImage",
                                              "QueryName",
                                              "DestinationIp",
                                              "DestinationPort",
                                              "DestinationHostname",
                                              "ServiceName",
                                              "ImagePath",
                                              "ScriptBlockText",
                                              "Payload",
                                              "Path",
                                              "ThreatName",
                                              "ProcessName",
                                              "TargetUserName",
                                              "SubjectUserName",
                                              "IpAddress",
                                              "LogonType",
                                              "User",
                                              "Hashes"};
constexpr std::size_t kMaxDetailFields = 6;
constexpr std::size_t kMaxDetailValue = 400;

std::string_view field(std::span<const sigma::FieldView> ev, std::string_view name) {
  for (const auto& f : ev)
    if (f.name == name) return f.value;
  return {};
}

void append_detail(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += " ¦ ";
  out += name;
  out += ": ";
  if (value.size() > kMaxDetailValue) {
    out.append(value.substr(0, kMaxDetailValue));
    out += "…";
  } else {
    out += value;
  }
}

std::string details_of(std::span<const sigma::FieldView> ev, const sigma::RuleInfo& rule) {
  std::string out;
  std::size_t n = 0;
  for (const auto& name : rule.fields) {
    auto v = field(ev, name);
    if (!v.empty() && n++ < kMaxDetailFields) append_detail(out, name, v);
  }
  if (n) return out;
  for (auto name : kDetailFields) {
    auto v = field(ev, name);
    if (!v.empty() && n++ < kMaxDetailFields) append_detail(out, name, v);
  }
  return out;
}

core::Timestamp event_time(std::span<const sigma::FieldView> ev, core::Timestamp fallback) {
  auto t = field(ev, "TimeCreated_SystemTime");
  if (t.empty()) return fallback;
  auto parsed = core::parse_time(t);
  return parsed.ok() ? *parsed : fallback;
}

bool looks_like_evtx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return std::string_view(magic, 7) == "ElfFile" || std::string_view(magic, 7) == "ElfChnk";
}

}  // namespace

std::vector<Input> collect_inputs(const std::vector<std::string>& paths, uint64_t& unreadable,
                                  const ReportFn& report) {
  std::vector<Input> inputs;
  auto add = [&](const fs::path& p, bool explicit_file) {
    auto ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    Input in;
    in.path = p.string();
    if (ext == ".evtx")
      in.evtx = true;
    else if (ext == ".json" || ext == ".jsonl" || ext == ".ndjson")
      in.evtx = false;
    else if (explicit_file)
      in.evtx = looks_like_evtx(in.path);
    else
      return;
    std::error_code ec;
    in.size = fs::file_size(p, ec);
    if (in.evtx) {
      auto f = evtx::EvtxFile::open(in.path);
      if (!f.ok()) {
        report(f.error().message);
        ++unreadable;
        return;
      }
      in.file.emplace(std::move(*f));
    }
    inputs.push_back(std::move(in));
  };
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(
               p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file()) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f, false);
    } else if (fs::exists(p, ec)) {
      add(p, true);
    } else {
      report(p + ": no such file or directory");
      ++unreadable;
    }
  }
  return inputs;
}

std::string jst_time(core::Timestamp ts) {
  int64_t ms = (ts.micros >= 0 ? ts.micros : ts.micros - 999) / 1000;
  int64_t msec = ms % 1000;
  if (msec < 0) msec += 1000;
  std::string s = core::format_local(core::Timestamp{ts.micros}, core::kJstOffsetMinutes);
  return fmt::format("{}.{:03} +09:00", s, msec);
}

Hunt::Hunt(const sigma::RuleSet& rules, const std::vector<Input>& inputs, sigma::Level min_level,
           ReportFn report)
    : rules_(rules), inputs_(inputs), min_level_(min_level), report_(std::move(report)) {
  has_correlations_ = std::any_of(rules.rules().begin(), rules.rules().end(),
                                  [](const sigma::RuleInfo& r) { return r.correlation; });
  corr_fields_ = sigma::correlation_fields(rules);
  // Big files are split into ranges of chunks, so that one big log keeps every core busy.
  constexpr uint32_t kChunksPerJob = 32;
  for (uint32_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].evtx) {
      jobs_.push_back(Job{i, 0, 0});
      continue;
    }
    uint32_t slots = inputs[i].file->chunk_slots();
    for (uint32_t c = 0; c < slots; c += kChunksPerJob)
      jobs_.push_back(Job{i, c, std::min(slots, c + kChunksPerJob)});
    if (slots == 0) jobs_.push_back(Job{i, 0, 0});
  }
}

Hunt::~Hunt() = default;

void Hunt::report(const std::string& line) {
  std::lock_guard lock(report_mu_);
  if (report_) report_(line);
}

void Hunt::run(unsigned threads) {
  outs_.resize(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back([this, t] { work(outs_[t]); });
  for (auto& th : pool) th.join();
}

// Merges the threads' results: rows sorted by time, correlations evaluated.
std::vector<Detection> Hunt::merge(ScanTotals& totals) {
  std::vector<Detection> rows;
  std::vector<sigma::CorrelationInput> corr;
  std::vector<Detection> briefs;
  for (auto& w : outs_) {
    totals.records += w.totals.records;
    totals.bad_records += w.totals.bad_records;
    totals.bad_chunks += w.totals.bad_chunks;
    totals.crc_errors += w.totals.crc_errors;
    totals.problems += w.totals.problems;
    for (auto& r : w.rows) rows.push_back(std::move(r));
    for (std::size_t k = 0; k < w.corr.size(); ++k) {
      w.corr[k].event = briefs.size();
      corr.push_back(std::move(w.corr[k]));
      briefs.push_back(std::move(w.briefs[k]));
    }
  }
  if (has_correlations_) {
    for (const auto& hit : sigma::correlate(rules_, std::move(corr))) {
      const auto& rule = rules_.rules()[hit.rule];
      if (rule.level < min_level_) continue;
      Detection d = briefs[hit.events.front()];
      d.rule = hit.rule;
      d.time = hit.first;
      d.details = fmt::format("{} ¦ Count: {} ¦ Events: {} ¦ Until: {}", hit.group, hit.count,
                              hit.events.size(), jst_time(hit.last));
      rows.push_back(std::move(d));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Detection& a, const Detection& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.source != b.source) return a.source < b.source;
    if (a.record_id != b.record_id) return a.record_id < b.record_id;
    return a.rule < b.rule;
  });
  return rows;
}

void Hunt::work(WorkerOut& out) {
  sigma::Matcher matcher(rules_);
  evtx::EvtxChunkDecoder decoder;
  std::vector<sigma::FieldView> view;
  std::vector<uint32_t> hits;
  std::vector<std::pair<std::string, std::string>> owned;
  JsonFlattener flattener;
  core::Fields fields;
  evtx::EvtxStats stats;
  auto on_problem = [&](const evtx::EvtxProblem& p) {
    ++out.totals.problems;
    report(fmt::format("{}:{}: {}", p.file, p.offset, p.what));
  };
  for (;;) {
    std::size_t j = next_.fetch_add(1);
    if (j >= jobs_.size()) break;
    const Job& job = jobs_[j];
    const Input& in = inputs_[job.input];
    if (in.evtx) {
      if (job.first == 0) in.file->check_header(on_problem, stats);
      auto on_record = [&](const evtx::EvtxRecord& r) {
        view.clear();
        for (const auto& f : r.fields()) view.push_back(sigma::FieldView{f.name, f.value});
        process(out, matcher, view, hits, r.record_id, r.time, job.input);
      };
      in.file->read_chunks(job.first, job.last, decoder, on_record, on_problem, stats);
      bytes_done_ += uint64_t(job.last - job.first) * evtx::EvtxFile::kChunkSize +
                     (job.first == 0 ? evtx::EvtxFile::kHeaderSize : 0);
    } else {
      std::ifstream f(in.path, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      std::string text = ss.str();
      uint64_t n = 0;
      for (std::string_view obj : core::split_json_objects(text)) {
        std::size_t offset = static_cast<std::size_t>(obj.data() - text.data());
        ++n;
        auto st = core::parse_json_object(obj, fields);
        if (!st.ok()) {
          ++out.totals.bad_records;
          report(fmt::format("{}:{}: {}; record skipped", in.path, offset, st.error().message));
          continue;
        }
        flattener.flatten(fields, owned);
        view.clear();
        for (const auto& [k, v] : owned) view.push_back(sigma::FieldView{k, v});
        ++stats.records;
        uint64_t rid = 0;
        auto r = field(view, "EventRecordID");
        std::from_chars(r.data(), r.data() + r.size(), rid);
        process(out, matcher, view, hits, rid ? rid : n, core::Timestamp{}, job.input);
      }
      bytes_done_ += in.size;
    }
  }
  out.totals.records += stats.records;
  out.totals.bad_records += stats.bad_records;
  out.totals.bad_chunks += stats.bad_chunks;
  out.totals.crc_errors += stats.crc_errors;
}

void Hunt::process(WorkerOut& out, sigma::Matcher& matcher, std::span<const sigma::FieldView> view,
                   std::vector<uint32_t>& hits, uint64_t record_id, core::Timestamp fallback,
                   uint32_t source) {
  hits.clear();
  matcher.match(view, hits);
  if (hits.empty()) return;
  core::Timestamp ts = event_time(view, fallback);
  for (uint32_t h : hits) {
    const auto& rule = rules_.rules()[h];
    Detection d;
    d.time = ts;
    d.computer = field(view, "Computer");
    d.channel = field(view, "Channel");
    d.event_id = field(view, "EventID");
    // The record's own EventRecordID, as Windows shows it (the header's number can differ in
    // logs that were exported or merged).
    d.record_id = record_id;
    if (auto rid = field(view, "EventRecordID"); !rid.empty())
      std::from_chars(rid.data(), rid.data() + rid.size(), d.record_id);
    d.rule = h;
    d.source = source;
    if (has_correlations_) {
      sigma::CorrelationInput ci;
      ci.rule = h;
      ci.time = ts;
      for (const auto& name : corr_fields_)
        ci.fields.emplace_back(name, std::string(field(view, name)));
      out.corr.push_back(std::move(ci));
      out.briefs.push_back(d);
    }
    if (!rule.generate || rule.level < min_level_) continue;
    d.details = details_of(view, rule);
    out.rows.push_back(std::move(d));
  }
}

void dump_records(const std::vector<Input>& inputs, DumpMode mode, unsigned threads, std::FILE* out,
                  ScanTotals& totals, const ReportFn& report) {
  std::mutex report_mu;
  auto on_problem = [&](const evtx::EvtxProblem& p) {
    std::lock_guard lock(report_mu);
    report(fmt::format("{}:{}: {}", p.file, p.offset, p.what));
  };
  std::atomic<uint64_t> records{0}, bad{0};
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    evtx::EvtxChunkDecoder decoder;
    std::string text;
    uint64_t n = 0;
    for (;;) {
      std::size_t i = next.fetch_add(1);
      if (i >= inputs.size()) break;
      const auto& in = inputs[i];
      if (!in.evtx) continue;
      evtx::EvtxStats stats;
      in.file->check_header(on_problem, stats);
      in.file->read_chunks(
          0, in.file->chunk_slots(), decoder,
          [&](const evtx::EvtxRecord& r) {
            ++n;
            if (mode == DumpMode::kNone) {
              (void)r.fields();  // parse-only still builds the field view Sigma would see
              return;
            }
            text.clear();
            if (mode == DumpMode::kXml) {
              r.append_xml(text);
            } else if (mode == DumpMode::kFields) {
              for (const auto& f : r.fields()) text += fmt::format("{}={}\n", f.name, f.value);
              text += "\n";
            } else {
              r.append_json(text);
              text.push_back('\n');
            }
            std::fwrite(text.data(), 1, text.size(), out);
          },
          on_problem, stats);
      bad += stats.bad_records;
    }
    records += n;
  };
  if (mode == DumpMode::kNone) {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  } else {
    worker();
  }
  totals.records = records;
  totals.bad_records = bad;
}

}  // namespace mimamori::hunt
