#pragma once
// Notifications: what is queued in the outbox (incident messages, escalation along the on-call
// rotation; functions over a transaction or the store), payload builders per channel kind
// (pure, unit-tested) and the Notifier that claims due outbox messages and sends them with
// libcurl. The folder-level header of notify/: other folders include this one.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// Queues the "opened" message of a new incident for the customer's channels and the
/// provider's whose minimum severity it reaches: one message per incident and channel.
Status enqueue_incident_notifications(SqlTx& tx, std::string_view customer_id,
                                      std::string_view incident_id, std::string_view severity,
                                      std::string_view subject, std::string_view body, int64_t now);
/// Escalates unacknowledged critical incidents older than `after_s` per level to the next
/// on-call person; returns how many were escalated.
Result<int64_t> escalate(Store& store, int64_t now, int64_t after_s);

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
