#pragma once
// The running agent's counters: a sink wrapper that counts each collector's events, the stats
// file the agent rewrites in its state folder, and `mimamori-agent stats`, which prints it.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::agent {

/// Forwards to another sink and counts what one collector emitted.
class CountingSink : public host::EventSink {
 public:
  CountingSink(host::EventSink& inner, std::string name) : inner_(inner), name_(std::move(name)) {}
  void emit(const core::Event& e) override {
    inner_.emit(e);
    events_.fetch_add(1, std::memory_order_relaxed);
  }
  void checkpoint(std::string_view source, std::string_view pos) override {
    inner_.checkpoint(source, pos);
  }
  std::string position(std::string_view source) override { return inner_.position(source); }
  const std::string& name() const { return name_; }
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  bool enabled = true;  ///< false when the collector could not start

 private:
  host::EventSink& inner_;
  std::string name_;
  std::atomic<uint64_t> events_{0};
};

/// The file the agent keeps its counters in, below its state folder.
inline std::filesystem::path stats_path(const std::filesystem::path& state_dir) {
  return state_dir / "stats.json";
}

/// Writes the counters (atomically: temporary file, then rename). `spool`/`uplink` may be null
/// (offline use with --eve).
void write_stats(const std::filesystem::path& path, double uptime_s,
                 const std::vector<std::unique_ptr<CountingSink>>& collectors,
                 const uplink::Spool* spool, const uplink::Uplink* up);

/// `mimamori-agent stats`: prints the counters the running agent last wrote. Returns the exit
/// code (1: no stats file; the message says where it looked).
int print_stats(const std::filesystem::path& state_dir);

}  // namespace mimamori::agent
