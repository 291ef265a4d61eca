// `mimamori hunt PATH... --rules DIR`: Sigma over Windows event logs (.evtx, read natively) and
// JSON-lines exports; a timeline sorted by time and a summary.

#include "hunt.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

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

#include "commands.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"
#include "mimamori/host/evtx.h"

namespace mimamori::cli {
namespace {

namespace fs = std::filesystem;
using hunt::Detection;
using hunt::Lang;
using hunt::msg;

struct Options {
  std::vector<std::string> paths;
  std::vector<std::string> rules;
  std::string min_level = "informational";
  std::string format = "csv";
  std::string output;
  std::string lang;
  std::string dump;
  unsigned threads = 0;
  bool show_errors = false;
  bool quiet = false;
  bool no_cache = false;
  std::vector<std::string> placeholders;  // name=value,value for `expand`
};

struct Input {
  std::string path;
  bool evtx = true;
  std::optional<host::EvtxFile> file;
  uint64_t size = 0;
};

// A piece of work: chunk slots [first, last) of an EVTX file, or a whole JSON file.
struct Job {
  uint32_t input = 0;
  uint32_t first = 0, last = 0;
};

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

// Flattens a JSON event (the evtx-dump shape, or any object) into named fields, the way the
// EVTX reader names them: `Provider_Name` for attributes, Data names without spaces.
class JsonFlattener {
 public:
  void flatten(const core::Fields& f, std::vector<std::pair<std::string, std::string>>& out) {
    out.clear();
    walk(f, 0, static_cast<uint32_t>(f.nodes().size()), "", "", out);
  }

 private:
  void walk(const core::Fields& f, uint32_t b, uint32_t e, std::string_view parent,
            std::string_view owner, std::vector<std::pair<std::string, std::string>>& out) {
    const auto& nodes = f.nodes();
    for (uint32_t i = b; i < e;) {
      const auto& n = nodes[i];
      std::string_view key = f.key_of(n);
      if (n.kind == core::ValueKind::kObject || n.kind == core::ValueKind::kArray) {
        if (key == "#attributes")
          walk(f, i + 1, n.end, parent, parent, out);
        else
          walk(f, i + 1, n.end, key.empty() ? parent : key, "", out);
        i = n.end;
        continue;
      }
      std::string name;
      if (!owner.empty()) {
        name = fmt::format("{}_{}", owner, key);
      } else if (key.empty() || key == "#text") {
        name = parent;
      } else {
        name = key;
      }
      name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
      if (name != "xmlns_xmlns" && name != "Event_xmlns") {
        auto v = f.value_at(i);
        std::string text;
        switch (v.kind) {
          case core::ValueKind::kString:
            text = v.str;
            break;
          case core::ValueKind::kInt:
            text = std::to_string(v.i);
            break;
          case core::ValueKind::kUint:
            text = std::to_string(v.u);
            break;
          case core::ValueKind::kDouble:
            text = fmt::format("{}", v.d);
            break;
          case core::ValueKind::kBool:
            text = v.b ? "true" : "false";
            break;
          default:
            break;
        }
        out.emplace_back(std::move(name), std::move(text));
      }
      ++i;
    }
  }
};

bool looks_like_evtx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return std::string_view(magic, 7) == "ElfFile" || std::string_view(magic, 7) == "ElfChnk";
}

std::vector<Input> collect_inputs(const std::vector<std::string>& paths, uint64_t& unreadable) {
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
      auto f = host::EvtxFile::open(in.path);
      if (!f.ok()) {
        std::fprintf(stderr, "%s\n", f.error().message.c_str());
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
      std::fprintf(stderr, "%s: no such file or directory\n", p.c_str());
      ++unreadable;
    }
  }
  return inputs;
}

// Per-thread results, merged after the scan.
struct WorkerOut {
  std::vector<Detection> rows;
  std::vector<sigma::CorrelationInput> corr;
  std::vector<Detection> briefs;  // one per correlation input: where the event came from
  hunt::ScanTotals totals;
};

class Hunt {
 public:
  Hunt(const Options& o, const sigma::RuleSet& rules, const std::vector<Input>& inputs,
       sigma::Level min_level)
      : o_(o), rules_(rules), inputs_(inputs), min_level_(min_level) {
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

  void run(unsigned threads, bool progress) {
    outs_.resize(threads);
    std::vector<std::thread> pool;
    std::atomic<bool> done{false};
    std::thread bar;
    uint64_t total_bytes = 0;
    for (const auto& in : inputs_) total_bytes += in.size;
    if (progress) {
      bar = std::thread([&] {
        while (!done.load()) {
          uint64_t b = bytes_done_.load();
          int pct = total_bytes ? static_cast<int>(100.0 * static_cast<double>(b) /
                                                   static_cast<double>(total_bytes))
                                : 100;
          int filled = pct / 4;
          std::fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f / %.1f MB", filled,
                       "#########################", 25 - filled, "", pct,
                       static_cast<double>(b) / 1e6, static_cast<double>(total_bytes) / 1e6);
          std::fflush(stderr);
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        std::fprintf(stderr, "\r%*s\r", 60, "");
      });
    }
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back([this, t] { work(outs_[t]); });
    for (auto& th : pool) th.join();
    done = true;
    if (bar.joinable()) bar.join();
  }

  // Merges the threads' results: rows sorted by time, correlations evaluated.
  std::vector<Detection> merge(hunt::ScanTotals& totals) {
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
                                hit.events.size(), hunt::jst_time(hit.last));
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

 private:
  void work(WorkerOut& out) {
    sigma::Matcher matcher(rules_);
    host::EvtxChunkDecoder decoder;
    std::vector<sigma::FieldView> view;
    std::vector<uint32_t> hits;
    std::vector<std::pair<std::string, std::string>> owned;
    JsonFlattener flattener;
    core::Fields fields;
    host::EvtxStats stats;
    auto on_problem = [&](const host::EvtxProblem& p) {
      ++out.totals.problems;
      std::lock_guard lock(err_mu_);
      std::fprintf(stderr, "%s:%llu: %s\n", p.file.c_str(),
                   static_cast<unsigned long long>(p.offset), p.what.c_str());
    };
    for (;;) {
      std::size_t j = next_.fetch_add(1);
      if (j >= jobs_.size()) break;
      const Job& job = jobs_[j];
      const Input& in = inputs_[job.input];
      if (in.evtx) {
        if (job.first == 0) in.file->check_header(on_problem, stats);
        auto on_record = [&](const host::EvtxRecord& r) {
          view.clear();
          for (const auto& f : r.fields()) view.push_back(sigma::FieldView{f.name, f.value});
          process(out, matcher, view, hits, r.record_id, r.time, job.input);
        };
        in.file->read_chunks(job.first, job.last, decoder, on_record, on_problem, stats);
        bytes_done_ += uint64_t(job.last - job.first) * host::EvtxFile::kChunkSize +
                       (job.first == 0 ? host::EvtxFile::kHeaderSize : 0);
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
            std::lock_guard lock(err_mu_);
            std::fprintf(stderr, "%s:%zu: %s; record skipped\n", in.path.c_str(), offset,
                         st.error().message.c_str());
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

  void process(WorkerOut& out, sigma::Matcher& matcher, std::span<const sigma::FieldView> view,
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

  const Options& o_;
  const sigma::RuleSet& rules_;
  const std::vector<Input>& inputs_;
  sigma::Level min_level_;
  bool has_correlations_ = false;
  std::vector<std::string> corr_fields_;
  std::vector<Job> jobs_;
  std::atomic<std::size_t> next_{0};
  std::atomic<uint64_t> bytes_done_{0};
  std::vector<WorkerOut> outs_;
  std::mutex err_mu_;
};

// `--dump`: decoded records instead of detections (`none`: parse only, for measuring).
int dump(const Options& o, const std::vector<Input>& inputs, unsigned threads, Lang lang) {
  auto t0 = std::chrono::steady_clock::now();
  hunt::ScanTotals totals;
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "wb");
    if (!out) {
      std::fprintf(stderr, "%s: cannot write\n", o.output.c_str());
      return 2;
    }
  }
  auto on_problem = [](const host::EvtxProblem& p) {
    std::fprintf(stderr, "%s:%llu: %s\n", p.file.c_str(), static_cast<unsigned long long>(p.offset),
                 p.what.c_str());
  };
  std::atomic<uint64_t> records{0}, bad{0};
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    host::EvtxChunkDecoder decoder;
    std::string text;
    uint64_t n = 0;
    for (;;) {
      std::size_t i = next.fetch_add(1);
      if (i >= inputs.size()) break;
      const auto& in = inputs[i];
      if (!in.evtx) continue;
      host::EvtxStats stats;
      in.file->check_header(on_problem, stats);
      in.file->read_chunks(
          0, in.file->chunk_slots(), decoder,
          [&](const host::EvtxRecord& r) {
            ++n;
            if (o.dump == "none") {
              (void)r.fields();  // parse-only still builds the field view Sigma would see
              return;
            }
            text.clear();
            if (o.dump == "xml") {
              r.append_xml(text);
            } else if (o.dump == "fields") {
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
  if (o.dump == "none") {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  } else {
    worker();
  }
  if (out != stdout) std::fclose(out);
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  totals.records = records;
  totals.bad_records = bad;
  for (const auto& in : inputs) totals.bytes += in.size;
  totals.files = inputs.size();
  if (!o.quiet) {
    double mb = static_cast<double>(totals.bytes) / 1e6;
    std::fprintf(stderr, "%s: %llu, %s: %llu, %.3f s, %.1f MB/s, %.0f records/s (%u threads)\n",
                 std::string(msg(lang, "summary.files")).c_str(),
                 static_cast<unsigned long long>(totals.files),
                 std::string(msg(lang, "summary.records")).c_str(),
                 static_cast<unsigned long long>(totals.records), totals.seconds,
                 mb / totals.seconds, static_cast<double>(totals.records) / totals.seconds,
                 o.dump == "none" ? threads : 1u);
  }
  return 0;
}

// Compiled rule databases are kept in the user's cache folder between runs.
std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/mimamori/sigma";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/mimamori/sigma";
  return {};
}

double cpu_seconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int run(const Options& o) {
  Lang lang = o.lang == "ja" ? Lang::kJa : o.lang == "en" ? Lang::kEn : hunt::default_lang();
  auto min_level = sigma::parse_level(o.min_level);
  if (!min_level) {
    std::fprintf(stderr, "--min-level: unknown level '%s'\n", o.min_level.c_str());
    return 2;
  }
  hunt::Format format = hunt::Format::kCsv;
  if (o.format == "jsonl" || o.format == "json")
    format = hunt::Format::kJsonl;
  else if (o.format == "table")
    format = hunt::Format::kTable;
  else if (o.format != "csv") {
    std::fprintf(stderr, "--format: unknown format '%s' (csv, jsonl, table)\n", o.format.c_str());
    return 2;
  }
  unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  hunt::ScanTotals totals;
  auto inputs = collect_inputs(o.paths, totals.unreadable);
  if (inputs.empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_inputs")).c_str());
    return 2;
  }
  if (!o.dump.empty()) return dump(o, inputs, threads, lang);
  if (o.rules.empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_rules")).c_str());
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  sigma::RuleSet rules;
  sigma::LoadOptions load;
  for (const auto& p : o.placeholders) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "--placeholder: expected NAME=VALUE[,VALUE...], got '%s'\n", p.c_str());
      return 2;
    }
    auto& values = load.placeholders[p.substr(0, eq)];
    std::stringstream list(p.substr(eq + 1));
    for (std::string v; std::getline(list, v, ',');) values.push_back(v);
  }
  for (const auto& r : o.rules) rules.load_path(r, load);
  if (auto st = rules.compile(o.no_cache ? std::string() : cache_dir()); !st.ok()) {
    std::fprintf(stderr, "rules: %s\n", st.error().message.c_str());
    return 2;
  }
  if (o.show_errors)
    for (const auto& e : rules.errors())
      std::fprintf(stderr, "%s: %s\n", e.file.c_str(), e.reason.c_str());
  if (rules.rules().empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_rules_loaded")).c_str());
    return 2;
  }
  auto t1 = std::chrono::steady_clock::now();
  double cpu0 = cpu_seconds();
  totals.rule_seconds = std::chrono::duration<double>(t1 - t0).count();
  bool progress = !o.quiet && ::isatty(STDERR_FILENO);
  Hunt hunt(o, rules, inputs, *min_level);
  hunt.run(threads, progress);
  auto rows = hunt.merge(totals);
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  totals.cpu_seconds = cpu_seconds() - cpu0;
  totals.files = inputs.size();
  for (const auto& in : inputs) totals.bytes += in.size;

  std::vector<std::string> sources;
  for (const auto& in : inputs) sources.push_back(in.path);
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "wb");
    if (!out) {
      std::fprintf(stderr, "%s: cannot write\n", o.output.c_str());
      return 2;
    }
  }
  hunt::write_timeline(out, format, rows, rules, sources);
  if (out != stdout) std::fclose(out);
  if (!o.quiet) hunt::write_summary(o.output.empty() ? stderr : stdout, lang, rows, rules, totals);
  return totals.unreadable ? 1 : 0;
}

}  // namespace

void add_hunt_command(CLI::App& app) {
  Lang lang = hunt::default_lang();
  auto o = std::make_shared<Options>();
  auto h = [lang](std::string_view key) { return std::string(msg(lang, key)); };
  auto* cmd = app.add_subcommand("hunt", h("help.hunt"));
  cmd->add_option("paths", o->paths, h("help.paths"))->required();
  cmd->add_option("-r,--rules", o->rules, h("help.rules"));
  cmd->add_option("-m,--min-level", o->min_level, h("help.min_level"));
  cmd->add_option("-f,--format", o->format, h("help.format"));
  cmd->add_option("-o,--output", o->output, h("help.output"));
  cmd->add_option("-t,--threads", o->threads, h("help.threads"));
  cmd->add_option("--lang", o->lang, h("help.lang"))->check(CLI::IsMember({"ja", "en"}));
  cmd->add_option("--dump", o->dump, h("help.dump"))
      ->check(CLI::IsMember({"json", "xml", "fields", "none"}));
  cmd->add_flag("--show-errors", o->show_errors, h("help.show_errors"));
  cmd->add_flag("-q,--quiet", o->quiet, h("help.quiet"));
  cmd->add_flag("--no-cache", o->no_cache, h("help.no_cache"));
  cmd->add_option("--placeholder", o->placeholders, h("help.placeholder"));
  cmd->callback([o] { throw CLI::RuntimeError(run(*o)); });
}

}  // namespace mimamori::cli
