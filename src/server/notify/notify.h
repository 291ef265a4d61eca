#pragma once
// Notifications: what is queued in the outbox (incident messages, escalation along the on-call
// rotation; functions over a transaction or the store), payload builders per channel kind
// (pure, unit-tested) and the Notifier that claims due outbox messages and sends them with
// libcurl. The folder-level header of notify/: other folders include this one.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"
#include "notify/address.h"
#include "notify/format.h"
#include "store/sql.h"

namespace mimamori::server {

// --- channels, on-call rotation, outbox rows (tenant-scoped through Store::allow) --------
/// Creates a channel of a customer (provider_admin or that customer's admin) or, without a
/// customer, of the provider (provider_admin); audited.
Result<Channel> create_channel(Store& store, const Principal& p, Channel channel);
/// Channels visible to `p` (of one customer when given).
Result<std::vector<Channel>> list_channels(Store& store, const Principal& p,
                                           std::string_view customer_id);
/// Deletes a channel; audited.
Status delete_channel(Store& store, const Principal& p, std::string_view id);
/// Replaces the on-call rotation (provider users only); provider_admin; audited.
Result<std::vector<OnCallEntry>> set_oncall(Store& store, const Principal& p,
                                            const std::vector<OnCallEntry>& rotation);
/// The on-call rotation, in order; provider roles.
Result<std::vector<OnCallEntry>> list_oncall(Store& store, const Principal& p);
/// Outbox messages visible to `p`, newest first, without their secrets.
Result<std::vector<OutboxMessage>> list_outbox(Store& store, const Principal& p,
                                               std::string_view customer_id, int64_t limit);
/// Number of outbox messages per status (pending, sending, sent, failed), for /metrics.
Result<std::vector<std::pair<std::string, int64_t>>> outbox_counts(Store& store);
/// Claims up to `n` due messages (SKIP LOCKED on PostgreSQL) and marks them sending.
Result<std::vector<OutboxMessage>> claim_outbox(Store& store, int64_t now, int64_t n);
/// Records the outcome of one delivery attempt (retry with backoff, or give up; at once when
/// `permanent`: the message itself can never be sent).
Status finish_outbox(Store& store, std::string_view id, bool ok, std::string_view error,
                     int64_t now, bool permanent = false);

// --- what is queued, and when ---------------------------------------------------------
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
/// RFC 5322 message (UTF-8 subject encoded per RFC 2047, body base64); `m.target` and `from`
/// must have passed check_mailbox (header values lose any control character regardless).
std::string email_message(const OutboxMessage& m, const std::string& from, int64_t unix_s);

/// Sends due outbox messages.
class Notifier {
 public:
  explicit Notifier(NotifyOptions options);
  ~Notifier();
  /// Claims due messages and tries each once; returns how many were sent.
  int64_t deliver_due(Store& store, int64_t now);
  /// Sends one message; an error says why (HTTP status, SMTP reply, connection failure). An
  /// error with code kUndeliverable means the message itself is bad (an e-mail target that is
  /// not an address) and no retry will send it.
  core::Status send(const OutboxMessage& m, int64_t now);
  static constexpr int kUndeliverable = 422;

 private:
  NotifyOptions options_;
};

}  // namespace mimamori::server
