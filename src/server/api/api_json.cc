// Models as API JSON.

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/http_client.h"

namespace mimamori::server {

json::value jtime(int64_t micros) {
  if (micros == 0) return nullptr;
  return jstr(core::format_eve_time(core::Timestamp{micros}));
}

json::object to_json(const Customer& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"created_at", jtime(c.created_at)},
          {"prefecture", c.prefecture}};
}

json::object to_json(const Site& s) {
  return {{"id", s.id},
          {"customer_id", s.customer_id},
          {"name", s.name},
          {"created_at", jtime(s.created_at)}};
}

json::object to_json(const Device& d) {
  return {{"id", d.id},
          {"customer_id", d.customer_id},
          {"site_id", d.site_id},
          {"kind", d.kind},
          {"hostname", d.hostname},
          {"version", d.version},
          {"status", d.status},
          {"enrolled_at", jtime(d.enrolled_at)},
          {"last_seen", jtime(d.last_seen)},
          {"acked_through", d.acked_through},
          {"heartbeat_limit_s", d.heartbeat_limit_s},
          {"monitoring_stopped", d.monitoring_stopped}};
}

json::object to_json(const User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"role", role_name(u.role)},
          {"customer_id", u.customer_id.empty() ? json::value(nullptr) : jstr(u.customer_id)},
          {"totp_enabled", u.totp_enabled},
          {"disabled", u.disabled}};
}

json::object to_json(const AlertRow& a) {
  return {{"id", a.id},
          {"customer_id", a.customer_id},
          {"device_id", a.device_id},
          {"source", a.source},
          {"category", a.category},
          {"severity", a.severity},
          {"signature_id", a.signature_id},
          {"signature", a.signature},
          {"src_ip", a.src_ip},
          {"dest_ip", a.dest_ip},
          {"first_seen", jtime(a.first_seen)},
          {"last_seen", jtime(a.last_seen)},
          {"count", a.count},
          {"incident_id", a.incident_id.empty() ? json::value(nullptr) : jstr(a.incident_id)},
          {"suppressed", a.suppressed}};
}

json::object to_json(const Incident& i) {
  return {{"id", i.id},
          {"customer_id", i.customer_id},
          {"title", i.title},
          {"category", i.category},
          {"severity", i.severity},
          {"status", i.status},
          {"assignee", i.assignee.empty() ? json::value(nullptr) : jstr(i.assignee)},
          {"resolution", i.resolution.empty() ? json::value(nullptr) : jstr(i.resolution)},
          {"host", i.host},
          {"alert_count", i.alert_count},
          {"created_at", jtime(i.created_at)},
          {"updated_at", jtime(i.updated_at)},
          {"acknowledged_at", jtime(i.acknowledged_at)},
          {"closed_at", jtime(i.closed_at)}};
}

json::object to_json(const SuppressionRule& s) {
  return {{"id", s.id},
          {"customer_id", s.customer_id},
          {"device_id", s.device_id},
          {"signature_id", s.signature_id},
          {"signature", s.signature},
          {"src_ip", s.src_ip},
          {"dest_ip", s.dest_ip},
          {"reason", s.reason},
          {"created_by", s.created_by},
          {"created_at", jtime(s.created_at)},
          {"expires_at", jtime(s.expires_at)}};
}

json::object to_json(const ThreatIndicator& t) {
  return {{"id", t.id},
          {"kind", t.kind},
          {"value", t.value},
          {"source", t.source},
          {"reason", t.reason},
          {"created_by", t.created_by},
          {"created_at", jtime(t.created_at)},
          {"expires_at", jtime(t.expires_at)},
          {"removed_at", jtime(t.removed_at)}};
}

namespace {

/// What the API shows of a channel's target: an e-mail address or a LINE recipient as it is;
/// of a webhook, Slack or Teams URL (whose path is the credential: whoever knows it can post)
/// only the scheme and host.
std::string shown_target(const Channel& c) {
  if (c.kind == "email" || c.kind == "line") return c.target;
  auto parts = core::url_parts(c.target);
  if (!parts) return "…";
  return parts->scheme + "://" + parts->host + (parts->port_written ? ":" + parts->port : "") +
         "/…";
}

}  // namespace

json::object to_json(const Channel& c) {
  return {{"id", c.id},
          {"customer_id", c.customer_id.empty() ? json::value(nullptr) : jstr(c.customer_id)},
          {"name", c.name},
          {"kind", c.kind},
          {"target", shown_target(c)},
          {"min_severity", c.min_severity},
          {"enabled", c.enabled}};
}

json::object to_json(const OutboxMessage& m) {
  return {{"id", m.id},
          {"customer_id", m.customer_id},
          {"channel_id", m.channel_id},
          {"kind", m.kind},
          {"target", m.target},
          {"idempotency_key", m.idempotency_key},
          {"subject", m.subject},
          {"status", m.status},
          {"attempts", m.attempts},
          {"last_error", m.last_error},
          {"created_at", jtime(m.created_at)},
          {"sent_at", jtime(m.sent_at)}};
}

json::object to_json(const AuditEntry& e) {
  return {{"at", jtime(e.at)},
          {"actor", e.actor},
          {"customer_id", e.customer_id},
          {"action", e.action},
          {"object_type", e.object_type},
          {"object_id", e.object_id},
          {"before", e.before},
          {"after", e.after},
          {"source_ip", e.source_ip},
          {"outcome", e.outcome}};
}

}  // namespace mimamori::server
