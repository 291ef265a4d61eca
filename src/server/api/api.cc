// Routing, authentication (device tokens, session cookies with CSRF, API tokens), limits,
// metrics and static files. Handlers live in api_*.cc.

#include "api/api.h"

#include <charconv>
#include <filesystem>

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

bool unsafe_method(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

// Matches `/api/v1/incidents/{id}/comment` against a path; fills `params`.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::map<std::string, std::string, std::less<>>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty()) return false;
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto pe = pattern.find('/');
    auto se = path.find('/');
    std::string_view pseg = pattern.substr(0, pe), seg = path.substr(0, se);
    if (pseg.starts_with('{')) {
      if (seg.empty() || seg.size() > 128) return false;
      params[std::string(pseg.substr(1, pseg.size() - 2))] = url_decode(seg);
    } else if (pseg != seg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{} : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view{} : path.substr(se);
  }
  return true;
}

// Paths the route table answers; every other one is a file of the web console.
bool routed(std::string_view path) {
  return path.starts_with("/api/") || path == "/metrics" || path.starts_with("/download/");
}

// 127.0.0.0/8 and ::1, also IPv4-mapped, as the HTTP layer writes a peer's address.
bool loopback_peer(std::string_view ip) {
  if (ip.starts_with("::ffff:")) ip.remove_prefix(7);
  return ip.starts_with("127.") || ip == "::1";
}

std::string_view mime_of(const std::filesystem::path& p) {
  auto e = p.extension().string();
  if (e == ".html") return "text/html; charset=utf-8";
  if (e == ".js") return "text/javascript; charset=utf-8";
  if (e == ".css") return "text/css; charset=utf-8";
  if (e == ".svg") return "image/svg+xml";
  if (e == ".png") return "image/png";
  if (e == ".json") return "application/json";
  if (e == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

constexpr const char* kConsolePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

}  // namespace

const std::vector<Route>& Api::routes() {
  static const std::vector<Route> kRoutes = {
      {"GET", "/api/v1/health", Auth::kNone, h_health, "Liveness"},
      {"GET", "/api/v1/openapi.json", Auth::kNone, h_openapi, "This document"},
      {"GET", "/metrics", Auth::kNone, h_metrics, "Prometheus metrics"},
      {"POST", "/api/v1/enroll", Auth::kNone, h_enroll, "Enroll a device with a code"},
      {"POST", "/api/v1/ingest", Auth::kDevice, h_ingest, "Ingest a batch of EVE events"},
      {"POST", "/api/v1/heartbeat", Auth::kDevice, h_heartbeat, "Device heartbeat"},
      {"GET", "/api/v1/device/config", Auth::kDevice, h_device_config, "Device configuration"},
      {"POST", "/api/v1/login", Auth::kNone, h_login, "Log in"},
      {"POST", "/api/v1/logout", Auth::kUser, h_logout, "Log out"},
      {"GET", "/api/v1/me", Auth::kUser, h_me, "The current user"},
      {"POST", "/api/v1/me/totp", Auth::kUser, h_totp_begin, "Start TOTP enrolment"},
      {"POST", "/api/v1/me/totp/confirm", Auth::kUser, h_totp_confirm, "Confirm TOTP"},
      {"POST", "/api/v1/tokens", Auth::kUser, h_create_token, "Create an API token"},
      {"GET", "/api/v1/customers", Auth::kUser, h_list_customers, "List customers"},
      {"POST", "/api/v1/customers", Auth::kUser, h_create_customer, "Create a customer"},
      {"GET", "/api/v1/customers/{id}", Auth::kUser, h_get_customer, "One customer"},
      {"PATCH", "/api/v1/customers/{id}", Auth::kUser, h_patch_customer,
       "Change a customer's prefecture (provider_admin)"},
      {"GET", "/api/v1/customers/{id}/sites", Auth::kUser, h_list_sites, "Sites of a customer"},
      {"GET", "/api/v1/customers/{id}/aggregates", Auth::kUser, h_customer_aggregates,
       "Hourly aggregates of a customer (events by type, alerts by category, bytes, top talkers "
       "and domains)"},
      {"POST", "/api/v1/customers/{id}/sites", Auth::kUser, h_create_site, "Create a site"},
      {"POST", "/api/v1/customers/{id}/enrollment-codes", Auth::kUser, h_create_enrollment_code,
       "Create an enrollment code"},
      {"GET", "/api/v1/users", Auth::kUser, h_list_users, "List users"},
      {"POST", "/api/v1/users", Auth::kUser, h_create_user, "Create a user"},
      {"GET", "/api/v1/devices", Auth::kUser, h_list_devices, "List devices"},
      {"GET", "/api/v1/devices/{id}", Auth::kUser, h_get_device, "One device"},
      {"POST", "/api/v1/devices/{id}/revoke", Auth::kUser, h_revoke_device, "Revoke a device"},
      {"GET", "/api/v1/alerts", Auth::kUser, h_list_alerts, "List aggregated alerts"},
      {"GET", "/api/v1/alerts/{id}", Auth::kUser, h_get_alert, "One alert"},
      {"GET", "/api/v1/alerts/{id}/events", Auth::kUser, h_alert_events, "Raw events of an alert"},
      {"GET", "/api/v1/incidents", Auth::kUser, h_list_incidents, "List incidents"},
      {"GET", "/api/v1/overview", Auth::kUser, h_overview,
       "Every customer's open incidents and devices (the SOC overview)"},
      {"GET", "/api/v1/incidents/{id}", Auth::kUser, h_get_incident,
       "Incident with timeline, alerts and explanation"},
      // Insurance claims come before the incident actions: "claims" is no action.
      {"GET", "/api/v1/incidents/{id}/claims", Auth::kUser, h_list_claims,
       "Insurance claims of an incident with their computed amounts"},
      {"POST", "/api/v1/incidents/{id}/claims", Auth::kUser, h_create_claim,
       "Raise a draft insurance claim from an incident"},
      {"GET", "/api/v1/incidents/{id}/claims/{claim}", Auth::kUser, h_get_claim,
       "One claim: cost lines, covered and customer-borne amounts"},
      {"POST", "/api/v1/incidents/{id}/claims/{claim}/lines", Auth::kUser, h_add_claim_line,
       "Add a cost line to a draft claim"},
      {"DELETE", "/api/v1/incidents/{id}/claims/{claim}/lines/{line}", Auth::kUser,
       h_remove_claim_line, "Remove a cost line from a draft claim"},
      {"POST", "/api/v1/incidents/{id}/claims/{claim}/status", Auth::kUser, h_claim_status,
       "Move a claim: draft → submitted → paid | denied"},
      {"GET", "/api/v1/incidents/{id}/claims/{claim}/package", Auth::kUser, h_claim_package,
       "The claim package: timeline, evidence with hashes, amounts, what is not covered"},
      {"GET", "/api/v1/incidents/{id}/claims/{claim}/package.pdf", Auth::kUser, h_claim_package_pdf,
       "The claim package as a Japanese PDF"},
      {"POST", "/api/v1/incidents/{id}/{action}", Auth::kUser, h_incident_action,
       "acknowledge, assign, comment, status, close, reopen (provider roles); comment, confirm "
       "(customer roles)"},
      {"GET", "/api/v1/suppressions", Auth::kUser, h_list_suppressions, "List suppression rules"},
      {"POST", "/api/v1/suppressions", Auth::kUser, h_create_suppression, "Create a rule"},
      {"DELETE", "/api/v1/suppressions/{id}", Auth::kUser, h_delete_suppression, "Delete a rule"},
      {"GET", "/api/v1/threats", Auth::kUser, h_list_threats, "Threat indicators (provider)"},
      {"POST", "/api/v1/threats", Auth::kUser, h_create_threat, "Add a threat indicator"},
      {"DELETE", "/api/v1/threats/{id}", Auth::kUser, h_remove_threat, "Remove a threat indicator"},
      {"GET", "/api/v1/channels", Auth::kUser, h_list_channels, "Notification channels"},
      {"POST", "/api/v1/channels", Auth::kUser, h_create_channel, "Create a channel"},
      {"DELETE", "/api/v1/channels/{id}", Auth::kUser, h_delete_channel, "Delete a channel"},
      {"GET", "/api/v1/oncall", Auth::kUser, h_get_oncall, "On-call rotation"},
      {"PUT", "/api/v1/oncall", Auth::kUser, h_set_oncall, "Replace the on-call rotation"},
      {"GET", "/api/v1/notifications", Auth::kUser, h_list_outbox, "Outbox and delivery status"},
      {"GET", "/api/v1/audit", Auth::kUser, h_list_audit, "Audit log"},
      {"GET", "/api/v1/device-packages", Auth::kUser, h_device_packages,
       "Install commands per platform and the repository key's fingerprint"},
      {"GET", "/download/{file}", Auth::kNone, h_download,
       "The device repository's public key (mimamori.gpg, mimamori.asc, mimamori.fpr)"},
      {"GET", "/download/deb/{file}", Auth::kNone, h_download,
       "The signed apt repository of the device packages"},
      {"GET", "/download/rpm/{file}", Auth::kNone, h_download, "The agent's .rpm packages"},
      {"GET", "/api/v1/explanations", Auth::kUser, h_explanations,
       "Plain-Japanese explanation of every alert category"},
      {"GET", "/api/v1/tokens", Auth::kUser, h_list_tokens, "List API tokens"},
      {"DELETE", "/api/v1/tokens/{id}", Auth::kUser, h_revoke_token, "Revoke an API token"},
      {"POST", "/api/v1/me/password", Auth::kUser, h_change_password, "Change one's password"},
      {"POST", "/api/v1/users/{id}/sessions/revoke", Auth::kUser, h_revoke_user_sessions,
       "End every session of a user"},
      {"POST", "/api/v1/users/{id}/disable", Auth::kUser, h_disable_user, "Disable a user"},
      {"POST", "/api/v1/users/{id}/enable", Auth::kUser, h_enable_user, "Enable a user again"},
      {"POST", "/api/v1/users/{id}/password", Auth::kUser, h_reset_password,
       "Set another user's password (provider_admin)"},
      {"POST", "/api/v1/plans/check", Auth::kUser, h_check_plan,
       "Check a plan against the price rules (要件 7) without saving it"},
      {"GET", "/api/v1/plans", Auth::kUser, h_list_plans, "The provider's plans"},
      {"POST", "/api/v1/plans", Auth::kUser, h_create_plan,
       "Create a plan (a registered one must pass the compliance check)"},
      {"GET", "/api/v1/plans/{id}", Auth::kUser, h_get_plan, "One plan with its compliance"},
      {"PUT", "/api/v1/plans/{id}", Auth::kUser, h_update_plan, "Replace a plan"},
      {"GET", "/api/v1/contracts", Auth::kUser, h_list_contracts, "Contracts"},
      {"POST", "/api/v1/contracts", Auth::kUser, h_create_contract, "Create a contract"},
      {"GET", "/api/v1/contracts/{id}", Auth::kUser, h_get_contract, "One contract"},
      {"GET", "/api/v1/contracts/{id}/policy", Auth::kUser, h_get_policy,
       "The insurance policy of a contract (簡易サイバー保険)"},
      {"PUT", "/api/v1/contracts/{id}/policy", Auth::kUser, h_put_policy,
       "Set the insurance policy of a contract (provider_admin)"},
      {"GET", "/api/v1/customers/{id}/reports", Auth::kUser, h_list_reports,
       "The months with a monthly report for a customer, newest first"},
      {"GET", "/api/v1/customers/{id}/reports/{month}", Auth::kUser, h_monthly_report,
       "The monthly report of a customer as a Japanese PDF (month: YYYY-MM)"},
      {"POST", "/api/v1/customers/{id}/reports/{month}/send", Auth::kUser, h_send_report,
       "Mail the month's report to the customer's e-mail contacts now"},
      {"GET", "/api/v1/customers/{id}/report-mail", Auth::kUser, h_get_report_mail,
       "Whether the monthly report is mailed on the 1st"},
      {"PUT", "/api/v1/customers/{id}/report-mail", Auth::kUser, h_set_report_mail,
       "Turn the monthly report mail on or off"},
      {"GET", "/api/v1/stats/ipa", Auth::kUser, h_ipa_statistics,
       "Alert statistics for IPA, aggregated and anonymised (provider_admin)"},
      {"POST", "/api/v1/subsidy", Auth::kUser, h_subsidy,
       "IT導入補助金 estimate for a service's fees (the year's rules)"},
      {"GET", "/api/v1/admin/self-check", Auth::kUser, h_self_check,
       "The registration self-check: each requirement met or not, with evidence (provider_admin)"},
      {"GET", "/api/v1/catalogue", Auth::kUser, h_service_catalogue,
       "The service catalogue of the registered plans (JSON or CSV)"},
      {"GET", "/api/v1/desk/tickets", Auth::kUser, h_list_tickets,
       "Desk tickets with their SLA clocks"},
      {"POST", "/api/v1/desk/tickets", Auth::kUser, h_create_ticket, "Open a desk ticket"},
      {"GET", "/api/v1/desk/tickets/{id}", Auth::kUser, h_get_ticket,
       "A ticket with its messages (internal notes for provider roles only)"},
      {"POST", "/api/v1/desk/tickets/{id}/{action}", Auth::kUser, h_ticket_action,
       "reply, reopen (the desk and customer roles); note, assign, priority, category, wait, "
       "resolve, close (the desk)"},
      {"GET", "/api/v1/desk/tickets/{id}/attachments/{file}", Auth::kUser, h_get_ticket_attachment,
       "An attachment of a ticket, as a download"},
      {"GET", "/api/v1/desk/inbox", Auth::kUser, h_list_inbox,
       "Mail from senders who are no known contact (the triage inbox)"},
      {"POST", "/api/v1/desk/inbox/{id}/assign", Auth::kUser, h_assign_inbox,
       "Make a ticket of a customer from an inbox mail"},
      {"GET", "/api/v1/desk/faq", Auth::kUser, h_list_faq,
       "Canned answers (FAQ), searched by q (customer roles: the public ones)"},
      {"POST", "/api/v1/desk/faq", Auth::kUser, h_create_faq,
       "Create a canned answer (provider_admin, desk)"},
      {"GET", "/api/v1/desk/faq/{id}", Auth::kUser, h_get_faq, "One canned answer"},
      {"PUT", "/api/v1/desk/faq/{id}", Auth::kUser, h_update_faq,
       "Replace a canned answer (provider_admin, desk)"},
      {"DELETE", "/api/v1/desk/faq/{id}", Auth::kUser, h_delete_faq,
       "Delete a canned answer (provider_admin, desk)"},
      {"GET", "/api/v1/technicians", Auth::kUser, h_list_technicians,
       "Technician profiles: skills, prefectures, availability (provider roles)"},
      {"PUT", "/api/v1/technicians/{id}", Auth::kUser, h_save_technician,
       "Set a technician's profile (provider_admin, analyst)"},
      {"GET", "/api/v1/dispatches", Auth::kUser, h_list_dispatches,
       "Dispatches (駆け付け); technician_id=me: the caller's own"},
      {"POST", "/api/v1/dispatches", Auth::kUser, h_open_dispatch,
       "Open a dispatch from an incident or a ticket (remote, or on site at once)"},
      {"GET", "/api/v1/dispatches/{id}", Auth::kUser, h_get_dispatch,
       "A dispatch with its steps and evidence"},
      {"POST", "/api/v1/dispatches/{id}/evidence", Auth::kUser, h_add_evidence,
       "Add a file of evidence (the body is the file)"},
      {"GET", "/api/v1/dispatches/{id}/evidence/{file}", Auth::kUser, h_get_evidence,
       "A file of evidence, as a download"},
      {"POST", "/api/v1/dispatches/{id}/{action}", Auth::kUser, h_dispatch_action,
       "remote, onsite (the SOC and the desk); depart, arrive, work, finish, action (the "
       "technician); signoff (the customer or the technician)"},
  };
  return kRoutes;
}

bool RateLimiter::allow(const std::string& key) {
  int64_t minute = core::now().seconds() / 60;
  std::lock_guard lock(mu_);
  if (windows_.size() > 100000) windows_.clear();
  auto& [m, n] = windows_[key];
  if (m != minute) {
    m = minute;
    n = 0;
  }
  return ++n <= per_minute_;
}

Api::Api(Store& store, IngestQueue& ingest, const ServerOptions& options, HttpStats* http_stats)
    : store_(store),
      ingest_(ingest),
      options_(options),
      http_stats_(http_stats),
      login_limiter_(options.login_attempts_per_minute),
      enroll_limiter_(options.enroll_attempts_per_minute),
      password_pool_(options.password_hash_threads,
                     static_cast<size_t>(options.password_hash_queue)) {}

const std::string& Call::param(std::string_view name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

void Call::json(int status, std::string body, std::vector<std::pair<std::string, std::string>> h) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(h);
  r.headers.emplace_back("Cache-Control", "no-store");
  if (api) api->record(*this, status);
  respond(std::move(r));
}

void Call::error(int status, std::string_view message) {
  json::object o;
  o["error"] = jstr(message);
  std::vector<std::pair<std::string, std::string>> h;
  if (status == 401) h.emplace_back("WWW-Authenticate", "Bearer");
  json(status, to_text(o), std::move(h));
}

void Call::error(const core::Error& e) {
  error(e.code >= 400 && e.code < 600 ? e.code : 500, e.message);
}

void Api::record(const Call& call, int status) {
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call.started).count();
  std::string route = call.route ? std::string(call.route->pattern) : "unmatched";
  std::lock_guard lock(metrics_.mu);
  ++metrics_.requests[{route, status}];
  size_t b = 0;
  while (b < metrics_.bucket_bounds.size() && secs > metrics_.bucket_bounds[b]) ++b;
  ++metrics_.buckets[b];
  metrics_.latency_sum += secs;
  ++metrics_.latency_count;
}

void Api::handle(HttpRequest&& req, HttpRespond respond) {
  auto call = std::make_shared<Call>();
  call->api = this;
  call->store = &store_;
  call->started = std::chrono::steady_clock::now();
  call->respond = std::move(respond);
  call->req = std::move(req);
  call->principal.source_ip = call->req.remote_ip;
  const auto& path = call->req.path;
  if (!routed(path)) {
    return serve_static(call->req, call->respond);
  }
  std::string allowed;
  for (const auto& r : routes()) {
    if (!match_pattern(r.pattern, path, call->params)) continue;
    if (r.method != call->req.method) {
      if (!allowed.empty()) allowed += ", ";
      allowed += r.method;
      continue;
    }
    call->route = &r;
    break;
  }
  if (!call->route) {
    if (!allowed.empty()) {
      return call->json(405, "{\"error\":\"method not allowed\"}", {{"Allow", allowed}});
    }
    return call->error(404, fmt::format("no route for {} {}", call->req.method, path));
  }
  // The HTTP layer refused larger bodies before reading them (body_limit); this is a second line.
  if (size_t limit = route_body_limit(*call->route); call->req.body.size() > limit) {
    return call->error(413, fmt::format("request body of {} bytes is over the limit of {} bytes",
                                        call->req.body.size(), limit));
  }
  std::string_view authz = call->req.header("authorization");
  std::string_view bearer;
  if (authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
    bearer = authz.substr(7);
  }
  if (call->route->fn == h_metrics && !metrics_allowed(*call, bearer)) return;
  if (call->route->auth == Auth::kDevice) {
    if (bearer.empty()) return call->error(401, "a device token (Authorization: Bearer) is needed");
    auto p = store_.authenticate_device(bearer);
    if (!p.ok()) return call->error(p.error());
    call->principal = *p;
    call->principal.source_ip = call->req.remote_ip;
  } else if (call->route->auth == Auth::kUser) {
    if (!bearer.empty()) {
      auto p = store_.authenticate_api_token(bearer);
      if (!p.ok()) return call->error(p.error());
      call->principal = *p;
    } else {
      std::string token = call->req.cookie("mm_session");
      if (token.empty()) return call->error(401, "log in first (session cookie or API token)");
      std::string csrf;
      auto p = store_.authenticate_session(token, &csrf);
      if (!p.ok()) return call->error(p.error());
      call->principal = *p;
      call->principal.source_ip = call->req.remote_ip;
      if (unsafe_method(call->req.method) && call->route->fn != h_logout) {
        std::string_view sent = call->req.header("x-csrf-token");
        if (sent.empty() || sent != csrf) {
          (void)store_.audit(call->principal, "csrf.check", "route", call->route->pattern,
                             call->principal.customer_id, {}, {}, "denied");
          return call->error(403, "missing or wrong X-CSRF-Token header");
        }
      }
    }
    call->principal.source_ip = call->req.remote_ip;
  }
  try {
    call->route->fn(*call);
  } catch (const std::exception& e) {
    // Handlers use Result values; this only catches allocation failures and library throws.
    call->error(500, fmt::format("internal error: {}", e.what()));
  }
}

size_t Api::route_body_limit(const Route& route) const {
  // Desk tickets and replies may carry attachments (base64): they take server.max_body too.
  // Evidence of a dispatch is a file as the body: the same limit.
  const bool large = route.fn == h_ingest || route.fn == h_create_ticket ||
                     route.fn == h_ticket_action || route.fn == h_add_evidence;
  return large ? options_.max_body : options_.max_json_body;
}

size_t Api::body_limit(std::string_view method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  if (!routed(path)) return kUnroutedBodyLimit;
  std::map<std::string, std::string, std::less<>> params;
  for (const auto& r : routes()) {
    if (r.method == method && match_pattern(r.pattern, path, params)) return route_body_limit(r);
  }
  return kUnroutedBodyLimit;
}

bool Api::metrics_allowed(Call& call, std::string_view bearer) {
  if (!options_.metrics_token.empty()) {
    // Compared as hashes: equal lengths for the constant-time comparison.
    if (!bearer.empty() && equal_secret(secret_hash(bearer), secret_hash(options_.metrics_token))) {
      return true;
    }
    call.error(401, bearer.empty() ? "/metrics needs Authorization: Bearer <metrics token>"
                                   : "wrong metrics token");
    return false;
  }
  if (loopback_peer(call.req.remote_ip)) return true;
  call.error(403, "/metrics answers loopback peers only while server.metrics_token is not set");
  return false;
}

void Api::serve_static(HttpRequest& req, HttpRespond& respond) {
  HttpResponse r;
  std::optional<StaticFile> f;
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (read) f = read_static_file(options_.static_dir, req.path);
  // The console's own routes (/incidents/inc_1, /portal) are pages of index.html.
  if (!f && read && is_app_route(options_.static_dir, req.path)) {
    f = read_static_file(options_.static_dir, "/index.html");
  }
  if (!f) {
    r.status = 404;
    r.body = "{\"error\":\"not found\"}";
    return respond(std::move(r));
  }
  r.body = std::move(f->body);
  r.content_type = std::string(mime_of(f->name));
  // Scripts, styles and data only from this origin; no inline script or style element, no
  // plugins, no framing, forms post only here.
  r.headers.emplace_back("Content-Security-Policy", kConsolePolicy);
  // Vite names what it writes under assets/ by a hash of the content: kept for a year. Every
  // other file (index.html above all) is checked again each time.
  r.headers.emplace_back("Cache-Control", req.path.starts_with("/assets/")
                                              ? "public, max-age=31536000, immutable"
                                              : "no-cache");
  respond(std::move(r));
}

// --- JSON bodies ------------------------------------------------------------------------

std::optional<json::object> read_json_object(Call& call) {
  std::string_view ct = call.req.header("content-type");
  if (!ct.starts_with("application/json")) {
    call.error(415, fmt::format("Content-Type must be application/json, got '{}'", ct));
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value v = json::parse(call.req.body, ec);
  if (ec) {
    call.error(400, fmt::format("body is not valid JSON: {}", ec.message()));
    return std::nullopt;
  }
  if (!v.is_object()) {
    call.error(400, "body must be a JSON object");
    return std::nullopt;
  }
  return std::move(v.as_object());
}

std::string get_string(const json::object& o, std::string_view key, std::string* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  if (!it->value().is_string()) {
    if (error && error->empty()) *error = fmt::format("member '{}' must be a string", key);
    return {};
  }
  return std::string(it->value().as_string());
}

int64_t get_int(const json::object& o, std::string_view key, int64_t fallback, std::string* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64() && it->value().as_uint64() <= INT64_MAX) {
    return static_cast<int64_t>(it->value().as_uint64());
  }
  if (error && error->empty()) *error = fmt::format("member '{}' must be an integer", key);
  return fallback;
}

int64_t query_int(const HttpRequest& req, std::string_view name, int64_t fallback) {
  std::string v = req.query_param(name);
  int64_t out = fallback;
  if (v.empty()) return fallback;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() ? out : fallback;
}

}  // namespace mimamori::server
