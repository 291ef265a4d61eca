// Notification delivery through core's HTTP client: SMTP for e-mail, HTTPS POST for webhooks,
// Slack, Teams// and LINE. At-least-once: the receiver deduplicates on the idempotency key we send.

#include "notify/notify.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstring>
#include <ctime>

#include "mimamori/core/http_client.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

// The payloads' JSON text (Boost.JSON's serialisation, as everywhere in the server).
std::string to_text(const json::object& o) { return json::serialize(o); }

// A header value we compose from stored text: never anything that could end the line.
std::string header_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
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

// A receiver's answer is read only to judge it: at most this much is kept.
constexpr std::size_t kMaxReply = 1 << 20;

// Where notifications may connect: public addresses and what the provider allows (the
// configured SMTP relay, usually on a private address, among them for mail).
core::Result<core::DestinationPolicy> destinations(const NotifyOptions& o,
                                                   std::string_view relay_url = {}) {
  auto p = core::DestinationPolicy::parse(o.allow_destinations, "notify.allow_destinations");
  if (!p.ok()) return core::make_error("notify.allow_destinations: {}", p.error().message);
  if (!relay_url.empty()) {
    if (auto h = core::url_host(relay_url); !h.empty()) {
      if (auto a = p->allow(h); !a.ok()) return a.error();
    }
  }
  return p;
}

// A short reason for a receiver's status; its body is never kept (it is the receiver's text,
// shown to whoever reads the outbox, and may echo anything).
std::string_view status_reason(long status) {
  if (status >= 300 && status < 400) return "a redirect, which is not followed";
  if (status == 401 || status == 403) return "the receiver refused the credentials";
  if (status == 404 || status == 410) return "no such receiver";
  if (status == 429) return "the receiver is rate-limiting";
  if (status >= 400 && status < 500) return "the receiver refused the request";
  if (status >= 500) return "the receiver failed";
  return "not a success";
}

core::Status post(const OutboundHttp& r, const NotifyOptions& options) {
  auto policy = destinations(options);
  if (!policy.ok()) return policy.error();
  core::HttpClientOptions o;
  o.protocols = "http,https";
  o.connect_timeout_s = 0;
  o.timeout_s = static_cast<long>(options.timeout_s);
  o.max_response_bytes = kMaxReply;
  o.follow_redirects = false;
  o.destinations = std::move(*policy);
  core::HttpClient client(std::move(o));
  // Errors name the receiver's host, not its URL: a webhook URL's path is often its secret.
  std::string host = core::url_host(r.url);
  auto answer = client.send({"POST", r.url, r.headers, r.body});
  if (!answer.ok()) {
    std::string why = answer.error().message;
    std::string prefix = "POST " + core::redact_url(r.url) + ": ";
    if (why.starts_with(prefix)) why.erase(0, prefix.size());
    return core::make_error("POST to {}: {}", host, why);
  }
  if (answer->status < 200 || answer->status >= 300) {
    return core::make_error("HTTP {} from {}: {}", answer->status, host,
                            status_reason(answer->status));
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
  // The whole text escaped: device text never forms a mention, a link or a control sequence;
  // no unfurled previews either.
  r.body = to_text(json::object{{"text", slack_text(m.subject + "\n" + m.body)},
                                {"unfurl_links", false},
                                {"unfurl_media", false}});
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
      {"body",
       json::array{
           json::object{{"type", "TextBlock"},
                        {"text", teams_text(m.subject, kMaxSubjectChars)},
                        {"weight", "Bolder"},
                        {"size", "Medium"},
                        {"wrap", true}},
           json::object{{"type", "TextBlock"}, {"text", teams_text(m.body)}, {"wrap", true}}}}};
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
  // LINE limits a text message to 5000 characters (line_text's cap).
  r.body = to_text(json::object{
      {"to", m.target},
      {"messages", json::array{json::object{{"type", "text"},
                                            {"text", line_text(m.subject + "\n" + m.body)}}}}});
  r.headers = {"Content-Type: application/json", "Authorization: Bearer " + m.secret};
  return r;
}

std::string email_message(const OutboxMessage& m, const std::string& from, int64_t unix_s) {
  // Plain text only (no HTML part): no control character but the newline, capped.
  std::string b64 = core::base64(mail_text(m.body));
  std::string body;
  for (size_t i = 0; i < b64.size(); i += 76) body += b64.substr(i, 76) + "\r\n";
  // A reply of the desk: threaded under the mails before it, answers go to the desk's address.
  std::string thread;
  if (!m.mail_reply_to.empty() && check_mailbox(m.mail_reply_to).ok()) {
    thread += fmt::format("Reply-To: {}\r\n", header_value(m.mail_reply_to));
  }
  if (!m.mail_references.empty()) {
    std::string refs = header_value(m.mail_references);
    auto last = refs.rfind(' ');
    thread += fmt::format("In-Reply-To: {}\r\nReferences: {}\r\n",
                          last == std::string::npos ? refs : refs.substr(last + 1), refs);
  }
  const std::string head = fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{}@mimamori>\r\n{}"
      "MIME-Version: 1.0\r\nX-Mimamori-Idempotency-Key: {}\r\n",
      rfc5322_date(unix_s), header_value(from), header_value(m.target),
      encode_header_text(cap_chars(plain_text(m.subject), kMaxSubjectChars)), header_value(m.id),
      thread, header_value(m.idempotency_key));
  if (m.attachment_name.empty()) {
    return head +
           "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: "
           "base64\r\n\r\n" +
           body;
  }
  // multipart/mixed: the text, then the one attachment (a file name of ours: ASCII letters,
  // digits, '-', '_' and '.' only; anything else becomes '_'). The boundary cannot occur in
  // base64.
  std::string name = m.attachment_name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  std::string type =
      header_value(m.attachment_type.empty() ? "application/octet-stream" : m.attachment_type);
  std::string data;
  for (size_t i = 0; i < m.attachment_base64.size(); i += 76) {
    data += m.attachment_base64.substr(i, 76) + "\r\n";
  }
  const std::string boundary = fmt::format("=_mimamori_{}", header_value(m.id));
  return head +
         fmt::format(
             "Content-Type: multipart/mixed; boundary=\"{0}\"\r\n\r\n"
             "This is a MIME message.\r\n--{0}\r\n"
             "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n"
             "\r\n{1}--{0}\r\nContent-Type: {2}; name=\"{3}\"\r\n"
             "Content-Disposition: attachment; filename=\"{3}\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n{4}--{0}--\r\n",
             boundary, body, type, name, data);
}

Notifier::Notifier(NotifyOptions options) : options_(std::move(options)) {}
Notifier::~Notifier() = default;

core::Status Notifier::send(const OutboxMessage& m, int64_t now) {
  const int64_t unix_s = now / 1000000;
  if (m.kind == "webhook") return post(webhook_request(m, unix_s), options_);
  if (m.kind == "slack") return post(slack_request(m), options_);
  if (m.kind == "teams") return post(teams_request(m), options_);
  if (m.kind == "line") return post(line_request(m, options_.line_push_url), options_);
  if (m.kind != "email") return core::make_error("unknown channel kind '{}'", m.kind);
  if (options_.smtp_url.empty()) return core::make_error("notify.smtp_url is not configured");
  // Checked again here, not only when the channel was saved: neither a row stored before that
  // check nor an on-call user's address may reach RCPT TO or a header unchecked.
  if (auto a = check_mailbox(m.target); !a.ok()) {
    return core::make_error_code(kUndeliverable, "e-mail not sent: the target is {}",
                                 a.error().message);
  }
  if (auto a = check_mailbox(options_.smtp_from); !a.ok()) {
    return core::make_error("e-mail not sent: notify.smtp_from is {}", a.error().message);
  }
  std::string msg = email_message(m, options_.smtp_from, unix_s);
  core::HttpClientOptions o;
  o.protocols = "smtp,smtps";
  o.connect_timeout_s = 0;
  o.timeout_s = static_cast<long>(options_.timeout_s);
  auto policy = destinations(options_, options_.smtp_url);
  if (!policy.ok()) return policy.error();
  o.destinations = std::move(*policy);
  core::HttpClient client(std::move(o));
  auto sent = client.send_mail(
      {options_.smtp_url, "<" + options_.smtp_from + ">", {"<" + m.target + ">"}, msg});
  if (!sent.ok()) {
    return core::make_error("SMTP {} to {}: {}", core::redact_url(options_.smtp_url), m.target,
                            sent.error().message);
  }
  return {};
}

}  // namespace mimamori::server
