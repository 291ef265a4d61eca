#include "mimamori/uplink/uplink.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"

namespace mimamori::uplink {
namespace {

using core::make_error;
using core::make_error_code;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string json_str(std::string_view s) {
  std::string out;
  core::append_json_string(out, s);
  return out;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The server's {"error": "..."} (or the raw body, shortened) for messages.
std::string server_reason(const HttpResponse& r) {
  core::Fields f;
  if (core::parse_json_object(r.body, f).ok()) {
    auto e = f.find_string("error");
    if (!e.empty()) return std::string(e);
  }
  return r.body.substr(0, 200);
}

}  // namespace

std::string host_name() {
#ifdef _WIN32
  wchar_t buf[256] = {0};
  DWORD n = 255;
  if (!GetComputerNameExW(ComputerNameDnsHostname, buf, &n)) return "unknown";
  int len = WideCharToMultiByte(CP_UTF8, 0, buf, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(len), '\0');
  WideCharToMultiByte(CP_UTF8, 0, buf, static_cast<int>(n), out.data(), len, nullptr, nullptr);
  return out;
#else
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
#endif
}

core::Result<Credential> load_credential(const std::filesystem::path& path) {
#ifdef _WIN32
  // Windows: the folder's ACL (ProgramData, administrators and SYSTEM) protects it.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error("credential '{}': {} (enroll first)", path.string(),
                      ec ? ec.message() : std::string("no such file"));
#else
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error("credential '{}': {} (enroll first)", path.string(), std::strerror(errno));
  if (st.st_mode & 077)
    spdlog::warn("credential '{}' is readable by others (mode {:o}); it should be 0600",
                 path.string(), st.st_mode & 0777);
#endif
  try {
    auto cfg = core::Config::load_file(path);
    Credential c;
    c.server_url = cfg.require<std::string>("server_url");
    c.device_id = cfg.get<std::string>("device_id", "");
    c.device_token = cfg.require<std::string>("device_token");
    c.fingerprint = cfg.require<std::string>("fingerprint");
    c.kind = cfg.get<std::string>("kind", "agent");
    c.heartbeat_interval_s = cfg.get<int>("heartbeat_interval_s", 60);
    auto fp = normalize_fingerprint(c.fingerprint);
    if (!fp) return make_error("credential '{}': {}", path.string(), fp.error().message);
    c.fingerprint = *fp;
    if (c.heartbeat_interval_s < 1) c.heartbeat_interval_s = 60;
    return c;
  } catch (const core::ConfigError& e) {
    return make_error("credential: {}", e.what());
  }
}

core::Status save_credential(const std::filesystem::path& path, const Credential& c) {
  std::string text = "# mimamori device credential: keep secret (mode 0600)\n";
  text += "server_url: " + json_str(c.server_url) + "\n";
  text += "device_id: " + json_str(c.device_id) + "\n";
  text += "device_token: " + json_str(c.device_token) + "\n";
  text += "fingerprint: " + json_str(c.fingerprint) + "\n";
  text += "kind: " + json_str(c.kind) + "\n";
  text += "heartbeat_interval_s: " + std::to_string(c.heartbeat_interval_s) + "\n";
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
#ifdef _WIN32
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return make_error("credential '{}': cannot write", tmp.string());
  }
  if (!MoveFileExW(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    std::filesystem::remove(tmp, ec);
    return make_error("credential '{}': cannot write (error {})", path.string(), GetLastError());
  }
  return {};
#else
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("credential '{}': {}", tmp, std::strerror(errno));
  ::fchmod(fd, 0600);  // whatever the umask says
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error("credential '{}': cannot write: {}", path.string(), std::strerror(errno));
  }
  return {};
#endif
}

core::Result<Credential> enroll(const EnrollRequest& req) {
  std::string expected;
  if (!req.fingerprint.empty()) {
    auto fp = normalize_fingerprint(req.fingerprint);
    if (!fp) return std::move(fp).error();
    expected = *fp;
  }
  HttpsClient client(expected);
  return enroll(client, req);
}

core::Result<Credential> enroll(HttpsClient& client, const EnrollRequest& req) {
  if (req.code.empty()) return make_error("enroll: no enrollment code given");
  if (req.kind != "agent" && req.kind != "sensor")
    return make_error("enroll: kind must be 'agent' or 'sensor', not '{}'", req.kind);
  std::string body =
      "{\"code\":" + json_str(req.code) +
      ",\"hostname\":" + json_str(req.hostname.empty() ? host_name() : req.hostname) +
      ",\"kind\":" + json_str(req.kind) + ",\"version\":" + json_str(req.version) + "}";
  std::string base = trim_slash(req.server_url);
  auto resp =
      client.request("POST", base + "/api/v1/enroll", {"Content-Type: application/json"}, body);
  if (!resp) return make_error("enroll: {}", resp.error().message);
  if (resp->status != 201 && resp->status != 200)
    return make_error_code(static_cast<int>(resp->status), "enroll: {} answered {}: {}", base,
                           resp->status, server_reason(*resp));
  core::Fields f;
  if (auto st = core::parse_json_object(resp->body, f); !st)
    return make_error("enroll: the server's answer is not JSON: {}", st.error().message);
  Credential c;
  c.server_url = base;
  c.device_id = std::string(f.find_string("device_id"));
  c.device_token = std::string(f.find_string("device_token"));
  c.fingerprint = resp->fingerprint;
  c.kind = req.kind;
  if (auto hb = f.find("heartbeat_interval_s"); hb && hb->as_int())
    c.heartbeat_interval_s = static_cast<int>(*hb->as_int());
  if (c.device_token.empty()) return make_error("enroll: the server's answer has no device_token");
  if (c.fingerprint.size() != 64) return make_error("enroll: no server certificate was seen");
  return c;
}

IngestAnswer parse_ingest_answer(std::string_view body) {
  IngestAnswer a;
  core::Fields f;
  if (!core::parse_json_object(body, f).ok()) return a;
  if (auto v = f.find("acked_through"); v && v->as_int())
    a.acked_through = static_cast<uint64_t>(*v->as_int());
  if (auto d = f.find("duplicates"); d && d->as_int())
    a.duplicates = static_cast<uint64_t>(*d->as_int());
  if (auto rej = f.find("rejected"); rej && rej->kind == core::ValueKind::kArray) {
    // Count the array's direct children: each element's subtree ends where the next begins.
    const auto& nodes = f.nodes();
    for (uint32_t i = rej->index + 1; i < nodes[rej->index].end; ++a.rejected) {
      bool container =
          nodes[i].kind == core::ValueKind::kObject || nodes[i].kind == core::ValueKind::kArray;
      i = container ? nodes[i].end : i + 1;
    }
  }
  return a;
}

core::Result<HttpResponse> post_ingest(HttpsClient& client, std::string_view server_url,
                                       std::string_view token, uint64_t first, uint64_t last,
                                       std::string_view body, Compression method) {
  std::vector<std::string> headers = {
      fmt::format("Authorization: Bearer {}", token),
      "Content-Type: application/x-ndjson",
      fmt::format("X-Mimamori-Seq-First: {}", first),
      fmt::format("X-Mimamori-Seq-Last: {}", last),
  };
  if (method != Compression::kNone)
    headers.push_back("Content-Encoding: " + std::string(encoding_name(method)));
  std::string url(server_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return client.request("POST", url + "/api/v1/ingest", headers, body);
}

int enroll_command(const EnrollRequest& request, const std::filesystem::path& credential) {
  auto cred = enroll(request);
  if (!cred) {
    spdlog::error("{}", cred.error().message);
    return 1;
  }
  if (auto st = save_credential(credential, *cred); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  std::printf("enrolled as %s with %s\npinned server certificate SHA-256 %s\ncredential: %s\n",
              cred->device_id.c_str(), cred->server_url.c_str(), cred->fingerprint.c_str(),
              credential.string().c_str());
  return 0;
}

UplinkOptions options_from_config(const core::Config& cfg, std::string version) {
  UplinkOptions uo;
  uo.version = std::move(version);
  std::string comp = cfg.get<std::string>("uplink.compression", "zstd");
  if (comp == "zstd")
    uo.compression = Compression::kZstd;
  else if (comp == "gzip")
    uo.compression = Compression::kGzip;
  else if (comp == "none")
    uo.compression = Compression::kNone;
  else
    throw core::ConfigError("uplink.compression: expected zstd, gzip or none, got '" + comp + "'");
  uo.backoff_min = milliseconds(cfg.get<int64_t>("uplink.backoff_min_ms", 500));
  uo.backoff_max = milliseconds(cfg.get<int64_t>("uplink.backoff_max_ms", 60000));
  if (uo.backoff_min.count() < 1 || uo.backoff_max < uo.backoff_min)
    throw core::ConfigError(
        "uplink.backoff_min_ms/backoff_max_ms: expected 1 <= min <= max (milliseconds)");
  auto batch = cfg.get<int64_t>("uplink.batch_records", 1000);
  if (batch < 1 || batch > 100000)
    throw core::ConfigError("uplink.batch_records: expected 1..100000, got " +
                            std::to_string(batch));
  uo.batch_records = static_cast<std::size_t>(batch);
  return uo;
}

Uplink::Uplink(Credential cred, Spool& spool, UplinkOptions options)
    : cred_(std::move(cred)),
      spool_(spool),
      options_(std::move(options)),
      client_(cred_.fingerprint),
      batch_limit_(options_.batch_records),
      started_(Clock::now()),
      rng_state_(static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1) {
  if (options_.hostname.empty()) options_.hostname = host_name();
  cred_.server_url = trim_slash(cred_.server_url);
}

std::string Uplink::url(std::string_view path) const {
  return cred_.server_url + std::string(path);
}

void Uplink::fail(milliseconds at_least, const std::string& why) {
  ++failures_in_row_;
  // Exponential backoff with "equal jitter": half the delay fixed, half random, so that many
  // devices coming back after an outage do not hit the server in step.
  auto cap = options_.backoff_max.count();
  int64_t d = options_.backoff_min.count();
  for (unsigned i = 1; i < failures_in_row_ && d < cap; ++i) d *= 2;
  d = std::min<int64_t>(d, cap);
  rng_state_ ^= rng_state_ << 13;
  rng_state_ ^= rng_state_ >> 7;
  rng_state_ ^= rng_state_ << 17;
  int64_t wait = d / 2 + static_cast<int64_t>(rng_state_ % static_cast<uint64_t>(d / 2 + 1));
  wait = std::max<int64_t>(wait, at_least.count());
  next_attempt_ = Clock::now() + milliseconds(wait);
  spdlog::warn("uplink: {}; next attempt in {} ms", why, wait);
}

SendOutcome Uplink::send_once() {
  if (batch_.empty()) {
    auto st = spool_.read(0, batch_limit_, options_.batch_bytes, batch_);
    if (!st) {
      spdlog::error("uplink: {}", st.error().message);
      fail(milliseconds(1000), "cannot read the spool");
      return SendOutcome::kRetryLater;
    }
    if (batch_.empty()) return SendOutcome::kIdle;
    body_.clear();
    for (const auto& r : batch_) {
      body_ += r.payload;
      body_ += '\n';
    }
  }
  uint64_t first = batch_.front().seq, last = batch_.back().seq;
  auto packed = compress(body_, options_.compression);
  if (!packed) {
    spdlog::error("uplink: {}; sending uncompressed", packed.error().message);
    options_.compression = Compression::kNone;
    packed = body_;
  }
  auto resp = post_ingest(client_, cred_.server_url, cred_.device_token, first, last, *packed,
                          options_.compression);
  if (resp && (resp->status == 200 || resp->status == 409) && options_.before_ack)
    options_.before_ack(last);  // without mu_: the callback commits to the spool
  std::lock_guard lock(mu_);
  if (!resp) {
    ++stats_.failures;
    fail(milliseconds(0), resp.error().message);
    return SendOutcome::kRetryLater;
  }
  switch (resp->status) {
    case 200:
    case 409: {
      if (auto st = spool_.ack_through(last); !st) spdlog::error("uplink: {}", st.error().message);
      ++stats_.batches_sent;
      stats_.events_acked += batch_.size();
      stats_.last_ack_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
      IngestAnswer answer = parse_ingest_answer(resp->body);
      stats_.duplicates += answer.duplicates;
      if (answer.rejected)
        spdlog::warn("uplink: the server rejected {} malformed events of {}..{}", answer.rejected,
                     first, last);
      stats_.rejected += answer.rejected;
      batch_.clear();
      failures_in_row_ = 0;
      batch_limit_ = options_.batch_records;
      next_attempt_ = {};
      return SendOutcome::kAcked;
    }
    case 429: {
      ++stats_.throttled;
      long secs = 1;
      try {
        if (!resp->retry_after.empty()) secs = std::max(1L, std::stol(resp->retry_after));
      } catch (...) {
      }
      // The server says when: wait at least that long, no jitter below it.
      next_attempt_ = Clock::now() + std::chrono::seconds(secs);
      spdlog::info("uplink: server busy (429), retrying batch {}..{} in {} s", first, last, secs);
      return SendOutcome::kRetryLater;
    }
    case 413:
      if (batch_.size() > 1) {
        batch_limit_ = std::max<std::size_t>(1, batch_.size() / 2);
        batch_.clear();  // re-read a smaller batch from the spool
        spdlog::warn("uplink: batch {}..{} too large (413); halving to {} events", first, last,
                     batch_limit_);
        return SendOutcome::kRetryLater;
      }
      break;
    case 415:
      if (options_.compression == Compression::kZstd) {
        spdlog::warn("uplink: the server does not take zstd (415); switching to gzip");
        options_.compression = Compression::kGzip;
        return SendOutcome::kRetryLater;
      }
      break;
    default:
      break;
  }
  ++stats_.failures;
  fail(resp->status == 401 ? milliseconds(60'000) : milliseconds(0),
       fmt::format("ingest of {}..{} answered {}: {}", first, last, resp->status,
                   server_reason(*resp)));
  return resp->status >= 500 ? SendOutcome::kRetryLater : SendOutcome::kRejected;
}

core::Status Uplink::heartbeat() {
  auto s = spool_.stats();
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
  std::string body = fmt::format(
      "{{\"version\":{},\"hostname\":{},\"uptime_s\":{},\"spool_depth\":{},\"spool_dropped\":{},"
      "\"acked_through\":{}}}",
      json_str(options_.version), json_str(options_.hostname), uptime, s.depth, s.dropped,
      s.acked_through);
  if (options_.heartbeat_extra) {
    if (std::string extra = options_.heartbeat_extra(); !extra.empty()) {
      body.pop_back();
      body += "," + extra + "}";
    }
  }
  auto resp = client_.request(
      "POST", url("/api/v1/heartbeat"),
      {"Authorization: Bearer " + cred_.device_token, "Content-Type: application/json"}, body);
  if (!resp) return make_error("heartbeat: {}", resp.error().message);
  if (resp->status != 200)
    return make_error_code(static_cast<int>(resp->status), "heartbeat answered {}: {}",
                           resp->status, server_reason(*resp));
  core::Fields f;
  std::lock_guard lock(mu_);
  ++stats_.heartbeats;
  if (core::parse_json_object(resp->body, f).ok()) {
    if (auto v = f.find("config_version"); v && v->as_int())
      stats_.config_version = static_cast<uint64_t>(*v->as_int());
  }
  return {};
}

core::Result<bool> Uplink::pull_config() {
  std::vector<std::string> headers = {"Authorization: Bearer " + cred_.device_token};
  if (!config_etag_.empty()) headers.push_back("If-None-Match: " + config_etag_);
  auto resp = client_.request("GET", url("/api/v1/device/config"), headers, {});
  if (!resp) return make_error("config pull: {}", resp.error().message);
  if (resp->status == 304) return false;
  if (resp->status != 200)
    return make_error_code(static_cast<int>(resp->status), "config pull answered {}: {}",
                           resp->status, server_reason(*resp));
  config_etag_ = resp->etag;
  if (config_handler_) config_handler_(resp->body);
  return true;
}

void Uplink::notify() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

UplinkStats Uplink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Uplink::run(const std::atomic<bool>& stop) {
  auto interval = std::chrono::seconds(cred_.heartbeat_interval_s);
  auto next_heartbeat = Clock::now();
  while (!stop.load()) {
    auto now = Clock::now();
    if (now >= next_heartbeat) {
      if (auto st = heartbeat(); !st) spdlog::warn("uplink: {}", st.error().message);
      next_heartbeat = now + interval;
      // A new config_version announced by the heartbeat (or none pulled yet): fetch it.
      uint64_t announced = stats().config_version;
      if (config_handler_ && (!config_pulled_ || announced != config_version_seen_)) {
        auto pulled = pull_config();
        if (pulled) {
          config_pulled_ = true;
          config_version_seen_ = announced;
        } else {
          spdlog::warn("uplink: {}", pulled.error().message);
        }
      }
    }
    SendOutcome out = SendOutcome::kIdle;
    if (Clock::now() >= next_attempt_) out = send_once();
    if (out == SendOutcome::kAcked) continue;  // more may be waiting
    // Retry at once when no wait was set: a smaller batch after 413, gzip after 415.
    if (out == SendOutcome::kRetryLater && next_attempt_ <= Clock::now()) continue;
    std::unique_lock lock(mu_);
    auto until = next_heartbeat;
    if (next_attempt_ > Clock::now()) until = std::min(until, next_attempt_);
    // When idle, wake on a commit; batches then linger briefly to fill up.
    cv_.wait_until(lock, until, [&] { return woken_ || stop.load(); });
    if (woken_ && out == SendOutcome::kIdle) {
      woken_ = false;
      lock.unlock();
      std::this_thread::sleep_for(options_.max_linger);
    } else {
      woken_ = false;
    }
  }
}

}  // namespace mimamori::uplink
