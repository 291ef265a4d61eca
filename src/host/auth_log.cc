#include "mimamori/host/auth_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#ifdef MIMAMORI_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

namespace mimamori::host {
namespace {

using Kind = AuthRecord::Kind;

// The word after `key` in `s` (up to a space, comma or semicolon), or empty.
std::string_view word_after(std::string_view s, std::string_view key) {
  auto at = s.find(key);
  if (at == std::string_view::npos) return {};
  s.remove_prefix(at + key.size());
  auto end = s.find_first_of(" ,;\t");
  return s.substr(0, end);
}

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<core::Timestamp> bsd_time(std::string_view t, int year) {
  // "Nov 26 19:40:35" (day may be space-padded)
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (t.size() < 15) return std::nullopt;
  auto m = kMonths.find(t.substr(0, 3));
  if (m == std::string_view::npos || m % 3) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = static_cast<int>(m / 3);
  int day = 0, hh = 0, mm = 0, ss = 0;
  if (std::sscanf(std::string(t.substr(3, 12)).c_str(), "%d %d:%d:%d", &day, &hh, &mm, &ss) != 4)
    return std::nullopt;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  tm.tm_isdst = -1;
  std::time_t secs = std::mktime(&tm);  // syslog's BSD times are in local time
  if (secs == -1) return std::nullopt;
  return core::Timestamp::from_seconds(secs);
}

}  // namespace

std::optional<AuthRecord> parse_auth_message(std::string_view program, std::string_view msg,
                                             core::Timestamp time) {
  AuthRecord r;
  r.time = time;
  r.service = program;
  r.message = msg;
  if (program == "sshd") {
    if (starts(msg, "Failed ") && msg.find(" for ") != std::string_view::npos) {
      // Failed password for [invalid user ]NAME from IP port N ssh2
      r.kind = Kind::kLoginFailure;
      r.method = word_after(msg, "Failed ");
      auto rest = msg.substr(msg.find(" for ") + 5);
      if (starts(rest, "invalid user ")) rest.remove_prefix(13);
      r.user = rest.substr(0, rest.find(' '));
      r.src_ip = word_after(msg, " from ");
      return r;
    }
    if (starts(msg, "Invalid user ")) {
      r.kind = Kind::kLoginFailure;
      r.method = "invalid_user";
      r.user = word_after(msg, "Invalid user ");
      r.src_ip = word_after(msg, " from ");
      // "Failed password" usually follows for the same attempt; count only when it does not.
      return std::nullopt;
    }
    if (starts(msg, "Accepted ")) {
      r.kind = Kind::kLoginSuccess;
      r.method = word_after(msg, "Accepted ");
      r.user = word_after(msg, " for ");
      r.src_ip = word_after(msg, " from ");
      return r;
    }
    return std::nullopt;
  }
  if (program == "sudo") {
    // "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=... ; USER=root ; COMMAND=..."
    if (msg.find("incorrect password attempt") != std::string_view::npos ||
        msg.find("user NOT in sudoers") != std::string_view::npos) {
      r.kind = Kind::kSudoFailure;
      auto u = msg.substr(0, msg.find(" : "));
      while (!u.empty() && u.front() == ' ') u.remove_prefix(1);
      r.user = u;
      return r;
    }
    return std::nullopt;
  }
  if (program == "su") {
    // util-linux: "FAILED SU (to root) alice on pts/0"
    if (starts(msg, "FAILED SU")) {
      r.kind = Kind::kSuFailure;
      auto close = msg.find(") ");
      if (close != std::string_view::npos) {
        auto rest = msg.substr(close + 2);
        r.user = rest.substr(0, rest.find(' '));
      }
      return r;
    }
    return std::nullopt;
  }
  if (program == "useradd" && starts(msg, "new user: ")) {
    r.kind = Kind::kNewUser;
    r.user = word_after(msg, "name=");
    return r;
  }
  if ((program == "groupadd" || program == "useradd") && starts(msg, "new group: ")) {
    r.kind = Kind::kNewGroup;
    r.user = word_after(msg, "name=");
    return r;
  }
  if (msg.find(":chauthtok): password changed for ") != std::string_view::npos) {
    r.kind = Kind::kPasswordChange;
    r.user = word_after(msg, "password changed for ");
    return r;
  }
  return std::nullopt;
}

std::optional<AuthRecord> parse_auth_line(std::string_view line, int year) {
  // "<time> <host> <program>[pid]: <message>", time either RFC 3339 or "Mmm dd hh:mm:ss".
  core::Timestamp time;
  std::string_view rest;
  if (line.size() > 10 && line[4] == '-' && line[7] == '-') {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    auto t = core::parse_time(line.substr(0, sp));
    if (!t) return std::nullopt;
    time = *t;
    rest = line.substr(sp + 1);
  } else {
    auto t = bsd_time(line, year);
    if (!t) return std::nullopt;
    time = *t;
    rest = line.substr(std::min<std::size_t>(16, line.size()));
  }
  auto sp = rest.find(' ');  // skip the host name
  if (sp == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(sp + 1);
  auto colon = rest.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view program = rest.substr(0, colon);
  if (auto b = program.find('['); b != std::string_view::npos) program = program.substr(0, b);
  return parse_auth_message(program, rest.substr(colon + 2), time);
}

void auth_events(const AuthRecord& r, std::vector<core::Event>& out) {
  static constexpr std::string_view kOutcome[] = {"failure", "success", "failure", "failure",
                                                  "success", "success", "success"};
  static constexpr std::string_view kAction[] = {"login",    "login",     "sudo",           "su",
                                                 "user_add", "group_add", "password_change"};
  auto idx = static_cast<std::size_t>(r.kind);
  core::Event e = host_event(core::event_type::kAuth);
  e.timestamp = r.time;
  if (!r.src_ip.empty()) {
    if (auto ip = core::IpAddress::parse(r.src_ip)) e.src_ip = *ip;
  }
  e.fields.begin_object("auth")
      .add("action", kAction[idx])
      .add("outcome", kOutcome[idx])
      .add("service", r.service)
      .add("user", r.user);
  if (!r.method.empty()) e.fields.add("method", r.method);
  e.fields.add("message", r.message).end();
  out.push_back(e);
  switch (r.kind) {
    case Kind::kSudoFailure:
      make_alert(e, auth_sid::kSudoFailure, "sudo authentication failure",
                 "Attempted User Privilege Gain", 2);
      break;
    case Kind::kSuFailure:
      make_alert(e, auth_sid::kSuFailure, "su authentication failure",
                 "Attempted User Privilege Gain", 2);
      break;
    case Kind::kNewUser:
      make_alert(e, auth_sid::kNewUser, "New local user account created",
                 "Potential Corporate Privacy Violation", 3);
      break;
    case Kind::kNewGroup:
      make_alert(e, auth_sid::kNewGroup, "New local group created",
                 "Potential Corporate Privacy Violation", 3);
      break;
    case Kind::kPasswordChange:
      make_alert(e, auth_sid::kPasswordChange, "Local account password changed",
                 "Potential Corporate Privacy Violation", 3);
      break;
    default:
      return;
  }
  out.push_back(std::move(e));
}

LogTail::~LogTail() {
  if (fd_ >= 0) ::close(fd_);
}

bool LogTail::reopen(EventSink& sink) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  ::fstat(fd, &st);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  partial_.clear();
  uint64_t ino = static_cast<uint64_t>(st.st_ino);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!restored_) {
    restored_ = true;
    std::string pos = sink.position("auth:" + path_);
    uint64_t saved_ino = 0, saved_off = 0;
    if (std::sscanf(pos.c_str(), "%lu:%lu", &saved_ino, &saved_off) == 2 && saved_ino == ino &&
        saved_off <= size) {
      offset_ = saved_off;
    } else {
      offset_ = (from_start_ || !pos.empty()) ? 0 : size;
    }
  } else {
    offset_ = 0;  // a new file after rotation: read it whole
  }
  inode_ = ino;
  return true;
}

std::size_t LogTail::drain(const std::function<void(std::string_view)>& on_line) {
  std::size_t lines = 0;
  char buf[65536];
  while (true) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(offset_));
    if (n <= 0) break;
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      auto nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        if (partial_.size() < (1u << 20)) partial_.append(chunk);
        offset_ += chunk.size();
        break;
      }
      offset_ += nl + 1;
      if (partial_.empty()) {
        on_line(chunk.substr(0, nl));
      } else {
        partial_.append(chunk.substr(0, nl));
        on_line(partial_);
        partial_.clear();
      }
      ++lines;
      chunk.remove_prefix(nl + 1);
    }
  }
  return lines;
}

std::size_t LogTail::poll(EventSink& sink, const std::function<void(std::string_view)>& on_line) {
  if (fd_ < 0 && !reopen(sink)) return 0;
  // Truncated in place (copytruncate) — possibly already refilled past our offset: the bytes
  // just before the offset are no longer the ones read there.
  struct stat fst {};
  bool truncated = ::fstat(fd_, &fst) == 0 && static_cast<uint64_t>(fst.st_size) < offset_;
  if (!truncated && !tail_sig_.empty() && offset_ >= tail_sig_.size()) {
    std::string now(tail_sig_.size(), '\0');
    ssize_t n = ::pread(fd_, now.data(), now.size(), static_cast<off_t>(offset_ - now.size()));
    truncated = n != static_cast<ssize_t>(now.size()) || now != tail_sig_;
  }
  if (truncated) {
    spdlog::info("auth: '{}' was truncated; reading from its start", path_);
    offset_ = 0;
    partial_.clear();
  }
  std::size_t lines = drain(on_line);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) != inode_) {
    // Rotated: the old file was read to its end above; continue with the new one.
    if (reopen(sink)) lines += drain(on_line);
  }
  // Remember the last bytes read, to recognise an in-place truncation next time.
  tail_sig_.resize(std::min<uint64_t>(64, offset_));
  if (!tail_sig_.empty() && ::pread(fd_, tail_sig_.data(), tail_sig_.size(),
                                    static_cast<off_t>(offset_ - tail_sig_.size())) !=
                                static_cast<ssize_t>(tail_sig_.size()))
    tail_sig_.clear();
  // The position excludes a partial last line, which is read again whole next time.
  sink.checkpoint("auth:" + path_, fmt::format("{}:{}", inode_, offset_ - partial_.size()));
  return lines;
}

AuthLog::AuthLog(std::vector<std::string> files, bool from_start, bool journald, unsigned failures,
                 int64_t window_s)
    : journald_(journald), tracker_(failures, window_s) {
  for (auto& f : files) tails_.push_back(std::make_unique<LogTail>(f, from_start));
}

AuthLog::~AuthLog() {
#ifdef MIMAMORI_HAVE_SYSTEMD
  if (journal_) sd_journal_close(static_cast<sd_journal*>(journal_));
#endif
}

core::Status AuthLog::start(EventSink& sink) {
  if (journald_) {
#ifdef MIMAMORI_HAVE_SYSTEMD
    sd_journal* j = nullptr;
    int rc = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (rc < 0) {
      spdlog::warn("auth: cannot open the journal ({}); reading log files only",
                   std::strerror(-rc));
    } else {
      for (const char* id : {"sshd", "sudo", "su", "useradd", "groupadd", "passwd", "chpasswd"}) {
        std::string m = std::string("SYSLOG_IDENTIFIER=") + id;
        sd_journal_add_match(j, m.data(), m.size());
      }
      std::string cursor = sink.position("auth:journal");
      if (cursor.empty() || sd_journal_seek_cursor(j, cursor.c_str()) < 0) {
        sd_journal_seek_tail(j);
        sd_journal_previous(j);
      } else {
        sd_journal_next(j);  // the cursor's own entry was read already
      }
      journal_ = j;
    }
#else
    spdlog::warn("auth: built without libsystemd; journald is not read");
#endif
  }
  for (const auto& t : tails_) {
    if (::access(t->path().c_str(), R_OK) != 0)
      spdlog::info("auth: '{}' not readable yet ({}); waiting for it", t->path(),
                   std::strerror(errno));
  }
  return {};
}

void AuthLog::handle(const AuthRecord& rec, EventSink& sink) {
  scratch_.clear();
  auth_events(rec, scratch_);
  tracker_.feed(rec, scratch_);
  for (const auto& e : scratch_) sink.emit(e);
}

void AuthLog::poll_journal(EventSink& sink) {
#ifdef MIMAMORI_HAVE_SYSTEMD
  auto* j = static_cast<sd_journal*>(journal_);
  if (!j) return;
  bool any = false;
  for (int n = 0; n < 10000 && sd_journal_next(j) > 0; ++n) {
    any = true;
    const void* data;
    size_t len;
    std::string program, message;
    if (sd_journal_get_data(j, "SYSLOG_IDENTIFIER", &data, &len) >= 0)
      program.assign(static_cast<const char*>(data) + 18, len - 18);
    if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0)
      message.assign(static_cast<const char*>(data) + 8, len - 8);
    uint64_t usec = 0;
    sd_journal_get_realtime_usec(j, &usec);
    if (auto r = parse_auth_message(program, message, core::Timestamp{static_cast<int64_t>(usec)}))
      handle(*r, sink);
  }
  if (any) {
    char* cursor = nullptr;
    if (sd_journal_get_cursor(j, &cursor) >= 0) {
      sink.checkpoint("auth:journal", cursor);
      free(cursor);
    }
  }
#else
  (void)sink;
#endif
}

void AuthLog::poll(EventSink& sink) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  int year = tm.tm_year + 1900;
  for (auto& t : tails_) {
    t->poll(sink, [&](std::string_view line) {
      if (auto r = parse_auth_line(line, year)) handle(*r, sink);
    });
  }
  poll_journal(sink);
}

}  // namespace mimamori::host
