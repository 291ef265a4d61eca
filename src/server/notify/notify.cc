// Notification delivery over libcurl: SMTP for e-mail, HTTPS POST for webhooks, Slack, Teams
// and LINE. At-least-once: the receiver deduplicates on the idempotency key we send.

#include "notify/notify.h"

#include <curl/curl.h>
#include <sodium.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <ctime>
#include <mutex>

#include "mimamori/core/log.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

// The payloads' JSON text (Boost.JSON's serialisation, as everywhere in the server).
std::string to_text(const json::object& o) { return json::serialize(o); }

std::string base64(std::string_view s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string rfc5322_date(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

size_t collect(char* ptr, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() < 4096) s->append(ptr, std::min(size * n, 4096 - s->size()));
  return size * n;
}

struct ReadState {
  std::string_view data;
  size_t pos = 0;
};

size_t feed(char* buf, size_t size, size_t n, void* user) {
  auto* st = static_cast<ReadState*>(user);
  size_t k = std::min(size * n, st->data.size() - st->pos);
  std::memcpy(buf, st->data.data() + st->pos, k);
  st->pos += k;
  return k;
}

core::Status post(const OutboundHttp& r, int64_t timeout_s) {
  CURL* c = curl_easy_init();
  if (!c) return core::make_error("curl: cannot create a handle");
  curl_slist* hs = nullptr;
  for (const auto& h : r.headers) hs = curl_slist_append(hs, h.c_str());
  std::string reply;
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_s));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) return core::make_error("POST {}: {}", r.url, curl_easy_strerror(rc));
  if (status < 200 || status >= 300) {
    return core::make_error("POST {}: HTTP {}: {}", r.url, status, reply.substr(0, 200));
  }
  return {};
}

}  // namespace

OutboundHttp webhook_request(const OutboxMessage& m, int64_t unix_s) {
  OutboundHttp r;
  r.url = m.target;
  json::object o{{"id", m.id},
                 {"idempotency_key", m.idempotency_key},
                 {"customer_id", m.customer_id},
                 {"subject", m.subject},
                 {"body", m.body}};
  r.body = to_text(o);
  r.headers = {"Content-Type: application/json", "Idempotency-Key: " + m.idempotency_key,
               fmt::format("X-Mimamori-Timestamp: {}", unix_s),
               "X-Mimamori-Signature: sha256=" +
                   hmac_sha256_hex(m.secret, fmt::format("{}.{}", unix_s, r.body))};
  return r;
}

OutboundHttp slack_request(const OutboxMessage& m) {
  OutboundHttp r;
  r.url = m.target;
  r.body = to_text(json::object{{"text", m.subject + "\n" + m.body}});
  r.headers = {"Content-Type: application/json"};
  return r;
}

OutboundHttp teams_request(const OutboxMessage& m) {
  OutboundHttp r;
  r.url = m.target;
  json::object card{
      {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
      {"type", "AdaptiveCard"},
      {"version", "1.4"},
      {"body", json::array{json::object{{"type", "TextBlock"},
                                        {"text", m.subject},
                                        {"weight", "Bolder"},
                                        {"size", "Medium"},
                                        {"wrap", true}},
                           json::object{{"type", "TextBlock"}, {"text", m.body}, {"wrap", true}}}}};
  json::object msg{{"type", "message"},
                   {"attachments", json::array{json::object{
                                       {"contentType", "application/vnd.microsoft.card.adaptive"},
                                       {"contentUrl", nullptr},
                                       {"content", std::move(card)}}}}};
  r.body = to_text(msg);
  r.headers = {"Content-Type: application/json"};
  return r;
}

OutboundHttp line_request(const OutboxMessage& m, const std::string& push_url) {
  OutboundHttp r;
  r.url = push_url;
  // LINE limits a text message to 5000 characters; the body is far shorter.
  r.body = to_text(json::object{
      {"to", m.target},
      {"messages",
       json::array{json::object{{"type", "text"}, {"text", m.subject + "\n" + m.body}}}}});
  r.headers = {"Content-Type: application/json", "Authorization: Bearer " + m.secret};
  return r;
}

std::string email_message(const OutboxMessage& m, const std::string& from, int64_t unix_s) {
  std::string b64 = base64(m.body);
  std::string body;
  for (size_t i = 0; i < b64.size(); i += 76) body += b64.substr(i, 76) + "\r\n";
  return fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{}@mimamori>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: base64\r\nX-Mimamori-Idempotency-Key: {}\r\n\r\n{}",
      rfc5322_date(unix_s), from, m.target, base64(m.subject), m.id, m.idempotency_key, body);
}

Notifier::Notifier(NotifyOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}
Notifier::~Notifier() = default;

core::Status Notifier::send(const OutboxMessage& m, int64_t now) {
  const int64_t unix_s = now / 1000000;
  if (m.kind == "webhook") return post(webhook_request(m, unix_s), options_.timeout_s);
  if (m.kind == "slack") return post(slack_request(m), options_.timeout_s);
  if (m.kind == "teams") return post(teams_request(m), options_.timeout_s);
  if (m.kind == "line") return post(line_request(m, options_.line_push_url), options_.timeout_s);
  if (m.kind != "email") return core::make_error("unknown channel kind '{}'", m.kind);
  if (options_.smtp_url.empty()) return core::make_error("notify.smtp_url is not configured");
  CURL* c = curl_easy_init();
  if (!c) return core::make_error("curl: cannot create a handle");
  std::string msg = email_message(m, options_.smtp_from, unix_s);
  ReadState rs{msg};
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + m.target + ">").c_str());
  std::string from = "<" + options_.smtp_from + ">";
  curl_easy_setopt(c, CURLOPT_URL, options_.smtp_url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
  curl_easy_setopt(c, CURLOPT_READDATA, &rs);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout_s));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    return core::make_error("SMTP {} to {}: {}", options_.smtp_url, m.target,
                            curl_easy_strerror(rc));
  }
  return {};
}

int64_t Notifier::deliver_due(Store& store, int64_t now) {
  auto due = claim_outbox(store, now, 20);
  if (!due.ok()) {
    spdlog::warn("outbox: {}", due.error().message);
    return 0;
  }
  int64_t sent = 0;
  for (const auto& m : *due) {
    auto st = send(m, now);
    if (!st.ok()) spdlog::warn("notification {} ({}): {}", m.id, m.kind, st.error().message);
    if (auto f = finish_outbox(store, m.id, st.ok(), st.ok() ? "" : st.error().message, now);
        !f.ok()) {
      spdlog::warn("outbox: {}", f.error().message);
    }
    sent += st.ok();
  }
  return sent;
}

}  // namespace mimamori::server
