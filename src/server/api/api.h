#pragma once
// The REST API: one explicit route table (also the source of truth that the OpenAPI document
// is checked against), authentication, CSRF, tenant-scoped handlers.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/http.h"
#include "ingest/ingest_queue.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// Who may call a route.
enum class Auth { kNone, kDevice, kUser };

struct Call;
/// A route handler: answers through call.respond (now or later).
using RouteFn = void (*)(Call&);

/// One route: method, path pattern with `{name}` segments, who may call it, the handler.
struct Route {
  std::string_view method, pattern;
  Auth auth;
  RouteFn fn;
  std::string_view summary;
};

/// Request-scoped context of one call.
struct Call {
  class Api* api = nullptr;
  Store* store = nullptr;
  HttpRequest req;
  Principal principal;
  std::map<std::string, std::string, std::less<>> params;
  HttpRespond respond;
  const Route* route = nullptr;
  std::chrono::steady_clock::time_point started;

  /// A path parameter.
  const std::string& param(std::string_view name) const;
  /// Answers with JSON text.
  void json(int status, std::string body, std::vector<std::pair<std::string, std::string>> h = {});
  /// Answers with {"error": message}.
  void error(int status, std::string_view message);
  /// Answers with an Error (its code as status, 500 when it has none).
  void error(const core::Error& e);
};

/// Counters per route and status, and a latency histogram, for /metrics.
struct ApiMetrics {
  std::mutex mu;
  std::map<std::pair<std::string, int>, int64_t> requests;  ///< (route, status) → count
  std::vector<double> bucket_bounds{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  std::vector<int64_t> buckets = std::vector<int64_t>(11, 0);
  double latency_sum = 0;
  int64_t latency_count = 0;
};

/// A fixed-window counter per source address (login, enrollment).
class RateLimiter {
 public:
  explicit RateLimiter(int64_t per_minute) : per_minute_(per_minute) {}
  /// True when `key` may try again now.
  bool allow(const std::string& key);

 private:
  int64_t per_minute_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> windows_;  // key → (minute, n)
};

/// A few threads that run password hashing and checking (Argon2id: tens of milliseconds and
/// 64 MiB each) so that the HTTP threads never do; a job waits in a bounded queue.
class PasswordPool {
 public:
  PasswordPool(int threads, size_t queue_limit);
  ~PasswordPool();
  PasswordPool(const PasswordPool&) = delete;
  PasswordPool& operator=(const PasswordPool&) = delete;
  /// Queues `job`; false when the queue is full or the pool stopped (the caller answers 429).
  bool submit(std::function<void()> job);
  /// Runs what is queued, then joins the threads; later submits are refused.
  void stop();

 private:
  void run();
  size_t queue_limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  size_t idle_ = 0;  // threads waiting for a job: a job for one of them is not queued
  std::vector<std::thread> threads_;
};

/// The API.
class Api {
 public:
  Api(Store& store, IngestQueue& ingest, const ServerOptions& options, HttpStats* http_stats);
  /// Entry point for every HTTP request.
  void handle(HttpRequest&& req, HttpRespond respond);
  /// The route table.
  static const std::vector<Route>& routes();
  const ServerOptions& options() const { return options_; }
  /// Where ingested batches wait for their commit.
  IngestQueue& ingest() { return ingest_; }
  RateLimiter& login_limiter() { return login_limiter_; }
  RateLimiter& enroll_limiter() { return enroll_limiter_; }
  /// Where password hashing and checking run (never on an HTTP thread).
  PasswordPool& password_pool() { return password_pool_; }
  /// Where reports are rendered (a PasswordPool is a plain bounded job pool).
  PasswordPool& report_pool() { return report_pool_; }
  ApiMetrics& metrics() { return metrics_; }
  /// SHA-256 of the server's certificate (empty without TLS), shown in install commands.
  const std::string& fingerprint() const { return fingerprint_; }
  void set_fingerprint(std::string fp) { fingerprint_ = std::move(fp); }
  HttpStats* http_stats() { return http_stats_; }
  /// Records a finished call for /metrics.
  void record(const Call& call, int status);
  /// The body limit of a request, from its route (ingest: max_body; every other route:
  /// max_json_body; no route: kUnroutedBodyLimit), asked before its body is read.
  size_t body_limit(std::string_view method, std::string_view target) const;
  /// Any body to a path that no route takes (static files, 404, 405).
  static constexpr size_t kUnroutedBodyLimit = 16 * 1024;

 private:
  void serve_static(HttpRequest& req, HttpRespond& respond);
  size_t route_body_limit(const Route& route) const;
  /// /metrics: the bearer token when one is set, else a loopback peer; answers the refusal.
  bool metrics_allowed(Call& call, std::string_view bearer);
  Store& store_;
  IngestQueue& ingest_;
  ServerOptions options_;
  HttpStats* http_stats_;
  RateLimiter login_limiter_, enroll_limiter_;
  ApiMetrics metrics_;
  PasswordPool password_pool_;
  PasswordPool report_pool_{1, 16};
  std::string fingerprint_;
};

// Handlers, one group per file.
void h_enroll(Call&);
void h_ingest(Call&);
void h_heartbeat(Call&);
void h_device_config(Call&);
void h_login(Call&);
void h_logout(Call&);
void h_me(Call&);
void h_totp_begin(Call&);
void h_totp_confirm(Call&);
void h_create_token(Call&);
void h_list_tokens(Call&);
void h_revoke_token(Call&);
void h_change_password(Call&);
void h_revoke_user_sessions(Call&);
void h_disable_user(Call&);
void h_enable_user(Call&);
void h_reset_password(Call&);
void h_list_customers(Call&);
void h_create_customer(Call&);
void h_patch_customer(Call&);
void h_get_customer(Call&);
void h_customer_aggregates(Call&);
void h_list_sites(Call&);
void h_create_site(Call&);
void h_list_users(Call&);
void h_create_user(Call&);
void h_list_devices(Call&);
void h_get_device(Call&);
void h_revoke_device(Call&);
void h_create_enrollment_code(Call&);
void h_list_alerts(Call&);
void h_get_alert(Call&);
void h_alert_events(Call&);
void h_list_incidents(Call&);
void h_overview(Call&);
void h_get_incident(Call&);
void h_incident_action(Call&);
void h_list_suppressions(Call&);
void h_create_suppression(Call&);
void h_delete_suppression(Call&);
void h_list_threats(Call&);
void h_create_threat(Call&);
void h_remove_threat(Call&);
void h_list_channels(Call&);
void h_create_channel(Call&);
void h_delete_channel(Call&);
void h_get_oncall(Call&);
void h_set_oncall(Call&);
void h_list_outbox(Call&);
void h_list_audit(Call&);
void h_openapi(Call&);
void h_metrics(Call&);
void h_health(Call&);
void h_explanations(Call&);
void h_download(Call&);
void h_device_packages(Call&);
void h_check_plan(Call&);
void h_list_plans(Call&);
void h_create_plan(Call&);
void h_get_plan(Call&);
void h_update_plan(Call&);
void h_list_contracts(Call&);
void h_create_contract(Call&);
void h_get_contract(Call&);
void h_subsidy(Call&);
void h_monthly_report(Call&);
void h_list_reports(Call&);
void h_ipa_statistics(Call&);
void h_self_check(Call&);
void h_send_report(Call&);
void h_get_report_mail(Call&);
void h_set_report_mail(Call&);
void h_service_catalogue(Call&);
void h_list_tickets(Call&);
void h_create_ticket(Call&);
void h_get_ticket(Call&);
void h_ticket_action(Call&);
void h_get_ticket_attachment(Call&);
void h_list_inbox(Call&);
void h_assign_inbox(Call&);
void h_list_faq(Call&);
void h_get_faq(Call&);
void h_create_faq(Call&);
void h_update_faq(Call&);
void h_delete_faq(Call&);
void h_get_policy(Call&);
void h_put_policy(Call&);
void h_list_claims(Call&);
void h_create_claim(Call&);
void h_get_claim(Call&);
void h_add_claim_line(Call&);
void h_remove_claim_line(Call&);
void h_claim_status(Call&);
void h_claim_package(Call&);
void h_claim_package_pdf(Call&);
void h_list_technicians(Call&);
void h_save_technician(Call&);
void h_list_dispatches(Call&);
void h_open_dispatch(Call&);
void h_get_dispatch(Call&);
void h_dispatch_action(Call&);
void h_add_evidence(Call&);
void h_get_evidence(Call&);

/// True for `http(s)://host[:port]` made only of characters safe inside a shell command.
bool public_url_ok(std::string_view url);

/// The OpenAPI document (compiled in from openapi.json).
std::string_view openapi_document();

}  // namespace mimamori::server
