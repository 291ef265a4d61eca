// LiveLists: the threat-intelligence and known-bad hash lists, read from their files and read
// again when one changes. A reload builds new lists beside the old; workers swap to them between
// packets when they see the version move. A file that cannot be read keeps the lists as they were.

#include <fmt/format.h>
#include <sys/stat.h>

#include "mimamori/core/log.h"
#include "mimamori/net/behaviour.h"

namespace mimamori::net {

LiveLists::LiveLists(std::vector<Source> intel, std::vector<Source> hashes)
    : intel_src_(std::move(intel)),
      hash_src_(std::move(hashes)),
      intel_(std::make_shared<IntelList>()),
      hashes_(std::make_shared<HashList>(HashList::builtin())) {}

// What identifies the files' contents without reading them: each one's size and modification
// time, or that it is missing.
std::string LiveLists::stamp() const {
  std::string out;
  for (const auto* list : {&intel_src_, &hash_src_})
    for (const auto& s : *list) {
      struct stat st {};
      if (::stat(s.path.c_str(), &st) != 0)
        out += "-;";
      else
        out += fmt::format("{}:{}.{};", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
  return out;
}

core::Status LiveLists::read(std::shared_ptr<IntelList>& intel,
                             std::shared_ptr<HashList>& hashes) const {
  intel = std::make_shared<IntelList>();
  hashes = std::make_shared<HashList>(HashList::builtin());
  for (const auto& s : intel_src_) {
    struct stat st {};
    if (s.optional && ::stat(s.path.c_str(), &st) != 0) continue;
    if (auto r = intel->add_file(s.path); !r.ok())
      return core::make_error("behaviour.intel.lists: {}", r.error().message);
  }
  intel->finish();
  for (const auto& s : hash_src_) {
    struct stat st {};
    if (s.optional && ::stat(s.path.c_str(), &st) != 0) continue;
    if (auto r = hashes->add_file(s.path); !r.ok())
      return core::make_error("behaviour.files.hash-lists: {}", r.error().message);
  }
  return {};
}

core::Status LiveLists::load() {
  std::string before = stamp();
  std::shared_ptr<IntelList> intel;
  std::shared_ptr<HashList> hashes;
  if (auto st = read(intel, hashes); !st.ok()) return st;
  std::lock_guard lock(mu_);
  intel_ = std::move(intel);
  hashes_ = std::move(hashes);
  stamp_ = std::move(before);
  version_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

bool LiveLists::reload(bool force) {
  // Stamped before reading: a file written while it is read is read again next time.
  std::string now = stamp();
  {
    std::lock_guard lock(mu_);
    if (!force && now == stamp_) return false;
  }
  std::shared_ptr<IntelList> intel;
  std::shared_ptr<HashList> hashes;
  if (auto st = read(intel, hashes); !st.ok()) {
    spdlog::warn("behaviour: lists not reloaded, the ones loaded before stay in use: {}",
                 st.error().message);
    std::lock_guard lock(mu_);
    stamp_ = std::move(now);  // said once per change, not at every check
    return false;
  }
  size_t indicators = intel->v4.size() + intel->v6.size() + intel->domains.size() +
                      intel->ja3.size() + intel->ja4.size();
  size_t known = hashes->sha256.size() + hashes->md5.size();
  {
    std::lock_guard lock(mu_);
    intel_ = std::move(intel);
    hashes_ = std::move(hashes);
    stamp_ = std::move(now);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
  spdlog::info("behaviour: lists reloaded ({} indicators, {} file hashes)", indicators, known);
  return true;
}

std::shared_ptr<const IntelList> LiveLists::intel() const {
  std::lock_guard lock(mu_);
  return intel_;
}

std::shared_ptr<const HashList> LiveLists::hashes() const {
  std::lock_guard lock(mu_);
  return hashes_;
}

}  // namespace mimamori::net
