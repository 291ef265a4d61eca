// New files in Downloads folders, hashed once they have settled, against the hash list.

#include <spdlog/spdlog.h>
#include <windows.h>

#include <filesystem>
#include <fstream>

#include "dir_watch.h"
#include "mimamori/core/hash.h"
#include "mimamori/host/hash_list.h"
#include "mimamori/host/system_watch.h"
#include "mimamori/host/windows_collectors.h"
#include "win_text.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

// Browsers' partial downloads; they are renamed to the final name when complete.
bool partial(const std::string& path) {
  for (std::string_view ext : {".crdownload", ".part", ".partial", ".tmp", ".download"})
    if (path.size() > ext.size() &&
        _stricmp(path.c_str() + path.size() - ext.size(), std::string(ext).c_str()) == 0)
      return true;
  return false;
}

}  // namespace

DownloadsCheck::DownloadsCheck(Options options) : options_(std::move(options)) {}
DownloadsCheck::~DownloadsCheck() = default;

void DownloadsCheck::reload_hashes() {
  if (options_.hash_list.empty()) return;
  WIN32_FILE_ATTRIBUTE_DATA a{};
  int64_t mtime =
      GetFileAttributesExW(win::widen(options_.hash_list).c_str(), GetFileExInfoStandard, &a)
          ? (static_cast<int64_t>(a.ftLastWriteTime.dwHighDateTime) << 32) |
                a.ftLastWriteTime.dwLowDateTime
          : -1;
  if (mtime == hashes_mtime_) return;
  hashes_mtime_ = mtime;
  hashes_.clear();
  std::ifstream in(fs::u8path(options_.hash_list));
  read_hash_list(in, options_.hash_list, hashes_);
  if (mtime >= 0)
    spdlog::info("downloads: {} known-bad hashes from '{}'", hashes_.size(), options_.hash_list);
}

core::Status DownloadsCheck::start(EventSink&) {
  for (const auto& p : options_.paths) {
    auto w = DirWatch::open(p, false);
    if (!w) {
      spdlog::warn("downloads: {}; left out", w.error().message);
      continue;
    }
    watches_.push_back(std::move(*w));
  }
  if (watches_.empty()) return core::make_error("downloads: no Downloads folder could be watched");
  reload_hashes();
  if (hashes_.empty())
    spdlog::warn(
        "downloads: the hash list '{}' is empty or missing; nothing is hashed "
        "until it has hashes",
        options_.hash_list);
  spdlog::info(
      "downloads: watching {} folders (SHA-256 against the hash list; no YARA on "
      "Windows)",
      watches_.size());
  return {};
}

void DownloadsCheck::poll(EventSink& sink) {
  auto now = std::chrono::steady_clock::now();
  for (auto& w : watches_) {
    w->drain([&](unsigned long action, const std::string& path) {
      if (action == FILE_ACTION_ADDED || action == FILE_ACTION_MODIFIED ||
          action == FILE_ACTION_RENAMED_NEW_NAME)
        if (!partial(path) && path.find(':', 3) == std::string::npos)  // not Zone.Identifier
          pending_[path] = now;
    });
  }
  if (pending_.empty()) return;
  reload_hashes();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second < options_.settle) {
      ++it;
      continue;
    }
    check(it->first, sink);
    it = pending_.erase(it);
  }
}

void DownloadsCheck::check(const std::string& path, EventSink& sink) {
  WIN32_FILE_ATTRIBUTE_DATA a{};
  if (!GetFileAttributesExW(win::widen(path).c_str(), GetFileExInfoStandard, &a)) return;
  if (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return;
  uint64_t size = (static_cast<uint64_t>(a.nFileSizeHigh) << 32) | a.nFileSizeLow;
  if (size > options_.max_file_bytes || hashes_.empty()) return;
  auto h = core::sha256_file_hex(fs::u8path(path));
  if (!h) {
    spdlog::debug("downloads: cannot hash '{}': {}", path, h.error().message);
    return;
  }
  if (!hashes_.count(*h)) return;
  core::Event e = host_event(core::event_type::kFileinfo);
  e.fields.begin_object("yara")
      .add("rule", "known_bad_hash")
      .add("tags", "hash_list")
      .add("path", path)
      .add("size", size)
      .add("sha256", *h)
      .end();
  make_alert(e, system_sid::kKnownBadHash, "Known-bad file (hash on the threat list)",
             "Malware File", 1);
  spdlog::warn("downloads: '{}' is on the hash list ({})", path, *h);
  sink.emit(e);
}

}  // namespace mimamori::host
