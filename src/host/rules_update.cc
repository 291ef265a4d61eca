// The agent's `rules update`: YARA and Sigma archives, fetched with core::HttpClient, read with
// libarchive, test-loaded with libyara / the Sigma compiler, swapped in with renameat2.

#include "mimamori/host/rules_update.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#ifdef MIMAMORI_HAVE_YARA
#include <yara.h>
#endif

#include "mimamori/core/hash.h"
#include "mimamori/core/http_client.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxArchive = 256u << 20;    // bytes fetched
constexpr std::size_t kMaxUnpacked = 1024u << 20;  // bytes after gunzip

core::Error step(std::string_view name, std::string_view why) {
  return core::make_error("{}: {}", name, why);
}

bool is_yara(const std::string& n) { return n.ends_with(".yar") || n.ends_with(".yara"); }
bool is_sigma(const std::string& n) { return n.ends_with(".yml") || n.ends_with(".yaml"); }

struct Entry {
  std::string name;  // path inside the archive, flattened to one safe file name
  std::string data;
};

core::Result<std::vector<Entry>> read_archive(std::string_view gz) {
  if (gz.size() < 2 || static_cast<unsigned char>(gz[0]) != 0x1f ||
      static_cast<unsigned char>(gz[1]) != 0x8b)
    return core::make_error("not a gzip file (no gzip magic at its start)");
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return core::make_error("cannot start libarchive");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), gz.data(), gz.size()) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    return core::make_error("not a readable tar.gz archive: {}", why ? why : "unreadable");
  }
  std::vector<Entry> out;
  std::size_t unpacked = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      const char* why = archive_error_string(a.get());
      return core::make_error("archive damaged: {}", why ? why : "unreadable");
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* path = archive_entry_pathname(entry);
    std::string p = path ? path : "";
    std::string base = fs::path(p).filename().string();
    if (base.empty() || base == "." || base == ".." || !(is_yara(base) || is_sigma(base))) continue;
    // Sigma folders repeat file names across sub-folders: the path, flattened, names the file
    // (no entry can write outside the new folder).
    std::string flat;
    for (char c : fs::path(p).lexically_normal().string())
      flat += (c == '/' || c == '\\') ? '_' : c;
    while (!flat.empty() && (flat[0] == '.' || flat[0] == '_')) flat.erase(0, 1);
    auto size = archive_entry_size(entry);
    if (size < 0 || unpacked + static_cast<std::size_t>(size) > kMaxUnpacked)
      return core::make_error("unpacks to more than {} MB", kMaxUnpacked >> 20);
    Entry e{flat, std::string(static_cast<std::size_t>(size), '\0')};
    la_ssize_t n = archive_read_data(a.get(), e.data.data(), e.data.size());
    if (n < 0 || static_cast<std::size_t>(n) != e.data.size())
      return core::make_error("archive damaged in {}", p);
    unpacked += e.data.size();
    out.push_back(std::move(e));
  }
  return out;
}

// Whether one YARA file compiles on its own.
bool yara_compiles(const fs::path& file) {
#ifdef MIMAMORI_HAVE_YARA
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return false;
  YR_COMPILER* c = nullptr;
  int bad = 1;
  if (yr_compiler_create(&c) == ERROR_SUCCESS) {
    yr_compiler_set_callback(
        c,
        [](int level, const char* name, int line, const YR_RULE*, const char* msg, void*) {
          if (level == YARA_ERROR_LEVEL_ERROR)
            spdlog::warn("rules update: {}:{}: {}", name ? name : "?", line, msg);
        },
        nullptr);
    bad = yr_compiler_add_file(c, f, nullptr, file.c_str());
    yr_compiler_destroy(c);
  }
  std::fclose(f);
  return bad == 0;
#else
  (void)file;
  return false;
#endif
}

struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

core::Result<AgentRulesUpdateReport> update_agent_rules(const core::Config& config,
                                                        const AgentRulesUpdateOptions& o) {
  if (!o.kind.empty() && o.kind != "yara" && o.kind != "sigma")
    return step("options", "--kind: expected yara or sigma, got '" + o.kind + "'");
  core::HttpClientOptions ho;
  ho.protocols = "https,http,file";
  ho.follow_redirects = true;
  ho.redirect_protocols = "https,http";
  ho.fail_on_http_error = true;
  ho.connect_timeout_s = 30;
  ho.timeout_s = 600;
  ho.max_response_bytes = kMaxArchive;
  core::HttpClient client(ho);
  auto r = client.send({"GET", o.url, {}, {}});
  if (!r) return step("fetch", r.error().message);
  const std::string& body = r->body;
  if (!o.sha256.empty()) {
    std::string got = core::sha256_hex(body);
    if (got != o.sha256) return step("verify", "SHA-256 is " + got + ", expected " + o.sha256);
  }
  auto entries = read_archive(body);
  if (!entries) return step("verify", entries.error().message);
  std::size_t yara = 0, sigma = 0;
  for (const auto& e : *entries) (is_yara(e.name) ? yara : sigma)++;
  AgentRulesUpdateReport report;
  report.kind = !o.kind.empty() ? o.kind : yara >= sigma && yara ? "yara" : sigma ? "sigma" : "";
  if (report.kind.empty())
    return step("verify", "the archive holds no YARA (.yar, .yara) or Sigma (.yml) file");
  bool want_yara = report.kind == "yara";
  if ((want_yara ? yara : sigma) == 0)
    return step("verify", "the archive holds no " + report.kind + " rule file");

  fs::path out = o.output;
  if (out.empty())
    out = want_yara
              ? fs::path(config.get<std::string>("yara.rules_dir", "/etc/mimamori/yara"))
              : fs::path(config.get<std::string>("agent.state_dir", "/var/lib/mimamori-agent")) /
                    "sigma";
  out = fs::absolute(out).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();
  report.folder = out.string();

  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  TempDir fresh;
  std::random_device rd;
  fresh.path = out.parent_path() / (out.filename().string() + ".new-" + std::to_string(rd()));
  if (!fs::create_directory(fresh.path, ec))
    return step("unpack", "cannot create " + fresh.path.string() + ": " + ec.message());
  std::vector<fs::path> written;
  for (const auto& e : *entries) {
    if (is_yara(e.name) != want_yara) continue;
    fs::path p = fresh.path / e.name;
    std::ofstream f(p, std::ios::binary);
    f.write(e.data.data(), static_cast<std::streamsize>(e.data.size()));
    if (!f) return step("unpack", "cannot write " + p.string());
    written.push_back(p);
  }

  // Test-load as the agent would; files that do not load are left out, with a warning.
  if (want_yara) {
#ifdef MIMAMORI_HAVE_YARA
    if (yr_initialize() != ERROR_SUCCESS) return step("test-load", "cannot initialise libyara");
    for (const auto& p : written) {
      if (yara_compiles(p)) {
        ++report.usable;
      } else {
        ++report.skipped;
        fs::remove(p, ec);
      }
    }
    yr_finalize();
#else
    return step("test-load", "built without libyara");
#endif
    report.files = report.usable;
    if (report.usable == 0) return step("test-load", "no YARA file of the archive compiles");
  } else {
    sigma::RuleSet rules;
    rules.load_path(fresh.path.string());
    if (auto st = rules.compile(); !st) return step("test-load", st.error().message);
    for (const auto& rule : rules.rules())
      report.usable +=
          !rule.correlation && rule.product == "linux" && rule.category == "process_creation";
    report.files = written.size();
    report.skipped = rules.errors().size();
    if (report.usable == 0)
      return step("test-load", "no Sigma linux process_creation rule of the archive loads");
  }

  if (fs::exists(out)) {
    if (syscall(SYS_renameat2, AT_FDCWD, fresh.path.c_str(), AT_FDCWD, out.c_str(),
                RENAME_EXCHANGE) != 0)
      return step("swap", "cannot exchange " + fresh.path.string() + " and " + out.string() + ": " +
                              std::strerror(errno));
  } else {
    fs::rename(fresh.path, out, ec);
    if (ec) return step("swap", "cannot rename to " + out.string() + ": " + ec.message());
    fresh.path.clear();
  }
  return report;
}

}  // namespace mimamori::host
