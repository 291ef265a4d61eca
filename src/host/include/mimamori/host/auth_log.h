#pragma once
/// AuthLog: logins and privilege changes from `/var/log/auth.log` / `secure` (tailed,
/// rotation-safe, position persisted through the sink) and from journald: sshd failures and
/// successes with brute-force and success-after-failures detection, sudo and su failures, new
/// users and groups, password changes.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/host/login_tracker.h"

namespace mimamori::host {

/// Parses one syslog line (RFC 3339 or BSD timestamp); nullopt when it is not one we watch.
/// `year` completes BSD timestamps, which have none.
std::optional<AuthRecord> parse_auth_line(std::string_view line, int year);

/// Parses `program` and `message` as journald gives them.
std::optional<AuthRecord> parse_auth_message(std::string_view program, std::string_view message,
                                             core::Timestamp time);

/// The event for one AuthRecord (event_type `auth`), plus alerts for sudo/su failures and
/// account changes.
void auth_events(const AuthRecord& rec, std::vector<core::Event>& out);

/// Tails one log file: rotation (new inode) and truncation are followed; the position
/// (inode:offset) is kept through EventSink::checkpoint.
class LogTail {
 public:
  LogTail(std::string path, bool from_start) : path_(std::move(path)), from_start_(from_start) {}
  ~LogTail();
  /// Reads complete new lines (each passed to `on_line`), then checkpoints. Returns the
  /// number of lines read.
  std::size_t poll(EventSink& sink, const std::function<void(std::string_view)>& on_line);
  const std::string& path() const { return path_; }

 private:
  bool reopen(EventSink& sink);
  std::size_t drain(const std::function<void(std::string_view)>& on_line);

  std::string path_;
  bool from_start_;
  int fd_ = -1;
  uint64_t inode_ = 0;
  uint64_t offset_ = 0;
  bool restored_ = false;
  std::string partial_;
  std::string tail_sig_;  // the last bytes read before offset_
};

/// The auth collector: configured files plus journald when available.
class AuthLog : public Collector {
 public:
  /// `files`: logs to tail (missing ones are waited for); `journald`: also read the journal.
  AuthLog(std::vector<std::string> files, bool from_start, bool journald, unsigned failures,
          int64_t window_s);
  ~AuthLog() override;
  std::string_view name() const override { return "auth"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;

 private:
  void handle(const AuthRecord& rec, EventSink& sink);
  void poll_journal(EventSink& sink);

  std::vector<std::unique_ptr<LogTail>> tails_;
  bool journald_;
  void* journal_ = nullptr;  // sd_journal*
  LoginTracker tracker_;
  std::vector<core::Event> scratch_;
};

}  // namespace mimamori::host
