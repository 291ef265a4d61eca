#pragma once
// Notification delivery: payload builders per channel kind (pure, unit-tested) and the
// Notifier that claims due outbox messages and sends them with libcurl.

#include <string>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// An HTTP request to make for one message.
struct OutboundHttp {
  std::string url, body;
  std::vector<std::string> headers;  ///< "Name: value"
};

/// Generic webhook: JSON with an HMAC-SHA256 signature over "timestamp.body".
OutboundHttp webhook_request(const OutboxMessage& m, int64_t unix_s);
/// Slack incoming webhook: {"text": …}.
OutboundHttp slack_request(const OutboxMessage& m);
/// Microsoft Teams Workflows webhook with an Adaptive Card.
OutboundHttp teams_request(const OutboxMessage& m);
/// LINE Messaging API push to the recipient in `target`, channel token in `secret`.
OutboundHttp line_request(const OutboxMessage& m, const std::string& push_url);
/// RFC 5322 message (UTF-8 subject encoded per RFC 2047, body base64).
std::string email_message(const OutboxMessage& m, const std::string& from, int64_t unix_s);

/// Sends due outbox messages.
class Notifier {
 public:
  explicit Notifier(NotifyOptions options);
  ~Notifier();
  /// Claims due messages and tries each once; returns how many were sent.
  int64_t deliver_due(Store& store, int64_t now);
  /// Sends one message; an error says why (HTTP status, SMTP reply, connection failure).
  core::Status send(const OutboxMessage& m, int64_t now);

 private:
  NotifyOptions options_;
};

}  // namespace mimamori::server
