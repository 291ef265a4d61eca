// Rule archives for `rules update --url`: fetch (core::HttpClient), read (libarchive), stage
// and swap (renameat2 RENAME_EXCHANGE).

#include "mimamori/core/rule_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>

#include "mimamori/core/hash.h"
#include "mimamori/core/http_client.h"

namespace mimamori::core {

namespace fs = std::filesystem;

Result<std::string> fetch_rule_archive(const std::string& url, std::string_view sha256) {
  HttpClientOptions o;
  o.protocols = "https,http,file";
  o.follow_redirects = true;
  o.redirect_protocols = "https,http";
  o.fail_on_http_error = true;
  o.connect_timeout_s = 30;
  o.timeout_s = 600;
  o.max_response_bytes = kMaxRuleArchive;
  HttpClient client(o);
  auto r = client.send({"GET", url, {}, {}});
  if (!r) {
    if (r.error().code == static_cast<int>(HttpErrorCode::kTooLarge))
      return make_error("fetch: {}: larger than {} MB", redact_url(url), kMaxRuleArchive >> 20);
    return make_error("fetch: {}", r.error().message);
  }
  if (!sha256.empty()) {
    std::string got = sha256_hex(r->body);
    if (got != sha256) return make_error("verify: SHA-256 is {}, expected {}", got, sha256);
  }
  return std::move(r->body);
}

Result<std::vector<ArchiveFile>> read_tar_gz(std::string_view gz,
                                             const std::function<bool(std::string_view)>& want,
                                             std::size_t max_unpacked) {
  if (gz.size() < 2 || static_cast<unsigned char>(gz[0]) != 0x1f ||
      static_cast<unsigned char>(gz[1]) != 0x8b)
    return make_error("not a gzip file (no gzip magic at its start)");
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return make_error("cannot start libarchive");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  auto why = [&] {
    const char* s = archive_error_string(a.get());
    return std::string(s ? s : "unreadable");
  };
  if (archive_read_open_memory(a.get(), gz.data(), gz.size()) != ARCHIVE_OK)
    return make_error("not a readable tar.gz archive: {}", why());
  std::vector<ArchiveFile> files;
  std::size_t unpacked = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return make_error("archive damaged after {} bytes unpacked: {}",
                        archive_filter_bytes(a.get(), 0), why());
    if (static_cast<uint64_t>(archive_filter_bytes(a.get(), 0)) > max_unpacked)
      return make_error("unpacks to more than {} MB", max_unpacked >> 20);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* p = archive_entry_pathname(entry);
    std::string path = p ? p : "";
    if (path.empty() || !want(path)) continue;
    auto size = archive_entry_size(entry);
    if (size < 0 || unpacked + static_cast<std::size_t>(size) > max_unpacked)
      return make_error("unpacks to more than {} MB", max_unpacked >> 20);
    ArchiveFile f{path, std::string(static_cast<std::size_t>(size), '\0')};
    la_ssize_t n = archive_read_data(a.get(), f.data.data(), f.data.size());
    if (n < 0 || static_cast<std::size_t>(n) != f.data.size())
      return make_error("archive damaged in {}: {}", path, why());
    unpacked += f.data.size();
    files.push_back(std::move(f));
  }
  return files;
}

Result<StagedFolder> StagedFolder::beside(const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  std::random_device rd;
  fs::path p = target.parent_path() / fmt::format("{}.new-{}", target.filename().string(), rd());
  if (!fs::create_directory(p, ec))
    return make_error("cannot create {}: {}", p.string(), ec.message());
  return StagedFolder(target, p);
}

StagedFolder::StagedFolder(StagedFolder&& o) noexcept
    : target_(std::move(o.target_)), path_(std::move(o.path_)) {
  o.path_.clear();
}

StagedFolder::~StagedFolder() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Result<fs::path> StagedFolder::write(std::string_view name, std::string_view data) {
  fs::path p = path_ / fs::path(std::string(name)).filename();
  std::ofstream f(p, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return make_error("cannot write {}", p.string());
  return p;
}

Status StagedFolder::swap_in() {
  std::error_code ec;
  if (fs::exists(target_, ec)) {
    // Both exist: exchanged in one step, so a reader sees the old folder or the new one, never
    // neither. path_ then holds the old rules, removed with this object.
    if (syscall(SYS_renameat2, AT_FDCWD, path_.c_str(), AT_FDCWD, target_.c_str(),
                RENAME_EXCHANGE) != 0)
      return make_error("cannot exchange {} and {}: {}", path_.string(), target_.string(),
                        std::strerror(errno));
    return {};
  }
  fs::rename(path_, target_, ec);
  if (ec) return make_error("cannot rename to {}: {}", target_.string(), ec.message());
  path_.clear();
  return {};
}

}  // namespace mimamori::core
