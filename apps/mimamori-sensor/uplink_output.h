#pragma once
// The sensor's way to the server: EVE lines of the chosen types go into the durable spool
// through uplink::SpoolSink (and, when asked, to eve.json as before); its committer thread makes
// them durable in batches and an uplink thread sends them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "mimamori/core/config.h"
#include "mimamori/net/output.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/spool_sink.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::sensor {

/// The EVE types the sensor sends by default.
inline constexpr std::string_view kDefaultUplinkTypes[] = {"alert", "anomaly", "flow", "dns",
                                                           "http",  "tls",     "ssh",  "stats"};

/// What `uplink.*` (and the command line) say.
struct UplinkSettings {
  std::string credential;  ///< credential file written by `mimamori-sensor enroll`
  std::string spool_dir;   ///< the durable spool
  uint64_t spool_max_mb = 256;
  std::set<std::string, std::less<>> types;  ///< EVE event types to send
  int commit_interval_ms = 200;  ///< how often appended events become durable and sendable
  int drain_timeout_s = 30;      ///< at exit, wait this long for the server to take the spool
  uint64_t buffer_max_bytes = 32ull << 20;  ///< lines waiting for the committer; beyond: dropped
  /// More heartbeat members (see uplink::UplinkOptions::heartbeat_extra).
  std::function<std::string()> heartbeat_extra;
  /// Called (on the uplink's thread) with the device configuration the server serves, when it
  /// changed: its threat indicators are the sensor's server list.
  std::function<void(const std::string& yaml)> on_config;

  /// Reads `uplink.enabled`, `uplink.credential`, `uplink.spool_dir`, `uplink.spool_max_mb`,
  /// `uplink.event_types`, `uplink.commit_interval_ms`, `uplink.drain_timeout_s`; an empty
  /// `credential` means the uplink is off. Throws core::ConfigError on a bad value.
  static UplinkSettings from_config(const core::Config& cfg);
};

/// An EveSink that tees into the spool; owns the spool, the uplink and their threads.
class UplinkOutput final : public net::EveSink {
 public:
  /// Opens the spool and starts the threads; `file` (may be null) still gets every line.
  static core::Result<std::unique_ptr<UplinkOutput>> start(const UplinkSettings& settings,
                                                           const core::Config& cfg,
                                                           std::unique_ptr<net::EveSink> file);
  ~UplinkOutput() override;

  void write(std::string_view lines) override;
  void flush() override;

  /// Commits what was appended, then waits up to the drain timeout for the server to
  /// acknowledge the spool, or until `give_up` says so (a second Ctrl-C); stops the threads.
  /// What is not acknowledged stays in the spool for the next start.
  void finish(const std::function<bool()>& give_up = {});

  /// One line for the exit summary: events spooled per type, acknowledged, depth, dropped.
  std::string summary() const;

 private:
  UplinkOutput(UplinkSettings settings, std::unique_ptr<net::EveSink> file,
               std::unique_ptr<uplink::Spool> spool);
  UplinkSettings settings_;
  std::unique_ptr<net::EveSink> file_;
  std::unique_ptr<uplink::Spool> spool_;
  std::unique_ptr<uplink::Uplink> uplink_;
  std::unique_ptr<uplink::SpoolSink> events_;  // after spool_ and uplink_: goes first
  std::atomic<bool> stop_uplink_{false};
  std::thread sender_;
  bool finished_ = false;
};

}  // namespace mimamori::sensor
