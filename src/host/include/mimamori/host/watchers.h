#pragma once
/// The two collectors built on FileWatch: FileIntegrity (configured paths, who changed what)
/// and Persistence (cron, systemd units and timers, authorized_keys, ld.so.preload, shell
/// profiles, rc.local — each change an alert).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/host/file_watch.h"

namespace mimamori::host {

/// Signature ids of persistence alerts.
namespace persistence_sid {
inline constexpr uint64_t kCron = 9100101;
inline constexpr uint64_t kSystemd = 9100102;
inline constexpr uint64_t kAuthorizedKeys = 9100103;
inline constexpr uint64_t kLdPreload = 9100104;
inline constexpr uint64_t kShellProfile = 9100105;
inline constexpr uint64_t kRcLocal = 9100106;
}  // namespace persistence_sid

/// File integrity monitoring of configured paths.
class FileIntegrity : public Collector {
 public:
  FileIntegrity(FileWatch::Options options, std::chrono::seconds full_scan_interval);
  ~FileIntegrity() override;
  std::string_view name() const override { return "fim"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  void stop() override;

 private:
  FileWatch watch_;
  WriterTracker writers_;
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point next_full_, last_poll_;
};

/// The autostart locations under `root` ("/" on a live system; a folder in tests).
std::vector<std::string> persistence_paths(const std::string& root);

/// Persistence monitoring: every change to an autostart location is an alert (low when a
/// package manager or its maintainer scripts made it).
/// Whether cron and run-parts skip this file: in a cron folder (cron.d, cron.hourly … monthly), a
/// name with anything but letters, digits, '_' and '-' (dpkg's x.dpkg-new, an editor's x~).
bool run_parts_ignores(const std::string& path);

class Persistence : public Collector {
 public:
  Persistence(FileWatch::Options options, std::chrono::seconds interval);
  ~Persistence() override;
  std::string_view name() const override { return "persistence"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  void stop() override;

 private:
  FileWatch watch_;
  WriterTracker writers_;
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point next_full_;
};

}  // namespace mimamori::host
