// `rules update --url URL`: fetches a ruleset archive (tar.gz, as ET Open ships it) over https,
// http or file:// (core::HttpClient), reads it with libarchive, unpacks the rule files into a
// folder beside the rules folder, test-loads them, and swaps the folders only if they load.

#include "mimamori/net/rules/rules_update.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "mimamori/core/hash.h"
#include "mimamori/core/http_client.h"
#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxArchive = 256u << 20;    // bytes fetched
constexpr std::size_t kMaxUnpacked = 1024u << 20;  // bytes after gunzip

core::Result<std::string> fetch(const std::string& url) {
  core::HttpClientOptions o;
  o.protocols = "https,http,file";
  o.follow_redirects = true;
  o.redirect_protocols = "https,http";
  o.fail_on_http_error = true;
  o.connect_timeout_s = 30;
  o.timeout_s = 600;
  o.max_response_bytes = kMaxArchive;
  core::HttpClient client(o);
  auto r = client.send({"GET", url, {}, {}});
  if (!r) {
    if (r.error().code == static_cast<int>(core::HttpErrorCode::kTooLarge))
      return core::make_error("{}: larger than {} MB", core::redact_url(url), kMaxArchive >> 20);
    return r.error();
  }
  return std::move(r->body);
}

struct ArchiveFile {
  std::string name;  // base name
  std::string data;
};

bool wanted(const std::string& name) {
  for (const char* ext : {".rules", ".config", ".conf", ".map"})
    if (name.size() > std::strlen(ext) && name.ends_with(ext)) return true;
  return false;
}

// The rule files (wanted() names) of a gzip-compressed tar archive. libarchive verifies every
// header's checksum; the unpacked size is bounded.
core::Result<std::vector<ArchiveFile>> read_archive(std::string_view gz) {
  if (gz.size() < 2 || static_cast<unsigned char>(gz[0]) != 0x1f ||
      static_cast<unsigned char>(gz[1]) != 0x8b)
    return core::make_error("not a gzip file (no gzip magic at its start)");
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return core::make_error("cannot start libarchive");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  auto damaged = [&](std::string_view where) {
    const char* why = archive_error_string(a.get());
    return core::make_error("archive damaged {}: {}", where, why ? why : "unreadable");
  };
  if (archive_read_open_memory(a.get(), gz.data(), gz.size()) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    return core::make_error("not a readable tar.gz archive: {}", why ? why : "unreadable");
  }
  std::vector<ArchiveFile> files;
  std::size_t unpacked = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return damaged(fmt::format("after {} bytes unpacked", archive_filter_bytes(a.get(), 0)));
    if (static_cast<uint64_t>(archive_filter_bytes(a.get(), 0)) > kMaxUnpacked)
      return core::make_error("unpacks to more than {} MB", kMaxUnpacked >> 20);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    // Only the base name is used: no entry can write outside the new folder.
    const char* path = archive_entry_pathname(entry);
    std::string base = fs::path(path ? path : "").filename().string();
    if (base.empty() || base == "." || base == ".." || !wanted(base)) continue;
    auto size = archive_entry_size(entry);
    if (size < 0 || unpacked + static_cast<std::size_t>(size) > kMaxUnpacked)
      return core::make_error("unpacks to more than {} MB", kMaxUnpacked >> 20);
    ArchiveFile f{base, std::string(static_cast<std::size_t>(size), '\0')};
    la_ssize_t n = archive_read_data(a.get(), f.data.data(), f.data.size());
    if (n < 0 || static_cast<std::size_t>(n) != f.data.size())
      return damaged(fmt::format("in {}", path ? path : base));
    unpacked += f.data.size();
    files.push_back(std::move(f));
  }
  return files;
}

// Exchanges two folders atomically (both must exist).
bool exchange(const fs::path& a, const fs::path& b) {
  return syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
}

struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

core::Error step(std::string_view name, std::string_view why) {
  return core::make_error("{}: {}", name, why);
}

}  // namespace

core::Result<RulesUpdateReport> update_rules(const core::Config& config,
                                             const RulesUpdateOptions& o) {
  fs::path out = o.output.empty() ? config.get<std::string>("default-rule-path", "") : o.output;
  if (out.empty())
    return step("options", "no rules folder: give --output DIR or set default-rule-path");
  out = fs::absolute(out).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();

  auto archive = fetch(o.url);
  if (!archive) return step("fetch", archive.error().message);
  if (!o.sha256.empty()) {
    std::string got = core::sha256_hex(*archive);
    if (got != o.sha256) return step("verify", "SHA-256 is " + got + ", expected " + o.sha256);
  }
  auto entries = read_archive(*archive);
  if (!entries) return step("verify", entries.error().message);
  std::size_t rule_files = 0;
  for (const auto& e : *entries) rule_files += e.name.ends_with(".rules");
  if (rule_files == 0) return step("verify", "the archive holds no .rules file");

  // Unpack beside the target, so the swap is a rename on one file system.
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  TempDir fresh;
  std::random_device rd;
  fresh.path = out.parent_path() / (out.filename().string() + ".new-" + std::to_string(rd()));
  if (!fs::create_directory(fresh.path, ec))
    return step("unpack", "cannot create " + fresh.path.string() + ": " + ec.message());
  std::vector<std::string> files;
  for (const auto& e : *entries) {
    fs::path p = fresh.path / e.name;
    std::ofstream f(p, std::ios::binary);
    f.write(e.data.data(), static_cast<std::streamsize>(e.data.size()));
    if (!f) return step("unpack", "cannot write " + p.string());
    if (e.name.ends_with(".rules")) files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());

  // Test-load: the new rules must parse and compile as the sensor would run them.
  fs::path cls = fresh.path / "classification.config";
  auto sources =
      RuleSources::from_config(config, files, fs::exists(cls) ? cls.string() : std::string{});
  auto set = load_rules(sources);
  if (!set) return step("test-load", set.error().message);
  RulesUpdateReport report;
  report.loaded = set->signatures.size();
  report.enabled = set->enabled;
  report.rule_files = files.size();
  report.folder = out.string();
  if (report.loaded == 0) return step("test-load", "no rule of the archive loads");
  auto engine = RuleEngine::build(std::move(*set), {});
  if (!engine) return step("test-load", engine.error().message);

  // Swap: exchange the folders atomically, then drop the old one.
  if (fs::exists(out)) {
    if (!exchange(fresh.path, out))
      return step("swap", "cannot exchange " + fresh.path.string() + " and " + out.string() + ": " +
                              std::strerror(errno));
  } else {
    fs::rename(fresh.path, out, ec);
    if (ec) return step("swap", "cannot rename to " + out.string() + ": " + ec.message());
    fresh.path.clear();
  }
  return report;
}

}  // namespace mimamori::net::rules
