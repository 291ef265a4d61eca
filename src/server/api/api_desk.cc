// The desk: tickets (open, list, read with messages and SLA clocks, act), their attachments,
// and the triage inbox of mail from unknown senders.

#include <cctype>

#include "api/json_body.h"
#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/text.h"

namespace mimamori::server {
namespace {

json::object sla_json(const SlaClock& c, const SlaReading& r) {
  return {{"state", sla_state_name(r.state)},
          {"target_s", c.target.seconds},
          {"around_the_clock", c.target.around_the_clock},
          {"elapsed_s", r.elapsed_s},
          {"remaining_s", r.remaining_s},
          {"due_at", jtime(r.due_us)}};
}

json::object ticket_json(const DeskTicket& t, const BusinessCalendar& calendar) {
  const TicketSla sla = ticket_sla(t, calendar, core::now().micros);
  return {{"id", t.id},
          {"customer_id", t.customer_id},
          {"subject", jstr(t.subject)},
          {"category", jstr(t.category)},
          {"priority", t.priority},
          {"status", t.status},
          {"security", t.security},
          {"assignee", t.assignee.empty() ? json::value(nullptr) : jstr(t.assignee)},
          {"requester_email", jstr(t.requester_email)},
          {"requester_name", jstr(t.requester_name)},
          {"source", t.source},
          {"created_at", jtime(t.created_at)},
          {"updated_at", jtime(t.updated_at)},
          {"first_response_at", jtime(t.first_response_at)},
          {"resolved_at", jtime(t.resolved_at)},
          {"closed_at", jtime(t.closed_at)},
          {"waiting_since", jtime(t.waiting_since)},
          {"sla", json::object{
                      {"first_response", sla_json(sla.first_response, sla.first_response_reading)},
                      {"resolution", sla_json(sla.resolution, sla.resolution_reading)}}}};
}

json::object attachment_json(const DeskAttachment& f) {
  return {{"id", f.id},
          {"filename", jstr(f.filename)},
          {"content_type", jstr(f.content_type)},
          {"sniffed_type", jstr(f.sniffed_type)},
          {"size", f.size},
          {"sha256", f.sha256}};
}

// Files sent in a JSON body: [{"filename", "content_type", "data_base64"}].
bool read_attachments(const json::object& o, std::vector<DeskAttachment>& out, std::string* err) {
  auto* a = o.if_contains("attachments");
  if (!a || a->is_null()) return true;
  if (!a->is_array()) {
    *err = "member 'attachments' must be an array";
    return false;
  }
  for (const auto& v : a->as_array()) {
    if (!v.is_object()) {
      *err = "each attachment must be an object";
      return false;
    }
    DeskAttachment f;
    f.filename = get_string(v.as_object(), "filename", err);
    f.content_type = get_string(v.as_object(), "content_type", err);
    std::string b64 = get_string(v.as_object(), "data_base64", err);
    if (!err->empty()) return false;
    auto data = core::base64_decode(b64);
    if (!data) {
      *err = fmt::format("attachment '{}': member 'data_base64' is not base64", f.filename);
      return false;
    }
    f.data = std::move(*data);
    out.push_back(std::move(f));
  }
  return true;
}

}  // namespace

void h_list_tickets(Call& call) {
  TicketQuery q;
  q.customer_id = call.req.query_param("customer_id");
  q.status = call.req.query_param("status");
  q.category = call.req.query_param("category");
  q.assignee = call.req.query_param("assignee");
  q.limit = query_int(call.req, "limit", 100);
  q.offset = query_int(call.req, "offset", 0);
  auto t = list_tickets(*call.store, call.principal, q);
  if (!t.ok()) return call.error(t.error());
  const BusinessCalendar calendar = desk_calendar(call.api->options().desk);
  json::array a;
  for (const auto& x : *t) a.push_back(ticket_json(x, calendar));
  call.json(200, to_text(json::object{
                     {"items", std::move(a)}, {"limit", q.limit}, {"offset", q.offset}}));
}

void h_create_ticket(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  NewTicket t;
  t.customer_id = get_string(*o, "customer_id", &err);
  t.subject = get_string(*o, "subject", &err);
  t.body = get_string(*o, "body", &err);
  if (auto c = get_string(*o, "category", &err); !c.empty()) t.category = c;
  if (auto pr = get_string(*o, "priority", &err); !pr.empty()) t.priority = pr;
  if (auto* s = o->if_contains("security"); s && s->is_bool()) t.security = s->as_bool();
  t.requester_email = get_string(*o, "requester_email", &err);
  t.requester_name = get_string(*o, "requester_name", &err);
  t.source = is_provider_role(call.principal.role) ? "desk" : "portal";
  if (err.empty()) read_attachments(*o, t.attachments, &err);
  if (!err.empty()) return call.error(400, err);
  // Only the desk records a ticket for somebody else.
  if (!is_provider_role(call.principal.role)) {
    t.requester_email.clear();
    t.requester_name.clear();
  }
  auto r = create_ticket(*call.store, call.principal, call.api->options().desk, std::move(t));
  if (!r.ok()) return call.error(r.error());
  call.json(201, to_text(ticket_json(*r, desk_calendar(call.api->options().desk))));
}

void h_get_ticket(Call& call) {
  const auto& id = call.param("id");
  auto t = get_ticket(*call.store, call.principal, id);
  if (!t.ok()) return call.error(t.error());
  auto m = ticket_messages(*call.store, call.principal, id);
  if (!m.ok()) return call.error(m.error());
  auto o = ticket_json(*t, desk_calendar(call.api->options().desk));
  json::array msgs;
  for (const auto& x : *m) {
    json::array files;
    for (const auto& f : x.attachments) files.push_back(attachment_json(f));
    msgs.push_back(json::object{{"id", x.id},
                                {"at", jtime(x.at)},
                                {"author", jstr(x.author)},
                                {"author_kind", x.author_kind},
                                {"visibility", x.visibility},
                                {"via", x.via},
                                {"body", jstr(x.body)},
                                {"attachments", std::move(files)}});
  }
  o["messages"] = std::move(msgs);
  call.json(200, to_text(o));
}

void h_ticket_action(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  TicketChange c;
  c.action = call.param("action");
  if (c.action == "assign") {
    c.text = get_string(*o, "user_id", &err);
  } else if (c.action == "priority") {
    c.text = get_string(*o, "priority", &err);
  } else if (c.action == "category") {
    c.text = get_string(*o, "category", &err);
  } else if (c.action == "reopen") {
    c.text = get_string(*o, "reason", &err);
  } else {
    c.text = get_string(*o, "text", &err);
  }
  if (err.empty() && (c.action == "reply" || c.action == "note")) {
    read_attachments(*o, c.attachments, &err);
  }
  if (!err.empty()) return call.error(400, err);
  auto t =
      change_ticket(*call.store, call.principal, call.api->options().desk, call.param("id"), c);
  if (!t.ok()) return call.error(t.error());
  call.json(200, to_text(ticket_json(*t, desk_calendar(call.api->options().desk))));
}

void respond_download(Call& call, std::string_view filename, std::string_view sha256,
                      std::string data) {
  // Always a download, never rendered here: no HTML or script from a mail (or a file a
  // technician uploaded) runs in the console.
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/octet-stream";
  std::string ascii;
  for (unsigned char ch : filename) {
    ascii += ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? static_cast<char>(ch) : '_';
  }
  std::string encoded;
  for (unsigned char ch : filename) {
    if (std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_') {
      encoded += static_cast<char>(ch);
    } else {
      encoded += fmt::format("%{:02X}", ch);
    }
  }
  r.headers.emplace_back(
      "Content-Disposition",
      fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii, encoded));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  r.headers.emplace_back("X-Mimamori-SHA256", std::string(sha256));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(data);
  call.api->record(call, 200);
  call.respond(std::move(r));
}

void h_get_ticket_attachment(Call& call) {
  auto f = get_attachment(*call.store, call.principal, call.param("id"), call.param("file"));
  if (!f.ok()) return call.error(f.error());
  respond_download(call, f->filename, f->sha256, std::move(f->data));
}

void h_list_inbox(Call& call) {
  auto m = list_inbox(*call.store, call.principal, call.req.query_param("status"));
  if (!m.ok()) return call.error(m.error());
  json::array a;
  for (const auto& x : *m) {
    a.push_back(json::object{
        {"id", x.id},
        {"received_at", jtime(x.received_at)},
        {"from_address", jstr(x.from_address)},
        {"from_name", jstr(x.from_name)},
        {"subject", jstr(x.subject)},
        {"body", jstr(x.body)},
        {"attachments", x.attachments},
        {"status", x.status},
        {"ticket_id", x.ticket_id.empty() ? json::value(nullptr) : jstr(x.ticket_id)}});
  }
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_assign_inbox(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string customer = get_string(*o, "customer_id", &err);
  if (!err.empty()) return call.error(400, err);
  auto t = assign_inbox_mail(*call.store, call.principal, call.api->options().desk,
                             call.param("id"), customer);
  if (!t.ok()) return call.error(t.error());
  call.json(201, to_text(ticket_json(*t, desk_calendar(call.api->options().desk))));
}

// --- FAQ -----------------------------------------------------------------------------------

namespace {

json::object faq_json(const FaqEntry& e) {
  json::array tags;
  for (const auto& t : e.tags) tags.push_back(jstr(t));
  return {{"id", e.id},
          {"question", jstr(e.question)},
          {"answer", jstr(e.answer)},
          {"category", jstr(e.category)},
          {"public", e.is_public},
          {"tags", std::move(tags)},
          {"created_by", jstr(e.created_by)},
          {"updated_by", jstr(e.updated_by)},
          {"created_at", jtime(e.created_at)},
          {"updated_at", jtime(e.updated_at)}};
}

// An entry from a JSON body: question, answer, category, public, tags.
bool read_faq(const json::object& o, FaqEntry& e, std::string* err) {
  e.question = get_string(o, "question", err);
  e.answer = get_string(o, "answer", err);
  if (auto c = get_string(o, "category", err); !c.empty()) e.category = c;
  if (auto* v = o.if_contains("public"); v && !v->is_null()) {
    if (!v->is_bool()) {
      *err = "member 'public' must be true or false";
      return false;
    }
    e.is_public = v->as_bool();
  }
  if (auto* v = o.if_contains("tags"); v && !v->is_null()) {
    if (!v->is_array()) {
      *err = "member 'tags' must be an array of text";
      return false;
    }
    for (const auto& t : v->as_array()) {
      if (!t.is_string()) {
        *err = "member 'tags' must be an array of text";
        return false;
      }
      e.tags.emplace_back(t.as_string());
    }
  }
  return err->empty();
}

}  // namespace

void h_list_faq(Call& call) {
  auto r = search_faq(*call.store, call.principal, call.req.query_param("q"),
                      call.req.query_param("category"), query_int(call.req, "limit", 100));
  if (!r.ok()) return call.error(r.error());
  json::array a;
  for (const auto& e : *r) a.push_back(faq_json(e));
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_get_faq(Call& call) {
  auto r = get_faq(*call.store, call.principal, call.param("id"));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(faq_json(*r)));
}

void h_create_faq(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  FaqEntry e;
  if (!read_faq(*o, e, &err)) return call.error(400, err);
  auto r = create_faq(*call.store, call.principal, std::move(e));
  if (!r.ok()) return call.error(r.error());
  call.json(201, to_text(faq_json(*r)));
}

void h_update_faq(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  FaqEntry e;
  if (!read_faq(*o, e, &err)) return call.error(400, err);
  auto r = update_faq(*call.store, call.principal, call.param("id"), std::move(e));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(faq_json(*r)));
}

void h_delete_faq(Call& call) {
  auto st = delete_faq(*call.store, call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, to_text(json::object{{"deleted", true}}));
}

}  // namespace mimamori::server
