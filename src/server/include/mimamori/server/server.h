#pragma once
/// mimamori-server: the HTTP(S) API, the store, the ingest queue, and the background work
/// (heartbeat watch, escalation, notification delivery) wired together.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/core/result.h"
#include "mimamori/server/plan.h"
#include "mimamori/server/registered_services.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// Where notifications go out.
struct NotifyOptions {
  std::string smtp_url;  ///< e.g. smtp://127.0.0.1:25 or smtps://mail.example.jp; empty: no e-mail
  std::string smtp_from = "mimamori@localhost";
  std::string line_push_url = "https://api.line.me/v2/bot/message/push";
  int64_t timeout_s = 10;   ///< each send (connection and transfer), seconds
  int workers = 4;          ///< threads that send; a hanging destination holds at most its share
  int per_destination = 2;  ///< messages in flight to one destination (URL host:port, SMTP relay)
  /// Non-public destinations notifications may reach (addresses, CIDR networks, host names);
  /// anything else must resolve to a public address. The smtp_url host is always allowed.
  std::vector<std::string> allow_destinations;
};

/// The desk (相談窓口): its business calendar, the inbound mail listener and the limits of mail.
struct DeskOptions {
  std::string hours = "09:00-18:00";  ///< opening hours on business days, JST
  /// The provider's own closures: `YYYY-MM-DD`, `YYYY-MM-DD..YYYY-MM-DD`, `MM-DD..MM-DD`.
  std::vector<std::string> closures = {"12-29..01-03"};
  bool mail_enabled = false;  ///< the inbound LMTP/SMTP listener
  std::string mail_listen = "127.0.0.1";
  uint16_t mail_port = 2424;  ///< 0: chosen by the OS (tests)
  /// The desk's own address: Reply-To of its replies (mail to it comes back to the listener).
  std::string address = "desk@localhost";
  int64_t max_mail_bytes = 25 << 20;        ///< a whole mail, as received
  int64_t max_attachment_bytes = 10 << 20;  ///< one attachment, decoded
  int64_t max_attachments = 10;             ///< per mail or message
  int64_t session_timeout_s = 60;           ///< one listener session, at most
};

/// On-site dispatch (駆け付け).
struct DispatchOptions {
  /// Promised arrival, in wall-clock hours after the request, when the customer's plan names
  /// none (dispatch_arrival_hours 0) or the customer has no active contract.
  int64_t onsite_hours = 24;
  int64_t max_evidence_bytes = 8 << 20;  ///< one file of evidence
  int64_t max_evidence_files = 20;       ///< per dispatch
};

/// Everything mimamori-server reads from its configuration (see README: server.yaml).
struct ServerOptions {
  StoreOptions store;
  std::string data_dir = "/var/lib/mimamori";  ///< SQLite database, generated certificate
  std::string listen = "127.0.0.1";
  uint16_t port = 8443;  ///< 0: chosen by the OS (tests)
  int threads = 2;
  bool tls = true;
  std::string cert_file, key_file;  ///< empty with tls: self-signed, generated on first start
  size_t max_body = 8 << 20;        ///< ingest body limit, decompressed and on the wire
  size_t max_json_body = 1 << 20;   ///< any other request body
  std::string static_dir;           ///< web console files; empty: none served
  /// Device packages served under /download/ (made by mimamori-repo); empty: <data_dir>/repo.
  std::string repo_dir;
  /// The address devices reach the server at, e.g. https://soc.example.jp:8443, for the install
  /// commands of /api/v1/device-packages; empty: the scheme and the request's Host header.
  std::string public_url;
  int64_t background_interval_ms = 5000;  ///< heartbeat watch, escalation, outbox
  int64_t escalation_after_s = 900;
  /// Mail the previous month's report to each customer's e-mail contacts on the 1st (JST)
  /// (`reports.mail`); customers may turn it off for themselves.
  bool mail_monthly_reports = true;
  bool deliver_notifications = true;
  NotifyOptions notify;
  DeskOptions desk;
  DispatchOptions dispatch;
  int64_t login_attempts_per_minute = 20;  ///< per source address
  int64_t enroll_attempts_per_minute = 10;

  /// Connections open at once, overall and per source address; beyond them a plain HTTP
  /// connection gets 503 with Retry-After and a TLS one is closed before its handshake.
  size_t max_connections = 1024;
  size_t max_connections_per_ip = 64;
  /// The `Authorization: Bearer` token /metrics requires; empty: /metrics answers loopback
  /// peers only (403 to others).
  std::string metrics_token;
  /// OpenSSL cipher string for TLS 1.2; empty: ECDHE with AES-GCM or ChaCha20-Poly1305 only.
  std::string tls_ciphers;
  /// How plan prices are compared with the caps of 要件 7 (`contracts.*`).
  PricePolicy price_policy;
  /// IPA's registered services shown in the catalogue: the shipped list
  /// (`catalogue.services_file`, default the one installed beside the program) and then the
  /// provider's additions (`catalogue.extra_services_file`), read by load_server_options; lines
  /// skipped as malformed are in `registered_service_problems` ("file:line: why").
  std::string services_file, extra_services_file;
  std::vector<RegisteredService> registered_services;
  std::vector<std::string> registered_service_problems;
  int password_hash_threads = 2;     ///< threads that hash and check passwords
  int64_t password_hash_queue = 64;  ///< password jobs waiting beyond those before 429
};

class IngestQueue;

/// Reads `server.*` and `store.*` keys; throws core::ConfigError with file:line and key.
ServerOptions load_server_options(const core::Config& config);

/// A running server.
class Server {
 public:
  /// Opens the store, prepares TLS (generating a certificate when needed) and listens.
  static core::Result<std::unique_ptr<Server>> start(const ServerOptions& options);
  ~Server();
  /// The bound port.
  uint16_t port() const;
  /// The port of the desk's inbound mail listener (0 when desk.mail_enabled is false).
  uint16_t desk_mail_port() const;
  /// SHA-256 of the leaf certificate (DER), 64 lowercase hex digits; empty without TLS.
  const std::string& fingerprint() const;
  /// `https://127.0.0.1:PORT` (or http).
  std::string url() const;
  /// Stops accepting, finishes requests in flight, commits queued events, stops background work.
  void stop();
  Store& store();
  /// The ingest queue (src/server/ingest/ingest_queue.h), for the module's own tests.
  IngestQueue& ingest();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Makes a self-signed certificate and key (PEM, key mode 0600) if `cert` does not exist yet.
core::Status ensure_self_signed(const std::string& cert, const std::string& key);
/// SHA-256 fingerprint of the first certificate in a PEM file.
core::Result<std::string> certificate_fingerprint(const std::string& cert_file);

}  // namespace mimamori::server
