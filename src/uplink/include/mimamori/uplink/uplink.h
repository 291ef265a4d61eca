#pragma once
/// Uplink: enrollment, the device credential, and the loop that drains a Spool to the server's
/// ingest API (docs/device-api.md): batches with sequence ranges, deletion only after 200/409,
/// exponential backoff with jitter, 429 Retry-After, heartbeats.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include "mimamori/core/result.h"
#include "mimamori/uplink/http.h"
#include "mimamori/uplink/spool.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::uplink {

/// What a device keeps after enrollment (file mode 0600).
struct Credential {
  std::string server_url;  ///< e.g. https://soc.example.jp:8443
  std::string device_id;
  std::string device_token;  ///< bearer token
  std::string fingerprint;   ///< pinned SHA-256 of the server's leaf certificate
  std::string kind;          ///< sensor or agent
  int heartbeat_interval_s = 60;
};

/// Reads a credential file; an error names the file and the missing or bad key.
core::Result<Credential> load_credential(const std::filesystem::path& path);

/// Writes a credential file atomically with mode 0600.
core::Status save_credential(const std::filesystem::path& path, const Credential& cred);

/// What enroll() needs.
struct EnrollRequest {
  std::string server_url;
  std::string code;
  std::string kind = "agent";
  std::string hostname;  ///< empty: this machine's name
  std::string version = "0.1.0";
  std::string fingerprint;  ///< expected fingerprint; empty trusts the first one seen
};

/// Enrolls the device: POST /api/v1/enroll, pinning the certificate seen (or checking it
/// against `fingerprint`). Errors carry the server's reason.
core::Result<Credential> enroll(const EnrollRequest& request);

/// The same over an existing connection (`client`'s own pin applies; `request.fingerprint`
/// is not used): for programs that enroll many devices.
core::Result<Credential> enroll(HttpsClient& client, const EnrollRequest& request);

/// What a 200/409 answer to an ingest says.
struct IngestAnswer {
  uint64_t acked_through = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;  ///< malformed events the server refused one by one
};

/// Reads an ingest answer's JSON body (absent members count as 0).
IngestAnswer parse_ingest_answer(std::string_view body);

/// POST /api/v1/ingest of records `first`..`last` of the device with bearer `token`; `body`
/// is their NDJSON, already compressed with `method`. Any HTTP status is a response.
core::Result<HttpResponse> post_ingest(HttpsClient& client, std::string_view server_url,
                                       std::string_view token, uint64_t first, uint64_t last,
                                       std::string_view body, Compression method);

/// `enroll` of a device program: enrolls, writes the credential to `credential` (mode 0600)
/// and prints the device id and the pinned fingerprint. Returns the exit code (0: enrolled);
/// errors are logged with the server's reason.
int enroll_command(const EnrollRequest& request, const std::filesystem::path& credential);

/// This machine's host name.
std::string host_name();

/// How the uplink sends.
struct UplinkOptions {
  Compression compression = Compression::kZstd;
  std::size_t batch_records = 1000;
  std::size_t batch_bytes = 4u << 20;
  std::string version = "0.1.0";
  std::string hostname;  ///< empty: this machine's name
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{60'000};
  std::chrono::milliseconds max_linger{200};  ///< wait this long for more events before a batch
  /// More members for the heartbeat body (`"name":{...}`, comma-separated), e.g. an inline
  /// sensor's verdict counters; empty or unset: none.
  std::function<std::string()> heartbeat_extra;
  /// Called with the sequence number the server acknowledged through (a 200 or 409), before
  /// the spool is told: a device that keeps positions depending on the acknowledgement (the
  /// Windows agent's event-log bookmarks) commits them here, so that a crash in between at
  /// worst resends what the server de-duplicates by sequence. Unset: nothing.
  std::function<void(uint64_t acked_through)> before_ack;
};

/// Options from the `uplink.*` keys of a device's configuration: `compression` (zstd, gzip,
/// none), `backoff_min_ms`, `backoff_max_ms`, `batch_records`. Throws core::ConfigError on a
/// bad value.
UplinkOptions options_from_config(const core::Config& cfg, std::string version);

/// Counters of an uplink.
struct UplinkStats {
  uint64_t batches_sent = 0;
  uint64_t events_acked = 0;
  uint64_t duplicates = 0;  ///< events the server already had (409 or 200 duplicates)
  uint64_t rejected = 0;    ///< events the server rejected as malformed (acknowledged)
  uint64_t failures = 0;    ///< transport failures and 5xx
  uint64_t throttled = 0;   ///< 429 answers
  uint64_t heartbeats = 0;
  uint64_t config_version = 0;  ///< last config_version the server announced
  int64_t last_ack_us = 0;      ///< wall-clock time (µs since the epoch) of the last 200/409
};

/// What one send attempt did.
enum class SendOutcome : uint8_t { kIdle, kAcked, kRetryLater, kRejected };

/// Drains a spool to the server. send_once() and heartbeat() are the steps; run() loops.
class Uplink {
 public:
  Uplink(Credential cred, Spool& spool, UplinkOptions options = {});

  /// Sends the pending batch (or the next one from the spool). On failure, the time before
  /// the next attempt is set (backoff with jitter, or the server's Retry-After).
  SendOutcome send_once();

  /// POST /api/v1/heartbeat with version, uptime, spool depth and drops.
  core::Status heartbeat();

  /// GET /api/v1/device/config with If-None-Match: true when a new configuration arrived
  /// (then passed to the config handler), false when unchanged (304).
  core::Result<bool> pull_config();

  /// Called with the YAML text of each new configuration from the server.
  void on_config(std::function<void(const std::string& yaml)> handler) {
    config_handler_ = std::move(handler);
  }

  /// Loops until `stop`: sends whenever events are committed (see notify()), backs off on
  /// failure, and heartbeats every interval.
  void run(const std::atomic<bool>& stop);

  /// Wakes run() after a commit to the spool (or to stop).
  void notify();

  /// Current counters.
  UplinkStats stats() const;

  /// When the next send may be tried (after a failure).
  std::chrono::steady_clock::time_point next_attempt() const { return next_attempt_; }

 private:
  std::string url(std::string_view path) const;
  void fail(std::chrono::milliseconds at_least, const std::string& why);

  Credential cred_;
  Spool& spool_;
  UplinkOptions options_;
  HttpsClient client_;
  std::vector<SpoolRecord> batch_;  // the batch in flight, resent unchanged until acknowledged
  std::string body_;
  std::size_t batch_limit_;
  unsigned failures_in_row_ = 0;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point started_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  UplinkStats stats_;
  uint64_t rng_state_;
  std::function<void(const std::string&)> config_handler_;
  std::string config_etag_;
  uint64_t config_version_seen_ = 0;
  bool config_pulled_ = false;
};

}  // namespace mimamori::uplink
