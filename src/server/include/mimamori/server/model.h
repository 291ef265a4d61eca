#pragma once
/// The server's domain: provider → customers (tenants) → sites → devices; users with roles;
/// alerts, incidents, suppression rules, audit entries. Plain structs; times are UTC micros.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::server {

/// The six roles. Provider roles see every customer; customer roles only their own.
enum class Role { kProviderAdmin, kAnalyst, kTechnician, kDesk, kCustomerAdmin, kCustomerUser };

/// `provider_admin`, `analyst`, ... as stored and shown in the API.
std::string_view role_name(Role role);
/// Parses a role name; nullopt when unknown.
std::optional<Role> parse_role(std::string_view name);
/// True for the four provider roles.
bool is_provider_role(Role role);

/// Severities of alerts and incidents: critical 4, high 3, medium 2, low 1, info (or any
/// other text) 0.
int severity_rank(std::string_view severity);

/// Who is acting: a user (session or API token), a device, or the system itself.
struct Principal {
  std::string user_id;  ///< empty for devices and the system
  std::string name;     ///< e-mail, device id or "system", for the audit log
  Role role = Role::kCustomerUser;
  std::string customer_id;  ///< the tenant of a customer role or a device; empty for provider
  bool is_device = false;
  bool is_system = false;
  std::string source_ip;
  std::string device_kind;  ///< sensor or agent, for devices

  /// The system itself (background jobs, admin commands run on the server machine).
  static Principal system(std::string_view what);
};

/// A customer (tenant) of the provider.
struct Customer {
  std::string id, name;
  int64_t created_at = 0;
  std::string prefecture;  ///< where it is served on site (東京都 …); empty: not recorded
};

/// A site of a customer (an office).
struct Site {
  std::string id, customer_id, name;
  int64_t created_at = 0;
};

/// A sensor or agent.
struct Device {
  std::string id, customer_id, site_id, kind, hostname, version, status;
  int64_t enrolled_at = 0, last_seen = 0, acked_through = 0;
  int64_t heartbeat_limit_s = 300;
  bool monitoring_stopped = false;
};

/// A person who logs in.
struct User {
  std::string id, email, name, customer_id;
  Role role = Role::kCustomerUser;
  bool totp_enabled = false;
  bool disabled = false;  // filled by list_users and get_user
  int64_t created_at = 0;
};

/// An enrollment code as created (the plain code is shown once).
struct EnrollmentCode {
  std::string code, customer_id, site_id;
  int64_t expires_at = 0;
};

/// What enrollment returns to the device.
struct Enrollment {
  std::string device_id, device_token, customer_id, site_id;
};

/// One aggregated alert row: repeats of the same signature, source and destination within a
/// window, with the raw events kept behind it.
struct AlertRow {
  std::string id, customer_id, device_id, source, category, severity, signature, src_ip, dest_ip;
  int64_t signature_id = 0, first_seen = 0, last_seen = 0, count = 0;
  std::string incident_id;
  bool suppressed = false;
};

/// Filter and page of an alert listing.
struct AlertQuery {
  std::string customer_id, device_id, severity, signature, ip, category;
  int64_t since = 0, until = 0;
  int64_t limit = 100, offset = 0;
};

/// An incident: what a person acts on.
struct Incident {
  std::string id, customer_id, title, category, severity, status, assignee, resolution, host;
  int64_t created_at = 0, updated_at = 0, acknowledged_at = 0, closed_at = 0, alert_count = 0;
};

/// One entry of an incident's timeline.
struct TimelineEntry {
  int64_t at = 0;
  std::string actor, kind, text;
};

/// A suppression rule: alerts of a customer matching it are stored but open no incident.
struct SuppressionRule {
  std::string id, customer_id, device_id, signature, src_ip, dest_ip, reason, created_by;
  int64_t signature_id = 0, created_at = 0, expires_at = 0;  ///< 0: any / never
};

/// One audit entry: who did what to which object, before and after, allowed or denied.
struct AuditEntry {
  int64_t at = 0;
  std::string actor, customer_id, action, object_type, object_id, before, after, source_ip, outcome;
};

/// A notification channel of a customer (or of the provider when customer_id is empty).
struct Channel {
  std::string id, customer_id, kind, target, secret, name;
  std::string min_severity = "high";
  bool enabled = true;
};

/// One message in the outbox and its delivery state.
struct OutboxMessage {
  std::string id, customer_id, channel_id, kind, target, secret, idempotency_key, subject, body,
      status, last_error;
  /// E-mail that answers another (desk replies): Reply-To, and the References (message ids in
  /// angle brackets, space-separated; the last one is also In-Reply-To).
  std::string mail_reply_to, mail_references;
  /// One attachment of an e-mail (the monthly report): file name, MIME type, bytes in base64;
  /// empty name: none.
  std::string attachment_name, attachment_type, attachment_base64;
  int64_t attempts = 0, next_attempt_at = 0, created_at = 0, sent_at = 0;
};

/// One member of the on-call rotation.
struct OnCallEntry {
  int64_t position = 0;
  std::string user_id, email, channel_id;
};

/// A provider-managed threat indicator: an address, a CIDR block or a domain that devices
/// watch for. Removed indicators are kept (removed_at) for the record.
struct ThreatIndicator {
  std::string id, kind, value, source, reason, created_by;  ///< kind: ip, cidr or domain
  int64_t created_at = 0, expires_at = 0, removed_at = 0;   ///< 0: never / not removed
};

/// Checks and normalises an indicator's text: sets `kind` (ip, cidr, domain) and the canonical
/// `value` (addresses as printed by IpAddress, domains lower-case); false with `why` when it is
/// none of the three.
bool normalise_indicator(std::string_view text, std::string& kind, std::string& value,
                         std::string& why);

}  // namespace mimamori::server
