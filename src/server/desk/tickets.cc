// Desk tickets: opening, reading, replies and internal notes, handling, SLA clocks and their
// notices, attachments. Every function checks the acting principal with Store::allow.

#include <magic.h>

#include <algorithm>
#include <optional>
#include <span>

#include "desk/desk.h"
#include "mail_address.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/text.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kTicketColumns =
    "id, customer_id, subject, category, priority, status, security, COALESCE(assignee, ''), "
    "requester_email, requester_name, source, created_by, created_at, updated_at, "
    "first_response_at, resolved_at, closed_at, waiting_since, sla_notified";

DeskTicket ticket_from(const SqlRows& r, size_t i) {
  DeskTicket t;
  t.id = r.str(i, 0);
  t.customer_id = r.str(i, 1);
  t.subject = r.str(i, 2);
  t.category = r.str(i, 3);
  t.priority = r.str(i, 4);
  t.status = r.str(i, 5);
  t.security = r.i64(i, 6) != 0;
  t.assignee = r.str(i, 7);
  t.requester_email = r.str(i, 8);
  t.requester_name = r.str(i, 9);
  t.source = r.str(i, 10);
  t.created_by = r.str(i, 11);
  t.created_at = r.i64(i, 12);
  t.updated_at = r.i64(i, 13);
  t.first_response_at = r.i64(i, 14);
  t.resolved_at = r.i64(i, 15);
  t.closed_at = r.i64(i, 16);
  t.waiting_since = r.i64(i, 17);
  t.sla_notified = r.str(i, 18);
  return t;
}

// The finished pauses of `tickets`, each ticket's oldest first.
Status load_pauses(SqlTx& tx, std::vector<DeskTicket>& tickets) {
  if (tickets.empty()) return {};
  std::string sql = "SELECT ticket_id, from_us, to_us FROM desk_pauses WHERE ticket_id IN (";
  std::vector<SqlParam> params;
  for (size_t i = 0; i < tickets.size(); ++i) {
    sql += fmt::format("{}${}", i ? ", " : "", i + 1);
    params.push_back(sp(tickets[i].id));
  }
  sql += ") ORDER BY ticket_id, from_us";
  auto r = tx.query(sql, params);
  if (!r.ok()) return r.error();
  for (size_t i = 0; i < r->size(); ++i) {
    for (auto& t : tickets) {
      if (t.id == r->str(i, 0)) t.pauses.push_back({r->i64(i, 1), r->i64(i, 2)});
    }
  }
  return {};
}

// The SLA terms of each ticket's customer: the plan of its newest active contract, else the
// defaults (also for a plan whose stored form no longer reads).
Status load_terms(SqlTx& tx, std::vector<DeskTicket>& tickets) {
  std::vector<std::pair<std::string, SlaTerms>> known;
  for (auto& t : tickets) {
    auto it = std::find_if(known.begin(), known.end(),
                           [&](const auto& k) { return k.first == t.customer_id; });
    if (it == known.end()) {
      SlaTerms terms;
      auto r = tx.q(
          "SELECT p.id, p.body FROM contracts c JOIN plans p ON p.id = c.plan_id WHERE "
          "c.customer_id = $1 AND c.status = 'active' ORDER BY c.created_at DESC, c.id LIMIT 1",
          {sp(t.customer_id)});
      if (!r.ok()) return r.error();
      if (!r->empty()) {
        auto plan = parse_plan_json(r->str(0, 1), fmt::format("plans row {}", r->str(0, 0)));
        if (plan.ok()) terms = sla_terms_for_plan(plan->desk_sla);
      }
      it = known.insert(known.end(), {t.customer_id, terms});
    }
    t.terms = it->second;
  }
  return {};
}

Result<DeskTicket> read_ticket(SqlTx& tx, std::string_view id) {
  auto r = tx.q(fmt::format("SELECT {} FROM desk_tickets WHERE id = $1", kTicketColumns), {sp(id)});
  if (!r.ok()) return r.error();
  if (r->empty()) return core::make_error_code(404, "ticket '{}' not found", id);
  std::vector<DeskTicket> one{ticket_from(*r, 0)};
  if (auto st = load_pauses(tx, one); !st.ok()) return st.error();
  if (auto st = load_terms(tx, one); !st.ok()) return st.error();
  return std::move(one[0]);
}

bool one_of(std::string_view v, std::span<const std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

std::string state_json(const DeskTicket& t) {
  std::string j = "{\"status\":";
  core::append_json_string(j, t.status);
  j += ",\"priority\":";
  core::append_json_string(j, t.priority);
  j += ",\"category\":";
  core::append_json_string(j, t.category);
  j += ",\"assignee\":";
  core::append_json_string(j, t.assignee);
  j += t.security ? ",\"security\":true}" : ",\"security\":false}";
  return j;
}

// What libmagic says the bytes are (application/octet-stream when it cannot tell).
std::string sniff_type(std::string_view data) {
  magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
  if (!m) return "application/octet-stream";
  std::string out = "application/octet-stream";
  if (magic_load(m, nullptr) == 0) {
    if (const char* t = magic_buffer(m, data.data(), data.size())) out = t;
  }
  magic_close(m);
  return out;
}

Status check_attachments(const std::vector<DeskAttachment>& files, const DeskOptions& o) {
  if (static_cast<int64_t>(files.size()) > o.max_attachments) {
    return core::make_error_code(413, "{} attachments: at most {} are taken per message",
                                 files.size(), o.max_attachments);
  }
  for (const auto& f : files) {
    if (static_cast<int64_t>(f.data.size()) > o.max_attachment_bytes) {
      return core::make_error_code(413, "attachment '{}' has {} bytes: at most {} are taken",
                                   f.filename, f.data.size(), o.max_attachment_bytes);
    }
  }
  return {};
}

// Stores the files of one message (type sniffed, SHA-256); `files` get their ids and hashes.
Status store_attachments(SqlTx& tx, std::string_view ticket_id, std::string_view message_id,
                         std::string_view customer_id, std::vector<DeskAttachment>& files,
                         int64_t now) {
  for (auto& f : files) {
    f.id = random_id("att");
    f.ticket_id = std::string(ticket_id);
    f.message_id = std::string(message_id);
    f.customer_id = std::string(customer_id);
    f.size = static_cast<int64_t>(f.data.size());
    f.sha256 = core::sha256_hex(f.data);
    f.sniffed_type = sniff_type(f.data);
    if (f.filename.empty()) f.filename = "attachment";
    if (f.content_type.empty()) f.content_type = "application/octet-stream";
    f.created_at = now;
    auto r = tx.q(
        "INSERT INTO desk_attachments (id, ticket_id, message_id, customer_id, filename, "
        "content_type, sniffed_type, size, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, "
        "$6, $7, $8, $9, $10, $11)",
        {sp(f.id), sp(ticket_id), sp(message_id), sp(customer_id), sp(f.filename),
         sp(f.content_type), sp(f.sniffed_type), sp(f.size), sp(f.sha256), sp(core::base64(f.data)),
         sp(now)});
    if (!r.ok()) return r.error();
  }
  return {};
}

Status insert_message(SqlTx& tx, const DeskMessage& m) {
  auto r = tx.q(
      "INSERT INTO desk_messages (id, ticket_id, customer_id, at, author, author_kind, "
      "visibility, body, via, mail_message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {sp(m.id), sp(m.ticket_id), sp(m.customer_id), sp(m.at), sp(m.author), sp(m.author_kind),
       sp(m.visibility), sp(m.body), sp(m.via), sp_or_null(m.mail_message_id)});
  if (!r.ok()) return r.error();
  return {};
}

// A notice to the provider's own channels (customer_id NULL) whose minimum severity it reaches,
// once per `key` and channel.
Status enqueue_provider_notice(SqlTx& tx, std::string_view customer_id, std::string_view key,
                               std::string_view severity, std::string_view subject,
                               std::string_view body, int64_t now) {
  auto ch = tx.q(
      "SELECT id, kind, target, COALESCE(secret, ''), min_severity FROM channels WHERE enabled "
      "= 1 AND customer_id IS NULL");
  if (!ch.ok()) return ch.error();
  for (size_t i = 0; i < ch->size(); ++i) {
    if (severity_rank(severity) < severity_rank(ch->str(i, 4))) continue;
    auto r = tx.q(
        "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, "
        "idempotency_key, subject, body, status, next_attempt_at, created_at) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) ON CONFLICT (idempotency_key) DO "
        "NOTHING",
        {sp(random_id("msg")), sp(customer_id), sp(ch->str(i, 0)), sp(ch->str(i, 1)),
         sp(ch->str(i, 2)), sp_or_null(ch->str(i, 3)),
         sp(fmt::format("desk:{}:{}", key, ch->str(i, 0))), sp(subject), sp(body), sp(now)});
    if (!r.ok()) return r.error();
  }
  return {};
}

// The desk's reply mailed to the requester, threaded under the ticket's earlier mails; returns
// the reply's Message-ID ("" when the requester has no address a mail can go to).
Result<std::string> enqueue_reply_mail(SqlTx& tx, const SecretBox& box, const DeskTicket& t,
                                       const DeskOptions& o, std::string_view text, int64_t now) {
  if (!check_mailbox(t.requester_email).ok()) return std::string();
  auto refs = tx.q(
      "SELECT mail_message_id FROM desk_messages WHERE ticket_id = $1 AND mail_message_id IS "
      "NOT NULL AND visibility = 'public' ORDER BY at, id",
      {sp(t.id)});
  if (!refs.ok()) return refs.error();
  std::string references;
  // The first mail and the last nine: enough for any reader to thread, bounded in length.
  for (size_t i = 0; i < refs->size(); ++i) {
    if (i != 0 && refs->size() > 10 && i < refs->size() - 9) continue;
    if (!references.empty()) references += ' ';
    references += refs->str(i, 0);
  }
  const std::string id = random_id("msg");
  auto target = box.seal_target("email", t.requester_email);
  if (!target.ok()) return target.error();
  std::string subject = t.subject;
  if (!subject.starts_with("Re:") && !subject.starts_with("RE:")) subject = "Re: " + subject;
  subject += fmt::format(" [#{}]", t.id);
  std::string body = fmt::format(
      "{}\n\n--\nお問い合わせ番号: "
      "{}\nこのメールにそのまま返信すると、お問い合わせに追記されます。\n",
      text, t.id);
  auto r = tx.q(
      "INSERT INTO outbox (id, customer_id, channel_id, kind, target, idempotency_key, subject, "
      "body, status, next_attempt_at, created_at, mail_reply_to, mail_references) VALUES ($1, "
      "$2, 'desk', 'email', $3, $4, $5, $6, 'pending', $7, $7, $8, $9)",
      {sp(id), sp(t.customer_id), sp(*target), sp(fmt::format("desk-reply:{}", id)), sp(subject),
       sp(body), sp(now), sp_or_null(check_mailbox(o.address).ok() ? o.address : ""),
       sp_or_null(references)});
  if (!r.ok()) return r.error();
  return fmt::format("<{}@mimamori>", id);
}

// Who the acting principal is on a message.
std::string author_kind(const Principal& p) {
  if (p.is_system) return "customer";  // mail from a customer's contact
  return is_provider_role(p.role) ? "desk" : "customer";
}

}  // namespace

BusinessCalendar desk_calendar(const DeskOptions& options) {
  CalendarOptions c;
  (void)parse_business_hours(options.hours, c);
  for (const auto& text : options.closures) {
    if (auto cl = parse_closure(text); cl.ok()) c.closures.push_back(*cl);
  }
  return BusinessCalendar(std::move(c));
}

core::Status check_desk_options(const DeskOptions& options) {
  CalendarOptions c;
  if (auto st = parse_business_hours(options.hours, c); !st.ok()) {
    return core::make_error("key 'desk.hours': {}", st.error().message);
  }
  for (const auto& text : options.closures) {
    if (auto cl = parse_closure(text); !cl.ok()) {
      return core::make_error("key 'desk.closures': '{}': {}", text, cl.error().message);
    }
  }
  if (auto a = check_mailbox(options.address); !a.ok()) {
    return core::make_error("key 'desk.address': {}", a.error().message);
  }
  if (options.max_attachments < 0 || options.max_attachment_bytes <= 0 ||
      options.max_mail_bytes <= 0 || options.session_timeout_s <= 0) {
    return core::make_error(
        "keys 'desk.max_attachments', 'desk.max_attachment_bytes', 'desk.max_mail_bytes' and "
        "'desk.session_timeout_s' must be positive");
  }
  return {};
}

TicketSla ticket_sla(const DeskTicket& t, const BusinessCalendar& calendar, int64_t now) {
  const SlaTerms& terms = t.terms;
  TicketSla s;
  std::vector<SlaPause> pauses = t.pauses;
  if (t.waiting_since != 0) pauses.push_back({t.waiting_since, 0});
  s.first_response.started_us = t.created_at;
  s.first_response.target = t.security ? terms.security_first_response : terms.first_response;
  s.first_response.pauses = pauses;
  s.first_response.stopped_us = t.first_response_at;
  s.resolution.started_us = t.created_at;
  s.resolution.target = t.security ? terms.security_resolution : terms.resolution;
  s.resolution.pauses = pauses;
  s.resolution.stopped_us = t.resolved_at;
  // The warning comes warn_before_s before the due time, but never before three quarters of a
  // short target have passed (a one-hour clock would otherwise warn at once).
  auto warn = [&](const SlaTarget& target) {
    return std::min(terms.warn_before_s, target.seconds / 4);
  };
  s.first_response_reading =
      read_sla(calendar, s.first_response, now, warn(s.first_response.target));
  s.resolution_reading = read_sla(calendar, s.resolution, now, warn(s.resolution.target));
  return s;
}

Result<DeskTicket> create_ticket(Store& store, const Principal& p, const DeskOptions& options,
                                 NewTicket t) {
  const bool customer_role = !p.is_system && !is_provider_role(p.role);
  if (t.customer_id.empty() && customer_role) t.customer_id = p.customer_id;
  if (t.customer_id.empty()) return core::make_error_code(400, "member 'customer_id' is missing");
  if (auto a = store.allow(p, t.customer_id, true, "desk.open", "customer", t.customer_id);
      !a.ok()) {
    return a.error();
  }
  if (t.subject.empty() || t.subject.size() > 1000) {
    return core::make_error_code(400, "member 'subject' must be 1..1000 bytes");
  }
  if (t.body.empty() || t.body.size() > 100000) {
    return core::make_error_code(400, "member 'body' must be 1..100000 bytes");
  }
  if (!one_of(t.category, kDeskCategories)) {
    return core::make_error_code(400,
                                 "member 'category' must be one of サービス内容, 価格, 申込方法, "
                                 "導入・設置の支援, セキュリティの相談, その他");
  }
  if (!one_of(t.priority, kDeskPriorities)) {
    return core::make_error_code(400, "member 'priority' must be low, normal, high or urgent");
  }
  if (auto st = check_attachments(t.attachments, options); !st.ok()) return st.error();
  if (t.requester_email.empty()) t.requester_email = p.name;
  if (t.requester_name.empty()) t.requester_name = t.requester_email;
  DeskTicket out;
  out.id = random_id("tkt");
  out.customer_id = t.customer_id;
  out.subject = t.subject;
  out.category = t.category;
  out.priority = t.priority;
  out.status = "open";
  out.security = t.security || t.category == "セキュリティの相談";
  out.requester_email = t.requester_email;
  out.requester_name = t.requester_name;
  out.source = t.source;
  out.created_by = p.name;
  out.created_at = out.updated_at = core::now().micros;
  DeskMessage m;
  m.id = random_id("dm");
  m.ticket_id = out.id;
  m.customer_id = out.customer_id;
  m.at = out.created_at;
  m.author = t.requester_email;
  m.author_kind = customer_role || p.is_system ? "customer" : "desk";
  m.visibility = "public";
  m.body = t.body;
  m.via = t.source == "email" ? "email" : "api";
  m.mail_message_id = t.mail_message_id;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT id FROM customers WHERE id = $1", {sp(out.customer_id)});
    if (!c.ok()) return c.error();
    if (c->empty()) return core::make_error_code(404, "customer '{}' not found", out.customer_id);
    std::vector<DeskTicket> one{out};
    if (auto s = load_terms(tx, one); !s.ok()) return s;
    out.terms = one[0].terms;
    auto r = tx.q(
        "INSERT INTO desk_tickets (id, customer_id, subject, category, priority, status, "
        "security, requester_email, requester_name, source, created_by, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        {sp(out.id), sp(out.customer_id), sp(out.subject), sp(out.category), sp(out.priority),
         sp(out.status), sp(int64_t{out.security ? 1 : 0}), sp(out.requester_email),
         sp(out.requester_name), sp(out.source), sp(out.created_by), sp(out.created_at)});
    if (!r.ok()) return r.error();
    if (auto s = insert_message(tx, m); !s.ok()) return s;
    if (auto s =
            store_attachments(tx, out.id, m.id, out.customer_id, t.attachments, out.created_at);
        !s.ok()) {
      return s;
    }
    if (auto s = enqueue_provider_notice(
            tx, out.customer_id, out.id + ":opened", out.security ? "high" : "low",
            fmt::format("[相談窓口] 新しいお問い合わせ: {}", out.subject),
            fmt::format("お問い合わせ {} ({}、優先度 {})\n差出人: {}\n\n{}", out.id, out.category,
                        out.priority, out.requester_email, t.body),
            out.created_at);
        !s.ok()) {
      return s;
    }
    return store.audit_in(tx, p, "desk.open", "desk_ticket", out.id, out.customer_id, {},
                          state_json(out), "ok");
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<DeskTicket>> list_tickets(Store& store, const Principal& p,
                                             const TicketQuery& in) {
  TicketQuery q = in;
  if (p.is_device) return core::make_error_code(403, "devices have no desk tickets");
  if (!p.is_system && !is_provider_role(p.role)) {
    if (!q.customer_id.empty() && q.customer_id != p.customer_id) {
      return store.allow(p, q.customer_id, false, "desk.list", "customer", q.customer_id).error();
    }
    q.customer_id = p.customer_id;
  }
  std::vector<DeskTicket> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM desk_tickets WHERE ($1 = '' OR customer_id = $1) "
                              "AND ($2 = '' OR status = $2) AND ($3 = '' OR category = $3) AND "
                              "($4 = '' OR assignee = $4) ORDER BY created_at DESC, id{}",
                              kTicketColumns, page_sql(q.limit, q.offset)),
                  {sp(q.customer_id), sp(q.status), sp(q.category), sp(q.assignee)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(ticket_from(*r, i));
    if (auto s = load_pauses(tx, out); !s.ok()) return s;
    return load_terms(tx, out);
  });
  if (!st.ok()) return st.error();
  return out;
}

namespace {

// A ticket and the check of `action` on it by `p` (unknown to everyone: the same 404 a customer
// role gets for another customer's ticket).
Result<DeskTicket> checked_ticket(Store& store, const Principal& p, std::string_view id, bool write,
                                  std::string_view action) {
  DeskTicket t;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = read_ticket(tx, id);
    if (!r.ok()) return r.error();
    t = std::move(*r);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto a = store.allow(p, t.customer_id, write, action, "desk_ticket", id); !a.ok()) {
    return a.error();
  }
  return t;
}

}  // namespace

Result<DeskTicket> get_ticket(Store& store, const Principal& p, std::string_view id) {
  return checked_ticket(store, p, id, false, "desk.read");
}

Result<std::vector<DeskMessage>> ticket_messages(Store& store, const Principal& p,
                                                 std::string_view id) {
  auto t = get_ticket(store, p, id);
  if (!t.ok()) return t.error();
  const bool internal = p.is_system || is_provider_role(p.role);
  std::vector<DeskMessage> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, at, author, author_kind, visibility, body, via, COALESCE(mail_message_id, "
        "'') FROM desk_messages WHERE ticket_id = $1 AND customer_id = $2 AND ($3 = 1 OR "
        "visibility = 'public') ORDER BY at, id",
        {sp(id), sp(t->customer_id), sp(int64_t{internal ? 1 : 0})});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      DeskMessage m;
      m.id = r->str(i, 0);
      m.ticket_id = std::string(id);
      m.customer_id = t->customer_id;
      m.at = r->i64(i, 1);
      m.author = r->str(i, 2);
      m.author_kind = r->str(i, 3);
      m.visibility = r->str(i, 4);
      m.body = r->str(i, 5);
      m.via = r->str(i, 6);
      m.mail_message_id = r->str(i, 7);
      out.push_back(std::move(m));
    }
    auto a = tx.q(
        "SELECT id, message_id, filename, content_type, sniffed_type, size, sha256, created_at "
        "FROM desk_attachments WHERE ticket_id = $1 AND customer_id = $2 ORDER BY created_at, id",
        {sp(id), sp(t->customer_id)});
    if (!a.ok()) return a.error();
    for (size_t i = 0; i < a->size(); ++i) {
      for (auto& m : out) {
        if (m.id != a->str(i, 1)) continue;
        DeskAttachment f;
        f.id = a->str(i, 0);
        f.ticket_id = std::string(id);
        f.message_id = m.id;
        f.customer_id = t->customer_id;
        f.filename = a->str(i, 2);
        f.content_type = a->str(i, 3);
        f.sniffed_type = a->str(i, 4);
        f.size = a->i64(i, 5);
        f.sha256 = a->str(i, 6);
        f.created_at = a->i64(i, 7);
        m.attachments.push_back(std::move(f));
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<DeskAttachment> get_attachment(Store& store, const Principal& p, std::string_view ticket_id,
                                      std::string_view attachment_id) {
  auto t = get_ticket(store, p, ticket_id);
  if (!t.ok()) return t.error();
  const bool internal = p.is_system || is_provider_role(p.role);
  DeskAttachment f;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    // A file of an internal note is internal too.
    auto r = tx.q(
        "SELECT a.filename, a.content_type, a.sniffed_type, a.size, a.sha256, a.data, "
        "a.created_at, a.message_id FROM desk_attachments a JOIN desk_messages m ON m.id = "
        "a.message_id WHERE a.id = $1 AND a.ticket_id = $2 AND a.customer_id = $3 AND ($4 = 1 "
        "OR m.visibility = 'public')",
        {sp(attachment_id), sp(ticket_id), sp(t->customer_id), sp(int64_t{internal ? 1 : 0})});
    if (!r.ok()) return r.error();
    if (r->empty()) {
      return core::make_error_code(404, "attachment '{}' of ticket '{}' not found", attachment_id,
                                   ticket_id);
    }
    f.id = std::string(attachment_id);
    f.ticket_id = std::string(ticket_id);
    f.customer_id = t->customer_id;
    f.filename = r->str(0, 0);
    f.content_type = r->str(0, 1);
    f.sniffed_type = r->str(0, 2);
    f.size = r->i64(0, 3);
    f.sha256 = r->str(0, 4);
    auto data = core::base64_decode(r->str(0, 5));
    if (!data) return core::make_error("attachment '{}': stored data is not base64", f.id);
    f.data = std::move(*data);
    f.created_at = r->i64(0, 6);
    f.message_id = r->str(0, 7);
    return {};
  });
  if (!st.ok()) return st.error();
  return f;
}

Result<DeskTicket> change_ticket(Store& store, const Principal& p, const DeskOptions& options,
                                 std::string_view id, const TicketChange& c) {
  static constexpr std::string_view kActions[] = {
      "reply", "note", "assign", "priority", "category", "wait", "resolve", "close", "reopen"};
  if (!one_of(c.action, kActions)) {
    return core::make_error_code(404,
                                 "unknown ticket action '{}' (reply, note, assign, priority, "
                                 "category, wait, resolve, close, reopen)",
                                 c.action);
  }
  const std::string action = "desk." + c.action;
  auto x = checked_ticket(store, p, id, true, action);
  if (!x.ok()) return x.error();
  // The handling is the desk's: customer roles (a customer_admin included) answer and reopen.
  if (!p.is_system && !is_provider_role(p.role) && c.action != "reply" && c.action != "reopen") {
    (void)store.audit(p, action, "desk_ticket", id, x->customer_id, {}, {}, "denied");
    return core::make_error_code(403, "customer roles may only reply to or reopen a ticket");
  }
  if (auto s = check_attachments(c.attachments, options); !s.ok()) return s.error();
  const bool from_desk = !p.is_system && is_provider_role(p.role);
  const int64_t now = core::now().micros;
  DeskTicket before = *x, after = *x;
  std::optional<SlaPause> ended_wait;
  auto end_wait = [&] {
    if (after.waiting_since != 0) ended_wait = SlaPause{after.waiting_since, now};
    after.waiting_since = 0;
  };
  DeskMessage m;
  m.id = random_id("dm");
  m.ticket_id = after.id;
  m.customer_id = after.customer_id;
  m.at = now;
  m.author = p.name;
  m.author_kind = author_kind(p);
  m.visibility = "public";
  m.via = c.via;
  m.mail_message_id = c.mail_message_id;
  bool mail_reply = false, tell_desk = false;
  if (c.action == "reply" || c.action == "note") {
    if (c.text.empty() || c.text.size() > 100000) {
      return core::make_error_code(400, "a {} must be 1..100000 bytes", c.action);
    }
    m.body = c.text;
    if (c.action == "note") {
      m.visibility = "internal";
    } else if (from_desk) {
      if (after.status == "closed") {
        return core::make_error_code(409, "ticket is closed: reopen it with a reason first");
      }
      if (after.first_response_at == 0) after.first_response_at = now;
      mail_reply = true;
    } else {
      // The customer answers: a wait ends, a resolved or closed ticket comes back.
      end_wait();
      if (after.status != "open") {
        after.status = "open";
        after.resolved_at = 0;
        after.closed_at = 0;
      }
      tell_desk = true;
    }
  } else if (c.action == "assign") {
    if (c.text.empty()) return core::make_error_code(400, "assign needs a user_id");
    auto u = store.get_user(p, c.text);
    if (!u.ok()) return core::make_error_code(400, "assignee: {}", u.error().message);
    if (!is_provider_role(u->role)) {
      return core::make_error_code(400, "assignee '{}' is not a provider user", c.text);
    }
    after.assignee = c.text;
    m.visibility = "internal";
    m.author_kind = "system";
    m.body = fmt::format("担当者を {} にしました", u->email);
  } else if (c.action == "priority") {
    if (!one_of(c.text, kDeskPriorities)) {
      return core::make_error_code(400, "priority must be low, normal, high or urgent");
    }
    after.priority = c.text;
    m.visibility = "internal";
    m.author_kind = "system";
    m.body = fmt::format("優先度を {} にしました", c.text);
  } else if (c.action == "category") {
    if (!one_of(c.text, kDeskCategories)) {
      return core::make_error_code(400,
                                   "category must be one of サービス内容, 価格, 申込方法, "
                                   "導入・設置の支援, セキュリティの相談, その他");
    }
    after.category = c.text;
    if (c.text == "セキュリティの相談") after.security = true;
    m.visibility = "internal";
    m.author_kind = "system";
    m.body = fmt::format("分類を {} にしました", c.text);
  } else if (c.action == "wait") {
    if (after.status != "open") {
      return core::make_error_code(409, "only an open ticket can wait on the customer (it is {})",
                                   after.status);
    }
    after.status = "waiting_customer";
    after.waiting_since = now;
    m.author_kind = "system";
    m.body = "お客様からのご返信をお待ちしています";
  } else if (c.action == "resolve") {
    if (after.status != "open" && after.status != "waiting_customer") {
      return core::make_error_code(409, "ticket is {}: only open tickets are resolved",
                                   after.status);
    }
    end_wait();
    after.status = "resolved";
    after.resolved_at = now;
    m.author_kind = "system";
    m.body = c.text.empty() ? "解決済みにしました" : fmt::format("解決済みにしました: {}", c.text);
  } else if (c.action == "close") {
    if (after.status == "closed") return core::make_error_code(409, "ticket is already closed");
    end_wait();
    after.status = "closed";
    if (after.resolved_at == 0) after.resolved_at = now;
    after.closed_at = now;
    m.author_kind = "system";
    m.body = c.text.empty() ? "クローズしました" : fmt::format("クローズしました: {}", c.text);
  } else if (c.action == "reopen") {
    if (after.status != "resolved" && after.status != "closed") {
      return core::make_error_code(409, "ticket is {}: only resolved or closed tickets reopen",
                                   after.status);
    }
    if (c.text.empty() || c.text.size() > 10000) {
      return core::make_error_code(400, "reopen needs a reason of 1..10000 bytes");
    }
    after.status = "open";
    after.resolved_at = 0;
    after.closed_at = 0;
    m.author_kind = from_desk ? "desk" : "customer";
    m.body = fmt::format("再オープンしました: {}", c.text);
    tell_desk = !from_desk;
  }
  after.updated_at = now;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    // The row as it is now: a concurrent change to the same ticket is refused, not overwritten.
    auto r = tx.q(
        "UPDATE desk_tickets SET status = $2, assignee = $3, priority = $4, category = $5, "
        "security = $6, updated_at = $7, first_response_at = $8, resolved_at = $9, closed_at = "
        "$10, waiting_since = $11 WHERE id = $1 AND customer_id = $12 AND status = $13 AND "
        "updated_at = $14",
        {sp(id), sp(after.status), sp_or_null(after.assignee), sp(after.priority),
         sp(after.category), sp(int64_t{after.security ? 1 : 0}), sp(now),
         sp(after.first_response_at), sp(after.resolved_at), sp(after.closed_at),
         sp(after.waiting_since), sp(after.customer_id), sp(before.status), sp(before.updated_at)});
    if (!r.ok()) return r.error();
    if (r->affected != 1) {
      return core::make_error_code(409, "ticket '{}' changed meanwhile: read it again", id);
    }
    if (ended_wait) {
      r = tx.q(
          "INSERT INTO desk_pauses (ticket_id, customer_id, from_us, to_us) VALUES ($1, $2, $3, "
          "$4)",
          {sp(id), sp(after.customer_id), sp(ended_wait->from_us), sp(ended_wait->to_us)});
      if (!r.ok()) return r.error();
    }
    if (mail_reply) {
      auto mid = enqueue_reply_mail(tx, store.secrets(), after, options, c.text, now);
      if (!mid.ok()) return mid.error();
      m.mail_message_id = *mid;
    }
    if (auto s = insert_message(tx, m); !s.ok()) return s;
    auto files = c.attachments;
    if (auto s = store_attachments(tx, id, m.id, after.customer_id, files, now); !s.ok()) {
      return s;
    }
    if (tell_desk) {
      if (auto s = enqueue_provider_notice(
              tx, after.customer_id, m.id, "low",
              fmt::format("[相談窓口] お客様から返信: {}", after.subject),
              fmt::format("お問い合わせ {}\n差出人: {}\n\n{}", id, p.name, c.text), now);
          !s.ok()) {
        return s;
      }
    }
    return store.audit_in(tx, p, action, "desk_ticket", id, after.customer_id, state_json(before),
                          state_json(after), "ok");
  });
  if (!st.ok()) return st.error();
  if (ended_wait) after.pauses.push_back(*ended_wait);
  return after;
}

Result<int64_t> check_desk_sla(Store& store, const DeskOptions& options, int64_t now) {
  const BusinessCalendar calendar = desk_calendar(options);
  int64_t queued = 0;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r =
        tx.q(fmt::format("SELECT {} FROM desk_tickets WHERE status IN ('open', "
                         "'waiting_customer') ORDER BY created_at LIMIT 5000",
                         kTicketColumns));
    if (!r.ok()) return r.error();
    std::vector<DeskTicket> tickets;
    for (size_t i = 0; i < r->size(); ++i) tickets.push_back(ticket_from(*r, i));
    if (auto s = load_pauses(tx, tickets); !s.ok()) return s;
    if (auto s = load_terms(tx, tickets); !s.ok()) return s;
    for (const auto& t : tickets) {
      const TicketSla sla = ticket_sla(t, calendar, now);
      std::string notified = t.sla_notified;
      const std::pair<std::string_view, const SlaReading*> clocks[] = {
          {"first_response", &sla.first_response_reading}, {"resolution", &sla.resolution_reading}};
      for (const auto& [clock, reading] : clocks) {
        if (reading->state != SlaState::kWarning && reading->state != SlaState::kBreached) {
          continue;
        }
        const bool breach = reading->state == SlaState::kBreached;
        const std::string key = fmt::format("{}.{}", clock, sla_state_name(reading->state));
        if (("," + notified + ",").find("," + key + ",") != std::string::npos) continue;
        const std::string_view what = clock == "first_response" ? "一次回答" : "解決";
        const std::string due = core::format_local(core::Timestamp{reading->due_us});
        auto s = enqueue_provider_notice(
            tx, t.customer_id, fmt::format("{}:{}", t.id, key),
            breach ? (t.security ? "critical" : "high") : "medium",
            fmt::format("[相談窓口] {}期限{}: {}", what, breach ? "超過" : "間近", t.subject),
            fmt::format("お問い合わせ {} の{}期限{}。\n期限: {}\n優先度: {}\n担当: {}", t.id, what,
                        breach ? "を過ぎました" : "が近づいています", reading->due_us ? due : "-",
                        t.priority, t.assignee.empty() ? "(未割当)" : t.assignee),
            now);
        if (!s.ok()) return s;
        notified += notified.empty() ? key : "," + key;
        ++queued;
      }
      if (notified != t.sla_notified) {
        auto u = tx.q("UPDATE desk_tickets SET sla_notified = $2 WHERE id = $1",
                      {sp(t.id), sp(notified)});
        if (!u.ok()) return u.error();
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return queued;
}

std::string sniff_file_type(std::string_view data) { return sniff_type(data); }

Status queue_provider_notice(SqlTx& tx, std::string_view customer_id, std::string_view key,
                             std::string_view severity, std::string_view subject,
                             std::string_view body, int64_t now) {
  return enqueue_provider_notice(tx, customer_id, key, severity, subject, body, now);
}

}  // namespace mimamori::server
