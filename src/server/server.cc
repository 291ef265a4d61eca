// Server: wires the store, the ingest queue, the API on the HTTP server, TLS, a background
// thread for the heartbeat watch and escalation, and the notification delivery pool (its own
// threads, so that no send ever holds up the watch).

#include "mimamori/server/server.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/api.h"
#include "desk/desk.h"
#include "dispatch/dispatch.h"
#include "http/http.h"
#include "ingest/ingest_queue.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/http_client.h"
#include "mimamori/core/log.h"
#include "notify/notify.h"
#include "reports/reports.h"
#include "retention/retention.h"
#include "secrets.h"
#include "triage/triage.h"

namespace mimamori::server {

namespace {

// The delivery pool's bounds; the error names the key.
core::Status check_notify_options(const NotifyOptions& n) {
  if (n.workers < 1 || n.workers > 256) {
    return core::make_error("key 'notify.workers': must be 1 to 256, got {}", n.workers);
  }
  if (n.per_destination < 1 || n.per_destination > n.workers) {
    return core::make_error(
        "key 'notify.per_destination': must be 1 to notify.workers ({}), got {}", n.workers,
        n.per_destination);
  }
  // Under the 5 minutes after which a row left 'sending' is claimed again (claim_outbox).
  if (n.timeout_s < 1 || n.timeout_s > 240) {
    return core::make_error("key 'notify.timeout_s': must be 1 to 240 seconds, got {}",
                            n.timeout_s);
  }
  return {};
}

// store.retention.*: days per kind, per event type and per customer (see RetentionOptions).
void load_retention_options(const core::Config& c, RetentionOptions& r) {
  r.enabled = c.get<bool>("store.retention.enabled", r.enabled);
  r.raw_days = c.get<int64_t>("store.retention.raw_days", r.raw_days);
  r.alert_days = c.get<int64_t>("store.retention.alert_days", r.alert_days);
  r.aggregate_days = c.get<int64_t>("store.retention.aggregate_days", r.aggregate_days);
  r.aggregate_top = c.get<int64_t>("store.retention.aggregate_top", r.aggregate_top);
  r.interval_s = c.get<int64_t>("store.retention.interval_s", r.interval_s);
  r.batch_ms = c.get<int64_t>("store.retention.batch_ms", r.batch_ms);
  r.pause_ms = c.get<int64_t>("store.retention.pause_ms", r.pause_ms);
  for (const auto& t : c.keys("store.retention.types")) {
    r.type_days[t] = c.require<int64_t>("store.retention.types." + t);
  }
  for (const auto& id : c.keys("store.retention.customers")) {
    const std::string base = "store.retention.customers." + id;
    auto& rule = r.customers[id];
    rule.days = c.get<int64_t>(base + ".days", -1);
    for (const auto& t : c.keys(base + ".types")) {
      rule.type_days[t] = c.require<int64_t>(base + ".types." + t);
    }
  }
  if (auto st = check_retention_options(r); !st.ok()) {
    throw core::ConfigError(fmt::format("{}: {}", c.source(), st.error().message));
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<IngestQueue> ingest;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  std::string fingerprint;
  std::thread background;
  std::unique_ptr<DeliveryPool> delivery;  // null when notify.enabled is false
  std::unique_ptr<Expiry> expiry;
  std::thread retention;
  std::unique_ptr<MailListener> desk_mail;  // null when desk.mail_enabled is false
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  // The 監視停止 watch and escalation keep their own cadence: sending is the pool's.
  void background_loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      const int64_t now = core::now().micros;
      if (auto n = check_heartbeats(*store, now); !n.ok()) {
        spdlog::warn("heartbeat watch: {}", n.error().message);
      } else if (*n > 0) {
        spdlog::warn("{} device(s) stopped reporting: 監視停止 incidents opened", *n);
      }
      if (auto n = escalate(*store, now, options.escalation_after_s); !n.ok()) {
        spdlog::warn("escalation: {}", n.error().message);
      } else if (*n > 0 && delivery) {
        delivery->wake();
      }
      // On the 1st: a few customers' reports a round, so the watch above keeps its cadence.
      if (options.mail_monthly_reports) {
        if (auto n = mail_monthly_reports(*store, now, 20); !n.ok()) {
          spdlog::warn("monthly report mail: {}", n.error().message);
        } else if (*n > 0 && delivery) {
          delivery->wake();
        }
      }
      if (auto n = check_desk_sla(*store, options.desk, now); !n.ok()) {
        spdlog::warn("desk SLA check: {}", n.error().message);
      } else if (*n > 0 && delivery) {
        delivery->wake();
      }
      if (auto n = check_dispatch_arrivals(*store, now); !n.ok()) {
        spdlog::warn("dispatch arrival check: {}", n.error().message);
      } else if (*n > 0 && delivery) {
        delivery->wake();
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(options.background_interval_ms),
                  [&] { return stopping; });
    }
  }

  // Expiry on its own thread: a sweep may take minutes of short batches, and the heartbeat
  // watch must not wait for it. The first sweep comes one interval after start.
  void retention_loop() {
    const auto& r = options.store.retention;
    std::unique_lock lock(mu);
    while (true) {
      cv.wait_for(lock, std::chrono::seconds(r.interval_s), [&] { return stopping; });
      if (stopping) return;
      lock.unlock();
      auto st = expiry->sweep(core::now().micros, [this] {
        std::lock_guard l(mu);
        return stopping;
      });
      if (!st.ok()) {
        spdlog::warn("{}", st.error().message);
      } else if (st->events_deleted + st->aggregates_deleted + st->aggregates_cut > 0) {
        spdlog::info(
            "retention: {} raw events and {} hourly aggregates expired, {} below the top cut; "
            "{} batches, the longest {:.1f} ms",
            st->events_deleted, st->aggregates_deleted, st->aggregates_cut, st->batches,
            static_cast<double>(st->longest_batch_us) / 1000.0);
      }
      lock.lock();
    }
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

core::Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // The sender goes into MAIL FROM and the From header of every message.
  if (auto a = check_mailbox(options.notify.smtp_from); !a.ok()) {
    return core::make_error("notify.smtp_from: {}", a.error().message);
  }
  if (auto a = core::DestinationPolicy::parse(options.notify.allow_destinations, {}); !a.ok()) {
    return core::make_error("notify.allow_destinations: {}", a.error().message);
  }
  if (auto st = check_notify_options(options.notify); !st.ok()) return st.error();
  if (auto st = check_retention_options(options.store.retention); !st.ok()) return st.error();
  if (auto st = check_desk_options(options.desk); !st.ok()) return st.error();
  for (const auto& problem : options.registered_service_problems) {
    spdlog::warn("registered services: {}", problem);
  }
  spdlog::info("registered services: {} listed ({} skipped)", options.registered_services.size(),
               options.registered_service_problems.size());
  if (auto st = check_dispatch_options(options.dispatch); !st.ok()) return st.error();
  StoreOptions so = options.store;
  // A PostgreSQL that does not answer yet (started after the server, restarting) is waited
  // for: health says so and requests get 503 until it answers (docs/postgresql.md).
  so.wait_for_database = true;
  if (so.secret_key_file.empty()) {
    so.secret_key_file = (std::filesystem::path(options.data_dir) / "secret.key").string();
  }
  auto store = open_store(so);
  if (!store.ok()) return store.error();
  impl->store = std::move(*store);
  impl->ingest = std::make_unique<IngestQueue>(*impl->store);
  Impl* raw = impl.get();
  HttpOptions ho;
  ho.address = options.listen;
  ho.port = options.port;
  ho.threads = options.threads;
  ho.max_body = std::max(options.max_body, options.max_json_body);
  // Each route's own limit, checked before its body is read (the API exists before the first
  // request: it is made before the server starts).
  ho.body_limit = [raw](std::string_view method, std::string_view target) {
    return raw->api->body_limit(method, target);
  };
  ho.max_connections = options.max_connections;
  ho.max_connections_per_ip = options.max_connections_per_ip;
  if (options.tls) {
    ho.tls_ciphers = options.tls_ciphers;
    ho.cert_file = options.cert_file;
    ho.key_file = options.key_file;
    if (ho.cert_file.empty()) {
      ho.cert_file = (std::filesystem::path(options.data_dir) / "server.crt").string();
      ho.key_file = (std::filesystem::path(options.data_dir) / "server.key").string();
      // The generated key lives in the data folder: folder 0700, files 0600.
      if (auto st = ensure_private_dir(options.data_dir); !st.ok()) return st.error();
      if (auto st = ensure_self_signed(ho.cert_file, ho.key_file); !st.ok()) return st.error();
      for (const auto& f : {ho.key_file, ho.cert_file}) {
        if (auto st = ensure_private_file(f, false); !st.ok()) return st.error();
      }
    }
    auto fp = certificate_fingerprint(ho.cert_file);
    if (!fp.ok()) return fp.error();
    impl->fingerprint = *fp;
  }
  impl->http = std::make_unique<HttpServer>(ho, [raw](HttpRequest&& req, HttpRespond respond) {
    raw->api->handle(std::move(req), std::move(respond));
  });
  impl->api = std::make_unique<Api>(*impl->store, *impl->ingest, options, &impl->http->stats());
  impl->api->set_fingerprint(impl->fingerprint);
  if (auto st = impl->http->start(); !st.ok()) return st.error();
  if (options.deliver_notifications) {
    impl->delivery = std::make_unique<DeliveryPool>(*impl->store, options.notify,
                                                    options.background_interval_ms);
  }
  if (options.desk.mail_enabled) {
    impl->desk_mail = std::make_unique<MailListener>(*impl->store, options.desk);
    if (auto st = impl->desk_mail->start(); !st.ok()) return st.error();
  }
  impl->background = std::thread([raw] { raw->background_loop(); });
  impl->expiry = std::make_unique<Expiry>(*impl->store, options.store.retention);
  impl->retention = std::thread([raw] { raw->retention_loop(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->http->port(); }
uint16_t Server::desk_mail_port() const { return impl_->desk_mail ? impl_->desk_mail->port() : 0; }
const std::string& Server::fingerprint() const { return impl_->fingerprint; }
Store& Server::store() { return *impl_->store; }
IngestQueue& Server::ingest() { return *impl_->ingest; }

std::string Server::url() const {
  std::string host = impl_->options.listen == "0.0.0.0" ? "127.0.0.1" : impl_->options.listen;
  return fmt::format("{}://{}:{}", impl_->options.tls ? "https" : "http", host, port());
}

void Server::stop() {
  if (!impl_ || !impl_->http) return;
  impl_->http->stop(10);
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->background.joinable()) impl_->background.join();
  if (impl_->retention.joinable()) impl_->retention.join();
  // A mail being taken is stored (or refused) before the listener ends.
  impl_->desk_mail.reset();
  // Sends in flight finish (each within notify.timeout_s); claimed ones not begun go back.
  impl_->delivery.reset();
  // Password checks still queued answer while the store and the HTTP sessions exist.
  impl_->api->password_pool().stop();
  impl_->api->report_pool().stop();
  // The ingest queue first: it commits what is queued and stops the writers, whose
  // acknowledgements hold the requests' HTTP sessions. Those must be released while the HTTP
  // server's io_context still exists (a session released on a writer thread after it was gone
  // touched its freed timer service). Then the store, which no writer uses any more.
  impl_->ingest.reset();
  impl_->store.reset();
  impl_->api.reset();
  impl_->http.reset();
}

ServerOptions load_server_options(const core::Config& c) {
  ServerOptions o;
  o.data_dir = c.get<std::string>("server.data_dir", o.data_dir);
  o.listen = c.get<std::string>("server.listen", o.listen);
  int port = c.get<int>("server.port", o.port);
  if (port < 0 || port > 65535) {
    throw core::ConfigError(
        fmt::format("{}: key 'server.port': {} is not a TCP port", c.source(), port));
  }
  o.port = static_cast<uint16_t>(port);
  o.threads = c.get<int>("server.threads", o.threads);
  o.tls = c.get<bool>("server.tls.enabled", o.tls);
  o.cert_file = c.get<std::string>("server.tls.cert", "");
  o.key_file = c.get<std::string>("server.tls.key", "");
  if (o.cert_file.empty() != o.key_file.empty()) {
    throw core::ConfigError(fmt::format(
        "{}: keys 'server.tls.cert' and 'server.tls.key' must be given together", c.source()));
  }
  o.tls_ciphers = c.get<std::string>("server.tls.ciphers", "");
  o.max_body = c.get<uint64_t>("server.max_body", o.max_body);
  for (auto [key, v] : {std::pair{"server.max_connections", &o.max_connections},
                        {"server.max_connections_per_ip", &o.max_connections_per_ip}}) {
    int64_t n = c.get<int64_t>(key, static_cast<int64_t>(*v));
    if (n <= 0) {
      throw core::ConfigError(
          fmt::format("{}: key '{}': must be a positive number, got {}", c.source(), key, n));
    }
    *v = static_cast<size_t>(n);
  }
  o.metrics_token = c.get<std::string>("server.metrics_token", "");
  std::string token_file = c.get<std::string>("server.metrics_token_file", "");
  if (!token_file.empty()) {
    if (!o.metrics_token.empty()) {
      throw core::ConfigError(fmt::format(
          "{}: keys 'server.metrics_token' and 'server.metrics_token_file' exclude each other",
          c.source()));
    }
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.metrics_token)) {
      throw core::ConfigError(fmt::format("{}: key 'server.metrics_token_file': cannot read {}",
                                          c.source(), token_file));
    }
    while (!o.metrics_token.empty() &&
           (o.metrics_token.back() == '\r' || o.metrics_token.back() == ' ' ||
            o.metrics_token.back() == '\t')) {
      o.metrics_token.pop_back();
    }
  }
  if (!o.metrics_token.empty()) {
    bool printable = std::all_of(o.metrics_token.begin(), o.metrics_token.end(),
                                 [](char ch) { return ch > 0x20 && ch < 0x7f; });
    if (o.metrics_token.size() < 16 || !printable) {
      throw core::ConfigError(fmt::format(
          "{}: key 'server.metrics_token{}': the token must be at least 16 printable ASCII "
          "characters without spaces",
          c.source(), token_file.empty() ? "" : "_file"));
    }
  }
  // Empty: the console built beside the program (build tree or installed share folder).
  o.static_dir = c.get<std::string>("server.static_dir", "");
  if (o.static_dir.empty()) o.static_dir = default_web_dir();
  o.repo_dir = c.get<std::string>("server.repo_dir", "");
  o.public_url = c.get<std::string>("server.public_url", "");
  if (!o.public_url.empty() && !public_url_ok(o.public_url)) {
    throw core::ConfigError(fmt::format(
        "{}: key 'server.public_url': '{}' is not http(s)://host[:port] (letters, digits, '.', "
        "'-', ':' and [] only; it is written into shell commands)",
        c.source(), o.public_url));
  }
  // How plan prices meet the caps of 要件 7 (docs/business.md).
  o.price_policy.caps_include_tax =
      c.get<bool>("contracts.caps_include_tax", o.price_policy.caps_include_tax);
  o.price_policy.tax_rate_percent =
      c.get<int>("contracts.tax_rate_percent", o.price_policy.tax_rate_percent);
  if (o.price_policy.tax_rate_percent < 0 || o.price_policy.tax_rate_percent > 100) {
    throw core::ConfigError(
        fmt::format("{}: key 'contracts.tax_rate_percent': must be 0..100, got {}", c.source(),
                    o.price_policy.tax_rate_percent));
  }
  const std::string initial = c.get<std::string>("contracts.initial_fee", "separate");
  if (initial != "separate" && initial != "spread") {
    throw core::ConfigError(
        fmt::format("{}: key 'contracts.initial_fee': '{}' is neither 'separate' nor 'spread'",
                    c.source(), initial));
  }
  o.price_policy.spread_initial_fee = initial == "spread";
  // IPA's registered services: the shipped list, then the provider's additions. A malformed
  // line is skipped and reported; a file named in the configuration must be readable.
  o.services_file = c.get<std::string>("catalogue.services_file", "");
  o.extra_services_file = c.get<std::string>("catalogue.extra_services_file", "");
  auto read_list = [&](const std::string& file, std::string_view source, const char* key) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      throw core::ConfigError(fmt::format("{}: key '{}': cannot read '{}'", c.source(), key, file));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    parse_registered_services(text, file, source, o.registered_services,
                              o.registered_service_problems);
  };
  if (!o.services_file.empty()) {
    read_list(o.services_file, "ipa", "catalogue.services_file");
  } else if (const auto shipped = default_registered_services_file(); !shipped.empty()) {
    read_list(shipped, "ipa", "catalogue.services_file");
  } else {
    o.registered_service_problems.push_back(
        "registered_services.tsv is not installed beside the program: IPA's list is empty (set "
        "catalogue.services_file)");
  }
  if (!o.extra_services_file.empty()) {
    read_list(o.extra_services_file, "provider", "catalogue.extra_services_file");
  }
  o.background_interval_ms =
      c.get<int64_t>("server.background_interval_ms", o.background_interval_ms);
  o.escalation_after_s = c.get<int64_t>("server.escalation_after_s", o.escalation_after_s);
  o.mail_monthly_reports = c.get<bool>("reports.mail", o.mail_monthly_reports);
  o.deliver_notifications = c.get<bool>("notify.enabled", o.deliver_notifications);
  o.notify.smtp_url = c.get<std::string>("notify.smtp_url", o.notify.smtp_url);
  o.notify.smtp_from = c.get<std::string>("notify.smtp_from", o.notify.smtp_from);
  if (auto a = check_mailbox(o.notify.smtp_from); !a.ok()) {
    throw core::ConfigError(
        fmt::format("{}: key 'notify.smtp_from': {}", c.source(), a.error().message));
  }
  o.notify.line_push_url = c.get<std::string>("notify.line_push_url", o.notify.line_push_url);
  o.notify.timeout_s = c.get<int64_t>("notify.timeout_s", o.notify.timeout_s);
  o.notify.allow_destinations = c.list("notify.allow_destinations", {});
  if (auto a = core::DestinationPolicy::parse(o.notify.allow_destinations, {}); !a.ok()) {
    throw core::ConfigError(
        fmt::format("{}: key 'notify.allow_destinations': {}", c.source(), a.error().message));
  }
  o.notify.workers = c.get<int>("notify.workers", o.notify.workers);
  o.notify.per_destination = c.get<int>("notify.per_destination", o.notify.per_destination);
  if (auto st = check_notify_options(o.notify); !st.ok()) {
    throw core::ConfigError(fmt::format("{}: {}", c.source(), st.error().message));
  }
  o.login_attempts_per_minute =
      c.get<int64_t>("server.login_attempts_per_minute", o.login_attempts_per_minute);
  o.enroll_attempts_per_minute =
      c.get<int64_t>("server.enroll_attempts_per_minute", o.enroll_attempts_per_minute);
  o.password_hash_threads = c.get<int>("server.password_hash_threads", o.password_hash_threads);
  if (o.password_hash_threads < 1 || o.password_hash_threads > 64) {
    throw core::ConfigError(
        fmt::format("{}: key 'server.password_hash_threads': must be 1 to 64, got {}", c.source(),
                    o.password_hash_threads));
  }
  o.password_hash_queue = c.get<int64_t>("server.password_hash_queue", o.password_hash_queue);
  if (o.password_hash_queue < 0 || o.password_hash_queue > 100000) {
    throw core::ConfigError(
        fmt::format("{}: key 'server.password_hash_queue': must be 0 to 100000, got {}", c.source(),
                    o.password_hash_queue));
  }
  auto& d = o.desk;
  d.hours = c.get<std::string>("desk.hours", d.hours);
  if (c.has("desk.closures")) d.closures = c.list("desk.closures", {});
  d.mail_enabled = c.get<bool>("desk.mail_enabled", d.mail_enabled);
  d.mail_listen = c.get<std::string>("desk.mail_listen", d.mail_listen);
  const int mail_port = c.get<int>("desk.mail_port", d.mail_port);
  if (mail_port < 0 || mail_port > 65535) {
    throw core::ConfigError(
        fmt::format("{}: key 'desk.mail_port': {} is not a TCP port", c.source(), mail_port));
  }
  d.mail_port = static_cast<uint16_t>(mail_port);
  d.address = c.get<std::string>("desk.address", d.address);
  d.max_mail_bytes = c.get<int64_t>("desk.max_mail_bytes", d.max_mail_bytes);
  d.max_attachment_bytes = c.get<int64_t>("desk.max_attachment_bytes", d.max_attachment_bytes);
  d.max_attachments = c.get<int64_t>("desk.max_attachments", d.max_attachments);
  d.session_timeout_s = c.get<int64_t>("desk.session_timeout_s", d.session_timeout_s);
  if (auto st = check_desk_options(d); !st.ok()) {
    throw core::ConfigError(fmt::format("{}: {}", c.source(), st.error().message));
  }
  auto& dp = o.dispatch;
  dp.onsite_hours = c.get<int64_t>("dispatch.onsite_hours", dp.onsite_hours);
  dp.max_evidence_bytes = c.get<int64_t>("dispatch.max_evidence_bytes", dp.max_evidence_bytes);
  dp.max_evidence_files = c.get<int64_t>("dispatch.max_evidence_files", dp.max_evidence_files);
  if (auto st = check_dispatch_options(dp); !st.ok()) {
    throw core::ConfigError(fmt::format("{}: {}", c.source(), st.error().message));
  }
  auto& s = o.store;
  s.url = c.get<std::string>("store.url", "sqlite:" + o.data_dir);
  s.connections = c.get<int>("store.connections", s.connections);
  s.ingest_queue_events = c.get<int64_t>("store.ingest_queue_events", s.ingest_queue_events);
  s.ingest_group_events = c.get<int64_t>("store.ingest_group_events", s.ingest_group_events);
  s.ingest_writers = c.get<int>("store.ingest_writers", s.ingest_writers);
  s.enrollment_ttl_s = c.get<int64_t>("store.enrollment_ttl_s", s.enrollment_ttl_s);
  s.heartbeat_interval_s = c.get<int64_t>("store.heartbeat_interval_s", s.heartbeat_interval_s);
  s.heartbeat_limit_s = c.get<int64_t>("store.heartbeat_limit_s", s.heartbeat_limit_s);
  s.alert_window_s = c.get<int64_t>("store.alert_window_s", s.alert_window_s);
  s.incident_window_s = c.get<int64_t>("store.incident_window_s", s.incident_window_s);
  s.login_max_failures = c.get<int64_t>("store.login_max_failures", s.login_max_failures);
  s.login_lock_s = c.get<int64_t>("store.login_lock_s", s.login_lock_s);
  s.login_failure_window_s =
      c.get<int64_t>("store.login_failure_window_s", s.login_failure_window_s);
  s.sqlite_synchronous = c.get<std::string>("store.sqlite_synchronous", s.sqlite_synchronous);
  s.prepared_statements = c.get<int>("store.prepared_statements", s.prepared_statements);
  s.reconnect_max_ms = c.get<int64_t>("store.reconnect_max_ms", s.reconnect_max_ms);
  s.secret_key_file = c.get<std::string>(
      "server.secret_key_file", (std::filesystem::path(o.data_dir) / "secret.key").string());
  if (s.secret_key_file.empty()) {
    throw core::ConfigError(fmt::format(
        "{}: key 'server.secret_key_file': must name the key file that seals stored secrets",
        c.source()));
  }
  load_retention_options(c, s.retention);
  for (auto [key, v] : {std::pair{"store.ingest_queue_events", s.ingest_queue_events},
                        {"store.heartbeat_limit_s", s.heartbeat_limit_s},
                        {"store.alert_window_s", s.alert_window_s},
                        {"store.incident_window_s", s.incident_window_s},
                        {"store.login_max_failures", s.login_max_failures},
                        {"store.login_lock_s", s.login_lock_s},
                        {"store.login_failure_window_s", s.login_failure_window_s}}) {
    if (v <= 0) {
      throw core::ConfigError(
          fmt::format("{}: key '{}': must be a positive number, got {}", c.source(), key, v));
    }
  }
  return o;
}

}  // namespace mimamori::server
