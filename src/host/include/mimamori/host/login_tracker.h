#pragma once
/// Logins as the agent's collectors see them, and brute-force detection over them: shared by
/// the Linux auth-log collector (sshd) and the Windows event-log watch (RDP/SMB logons 4624 and
/// 4625, NTLM validations 4776). Platform-neutral.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "mimamori/core/event.h"

namespace mimamori::host {

/// What one auth log line (or logon record) says, when it says something we watch.
struct AuthRecord {
  enum class Kind : uint8_t {
    kLoginFailure,
    kLoginSuccess,
    kSudoFailure,
    kSuFailure,
    kNewUser,
    kNewGroup,
    kPasswordChange,
  };
  Kind kind = Kind::kLoginFailure;
  core::Timestamp time;
  std::string service;  ///< sshd, sudo, su, useradd, ...; RDP, SMB, NTLM on Windows
  std::string user;
  std::string src_ip;
  std::string src_host;  ///< the client's name when there is no address (NTLM's Workstation)
  std::string method;    ///< password, publickey, ...
  std::string message;   ///< the log message after `program[pid]: `
};

/// Signature ids of the auth alerts (agent range 9100000+).
namespace auth_sid {
inline constexpr uint64_t kBruteForce = 9100001;
inline constexpr uint64_t kSuccessAfterFailures = 9100002;
inline constexpr uint64_t kSudoFailure = 9100003;
inline constexpr uint64_t kSuFailure = 9100004;
inline constexpr uint64_t kNewUser = 9100005;
inline constexpr uint64_t kNewGroup = 9100006;
inline constexpr uint64_t kPasswordChange = 9100007;
}  // namespace auth_sid

/// Brute force and success-after-failures over a stream of AuthRecords, per source address
/// (or, without one, per client name). Config keys `auth.brute_force.failures` and
/// `auth.brute_force.window_s` on both platforms.
class LoginTracker {
 public:
  /// `failures` failures from one address within `window_s` seconds is brute force.
  LoginTracker(unsigned failures = 5, int64_t window_s = 60)
      : limit_(failures), window_(window_s) {}
  /// Feeds one record; appends any alert events it raises to `out`.
  void feed(const AuthRecord& rec, std::vector<core::Event>& out);

 private:
  struct Source {
    std::deque<int64_t> failures;  // times (s) within the window
    uint64_t total = 0;            // failures since the last success
    int64_t alerted_until = 0;     // no second brute-force alert before this time
  };
  unsigned limit_;
  int64_t window_;
  std::map<std::string, Source> by_source_;
};

}  // namespace mimamori::host
