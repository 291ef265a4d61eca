#pragma once
// The desk (相談窓口): tickets from the portal and by e-mail, replies and internal notes, SLA
// clocks on the business calendar, attachments, the triage inbox of mail from unknown senders,
// and the inbound LMTP/SMTP listener. Functions over the store, tenant-scoped through
// Store::allow and audited like incidents. The folder-level header of desk/.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "desk/calendar.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// The categories of the registration standard's 相談窓口, in its order.
inline constexpr std::string_view kDeskCategories[] = {
    "サービス内容", "価格", "申込方法", "導入・設置の支援", "セキュリティの相談", "その他"};
/// low, normal, high, urgent.
inline constexpr std::string_view kDeskPriorities[] = {"low", "normal", "high", "urgent"};

/// One file of a message (`data` only when read for download or while being stored).
struct DeskAttachment {
  std::string id, ticket_id, message_id, customer_id, filename, content_type, sniffed_type, sha256,
      data;
  int64_t size = 0, created_at = 0;
};

/// A reply (public: the customer sees it) or an internal note of a ticket.
struct DeskMessage {
  std::string id, ticket_id, customer_id, author, author_kind, visibility, body, via,
      mail_message_id;  ///< author_kind: customer, desk, system; via: portal, email, api
  int64_t at = 0;
  std::vector<DeskAttachment> attachments;
};

/// A ticket. status: open, waiting_customer, resolved, closed.
struct DeskTicket {
  std::string id, customer_id, subject, category, priority, status, assignee, requester_email,
      requester_name, source, created_by, sla_notified;
  bool security = false;
  int64_t created_at = 0, updated_at = 0, first_response_at = 0, resolved_at = 0, closed_at = 0,
          waiting_since = 0;
  std::vector<SlaPause> pauses;  ///< finished waits on the customer, oldest first
  /// The SLA terms of the plan of the customer's active contract (the defaults without one).
  SlaTerms terms;
};

/// A new ticket.
struct NewTicket {
  std::string customer_id, subject, body, category = "その他", priority = "normal";
  bool security = false;
  std::string requester_email, requester_name;  ///< empty: the acting user's
  std::string source = "portal";                ///< portal, email, desk
  std::string mail_message_id;
  std::vector<DeskAttachment> attachments;  ///< with data
};

/// Filters of a ticket listing.
struct TicketQuery {
  std::string customer_id, status, category, assignee;
  int64_t limit = 100, offset = 0;
};

/// A change to a ticket: reply, note, assign, priority, category, wait, resolve, close, reopen.
struct TicketChange {
  std::string action, text;
  std::string via = "api";
  std::string mail_message_id;              ///< reply by e-mail: the mail's Message-ID
  std::vector<DeskAttachment> attachments;  ///< reply by e-mail: its files, with data
};

/// The two clocks of a ticket read at one moment.
struct TicketSla {
  SlaClock first_response, resolution;
  SlaReading first_response_reading, resolution_reading;
};

/// Opens a ticket (customer roles for their own organisation; provider_admin, analyst, desk for
/// any); the first message is its body. Audited; the provider's channels are told.
Result<DeskTicket> create_ticket(Store& store, const Principal& p, const DeskOptions& options,
                                 NewTicket t);
/// Tickets visible to `p`, newest first.
Result<std::vector<DeskTicket>> list_tickets(Store& store, const Principal& p,
                                             const TicketQuery& q);
/// One ticket.
Result<DeskTicket> get_ticket(Store& store, const Principal& p, std::string_view id);
/// Its messages, oldest first (internal notes only for provider roles), with attachments.
Result<std::vector<DeskMessage>> ticket_messages(Store& store, const Principal& p,
                                                 std::string_view id);
/// One attachment with its data.
Result<DeskAttachment> get_attachment(Store& store, const Principal& p, std::string_view ticket_id,
                                      std::string_view attachment_id);
/// Changes a ticket (see TicketChange); audited. A desk reply is mailed to the requester,
/// threaded; a customer's reply ends a wait and reopens a resolved or closed ticket.
Result<DeskTicket> change_ticket(Store& store, const Principal& p, const DeskOptions& options,
                                 std::string_view id, const TicketChange& change);
/// The SLA clocks of a ticket on `calendar` at `now`.
TicketSla ticket_sla(const DeskTicket& t, const BusinessCalendar& calendar, int64_t now);
/// The business calendar of the options (hours and closures checked when the options were read).
BusinessCalendar desk_calendar(const DeskOptions& options);
/// Reads and checks the desk's calendar keys; the error names the key.
core::Status check_desk_options(const DeskOptions& options);

/// Queues SLA warnings and breaches of open tickets to the provider's channels (once per
/// ticket, clock and state); returns how many notices were queued.
Result<int64_t> check_desk_sla(Store& store, const DeskOptions& options, int64_t now);

// --- canned answers (FAQ) ------------------------------------------------------------------

/// A canned answer of the desk: provider-wide, written by provider_admin and desk; the public
/// ones are shown to customers in the portal.
struct FaqEntry {
  std::string id, question, answer, category = "その他";
  bool is_public = false;
  std::vector<std::string> tags;
  std::string created_by, updated_by;
  int64_t created_at = 0, updated_at = 0;
};

/// Text folded for search: full-width ASCII and the ideographic space to ASCII, ASCII lowered.
std::string faq_fold(std::string_view text);
/// Entries matching every whitespace-separated term of `q` as a substring (folded) of the
/// question, answer, category or a tag; entries whose question holds more of the terms first,
/// then the newest. Customer roles see public entries only. `category` filters when given.
Result<std::vector<FaqEntry>> search_faq(Store& store, const Principal& p, std::string_view q,
                                         std::string_view category, int64_t limit);
/// One entry (a customer role asking for a non-public one gets 404, audited).
Result<FaqEntry> get_faq(Store& store, const Principal& p, std::string_view id);
/// Creates an entry (provider_admin, desk); checked (what is wrong, which member); audited.
Result<FaqEntry> create_faq(Store& store, const Principal& p, FaqEntry e);
/// Replaces an entry's contents (provider_admin, desk); audited.
Result<FaqEntry> update_faq(Store& store, const Principal& p, std::string_view id, FaqEntry e);
/// Deletes an entry (provider_admin, desk); audited.
Status delete_faq(Store& store, const Principal& p, std::string_view id);

/// What libmagic says the bytes are (application/octet-stream when it cannot tell); used for
/// desk attachments and dispatch evidence alike.
std::string sniff_file_type(std::string_view data);
/// Queues a notice to the provider's own channels whose minimum severity it reaches, once per
/// `key` and channel (outbox idempotency key `desk:<key>:<channel>`), inside `tx`; the desk's
/// SLA warnings and the dispatch's late-arrival warnings go this way.
Status queue_provider_notice(SqlTx& tx, std::string_view customer_id, std::string_view key,
                             std::string_view severity, std::string_view subject,
                             std::string_view body, int64_t now);

// --- mail -------------------------------------------------------------------------------

/// A mail as the desk reads it (GMime): text in UTF-8 whatever its charset and encoding.
struct ParsedMail {
  std::string from_address, from_name, subject, body, message_id;
  std::vector<std::string> references;  ///< In-Reply-To and References, message ids with <>
  std::vector<DeskAttachment> attachments;
};
/// Parses a mail; an error (code 400) says what is wrong; limits of `options` are enforced
/// (code 552: too large, too many attachments).
Result<ParsedMail> parse_mail(std::string_view raw, const DeskOptions& options);

/// What became of an accepted mail.
struct MailOutcome {
  std::string kind;  ///< ticket (a new one), reply (to an existing one), triage (unknown sender)
  std::string id;    ///< the ticket's or the inbox entry's id
};
/// Takes one inbound mail: a reply (by In-Reply-To/References, or [#tkt_…] in the subject) to
/// a ticket of the sender's customer, a new ticket of the sender's customer, or the triage
/// inbox when the sender is no user of any customer.
Result<MailOutcome> accept_mail(Store& store, const DeskOptions& options, std::string_view raw);

/// A mail of the triage inbox.
struct InboxMail {
  std::string id, from_address, from_name, subject, body, mail_message_id, status, ticket_id;
  int64_t received_at = 0, attachments = 0;
};
/// The triage inbox (provider_admin, analyst, desk), newest first; `status` new or assigned.
Result<std::vector<InboxMail>> list_inbox(Store& store, const Principal& p,
                                          std::string_view status);
/// Makes a ticket of `customer_id` from an inbox mail (its attachments included); audited.
Result<DeskTicket> assign_inbox_mail(Store& store, const Principal& p, const DeskOptions& options,
                                     std::string_view inbox_id, std::string_view customer_id);

/// The inbound listener: LMTP (RFC 2033) or plain SMTP (the greeting decides: LHLO or
/// EHLO/HELO) on one address, one thread, sessions one after another with a time limit each.
/// Each accepted mail gets its own answer; a refused one (too large, malformed) a 5xx reply
/// that says why, which the provider's mail server turns into a bounce.
class MailListener {
 public:
  MailListener(Store& store, DeskOptions options);
  ~MailListener();
  MailListener(const MailListener&) = delete;
  MailListener& operator=(const MailListener&) = delete;
  /// Binds and starts the thread.
  core::Status start();
  /// The bound port.
  uint16_t port() const { return port_; }
  void stop();

 private:
  void run();
  void session(int fd);
  Store& store_;
  DeskOptions options_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mimamori::server
