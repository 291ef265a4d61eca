#pragma once
/// The agent's collectors and where their events go. Each collector sits behind Collector so
/// that a Windows build can provide its own (ETW, the event log, minifilter) beside these
/// Linux ones; EventSink hides whether events go to the spool (and the server) or a local EVE
/// file.

#include <memory>
#include <string>
#include <string_view>

#include "mimamori/core/config.h"
#include "mimamori/core/event.h"
#include "mimamori/core/result.h"

namespace mimamori::host {

/// Where collectors put events. Thread-safe: collectors with their own threads emit directly.
class EventSink {
 public:
  virtual ~EventSink() = default;
  /// Takes one event (copied or serialised before returning).
  virtual void emit(const core::Event& event) = 0;
  /// Records that `source` has been read up to `position`, durably together with the events
  /// emitted before (so a restart neither loses nor repeats them).
  virtual void checkpoint(std::string_view source, std::string_view position) = 0;
  /// The position last recorded for `source` (empty: none).
  virtual std::string position(std::string_view source) = 0;
};

/// One kind of observation (auth logs, files, processes, ...).
class Collector {
 public:
  virtual ~Collector() = default;
  /// Short name used in logs and config (`auth`, `fim`, `ransomware`, ...).
  virtual std::string_view name() const = 0;
  /// Prepares (opens logs, places marks, starts threads). An error disables the collector
  /// with a warning; it never stops the agent.
  virtual core::Status start(EventSink& sink) = 0;
  /// Periodic work from the agent's main loop (at most every `poll_interval`).
  virtual void poll(EventSink& sink) = 0;
  /// Stops threads; called once before destruction.
  virtual void stop() {}
};

/// Facts about this machine every event carries.
struct HostInfo {
  std::string hostname;
  bool root = false;
};

/// The host info of the running machine.
HostInfo this_host();

/// Starts an event of `type` for this host (timestamp now, `host` member set).
core::Event host_event(std::string_view type);

/// Turns `event` into an alert (event_type "alert") with Suricata's alert fields.
void make_alert(core::Event& event, uint64_t signature_id, std::string_view signature,
                std::string_view category, int severity);

/// Reads at most `max` bytes of a small file with plain read(2) (for /proc, where a process
/// that exits mid-read turns the read into an error, which iostreams would throw).
std::string read_small_file(const std::string& path, std::size_t max = 1 << 16);

/// A process's command line with NULs as spaces (empty when it has gone).
std::string process_cmdline(int pid);

/// Creates every collector this platform has, configured from `config` (disabled ones are
/// left out). Throws core::ConfigError on a bad setting.
std::vector<std::unique_ptr<Collector>> make_collectors(const core::Config& config);

}  // namespace mimamori::host
