#pragma once
/// What the Windows agent reads from event-log records besides its Sigma rules: logons for
/// brute force (4625 failures and 4624 successes of network and RDP logons, NTLM validations
/// 4776) through the same LoginTracker as the Linux agent's sshd logins, and persistence from
/// the log (a service installed, 7045; a scheduled task created, 4698). Platform-neutral: the
/// records are flattened fields, so it is tested on Linux and under wine alike.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mimamori/host/event_log.h"
#include "mimamori/host/login_tracker.h"

namespace mimamori::host {

/// Signature ids of the Windows persistence alerts (beside the Linux ones, 9100101–9100106).
namespace persistence_sid {
inline constexpr uint64_t kWindowsService = 9100107;
inline constexpr uint64_t kRunKey = 9100108;
inline constexpr uint64_t kScheduledTask = 9100109;
}  // namespace persistence_sid

/// The logon a record describes (Security 4624/4625 of logon types 3 and 10, 4776), or nullopt.
/// Service: "RDP" (type 10), "Network" (type 3: SMB, and RDP with NLA), "NTLM" (4776).
std::optional<AuthRecord> windows_logon_record(
    const std::vector<std::pair<std::string, std::string>>& fields);

/// The event-log observer of the Windows agent.
class EventLogWatch : public EventLogObserver {
 public:
  struct Options {
    bool brute_force = true;  ///< auth.enabled
    unsigned failures = 5;    ///< auth.brute_force.failures
    int64_t window_s = 60;    ///< auth.brute_force.window_s
    bool ntlm = true;         ///< auth.brute_force.ntlm: also count 4776
    bool persistence = true;  ///< persistence.enabled: 7045, 4698
  };
  explicit EventLogWatch(Options options)
      : options_(options), tracker_(options.failures, options.window_s) {}
  void on_record(const EventLogRecord& record,
                 const std::vector<std::pair<std::string, std::string>>& fields,
                 EventSink& sink) override;

 private:
  Options options_;
  LoginTracker tracker_;
  std::vector<core::Event> scratch_;
};

}  // namespace mimamori::host
