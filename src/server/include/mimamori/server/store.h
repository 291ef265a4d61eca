#pragma once
/// Store: everything the server keeps, behind one interface over two backends (SQLite for one
/// machine, PostgreSQL for several instances). Public methods enforce the tenant scope of the
/// acting Principal; a backend (store/backend.h) only hands out transactions, and open_store
/// picks it by the store URL. Expected failures are Result values whose Error::code is the
/// HTTP status to answer.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/model.h"

namespace mimamori::server {

using core::Result;
using core::Status;

class SecretBox;
class SqlTx;
class StoreBackend;
enum class Dialect;

/// How long stored rows are kept (`store.retention.*`, see README: retention). Days; 0 keeps
/// forever. Raw telemetry is every event type but the alert types; alerts, incidents, the
/// audit log and everything else are never expired. Per customer: a rule with `days` set
/// replaces the global `raw_days` and `types` for that customer; its own `types` win over
/// everything.
struct RetentionOptions {
  bool enabled = true;
  int64_t raw_days = 30;   ///< raw telemetry (flow, dns, http, tls, ssh, fileinfo, …)
  int64_t alert_days = 0;  ///< the raw records behind alerts (event types alert, ransomware)
  std::map<std::string, int64_t, std::less<>> type_days;  ///< per event type
  /// One customer's contract terms.
  struct CustomerRule {
    int64_t days = -1;  ///< raw telemetry; -1: the global rules
    std::map<std::string, int64_t, std::less<>> type_days;
  };
  std::map<std::string, CustomerRule, std::less<>> customers;  ///< by customer id
  int64_t aggregate_days = 396;                                ///< hourly aggregates (13 months)
  int64_t aggregate_top = 20;  ///< top talkers and top domains kept per customer and hour
  int64_t interval_s = 600;    ///< between expiry sweeps; the first one interval after start
  int64_t batch_ms = 50;       ///< longest hold of the writer by one expiry batch (a target)
  int64_t pause_ms = 50;       ///< pause after each batch, at least as long as the batch took
};

/// How to open a store.
struct StoreOptions {
  /// `sqlite:DIR` (the database file is DIR/mimamori.db), a libpq URL `postgresql://…` or a
  /// libpq connection string `host=a,b port=5432,5432 dbname=… target_session_attrs=read-write`
  /// (several hosts: the first writable one answering; tried again after a fail-over).
  std::string url;
  int connections = 4;                   ///< pool size (readers; SQLite's writer is extra)
  int64_t ingest_queue_events = 200000;  ///< events waiting for commit before 429
  int64_t ingest_group_events = 20000;   ///< events committed in one transaction at most
  /// Ingest writer threads on PostgreSQL (SQLite has one): their event inserts overlap.
  int ingest_writers = 2;
  int64_t enrollment_ttl_s = 24 * 3600;   ///< default lifetime of an enrollment code
  int64_t heartbeat_interval_s = 60;      ///< what devices are told
  int64_t heartbeat_limit_s = 300;        ///< silence that opens a 監視停止 incident
  int64_t alert_window_s = 3600;          ///< aggregation window of repeated alerts
  int64_t incident_window_s = 24 * 3600;  ///< correlation window of an incident
  /// Failed logins per (account, source address) before each further attempt must wait.
  int64_t login_max_failures = 5;
  /// Longest wait between attempts of a throttled (account, source address); the wait doubles
  /// from 2 s with each further failure up to this.
  int64_t login_lock_s = 900;
  /// Failures older than this are forgotten (the counter of an (account, address) expires).
  int64_t login_failure_window_s = 3600;
  int64_t session_ttl_s = 12 * 3600;  ///< lifetime of a session
  /// SQLite `synchronous`: FULL survives power loss; NORMAL (WAL) survives a crashed process.
  std::string sqlite_synchronous = "FULL";
  /// The key file that seals secret columns (`server.secret_key_file`), made when missing;
  /// empty: no key, and storing a secret fails.
  std::string secret_key_file;
  RetentionOptions retention;  ///< expiry of raw telemetry and aggregates
  /// PostgreSQL: prepared statements kept per connection; past it the least recently used
  /// one is deallocated.
  int prepared_statements = 256;
  /// PostgreSQL: longest pause between attempts to connect again after the database went
  /// away (the pause doubles from 50 ms up to this); operations meanwhile get a 503.
  int64_t reconnect_max_ms = 2000;
  /// PostgreSQL: when the database does not answer at open (refused, timed out, starting up),
  /// open anyway with the database down: operations answer 503 until it answers, then the
  /// schema is migrated before the first of them runs (mimamori-server). A configuration error
  /// (wrong password, unknown database or role, a malformed URL) still fails the open. Off: the
  /// open fails (the admin commands).
  bool wait_for_database = false;
};

/// The state of the database connections, for health and metrics.
struct DatabaseState {
  bool up = true;           ///< the last use of the database succeeded
  int64_t since_us = 0;     ///< when `up` last changed (0: never since start)
  int64_t lost = 0;         ///< times the database went away
  int64_t reconnects = 0;   ///< connections made again after one was lost
  int64_t unavailable = 0;  ///< operations answered 503 because the database was away
  int64_t prepared = 0;     ///< prepared statements held over all connections
  std::string server;       ///< host:port of the last connection made (PostgreSQL)
  std::string last_error;   ///< why it last went away
};

/// Which stored raw events `Store::dump_events` gives: a customer's or a device's (every
/// device's when both are empty), their EVE timestamp in [since, until) (0: open).
struct EventDumpQuery {
  std::string customer_id, device_id;
  int64_t since = 0, until = 0;  ///< microseconds since the epoch
};

/// One stored raw event as the device sent it.
struct StoredEvent {
  std::string device_id;
  int64_t seq = 0;
  std::string event_type;
  std::string record;  ///< the EVE JSON line, unchanged
};

/// What a key rotation did (`mimamori admin rotate-key`).
struct KeyRotation {
  std::string old_key_id, new_key_id;
  int64_t values = 0;  ///< values sealed again under the new key
  std::vector<std::pair<std::string, int64_t>> per_column;  ///< table.column → values
  /// Values sealed again first to finish an earlier rotation that was interrupted.
  int64_t finished_earlier = -1;
};

/// A successful login.
struct Session {
  std::string token, csrf_token;
  User user;
};

/// An API token as listed (never its secret).
struct ApiTokenInfo {
  std::string id, user_id, name;
  int64_t created_at = 0;
  bool revoked = false;
};

/// What a heartbeat answers.
struct HeartbeatReply {
  int64_t server_time = 0, config_version = 0;
};

/// Filters of an incident listing.
struct IncidentQuery {
  std::string customer_id, status, severity, category;
  int64_t limit = 100, offset = 0;
};

/// Filters of the audit log.
struct AuditQuery {
  std::string customer_id, actor, action, outcome;
  int64_t since = 0, limit = 200, offset = 0;
};

/// A change to an incident requested through the API.
struct IncidentChange {
  std::string action;  ///< acknowledge, assign, comment, status, close, reopen, confirm
  std::string text;    ///< comment text, new status, assignee user id, resolution, reason, or the
                       ///< customer's confirmation (seen, done)
  std::string note;    ///< confirm only: an optional note from the customer
};

/// Where the store's state lives. See the file comment.
class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Migrates the schema of an open backend and wraps it (see open_store for the usual way).
  static Result<std::unique_ptr<Store>> open(StoreOptions options,
                                             std::unique_ptr<StoreBackend> backend);

  /// The options it was opened with.
  const StoreOptions& options() const { return options_; }
  /// Every stored raw event of `q`, by device then sequence number, through the store's own
  /// reader (whatever form the events are kept in); `emit` is called for each. For the admin
  /// command `mimamori admin events dump` and the end-to-end tests.
  Status dump_events(const EventDumpQuery& q, const std::function<void(const StoredEvent&)>& emit);
  /// The schema version after migration.
  Result<int64_t> schema_version();
  /// `sqlite` or `postgresql`.
  std::string_view backend_name() const;
  /// The SQL dialect of the backend.
  Dialect dialect() const;
  /// Whether the database answers, and how often it went away (SQLite: always up).
  DatabaseState database_state() const;
  /// Runs `fn` in one transaction, committed when it succeeds: for the domain folders (ingest,
  /// triage, notify) whose work is a function over a transaction (see store/sql.h).
  Status transact(bool write, const std::function<Status(SqlTx&)>& fn);
  /// Seals and opens the secret columns (src/server/secrets.h).
  const SecretBox& secrets() const { return *secrets_; }
  /// A new key in the key file and every secret column sealed again under it in one transaction
  /// (see secrets.h for the steps); `progress` is told each step. Not while another process or
  /// thread uses the store: every server instance is stopped first.
  Result<KeyRotation> rotate_secret_key(const std::function<void(const std::string&)>& progress);

  // --- provider, users, sessions --------------------------------------------------------
  /// Creates the provider and its first provider_admin; fails when already initialised.
  Result<User> init_provider(std::string_view provider_name, std::string_view email,
                             std::string_view password);
  /// Creates a user; provider roles need provider_admin, customer roles need provider_admin
  /// or that customer's customer_admin.
  Result<User> create_user(const Principal& p, std::string_view email, std::string_view name,
                           std::string_view password, Role role, std::string_view customer_id);
  /// Lists users visible to `p`.
  Result<std::vector<User>> list_users(const Principal& p, std::string_view customer_id,
                                       int64_t limit = 1000, int64_t offset = 0);
  /// Checks a password (and a TOTP code for users who enabled it). Failures are counted per
  /// (typed e-mail, source address), known account or not: past login_max_failures each
  /// further attempt waits a growing delay, refused meanwhile with 429 (`retry_after_s` set)
  /// and the same answer for known and unknown e-mails; an unknown e-mail costs the same
  /// Argon2 work as a known one. When throttling starts for a known account its owner is
  /// mailed (once until the next successful login). Success clears the counter; a disabled
  /// user gets the answer of a wrong password. Runs Argon2: never on an HTTP thread.
  Result<Session> login(std::string_view email, std::string_view password, std::string_view totp,
                        std::string_view source_ip, int64_t* retry_after_s = nullptr);
  /// Ends a session.
  Status logout(std::string_view session_token);
  /// The principal of a session cookie and its CSRF token; disabled users have none.
  Result<Principal> authenticate_session(std::string_view token, std::string* csrf_token);
  /// Creates an API token for the acting user (shown once).
  Result<std::string> create_api_token(const Principal& p, std::string_view name);
  /// The principal of an API token (none for a disabled user).
  Result<Principal> authenticate_api_token(std::string_view token);
  /// The API tokens of `user_id` (the acting user's own when empty; another's for a
  /// provider_admin), newest first.
  Result<std::vector<ApiTokenInfo>> list_api_tokens(const Principal& p, std::string_view user_id);
  /// Revokes an API token: the acting user's own, or any for a provider_admin; audited. Other
  /// tokens are 404.
  Status revoke_api_token(const Principal& p, std::string_view token_id);
  /// Ends every session of a user (oneself; a provider_admin anyone; a customer_admin the users
  /// of the own organisation); returns how many ended; audited.
  Result<int64_t> end_sessions(const Principal& p, std::string_view user_id);
  /// Disables (or enables again) a user: a provider_admin anyone but oneself, a customer_admin
  /// the customer users of the own organisation. A disabled user cannot log in, the sessions
  /// end and the API tokens stop working at once; audited.
  Status set_user_disabled(const Principal& p, std::string_view user_id, bool disabled);
  /// Changes the acting user's password after checking the current one; ends the user's other
  /// sessions (all but `keep_session_token`); audited. Runs Argon2: never on an HTTP thread.
  Status change_password(const Principal& p, std::string_view current, std::string_view next,
                         std::string_view keep_session_token);
  /// A provider_admin sets another user's password; ends all of that user's sessions; audited.
  /// Runs Argon2: never on an HTTP thread.
  Status reset_password(const Principal& p, std::string_view user_id, std::string_view password);
  /// Starts TOTP enrolment for a provider user: returns the base32 secret.
  Result<std::string> totp_begin(const Principal& p);
  /// Confirms TOTP enrolment with a current code.
  Status totp_confirm(const Principal& p, std::string_view code);
  /// The user behind a principal.
  Result<User> get_user(const Principal& p, std::string_view user_id);

  // --- customers, sites, devices --------------------------------------------------------
  /// A customer (provider_admin); `prefecture`, when given, one of the 47 (where technicians
  /// visit it).
  Result<Customer> create_customer(const Principal& p, std::string_view name,
                                   std::string_view prefecture = {});
  /// Records where a customer is served on site (provider_admin): one of the 47 prefectures,
  /// or empty to clear it; audited (`customer.prefecture`).
  Result<Customer> set_customer_prefecture(const Principal& p, std::string_view id,
                                           std::string_view prefecture);
  /// Customers visible to `p`, by name; a page of `limit` (1..1000) from `offset`. A non-empty
  /// `q` keeps those whose name or id contains it (ASCII letters in any case).
  Result<std::vector<Customer>> list_customers(const Principal& p, int64_t limit = 1000,
                                               int64_t offset = 0, std::string_view q = {});
  Result<Customer> get_customer(const Principal& p, std::string_view id);
  Result<Site> create_site(const Principal& p, std::string_view customer_id, std::string_view name);
  Result<std::vector<Site>> list_sites(const Principal& p, std::string_view customer_id);
  /// A short single-use code for a customer's site (the customer's first site when empty).
  Result<EnrollmentCode> create_enrollment_code(const Principal& p, std::string_view customer_id,
                                                std::string_view site_id, int64_t ttl_s);
  /// Trades an enrollment code for a device id and token.
  Result<Enrollment> enroll(std::string_view code, std::string_view hostname, std::string_view kind,
                            std::string_view version, std::string_view source_ip);
  /// The principal of a device token (cached briefly; revocation clears the cache).
  Result<Principal> authenticate_device(std::string_view token);
  /// Devices visible to `p` (of one customer when given); a page as for customers.
  Result<std::vector<Device>> list_devices(const Principal& p, std::string_view customer_id,
                                           int64_t limit = 1000, int64_t offset = 0);
  Result<Device> get_device(const Principal& p, std::string_view id);
  Status revoke_device(const Principal& p, std::string_view id);
  /// Records a heartbeat; a device that was silent gets its 監視停止 incident annotated.
  Result<HeartbeatReply> heartbeat(const Principal& device, std::string_view json_body);

  // --- ingest (the queue and its writers are in ingest/) --------------------------------
  /// Number of stored events of a device (tests, admin).
  Result<int64_t> count_events(std::string_view device_id);
  /// Duplicate (device, seq) rows: always 0 (the key forbids them); checked by the tests.
  Result<std::vector<int64_t>> stored_seqs(std::string_view device_id);

  // --- threat indicators (provider-wide) ----------------------------------------------
  /// Adds an indicator (`value` is normalised; kind set); provider_admin or analyst; audited.
  Result<ThreatIndicator> create_threat(const Principal& p, ThreatIndicator indicator);
  /// Indicators for provider roles; removed and expired ones only when `all`.
  Result<std::vector<ThreatIndicator>> list_threats(const Principal& p, bool all);
  /// Removes an indicator (kept with removed_at); provider_admin or analyst; audited.
  Status remove_threat(const Principal& p, std::string_view id);
  /// The live indicators (not removed, not expired at `now`), for the device configuration.
  Result<std::vector<ThreatIndicator>> live_threats(int64_t now);

  // --- audit ----------------------------------------------------------------------------
  /// Appends one audit entry (its own transaction).
  Status audit(const Principal& p, std::string_view action, std::string_view object_type,
               std::string_view object_id, std::string_view customer_id, std::string_view before,
               std::string_view after, std::string_view outcome);
  Result<std::vector<AuditEntry>> list_audit(const Principal& p, const AuditQuery& q);

  // --- tenant scope, for the domain folders' functions over the store ---------------------
  /// Checks that `p` may act on `customer_id` with a write (or read); audits a denial and
  /// answers 404 to a customer role for another customer's object, else 403.
  Status allow(const Principal& p, std::string_view customer_id, bool write,
               std::string_view action, std::string_view object_type, std::string_view object_id);
  /// Appends one audit entry inside the caller's transaction.
  Status audit_in(SqlTx& tx, const Principal& p, std::string_view action,
                  std::string_view object_type, std::string_view object_id,
                  std::string_view customer_id, std::string_view before, std::string_view after,
                  std::string_view outcome);

 private:
  Store(StoreOptions options, std::unique_ptr<StoreBackend> backend);

  /// Seals values left in plain text by an older version; warns about values it cannot open.
  Status seal_plain_secrets();
  /// Migrates the schema and seals plain secrets once, before the first transaction; 503 while
  /// the database does not answer (or another thread is migrating).
  Status become_ready();

  StoreOptions options_;
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<SecretBox> secrets_;
  std::atomic<bool> ready_{false};
  std::mutex ready_mu_;
  std::string not_ready_logged_;  ///< the last migration failure logged (under ready_mu_)

  struct CachedDevice {
    Principal principal;
    std::string token_hash;
    int64_t fetched_at = 0;
  };
  std::mutex device_cache_mu_;
  std::unordered_map<std::string, CachedDevice> device_cache_;
};

/// Opens the backend named by `options.url` (`sqlite:DIR` or `postgresql://…`), migrates its
/// schema and returns the store; an unknown URL or an unreachable database is an Error.
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

}  // namespace mimamori::server
