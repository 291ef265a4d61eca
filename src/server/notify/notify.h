#pragma once
// Notifications: what is queued in the outbox (incident messages, escalation along the on-call
// rotation; functions over a transaction or the store), payload builders per channel kind
// (pure, unit-tested) and the Notifier that claims due outbox messages and sends them with
// libcurl. The folder-level header of notify/: other folders include this one.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mail_address.h"
#include "mimamori/core/result.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"
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
/// Whether to claim a due message, given those claimed before it in the same call.
using OutboxFilter =
    std::function<bool(const OutboxMessage& m, const std::vector<OutboxMessage>& taken)>;
/// Claims up to `n` due messages (SKIP LOCKED on PostgreSQL) and marks them sending, oldest
/// first; with `accept`, among the first max(n, scan) due, only those it accepts (the others
/// stay pending, untouched).
Result<std::vector<OutboxMessage>> claim_outbox(Store& store, int64_t now, int64_t n,
                                                const OutboxFilter& accept = {}, int64_t scan = 0);
/// Gives a claimed message back unsent (its attempt not counted), due at once: for messages
/// claimed but never begun when delivery stops.
Status release_outbox(Store& store, std::string_view id, int64_t now);
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
  /// Claims due messages and tries each once, one after another on the calling thread (tests
  /// and tools; the server delivers on a DeliveryPool); returns how many were sent.
  int64_t deliver_due(Store& store, int64_t now);
  /// Tries one claimed message and records the outcome (sent, retry with backoff, failed).
  bool deliver(Store& store, const OutboxMessage& m);
  /// Sends one message; an error says why (HTTP status, SMTP reply, connection failure). An
  /// error with code kUndeliverable means the message itself is bad (an e-mail target that is
  /// not an address) and no retry will send it.
  core::Status send(const OutboxMessage& m, int64_t now);
  static constexpr int kUndeliverable = 422;

 private:
  NotifyOptions options_;
};

/// What a per-destination limit counts: "host:port" of the URL a message is posted to
/// (lower-case, the scheme's port when none is given; the LINE push URL for LINE) or "smtp "
/// and the relay's for e-mail; empty when the URL has no host.
std::string delivery_destination(const OutboxMessage& m, const NotifyOptions& options);
/// "host:port" of an http(s)/smtp(s) URL (user information dropped, IPv6 in brackets); empty
/// when there is none.
std::string url_destination(std::string_view url);

/// Delivers the outbox on a bounded pool: `options.workers` threads send, at most
/// `options.per_destination` messages are in flight to one destination, and each send is bounded
/// by `options.timeout_s`; a dispatcher thread claims due messages only for destinations with
/// room, so a destination that hangs holds at most its own share of the workers and never
/// delays another's messages (nor the caller's own cadence: nothing here blocks the caller).
class DeliveryPool {
 public:
  /// Starts the dispatcher and the workers; the dispatcher looks for due messages every
  /// `interval_ms`, and sooner after wake() or when a worker frees.
  DeliveryPool(Store& store, NotifyOptions options, int64_t interval_ms);
  /// stop().
  ~DeliveryPool();
  DeliveryPool(const DeliveryPool&) = delete;
  DeliveryPool& operator=(const DeliveryPool&) = delete;
  /// A message may be due now.
  void wake();
  /// Stops claiming; messages claimed but not begun go back to pending (release_outbox);
  /// sends in flight finish (each within timeout_s) and are recorded. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimamori::server
