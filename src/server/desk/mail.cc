// Mail to the desk: parsing with GMime (charsets, transfer encodings, RFC 2047 words,
// multipart with attachments), threading onto tickets, and the triage inbox of mail from
// senders who are no known contact of a customer.

#include <gmime/gmime.h>

#include <algorithm>
#include <mutex>

#include "desk/desk.h"
#include "mail_address.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/text.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

constexpr int64_t kMaxParts = 200;

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Frees a GObject at scope end.
template <class T>
struct GRef {
  T* p = nullptr;
  explicit GRef(T* x) : p(x) {}
  ~GRef() {
    if (p) g_object_unref(p);
  }
  GRef(const GRef&) = delete;
  GRef& operator=(const GRef&) = delete;
};

// Text in `charset` as UTF-8. Windows mail says Shift_JIS and means CP932 (①, ～), and
// ISO-2022-JP mail carries CP50221's extensions: the wider sets are tried first; bytes that
// convert under none become U+FFFD.
std::string to_utf8(std::string_view bytes, std::string charset) {
  charset = core::to_lower(charset);
  std::vector<std::string> tries;
  if (charset == "shift_jis" || charset == "shift-jis" || charset == "sjis" ||
      charset == "x-sjis" || charset == "windows-31j" || charset == "cp932") {
    tries = {"CP932", "SHIFT_JIS"};
  } else if (charset == "iso-2022-jp") {
    tries = {"ISO-2022-JP-3", "ISO-2022-JP"};
  } else if (charset.empty() || charset == "us-ascii" || charset == "utf-8" || charset == "utf8") {
    tries = {"UTF-8"};
  } else {
    tries = {charset};
  }
  for (const auto& cs : tries) {
    if (cs == "UTF-8" &&
        g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr)) {
      return std::string(bytes);
    }
    gsize written = 0;
    GError* err = nullptr;
    gchar* out = g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", cs.c_str(),
                           nullptr, &written, &err);
    if (out) {
      std::string s(out, written);
      g_free(out);
      return s;
    }
    if (err) g_error_free(err);
  }
  // Nothing fits: keep the valid UTF-8 and mark the rest.
  gchar* valid = g_utf8_make_valid(bytes.data(), static_cast<gssize>(bytes.size()));
  std::string s(valid);
  g_free(valid);
  return s;
}

// The decoded content of a leaf part (transfer encoding undone, charset not converted).
std::string part_bytes(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return {};
  GRef<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.p);
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.p));
  return std::string(reinterpret_cast<const char*>(arr->data), arr->len);
}

struct Walk {
  const DeskOptions* options = nullptr;
  ParsedMail* mail = nullptr;
  std::string html;  // the HTML body when there is no text/plain
  int64_t parts = 0;
  std::string error;
  int error_code = 0;
};

void fail(Walk& w, int code, std::string message) {
  if (w.error.empty()) {
    w.error = std::move(message);
    w.error_code = code;
  }
}

// Tags dropped and the common entities replaced: enough to read an HTML-only mail as text.
std::string html_text(std::string_view html) {
  std::string out;
  bool tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (c == '<') {
      tag = true;
      auto rest = core::to_lower(html.substr(i, 4));
      if (rest == "<br>" || rest == "<br/" || rest == "<p>" || rest.starts_with("</p") ||
          rest.starts_with("<div")) {
        out += '\n';
      }
    } else if (c == '>') {
      tag = false;
    } else if (!tag) {
      out += c;
    }
  }
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"&lt;", "<"},
                          {"&gt;", ">"},
                          {"&quot;", "\""},
                          {"&nbsp;", " "},
                          {"&amp;", "&"}}) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
      out.replace(at, from.size(), to);
    }
  }
  return out;
}

void visit(GMimeObject* /*parent*/, GMimeObject* part, gpointer data) {
  auto& w = *static_cast<Walk*>(data);
  if (++w.parts > kMaxParts) {
    fail(w, 552, fmt::format("the mail has more than {} MIME parts", kMaxParts));
    return;
  }
  if (!w.error.empty() || !GMIME_IS_PART(part)) return;
  GMimePart* leaf = GMIME_PART(part);
  GMimeContentType* ct = g_mime_object_get_content_type(part);
  char* type_c = ct ? g_mime_content_type_get_mime_type(ct) : nullptr;
  std::string type = type_c ? core::to_lower(type_c) : "text/plain";
  g_free(type_c);
  const char* filename = g_mime_part_get_filename(leaf);
  const bool attachment =
      g_mime_part_is_attachment(leaf) || (filename && *filename) || !type.starts_with("text/");
  if (!attachment && (type == "text/plain" || type == "text/html")) {
    const char* cs = g_mime_object_get_content_type_parameter(part, "charset");
    std::string text = to_utf8(part_bytes(leaf), cs ? cs : "");
    if (type == "text/plain" && w.mail->body.empty()) {
      w.mail->body = std::move(text);
    } else if (type == "text/html" && w.html.empty()) {
      w.html = std::move(text);
    }
    return;
  }
  if (static_cast<int64_t>(w.mail->attachments.size()) >= w.options->max_attachments) {
    fail(w, 552, fmt::format("the mail has more than {} attachments", w.options->max_attachments));
    return;
  }
  DeskAttachment f;
  f.filename = filename && *filename ? to_utf8(filename, "utf-8") : "attachment";
  f.content_type = type;
  f.data = part_bytes(leaf);
  if (static_cast<int64_t>(f.data.size()) > w.options->max_attachment_bytes) {
    fail(w, 552,
         fmt::format("attachment '{}' has {} bytes, over the limit of {}", f.filename,
                     f.data.size(), w.options->max_attachment_bytes));
    return;
  }
  w.mail->attachments.push_back(std::move(f));
}

void add_references(GMimeParserOptions* po, const char* text, std::vector<std::string>& out) {
  if (!text) return;
  GMimeReferences* refs = g_mime_references_parse(po, text);
  if (!refs) return;
  for (int i = 0; i < g_mime_references_length(refs); ++i) {
    std::string id = fmt::format("<{}>", g_mime_references_get_message_id(refs, i));
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  g_mime_references_free(refs);
}

// A principal acting for a customer's contact who wrote to the desk.
Principal contact_principal(const SqlRows& r) {
  Principal p;
  p.user_id = r.str(0, 0);
  p.customer_id = r.str(0, 1);
  p.name = r.str(0, 2);
  p.role = parse_role(r.str(0, 3)).value_or(Role::kCustomerUser);
  p.source_ip = "mail";
  return p;
}

// The triage inbox holds mail of no known customer: the desk's (provider_admin, analyst, desk).
bool may_triage(const Principal& p) {
  return p.is_system || (!p.is_device && (p.role == Role::kProviderAdmin ||
                                          p.role == Role::kAnalyst || p.role == Role::kDesk));
}

core::Error refuse_triage(Store& store, const Principal& p, std::string_view action,
                          std::string_view id) {
  const bool customer = !p.is_device && !is_provider_role(p.role);
  (void)store.audit(p, action, "desk_inbox", id, customer ? p.customer_id : "", {}, {}, "denied");
  return core::make_error_code(403, "role {} may not use the desk's triage inbox",
                               p.is_device ? "device" : role_name(p.role));
}

}  // namespace

Result<ParsedMail> parse_mail(std::string_view raw, const DeskOptions& options) {
  init_gmime();
  if (static_cast<int64_t>(raw.size()) > options.max_mail_bytes) {
    return core::make_error_code(552, "the mail has {} bytes, over the limit of {}", raw.size(),
                                 options.max_mail_bytes);
  }
  // GMime nests multiparts by recursion: a mail of thousands of nested parts is refused before
  // it is parsed.
  int64_t multiparts = 0;
  for (size_t at = raw.find("ultipart/"); at != std::string_view::npos;
       at = raw.find("ultipart/", at + 1)) {
    ++multiparts;
  }
  if (multiparts > kMaxParts) {
    return core::make_error_code(552, "the mail has more than {} multipart parts", kMaxParts);
  }
  GRef<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GRef<GMimeParser> parser(g_mime_parser_new_with_stream(stream.p));
  GMimeParserOptions* po = g_mime_parser_options_new();
  const char* fallback[] = {"UTF-8", "ISO-2022-JP", "CP932", "EUC-JP", nullptr};
  g_mime_parser_options_set_fallback_charsets(po, fallback);
  g_mime_parser_options_set_rfc2047_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
  GRef<GMimeMessage> msg(g_mime_parser_construct_message(parser.p, po));
  if (!msg.p) {
    g_mime_parser_options_free(po);
    return core::make_error_code(400, "not a mail: no RFC 5322 header block could be read");
  }
  ParsedMail out;
  InternetAddressList* from = g_mime_message_get_from(msg.p);
  InternetAddress* first = from && internet_address_list_length(from) > 0
                               ? internet_address_list_get_address(from, 0)
                               : nullptr;
  if (!first || !INTERNET_ADDRESS_IS_MAILBOX(first)) {
    g_mime_parser_options_free(po);
    return core::make_error_code(400, "the mail has no From mailbox");
  }
  out.from_address =
      core::to_lower(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(first)));
  if (auto a = check_mailbox(out.from_address); !a.ok()) {
    g_mime_parser_options_free(po);
    return core::make_error_code(400, "the From address is {}", a.error().message);
  }
  if (const char* n = internet_address_get_name(first)) out.from_name = to_utf8(n, "utf-8");
  if (const char* s = g_mime_message_get_subject(msg.p)) out.subject = to_utf8(s, "utf-8");
  if (const char* id = g_mime_message_get_message_id(msg.p))
    out.message_id = fmt::format("<{}>", id);
  add_references(po, g_mime_object_get_header(GMIME_OBJECT(msg.p), "In-Reply-To"), out.references);
  add_references(po, g_mime_object_get_header(GMIME_OBJECT(msg.p), "References"), out.references);
  g_mime_parser_options_free(po);
  Walk w;
  w.options = &options;
  w.mail = &out;
  if (GMimeObject* body = g_mime_message_get_mime_part(msg.p)) {
    if (GMIME_IS_MULTIPART(body)) {
      g_mime_message_foreach(msg.p, visit, &w);
    } else {
      visit(nullptr, body, &w);
    }
  }
  if (!w.error.empty()) return core::make_error_code(w.error_code, "{}", w.error);
  if (out.body.empty() && !w.html.empty()) out.body = html_text(w.html);
  // Header and body text is kept to the desk's limits rather than refused.
  if (out.subject.empty()) out.subject = "(件名なし)";
  if (out.subject.size() > 1000) out.subject.resize(1000);
  if (out.body.empty()) out.body = "(本文なし)";
  if (out.body.size() > 100000) out.body.resize(100000);
  // Cutting may split a character: keep the text valid UTF-8.
  out.subject = to_utf8(out.subject, "utf-8");
  out.body = to_utf8(out.body, "utf-8");
  return out;
}

Result<MailOutcome> accept_mail(Store& store, const DeskOptions& options, std::string_view raw) {
  auto parsed = parse_mail(raw, options);
  if (!parsed.ok()) return parsed.error();
  ParsedMail& mail = *parsed;
  SqlRows contact;
  std::string ticket_id;
  bool duplicate = false;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto u = tx.q(
        "SELECT id, customer_id, email, role FROM users WHERE LOWER(email) = $1 AND customer_id "
        "IS NOT NULL AND disabled = 0",
        {sp(mail.from_address)});
    if (!u.ok()) return u.error();
    contact = std::move(*u);
    if (contact.empty()) return {};
    const std::string customer = contact.str(0, 1);
    // The same mail again (a retried delivery): taken once.
    if (!mail.message_id.empty()) {
      auto d = tx.q(
          "SELECT ticket_id FROM desk_messages WHERE mail_message_id = $1 AND customer_id = $2",
          {sp(mail.message_id), sp(customer)});
      if (!d.ok()) return d.error();
      if (!d->empty()) {
        duplicate = true;
        ticket_id = d->str(0, 0);
        return {};
      }
    }
    for (auto it = mail.references.rbegin(); it != mail.references.rend(); ++it) {
      auto r = tx.q(
          "SELECT ticket_id FROM desk_messages WHERE mail_message_id = $1 AND customer_id = $2",
          {sp(*it), sp(customer)});
      if (!r.ok()) return r.error();
      if (!r->empty()) {
        ticket_id = r->str(0, 0);
        return {};
      }
    }
    // A client that drops the headers still keeps the subject's [#tkt_…].
    if (auto at = mail.subject.find("[#tkt_"); at != std::string::npos) {
      auto end = mail.subject.find(']', at);
      if (end != std::string::npos) {
        auto r = tx.q("SELECT id FROM desk_tickets WHERE id = $1 AND customer_id = $2",
                      {sp(mail.subject.substr(at + 2, end - at - 2)), sp(customer)});
        if (!r.ok()) return r.error();
        if (!r->empty()) ticket_id = r->str(0, 0);
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();
  if (contact.empty()) {
    // Nobody the desk knows: kept whole in the triage inbox for a person to assign.
    const std::string id = random_id("inb");
    const int64_t now = core::now().micros;
    auto s = store.transact(true, [&](SqlTx& tx) -> Status {
      auto r = tx.q(
          "INSERT INTO desk_inbox (id, received_at, from_address, from_name, subject, body, "
          "mail_message_id, attachments, status, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
          "'new', $9)",
          {sp(id), sp(now), sp(mail.from_address), sp(mail.from_name), sp(mail.subject),
           sp(mail.body), sp_or_null(mail.message_id),
           sp(static_cast<int64_t>(mail.attachments.size())), sp(core::base64(raw))});
      if (!r.ok()) return r.error();
      return store.audit_in(tx, Principal::system("desk-mail"), "desk.mail.triage", "desk_inbox",
                            id, "", {}, {}, "ok");
    });
    if (!s.ok()) return s.error();
    return MailOutcome{"triage", id};
  }
  if (duplicate) return MailOutcome{"duplicate", ticket_id};
  const Principal p = contact_principal(contact);
  if (!ticket_id.empty()) {
    TicketChange c;
    c.action = "reply";
    c.text = mail.body;
    c.via = "email";
    c.mail_message_id = mail.message_id;
    c.attachments = std::move(mail.attachments);
    auto t = change_ticket(store, p, options, ticket_id, c);
    if (!t.ok()) return t.error();
    return MailOutcome{"reply", ticket_id};
  }
  NewTicket t;
  t.customer_id = p.customer_id;
  t.subject = mail.subject;
  t.body = mail.body;
  t.requester_email = mail.from_address;
  t.requester_name = mail.from_name.empty() ? mail.from_address : mail.from_name;
  t.source = "email";
  t.mail_message_id = mail.message_id;
  t.attachments = std::move(mail.attachments);
  auto made = create_ticket(store, p, options, std::move(t));
  if (!made.ok()) return made.error();
  return MailOutcome{"ticket", made->id};
}

Result<std::vector<InboxMail>> list_inbox(Store& store, const Principal& p,
                                          std::string_view status) {
  if (!may_triage(p)) return refuse_triage(store, p, "desk.inbox", "-");
  std::vector<InboxMail> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, received_at, from_address, from_name, subject, body, COALESCE(mail_message_id, "
        "''), attachments, status, COALESCE(ticket_id, '') FROM desk_inbox WHERE ($1 = '' OR "
        "status = $1) ORDER BY received_at DESC, id LIMIT 500",
        {sp(status)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      InboxMail m;
      m.id = r->str(i, 0);
      m.received_at = r->i64(i, 1);
      m.from_address = r->str(i, 2);
      m.from_name = r->str(i, 3);
      m.subject = r->str(i, 4);
      m.body = r->str(i, 5);
      m.mail_message_id = r->str(i, 6);
      m.attachments = r->i64(i, 7);
      m.status = r->str(i, 8);
      m.ticket_id = r->str(i, 9);
      out.push_back(std::move(m));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<DeskTicket> assign_inbox_mail(Store& store, const Principal& p, const DeskOptions& options,
                                     std::string_view inbox_id, std::string_view customer_id) {
  if (!may_triage(p)) return refuse_triage(store, p, "desk.inbox.assign", inbox_id);
  if (customer_id.empty()) return core::make_error_code(400, "member 'customer_id' is missing");
  std::string raw, status;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT raw, status FROM desk_inbox WHERE id = $1", {sp(inbox_id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(404, "inbox mail '{}' not found", inbox_id);
    auto bytes = core::base64_decode(r->str(0, 0));
    if (!bytes) return core::make_error("inbox mail '{}': stored mail is not base64", inbox_id);
    raw = std::move(*bytes);
    status = r->str(0, 1);
    return {};
  });
  if (!st.ok()) return st.error();
  if (status != "new") {
    return core::make_error_code(409, "inbox mail '{}' is already {}", inbox_id, status);
  }
  auto mail = parse_mail(raw, options);
  if (!mail.ok()) return mail.error();
  NewTicket t;
  t.customer_id = std::string(customer_id);
  t.subject = mail->subject;
  t.body = mail->body;
  t.requester_email = mail->from_address;
  t.requester_name = mail->from_name.empty() ? mail->from_address : mail->from_name;
  t.source = "email";
  t.mail_message_id = mail->message_id;
  t.attachments = std::move(mail->attachments);
  auto made = create_ticket(store, p, options, std::move(t));
  if (!made.ok()) return made.error();
  st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "UPDATE desk_inbox SET status = 'assigned', ticket_id = $2 WHERE id = $1 AND status = "
        "'new'",
        {sp(inbox_id), sp(made->id)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "desk.inbox.assign", "desk_inbox", inbox_id, customer_id, {},
                          made->id, "ok");
  });
  if (!st.ok()) return st.error();
  return made;
}

}  // namespace mimamori::server
